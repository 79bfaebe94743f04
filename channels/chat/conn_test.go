package chat

import (
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
)

// clientIDPattern is what validClientID accepts, as the widget protocol
// documents it.
var clientIDPattern = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,64}$`)

func TestValidClientIDMatchesItsPattern(t *testing.T) {
	cases := []string{
		"", "a", "m-1", "m_2.x:y-Z9", strings.Repeat("a", 64), strings.Repeat("a", 65),
		"with space", "tab\t", "new\nline", "slash/", "at@", "plus+", "é", "ÿ", "\x00",
		"a\x00", "€", "ключ", "\xff", "0", "-", ".", ":", "_", "`", "{", "[", "@", "/",
	}
	// Random ids, mostly of allowed bytes with an occasional other one,
	// around the length limit.
	alphabet := "abcxyzABCXYZ0189_.:-"
	others := []string{" ", "/", "@", "[", "`", "{", "\x7f", "\x00", "é", "\xff", "+"}
	rng := rand.New(rand.NewPCG(20261124, 11))
	for range 5000 {
		var b strings.Builder
		for range rng.IntN(70) {
			if rng.IntN(40) == 0 {
				b.WriteString(others[rng.IntN(len(others))])
			} else {
				b.WriteByte(alphabet[rng.IntN(len(alphabet))])
			}
		}
		cases = append(cases, b.String())
	}
	for _, id := range cases {
		if got, want := validClientID(id), clientIDPattern.MatchString(id); got != want {
			t.Errorf("validClientID(%q) = %v, the pattern says %v", id, got, want)
		}
	}
}
