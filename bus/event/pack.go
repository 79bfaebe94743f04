package event

import "strings"

// Pack copies the strings that ss point at into one allocation and points
// each at its part, so that a record kept from an event is one object for
// the garbage collector to mark, not one per field: decoded fields are an
// allocation each. Empty strings are left empty.
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
