package event

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors that callers test with errors.Is.
var (
	// ErrInvalid is wrapped by every error of Envelope.Validate and of the
	// payloads' Validate: the event is readable but breaks a rule, and must
	// not be published or acted on.
	ErrInvalid = errors.New("event: invalid")
	// ErrMalformed is wrapped by decoding errors (FromMessage, UnmarshalJSON,
	// Decode): the bytes are not an event Hotline can read at all.
	ErrMalformed = errors.New("event: malformed")
	// ErrUnknownType is wrapped when an event type has no payload type
	// registered, so its data cannot be decoded.
	ErrUnknownType = errors.New("event: unknown event type")
	// ErrUnknownVersion is wrapped when an event's dataschema names a payload
	// version this build cannot read, typically one written by a newer Hotline.
	ErrUnknownVersion = errors.New("event: unknown payload version")
)

// Problem is one broken rule: the attribute or payload field it concerns and
// what is wrong with it. Its String reads as a sentence: `tenant "A B" is not
// a valid tenant id`.
type Problem struct {
	Field string
	Msg   string
}

// String joins field and message.
func (p Problem) String() string { return p.Field + " " + p.Msg }

// ValidationError lists every problem found in an envelope or a payload, so
// a producer fixes them all at once instead of one per attempt. It wraps
// ErrInvalid.
type ValidationError struct {
	// Subject is "event" for an envelope and the event type for a payload.
	Subject  string
	Problems []Problem
}

// Error lists the problems: `event: id is empty; time is zero`.
func (e *ValidationError) Error() string {
	var b strings.Builder
	b.WriteString(e.Subject)
	b.WriteString(": ")
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(p.String())
	}
	return b.String()
}

// Unwrap makes errors.Is(err, ErrInvalid) hold.
func (e *ValidationError) Unwrap() error { return ErrInvalid }

// problems collects validation failures. Its zero value is ready and costs
// nothing until a rule fails.
type problems []Problem

func (p *problems) add(field, format string, args ...any) {
	*p = append(*p, Problem{Field: field, Msg: fmt.Sprintf(format, args...)})
}

// nested adds the problems of err (a nested validation) under prefix.
func (p *problems) nested(prefix string, err error) {
	if err == nil {
		return
	}
	var ve *ValidationError
	if errors.As(err, &ve) {
		for _, q := range ve.Problems {
			*p = append(*p, Problem{Field: prefix + "." + q.Field, Msg: q.Msg})
		}
		return
	}
	*p = append(*p, Problem{Field: prefix, Msg: err.Error()})
}

func (p problems) err(subject string) error {
	if len(p) == 0 {
		return nil
	}
	return &ValidationError{Subject: subject, Problems: p}
}

// required adds "is empty" for an empty value.
func (p *problems) required(field, v string) bool {
	if v == "" {
		p.add(field, "is empty")
		return false
	}
	return true
}

// oneOf checks that v is one of allowed (empty included only if listed).
func (p *problems) oneOf(field, v string, allowed ...string) {
	for _, a := range allowed {
		if v == a {
			return
		}
	}
	if v == "" {
		p.add(field, "is empty")
		return
	}
	p.add(field, "%q is not one of %s", v, strings.Join(allowed, ", "))
}

// nonNegative checks a duration or count.
func (p *problems) nonNegative(field string, v int64) {
	if v < 0 {
		p.add(field, "%d is negative", v)
	}
}

// ids checks a list of identifiers: at least one, none empty, no repeats.
func (p *problems) ids(field string, ids []string) {
	if len(ids) == 0 {
		p.add(field, "is empty")
		return
	}
	for i, id := range ids {
		if id == "" {
			p.add(fmt.Sprintf("%s[%d]", field, i), "is empty")
			continue
		}
		if j := indexOf(ids[:i], id); j >= 0 {
			p.add(fmt.Sprintf("%s[%d]", field, i), "%q repeats %s[%d]", id, field, j)
		}
	}
}

func indexOf(list []string, s string) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	return -1
}

// ValidTenant reports whether s is a tenant id: a slug of 1 to 63 lowercase
// letters, digits and hyphens, not starting with a hyphen. Tenant ids end up
// in partition keys, index names and URLs, hence the narrow alphabet.
func ValidTenant(s string) bool {
	if len(s) == 0 || len(s) > 63 || s[0] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// validExtensionName reports whether s is a CloudEvents attribute name:
// lowercase ASCII letters and digits only.
func validExtensionName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// validURIRef reports whether s is a non-empty RFC 3986 URI-reference: only
// unreserved, reserved and percent-encoded characters, and a valid scheme if
// a colon comes before the first '/', '?' or '#'. It does not allocate, as it
// runs on every publish.
func validURIRef(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("-._~:/?#[]@!$&'()*+,;=", c) >= 0:
		case c == '%':
			if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
				return false
			}
			i += 2
		default:
			return false
		}
	}
	end := strings.IndexAny(s, "/?#")
	if end < 0 {
		end = len(s)
	}
	colon := strings.IndexByte(s[:end], ':')
	if colon < 0 {
		return true
	}
	// s[:colon] must be a scheme: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ).
	if colon == 0 || !isAlpha(s[0]) {
		return false
	}
	for i := 1; i < colon; i++ {
		c := s[i]
		if !(isAlpha(c) || c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func isAlpha(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// validLanguage reports whether s is shaped like a BCP 47 language tag
// ("fr", "en-GB", "de-CH-1901"): a 2 to 8 letter primary subtag, then
// subtags of 1 to 8 letters or digits. Registry membership is not checked.
func validLanguage(s string) bool {
	for i := 0; ; i++ {
		sub, rest, more := strings.Cut(s, "-")
		if len(sub) == 0 || len(sub) > 8 {
			return false
		}
		for j := 0; j < len(sub); j++ {
			c := sub[j]
			if !(isAlpha(c) || i > 0 && c >= '0' && c <= '9') {
				return false
			}
		}
		if i == 0 && len(sub) < 2 {
			return false
		}
		if !more {
			return true
		}
		s = rest
	}
}

// validNumber reports whether s identifies a call party: a phone number
// (digits with an optional leading '+', as E.164 or a local extension), a
// sip:, sips: or tel: URI, or "anonymous" for a withheld caller id.
func validNumber(s string) bool {
	if s == "anonymous" {
		return true
	}
	for _, scheme := range []string{"sip:", "sips:", "tel:"} {
		if rest, ok := strings.CutPrefix(strings.ToLower(s), scheme); ok {
			return rest != "" && validURIRef(s)
		}
	}
	d := strings.TrimPrefix(s, "+")
	if d == "" || len(d) > 20 {
		return false
	}
	for i := 0; i < len(d); i++ {
		if d[i] < '0' || d[i] > '9' {
			return false
		}
	}
	return true
}
