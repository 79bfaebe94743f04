package search

import (
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestParseQuery(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"", ""},
		{"   ", ""},
		{"appels", "appels"},
		{"appels numéro", "(appels numéro)"},
		{`"numéro vert" surtaxe`, `("numéro vert" surtaxe)`},
		{`"  numéro vert  "`, `"numéro vert"`},
		{"-surtaxe appel", "(-surtaxe appel)"},
		{`-"numéro vert"`, `-"numéro vert"`},
		{"email OR sms", "(email OR sms)"},
		{"a b OR c d", "(a (b OR c) d)"},
		{"a OR b OR c", "(a OR b OR c)"},
		{"(a b) OR c", "((a b) OR c)"},
		{"-(a OR b) c", "(-(a OR b) c)"},
		{"-(-a)", "a"},
		{"e-mail 8-495-123", "(e-mail 8-495-123)"},
		{"a or b", "(a or b)"},
		{"a & b", "(a b)"},
		{"& —", ""},
		{"a OR &", "a"},
		{"звонков Anrufers", "(звонков Anrufers)"},
		{`a"b"`, `(a "b")`},
	}
	for _, tt := range tests {
		e, err := ParseQuery(tt.in)
		if err != nil {
			t.Errorf("ParseQuery(%q): %v", tt.in, err)
			continue
		}
		if got := String(e); got != tt.want {
			t.Errorf("ParseQuery(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestParseQueryErrors(t *testing.T) {
	tests := []struct {
		in     string
		pos    int
		reason string
	}{
		{`appel "numéro vert`, 7, "unclosed quote"},
		{`abcdefghijk "x`, 13, "unclosed quote"},
		{`a ""`, 3, "empty phrase"},
		{`a " , "`, 3, "empty phrase"},
		{"a -", 3, "nothing to exclude"},
		{"a - b", 3, "nothing to exclude"},
		{"-OR a", 1, "nothing to exclude"},
		{"--a", 1, "nothing to exclude"},
		{"OR a", 1, "OR without an alternative before"},
		{"a OR", 3, "OR without an alternative after"},
		{"a OR OR b", 3, "OR without an alternative after"},
		{"(a OR) b", 4, "OR without an alternative after"},
		{"(a b", 1, "unclosed '('"},
		{"a b)", 4, "')' without a matching '('"},
		{"()", 1, "empty parentheses"},
		{"((((((((((a))))))))))", 9, "nested deeper"},
		{strings.Repeat("w ", MaxTerms+1), 2*MaxTerms + 1, "more than 50 terms"},
		{`"` + strings.Repeat("w ", MaxTerms+1) + `"`, 1, "more than 50 terms"},
		{strings.Repeat("é", MaxQueryLength+1), 0, "longer than 1000 characters"},
		{"a \xff", 0, "not valid UTF-8"},
	}
	for _, tt := range tests {
		_, err := ParseQuery(tt.in)
		var ie *InvalidError
		if !errors.As(err, &ie) || !errors.Is(err, ErrInvalidQuery) {
			t.Errorf("ParseQuery(%.40q) = %v, want an *InvalidError", tt.in, err)
			continue
		}
		if ie.Field != "text" || ie.Pos != tt.pos || !strings.Contains(ie.Reason, tt.reason) {
			t.Errorf("ParseQuery(%.40q) = %v (pos %d), want %q at %d", tt.in, err, ie.Pos, tt.reason, tt.pos)
		}
	}
	_, err := ParseQuery(`appel "numéro vert`)
	if want := "search: invalid query: text: unclosed quote at character 7"; err == nil || err.Error() != want {
		t.Errorf("error text = %v, want %q", err, want)
	}
	// The limit counts characters, not bytes.
	if _, err := ParseQuery(strings.Repeat("é", MaxQueryLength)); err != nil {
		t.Errorf("%d characters: %v", MaxQueryLength, err)
	}
}

func TestWords(t *testing.T) {
	e, err := ParseQuery(`appels "numéro vert" -surtaxe (sms OR -fax)`)
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(Words(e), ",")
	if want := "appels,numéro,vert,sms"; got != want {
		t.Errorf("Words = %s, want %s", got, want)
	}
}

func TestCheck(t *testing.T) {
	bad := []struct {
		q     Query
		field string
	}{
		{Query{}, "tenant"},
		{Query{Tenant: " "}, "tenant"},
		{Query{Tenant: "t", Size: -1}, "size"},
		{Query{Tenant: "t", Size: MaxSize + 1}, "size"},
		{Query{Tenant: "t", Text: `"x`}, "text"},
		{Query{Tenant: "t", Statuses: []string{"open"}}, "statuses"},
		{Query{Tenant: "t", Channels: []string{""}}, "channels"},
		{Query{Tenant: "t", From: time.Unix(10, 0), To: time.Unix(10, 0)}, "from"},
	}
	for _, tt := range bad {
		_, err := tt.q.Check()
		var ie *InvalidError
		if !errors.As(err, &ie) || ie.Field != tt.field {
			t.Errorf("Check(%+v) = %v, want an error on %s", tt.q, err, tt.field)
		}
	}
	if _, err := (&Query{Tenant: "t", Size: MaxSize, Text: "a"}).Check(); err != nil {
		t.Errorf("valid query: %v", err)
	}
	cq, err := ContactQuery{Tenant: "t", Phone: "+33 1 23 45 67 89"}.Check()
	if err != nil || cq.Phone != "+33123456789" {
		t.Errorf("contact query phone = %q, %v", cq.Phone, err)
	}
	for _, q := range []ContactQuery{{Tenant: "t"}, {Tenant: "t", Phone: "x", Email: "a@b"}, {Tenant: "t", Phone: "abc"}, {Phone: "+33123456789"}} {
		if _, err := q.Check(); !errors.Is(err, ErrInvalidQuery) {
			t.Errorf("Check(%+v) = %v, want ErrInvalidQuery", q, err)
		}
	}
}

// FuzzParseQuery checks that the parser never panics, that errors are
// always *InvalidError with a position inside the text, and that the
// result parses back to itself.
func FuzzParseQuery(f *testing.F) {
	for _, s := range []string{`appels "numéro vert" -surtaxe`, "a OR (b -c)", `"x`, "((a)", "-", "a OR"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := ParseQuery(s)
		if err != nil {
			var ie *InvalidError
			if !errors.As(err, &ie) || !errors.Is(err, ErrInvalidQuery) {
				t.Fatalf("ParseQuery(%q): error %v is not an *InvalidError", s, err)
			}
			if ie.Pos < 0 || ie.Pos > utf8.RuneCountInString(s)+1 {
				t.Fatalf("ParseQuery(%q): position %d outside the text", s, ie.Pos)
			}
			return
		}
		if len(Words(e)) > MaxTerms {
			t.Fatalf("ParseQuery(%q): %d words", s, len(Words(e)))
		}
		back := String(e)
		e2, err := ParseQuery(back)
		if err != nil {
			t.Fatalf("ParseQuery(%q) = %s, which does not parse: %v", s, back, err)
		}
		if got := String(e2); got != back {
			t.Fatalf("ParseQuery(%q) = %s, reparsed as %s", s, back, got)
		}
	})
}
