package event

import "strings"

// Pack copies the strings that ss point at into one allocation and points
// each at its part. Decoded fields are an allocation each; a record that a
// view keeps from an event is then one object instead of one per field,
// with less heap lost to rounding up to size classes. Empty strings are
// left empty.
func Pack(ss ...*string) {
	n := 0
	for _, s := range ss {
		n += len(*s)
	}
	if n == 0 {
		return
	}
	var b strings.Builder
	b.Grow(n)
	for _, s := range ss {
		b.WriteString(*s)
	}
	all := b.String() // b's buffer, not a copy
	for _, s := range ss {
		if len(*s) == 0 {
			*s = ""
			continue
		}
		*s, all = all[:len(*s)], all[len(*s):]
	}
}
