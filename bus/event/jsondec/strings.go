package jsondec

// Strings reads data when it is one JSON object whose members are all
// strings, each named exactly (in the same case) as one of names and none
// twice: the value of names[i] goes to vals[i], and bit i of set says it
// was there. vals must be as long as names, which are at most 64. ok is
// false on anything else: another name (encoding/json would match names
// in any case), another kind of value (null included), a repeated member,
// invalid JSON, something after the object. The caller then decodes data
// with encoding/json, which reads or rejects it; on the input Strings
// takes, encoding/json decoding into a struct with those string fields
// gives the same values. Socket frames of a few string members are read
// so without reflection.
func Strings(data []byte, names []string, vals []string) (set uint64, ok bool) {
	s := NewScanner(data)
	ok = s.Members(func(name []byte) (uint64, bool) {
		i := index(names, name)
		if i < 0 {
			return 0, false
		}
		v, ok := s.Unquote()
		vals[i] = v
		set |= 1 << i
		return 1 << i, ok
	})
	if !ok || !s.End() {
		return 0, false
	}
	return set, true
}

func index(names []string, name []byte) int {
	for i, n := range names {
		if n == string(name) {
			return i
		}
	}
	return -1
}
