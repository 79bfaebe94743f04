package search

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits of the query syntax.
const (
	// MaxTerms bounds the words of a query, those of its phrases included.
	MaxTerms = 50
	// MaxDepth bounds the nesting of parentheses.
	MaxDepth = 8
)

// InvalidError is an ErrInvalidQuery (errors.Is) that names the field at
// fault and, in a query text, the position: HTTP handlers answer it with
// 400 and the field.
type InvalidError struct {
	// Field is the Query (or DossierQuery, ContactQuery) field at fault in
	// lower case: "tenant", "text", "size", "after", "from", "phone", ...
	Field string
	// Pos is the 1-based character (not byte) position in Text, or 0.
	Pos int
	// Reason says what is wrong, e.g. "unclosed quote".
	Reason string
}

// Error reads like "search: invalid query: text: unclosed quote at character 12".
func (e *InvalidError) Error() string {
	s := ErrInvalidQuery.Error() + ": " + e.Field + ": " + e.Reason
	if e.Pos > 0 {
		s += " at character " + strconv.Itoa(e.Pos)
	}
	return s
}

// Unwrap makes errors.Is(err, ErrInvalidQuery) true.
func (e *InvalidError) Unwrap() error { return ErrInvalidQuery }

// Invalid returns an *InvalidError for field without a position.
func Invalid(field, format string, args ...any) error {
	return &InvalidError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// Expr is a node of a parsed query text: *Word, *Phrase, *Not, *And or *Or.
// Backends translate it to their engine's query; the words are not yet
// analysed (lower-cased, stemmed): each backend does that per language.
type Expr interface {
	expr()
}

// Word is a bare word: it matches an entry containing it, in any of its
// inflected forms where the entry's language has stemming.
type Word struct {
	Text string
	Pos  int // 1-based character position in the query
}

// Phrase is a "quoted phrase": its words in this order, next to each other
// (each one stemmed like a Word).
type Phrase struct {
	Text string // between the quotes, with surrounding space trimmed
	Pos  int    // of the opening quote
}

// Not excludes the conversations matching Expr (a -word, -"phrase" or
// -(group)).
type Not struct {
	Expr Expr
}

// And matches the conversations that match every one of Exprs; a Not among
// them excludes. An And of Nots only matches everything but what they
// exclude.
type And struct {
	Exprs []Expr
}

// Or matches the conversations that match one of Exprs at least.
type Or struct {
	Exprs []Expr
}

func (*Word) expr()   {}
func (*Phrase) expr() {}
func (*Not) expr()    {}
func (*And) expr()    {}
func (*Or) expr()     {}

// ParseQuery parses the user syntax of Query.Text: words, "quoted phrases",
// -excluded words, phrases or (groups), OR between alternatives (binding
// tighter than the implicit AND between neighbours), and parentheses. An
// empty or blank text gives a nil Expr: match everything. Words without
// any letter or digit (a lone "&" or "—") are ignored. Errors are
// *InvalidError (field "text") with the position of the fault.
//
//	appels "numéro vert" -surtaxé (email OR sms)
func ParseQuery(text string) (Expr, error) {
	if !utf8.ValidString(text) {
		return nil, &InvalidError{Field: "text", Reason: "not valid UTF-8"}
	}
	if n := utf8.RuneCountInString(text); n > MaxQueryLength {
		return nil, &InvalidError{Field: "text", Reason: fmt.Sprintf("longer than %d characters (%d)", MaxQueryLength, n)}
	}
	toks, err := lex(text)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks}
	e, err := p.and(0)
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind == tokClose {
		return nil, &InvalidError{Field: "text", Pos: t.pos, Reason: "')' without a matching '('"}
	}
	return e, nil
}

type tokKind int

const (
	tokEOF tokKind = iota
	tokWord
	tokPhrase
	tokMinus // a '-' glued to the word, phrase or '(' that follows it
	tokOr
	tokOpen
	tokClose
)

type token struct {
	kind tokKind
	text string
	pos  int // 1-based character position
}

// lex splits text into tokens. A word runs to the next space, quote or
// parenthesis; "-" is an exclusion only at the start of a word.
func lex(text string) ([]token, error) {
	var toks []token
	terms := 0
	countTerms := func(s string, pos int) error {
		terms += len(strings.FieldsFunc(s, func(r rune) bool { return !isWordRune(r) }))
		if terms > MaxTerms {
			return &InvalidError{Field: "text", Pos: pos, Reason: fmt.Sprintf("more than %d terms", MaxTerms)}
		}
		return nil
	}
	rs := []rune(text)
	for i := 0; i < len(rs); {
		r := rs[i]
		pos := i + 1
		switch {
		case unicode.IsSpace(r):
			i++
		case r == '(':
			toks = append(toks, token{kind: tokOpen, pos: pos})
			i++
		case r == ')':
			toks = append(toks, token{kind: tokClose, pos: pos})
			i++
		case r == '"':
			j := i + 1
			for j < len(rs) && rs[j] != '"' {
				j++
			}
			if j == len(rs) {
				return nil, &InvalidError{Field: "text", Pos: pos, Reason: "unclosed quote"}
			}
			s := strings.TrimSpace(string(rs[i+1 : j]))
			if !hasWordRune(s) {
				return nil, &InvalidError{Field: "text", Pos: pos, Reason: "empty phrase"}
			}
			if err := countTerms(s, pos); err != nil {
				return nil, err
			}
			toks = append(toks, token{kind: tokPhrase, text: s, pos: pos})
			i = j + 1
		case r == '-' && (i+1 == len(rs) || unicode.IsSpace(rs[i+1]) || rs[i+1] == ')'):
			return nil, &InvalidError{Field: "text", Pos: pos, Reason: "nothing to exclude after '-'"}
		case r == '-':
			toks = append(toks, token{kind: tokMinus, pos: pos})
			i++
		default:
			j := i
			for j < len(rs) && !unicode.IsSpace(rs[j]) && rs[j] != '"' && rs[j] != '(' && rs[j] != ')' {
				j++
			}
			w := string(rs[i:j])
			if w == "OR" {
				toks = append(toks, token{kind: tokOr, pos: pos})
			} else {
				if err := countTerms(w, pos); err != nil {
					return nil, err
				}
				toks = append(toks, token{kind: tokWord, text: w, pos: pos})
			}
			i = j
		}
	}
	return append(toks, token{kind: tokEOF, pos: len(rs) + 1}), nil
}

func isWordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

func hasWordRune(s string) bool { return strings.IndexFunc(s, isWordRune) >= 0 }

type parser struct {
	toks []token
	i    int
}

func (p *parser) peek() token { return p.toks[p.i] }

func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tokEOF {
		p.i++
	}
	return t
}

// and parses neighbours up to the end or a ')'.
func (p *parser) and(depth int) (Expr, error) {
	var es []Expr
	for {
		switch p.peek().kind {
		case tokEOF, tokClose:
			return simplify(es, func(es []Expr) Expr { return &And{Exprs: es} }), nil
		}
		e, err := p.or(depth)
		if err != nil {
			return nil, err
		}
		if e != nil {
			es = append(es, e)
		}
	}
}

// or parses alternatives separated by OR.
func (p *parser) or(depth int) (Expr, error) {
	if t := p.peek(); t.kind == tokOr {
		return nil, &InvalidError{Field: "text", Pos: t.pos, Reason: "OR without an alternative before it"}
	}
	var es []Expr
	for {
		e, err := p.unary(depth)
		if err != nil {
			return nil, err
		}
		if e != nil {
			es = append(es, e)
		}
		if p.peek().kind != tokOr {
			return simplify(es, func(es []Expr) Expr { return &Or{Exprs: es} }), nil
		}
		or := p.next()
		switch p.peek().kind {
		case tokEOF, tokClose, tokOr:
			return nil, &InvalidError{Field: "text", Pos: or.pos, Reason: "OR without an alternative after it"}
		}
	}
}

func (p *parser) unary(depth int) (Expr, error) {
	if p.peek().kind != tokMinus {
		return p.primary(depth)
	}
	minus := p.next()
	if t := p.peek(); t.kind == tokOr || t.kind == tokMinus {
		return nil, &InvalidError{Field: "text", Pos: minus.pos, Reason: "nothing to exclude after '-'"}
	}
	e, err := p.primary(depth)
	if err != nil || e == nil {
		return nil, err
	}
	if n, ok := e.(*Not); ok { // -(-a) is a
		return n.Expr, nil
	}
	return &Not{Expr: e}, nil
}

func (p *parser) primary(depth int) (Expr, error) {
	t := p.next()
	switch t.kind {
	case tokWord:
		if !hasWordRune(t.text) {
			return nil, nil
		}
		return &Word{Text: t.text, Pos: t.pos}, nil
	case tokPhrase:
		return &Phrase{Text: t.text, Pos: t.pos}, nil
	case tokOpen:
		if depth+1 > MaxDepth {
			return nil, &InvalidError{Field: "text", Pos: t.pos, Reason: fmt.Sprintf("parentheses nested deeper than %d", MaxDepth)}
		}
		e, err := p.and(depth + 1)
		if err != nil {
			return nil, err
		}
		if c := p.next(); c.kind != tokClose {
			return nil, &InvalidError{Field: "text", Pos: t.pos, Reason: "unclosed '('"}
		}
		if e == nil {
			return nil, &InvalidError{Field: "text", Pos: t.pos, Reason: "empty parentheses"}
		}
		return e, nil
	case tokClose:
		return nil, &InvalidError{Field: "text", Pos: t.pos, Reason: "')' without a matching '('"}
	default:
		// EOF cannot happen (callers stop there) and OR/'-' are handled by
		// the callers; anything else is a bug in the parser.
		return nil, &InvalidError{Field: "text", Pos: t.pos, Reason: "unexpected token"}
	}
}

// simplify returns nil for no expressions, the one expression alone, or
// wrap(es).
func simplify(es []Expr, wrap func([]Expr) Expr) Expr {
	switch len(es) {
	case 0:
		return nil
	case 1:
		return es[0]
	}
	return wrap(es)
}

// String writes e back in the query syntax, fully parenthesised; tests and
// logs use it.
func String(e Expr) string {
	var b strings.Builder
	writeExpr(&b, e)
	return b.String()
}

func writeExpr(b *strings.Builder, e Expr) {
	switch e := e.(type) {
	case nil:
	case *Word:
		b.WriteString(e.Text)
	case *Phrase:
		b.WriteString(`"` + e.Text + `"`)
	case *Not:
		b.WriteString("-")
		writeExpr(b, e.Expr)
	case *And:
		writeList(b, e.Exprs, " ")
	case *Or:
		writeList(b, e.Exprs, " OR ")
	}
}

func writeList(b *strings.Builder, es []Expr, sep string) {
	b.WriteString("(")
	for i, e := range es {
		if i > 0 {
			b.WriteString(sep)
		}
		writeExpr(b, e)
	}
	b.WriteString(")")
}

// Words returns the words of e that are not excluded, phrases' words
// included, in order: what highlighting may mark.
func Words(e Expr) []string {
	var out []string
	var walk func(e Expr, neg bool)
	walk = func(e Expr, neg bool) {
		switch e := e.(type) {
		case *Word:
			if !neg {
				out = append(out, e.Text)
			}
		case *Phrase:
			if !neg {
				out = append(out, strings.FieldsFunc(e.Text, func(r rune) bool { return !isWordRune(r) })...)
			}
		case *Not:
			walk(e.Expr, !neg)
		case *And:
			for _, x := range e.Exprs {
				walk(x, neg)
			}
		case *Or:
			for _, x := range e.Exprs {
				walk(x, neg)
			}
		}
	}
	walk(e, false)
	return out
}

// Check validates the parts of q that every backend checks the same way
// (tenant, text syntax and length, size, time range) and returns the
// parsed text. The cursor is the backend's to check.
func (q *Query) Check() (Expr, error) {
	if strings.TrimSpace(q.Tenant) == "" {
		return nil, Invalid("tenant", "required")
	}
	if err := CheckSize(q.Size); err != nil {
		return nil, err
	}
	if !q.From.IsZero() && !q.To.IsZero() && !q.From.Before(q.To) {
		return nil, Invalid("from", "must be before to (from %s, to %s)", q.From.Format("2006-01-02T15:04:05Z07:00"), q.To.Format("2006-01-02T15:04:05Z07:00"))
	}
	for _, f := range []struct {
		name string
		vals []string
	}{{"channels", q.Channels}, {"queues", q.Queues}, {"agents", q.Agents}, {"statuses", q.Statuses}, {"tags", q.Tags}} {
		if len(f.vals) > MaxSize {
			return nil, Invalid(f.name, "at most %d values", MaxSize)
		}
		for _, v := range f.vals {
			if v == "" {
				return nil, Invalid(f.name, "empty value")
			}
		}
	}
	for _, s := range q.Statuses {
		switch s {
		case StatusWaiting, StatusAssigned, StatusResolved, StatusAbandoned:
		default:
			return nil, Invalid("statuses", "unknown status %q (waiting, assigned, resolved or abandoned)", s)
		}
	}
	return ParseQuery(q.Text)
}

// Check validates q like Query.Check.
func (q *DossierQuery) Check() error {
	if strings.TrimSpace(q.Tenant) == "" {
		return Invalid("tenant", "required")
	}
	if len(q.ContactIDs) == 0 {
		return Invalid("contact_ids", "at least one contact id is required")
	}
	if len(q.ContactIDs) > MaxSize {
		return Invalid("contact_ids", "at most %d contact ids", MaxSize)
	}
	for _, id := range q.ContactIDs {
		if id == "" {
			return Invalid("contact_ids", "empty contact id")
		}
	}
	return CheckSize(q.Size)
}

// Check validates q like Query.Check and returns it with Phone in E.164
// and Email lower-cased. Exactly one of Phone, Email and Name is required.
// Phone must be international ("+33 1 23 45 67 89", "0033 …"): a caller
// that knows the tenant's region normalises national forms first with
// NormalizePhone.
func (q ContactQuery) Check() (ContactQuery, error) {
	if strings.TrimSpace(q.Tenant) == "" {
		return q, Invalid("tenant", "required")
	}
	if err := CheckSize(q.Size); err != nil {
		return q, err
	}
	n := 0
	for _, s := range []string{q.Phone, q.Email, q.Name} {
		if strings.TrimSpace(s) != "" {
			n++
		}
	}
	if n != 1 {
		return q, Invalid("phone", "give exactly one of phone, email and name (got %d)", n)
	}
	if q.Phone != "" {
		p, err := NormalizePhone(q.Phone, "")
		if err != nil {
			var pe *PhoneError
			if errors.As(err, &pe) {
				return q, Invalid("phone", "%s", pe.Reason)
			}
			return q, Invalid("phone", "%v", err)
		}
		q.Phone = p
	}
	q.Email = strings.ToLower(strings.TrimSpace(q.Email))
	if len([]rune(q.Name)) > MaxQueryLength {
		return q, Invalid("name", "longer than %d characters", MaxQueryLength)
	}
	return q, nil
}

// CheckSize checks a page size: 0 (DefaultSize) to MaxSize.
func CheckSize(size int) error {
	if size < 0 || size > MaxSize {
		return Invalid("size", "must be 0 (default %d) to %d, got %d", DefaultSize, MaxSize, size)
	}
	return nil
}

// PageSize returns size with 0 meaning DefaultSize.
func PageSize(size int) int {
	if size == 0 {
		return DefaultSize
	}
	return size
}
