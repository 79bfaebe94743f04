package search

import (
	"errors"
	"strings"
)

// ErrInvalidPhone is wrapped by the errors of NormalizePhone.
var ErrInvalidPhone = errors.New("search: invalid phone number")

// PhoneError says why a phone number could not be normalised.
type PhoneError struct {
	Number string
	Reason string
}

func (e *PhoneError) Error() string {
	return ErrInvalidPhone.Error() + " " + quote(e.Number) + ": " + e.Reason
}

// Unwrap makes errors.Is(err, ErrInvalidPhone) true.
func (e *PhoneError) Unwrap() error { return ErrInvalidPhone }

func quote(s string) string {
	if len(s) > 40 {
		s = s[:40] + "…"
	}
	return `"` + s + `"`
}

// region is what NormalizePhone knows of a country's numbering plan.
type region struct {
	cc string // country calling code
	// trunk is the national prefix dialled before a national number
	// ("0" in France, "8" in Russia, "1" in North America).
	trunk string
	// intl are the prefixes dialled before a country code.
	intl []string
	// min and max bound the digits of the national significant number.
	min, max int
}

// regions are the numbering plans NormalizePhone knows for national
// numbers (ISO 3166 codes; "UK" is accepted for GB). International numbers
// of any country are accepted on their general form.
var regions = map[string]region{
	"FR": {cc: "33", trunk: "0", intl: []string{"00"}, min: 9, max: 9},
	"BE": {cc: "32", trunk: "0", intl: []string{"00"}, min: 8, max: 9},
	"CH": {cc: "41", trunk: "0", intl: []string{"00"}, min: 9, max: 9},
	"LU": {cc: "352", trunk: "", intl: []string{"00"}, min: 4, max: 11},
	"DE": {cc: "49", trunk: "0", intl: []string{"00"}, min: 6, max: 13},
	"AT": {cc: "43", trunk: "0", intl: []string{"00"}, min: 4, max: 13},
	"GB": {cc: "44", trunk: "0", intl: []string{"00"}, min: 9, max: 10},
	"IE": {cc: "353", trunk: "0", intl: []string{"00"}, min: 7, max: 9},
	"RU": {cc: "7", trunk: "8", intl: []string{"810", "00"}, min: 10, max: 10},
	"KZ": {cc: "7", trunk: "8", intl: []string{"810", "00"}, min: 10, max: 10},
	"US": {cc: "1", trunk: "1", intl: []string{"011"}, min: 10, max: 10},
	"CA": {cc: "1", trunk: "1", intl: []string{"011"}, min: 10, max: 10},
}

// NormalizePhone returns s in E.164 ("+33123456789"). It accepts the usual
// ways of writing a number: "+33 1 23 45 67 89", "+44 (0)20 7946 0958",
// "0033 1 23 45 67 89", and national forms in defaultRegion (an ISO 3166
// code such as "FR", "RU", "DE", "GB", "US"): "01 23 45 67 89",
// "8 (495) 123-45-67", "030 1234567", "(415) 555-0132". Spaces, dots,
// dashes, slashes and parentheses are ignored; letters, extensions and
// numbers of impossible length are errors (*PhoneError, wrapping
// ErrInvalidPhone). Lengths are checked against the country's plan for
// the countries NormalizePhone knows, and against E.164's bounds for
// others.
func NormalizePhone(s, defaultRegion string) (string, error) {
	orig := s
	fail := func(reason string) (string, error) {
		return "", &PhoneError{Number: orig, Reason: reason}
	}
	s = strings.TrimSpace(s)
	if s == "" {
		return fail("empty")
	}
	if len(s) > 64 {
		return fail("too long")
	}
	// "+44 (0)20 …": the national trunk prefix written in parentheses
	// after the country code.
	if i := strings.Index(s, "(0)"); i > 0 {
		s = s[:i] + s[i+3:]
	}
	intl := false
	if strings.HasPrefix(s, "+") {
		intl = true
		s = s[1:]
	}
	var digits strings.Builder
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			digits.WriteRune(r)
		case r == ' ' || r == '.' || r == '-' || r == '/' || r == '(' || r == ')' || r == '\u00a0':
		case r == '+':
			return fail("'+' only at the start")
		default:
			return fail("unexpected character " + quote(string(r)))
		}
	}
	d := digits.String()
	if d == "" {
		return fail("no digits")
	}
	reg, known := regions[normalizeRegion(defaultRegion)]
	if defaultRegion != "" && !known {
		return fail("unknown region " + quote(defaultRegion))
	}
	if !intl {
		// An international prefix dialled from the default region (or
		// "00", which most of the world uses).
		prefixes := []string{"00"}
		if known {
			prefixes = reg.intl
		}
		for _, p := range prefixes {
			if strings.HasPrefix(d, p) && len(d) > len(p)+7 {
				d, intl = d[len(p):], true
				break
			}
		}
	}
	if intl {
		return international(d, fail)
	}
	if !known {
		return fail("no country code (write it with + or give a region)")
	}
	nsn := d
	switch {
	case reg.trunk != "" && strings.HasPrefix(d, reg.trunk) && len(d)-len(reg.trunk) >= reg.min && len(d)-len(reg.trunk) <= reg.max:
		nsn = d[len(reg.trunk):]
	case reg.cc == "7" && len(d) == 10 && d[0] == '9':
		// A Russian mobile number written without its trunk prefix.
	case reg.cc == "1" && len(d) == 10:
	case reg.trunk == "":
	default:
		if reg.trunk != "" && !strings.HasPrefix(d, reg.trunk) {
			return fail("a national number must start with " + reg.trunk)
		}
		return fail("wrong number of digits")
	}
	if len(nsn) < reg.min || len(nsn) > reg.max {
		return fail("wrong number of digits")
	}
	if strings.HasPrefix(nsn, "0") {
		return fail("a number cannot start with 0 after the country code")
	}
	return "+" + reg.cc + nsn, nil
}

// international checks d, the digits after "+", and returns it in E.164.
func international(d string, fail func(string) (string, error)) (string, error) {
	if d[0] == '0' {
		return fail("a country code cannot start with 0")
	}
	if len(d) < 8 || len(d) > 15 {
		return fail("an international number has 8 to 15 digits")
	}
	for _, r := range regions {
		if !strings.HasPrefix(d, r.cc) {
			continue
		}
		nsn := d[len(r.cc):]
		if len(nsn) < r.min || len(nsn) > r.max {
			return fail("wrong number of digits for country code +" + r.cc)
		}
		if strings.HasPrefix(nsn, "0") {
			return fail("a number cannot start with 0 after the country code")
		}
		break
	}
	return "+" + d, nil
}

func normalizeRegion(r string) string {
	r = strings.ToUpper(strings.TrimSpace(r))
	if r == "UK" {
		return "GB"
	}
	return r
}
