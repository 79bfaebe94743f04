package embedded

import (
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/blevesearch/bleve/v2"
	bsearch "github.com/blevesearch/bleve/v2/search"
	"github.com/blevesearch/bleve/v2/search/query"

	"github.com/hotline-hub/hotline/search"
)

// translator turns a parsed query text into a bleve query over the text
// fields of every language: a word matches when any language's analyzer
// finds it (stemmed) in an entry of that language.
//
// A word that some language's analyzer drops as a stop word ("le", "die",
// "the") does not restrict an AND: requiring it would hide every entry in
// that language. It still ranks the conversations that contain it higher,
// and a query of stop words only requires one of them.
type translator struct {
	g *generation
}

// part is a translated expression; a nil q matches nothing.
type part struct {
	q        query.Query
	optional bool // a stop word somewhere: does not restrict an And
}

// top translates the whole text; nil means nothing can match. An empty
// text matches everything.
func (t translator) top(e search.Expr) query.Query {
	if e == nil {
		return bleve.NewMatchAllQuery()
	}
	if n, ok := e.(*search.Not); ok {
		return t.not(n)
	}
	return t.expr(e).q
}

func (t translator) expr(e search.Expr) part {
	switch e := e.(type) {
	case *search.Word:
		return t.word(e.Text)
	case *search.Phrase:
		return t.phrase(e.Text)
	case *search.Not:
		return part{q: t.not(e)}
	case *search.And:
		return t.and(e)
	case *search.Or:
		var qs []query.Query
		for _, x := range e.Exprs {
			if n, ok := x.(*search.Not); ok {
				qs = append(qs, t.not(n))
				continue
			}
			if p := t.expr(x); p.q != nil {
				qs = append(qs, p.q)
			}
		}
		return part{q: disjunction(qs)}
	}
	return part{}
}

// not matches everything but what n excludes.
func (t translator) not(n *search.Not) query.Query {
	bq := bleve.NewBooleanQuery()
	bq.AddMust(bleve.NewMatchAllQuery())
	if p := t.expr(n.Expr); p.q != nil {
		bq.AddMustNot(p.q)
	}
	return bq
}

func (t translator) and(a *search.And) part {
	var must, should, mustNot []query.Query
	for _, x := range a.Exprs {
		if n, ok := x.(*search.Not); ok {
			if p := t.expr(n.Expr); p.q != nil {
				mustNot = append(mustNot, p.q)
			}
			continue
		}
		p := t.expr(x)
		switch {
		case p.optional && p.q != nil:
			should = append(should, p.q)
		case p.q == nil && !p.optional:
			return part{} // one required part matches nothing
		case p.q != nil:
			must = append(must, p.q)
		}
	}
	if len(must) == 0 && len(should) > 0 {
		must, should = []query.Query{disjunction(should)}, nil
	}
	if len(must) == 0 {
		must = []query.Query{bleve.NewMatchAllQuery()}
	}
	bq := bleve.NewBooleanQuery()
	bq.AddMust(must...)
	if len(should) > 0 {
		bq.AddShould(should...)
	}
	if len(mustNot) > 0 {
		bq.AddMustNot(mustNot...)
	}
	return part{q: bq}
}

// word matches w in every language's field, by its stem where the language
// has stemming.
func (t translator) word(w string) part {
	var qs []query.Query
	stop := false
	for _, l := range textLangs {
		toks := analyze(t.g, analyzers[l], w)
		switch len(toks) {
		case 0:
			stop = true
		case 1:
			qs = append(qs, term(textField(l), toks[0]))
		default: // "e-mail", "8-495": its pieces next to each other
			mp := bleve.NewMatchPhraseQuery(w)
			mp.SetField(textField(l))
			qs = append(qs, mp)
		}
	}
	return part{q: disjunction(qs), optional: stop && len(qs) > 0}
}

// phrase matches the words of s next to each other in one entry, in any
// language's field.
func (t translator) phrase(s string) part {
	var qs []query.Query
	for _, l := range textLangs {
		if len(analyze(t.g, analyzers[l], s)) == 0 {
			continue
		}
		mp := bleve.NewMatchPhraseQuery(s)
		mp.SetField(textField(l))
		qs = append(qs, mp)
	}
	return part{q: disjunction(qs)}
}

func disjunction(qs []query.Query) query.Query {
	switch len(qs) {
	case 0:
		return nil
	case 1:
		return qs[0]
	}
	return bleve.NewDisjunctionQuery(qs...)
}

// analyze returns the terms the named analyzer makes of s.
func analyze(g *generation, analyzer, s string) []string {
	a := g.bi.Mapping().AnalyzerNamed(analyzer)
	if a == nil {
		return nil
	}
	ts := a.Analyze([]byte(s))
	out := make([]string, 0, len(ts))
	for _, tok := range ts {
		out = append(out, string(tok.Term))
	}
	return out
}

// Fragment sizes in bytes.
const (
	fragmentBytes = 240
	leadBytes     = 60
	ellipsis      = "…"
)

// highlights turns the term locations of a hit into fragments of the
// matching entries, the entries with the most marks first.
func highlights(c *search.Conversation, locs bsearch.FieldTermLocationMap) []search.Highlight {
	if len(locs) == 0 || len(c.Entries) == 0 {
		return nil
	}
	// byLang[l][i] is the index in c.Entries of the i-th entry of l.
	byLang := map[string][]int{}
	for i := range c.Entries {
		l := entryLang(c, &c.Entries[i])
		byLang[l] = append(byLang[l], i)
	}
	marks := map[int][][2]int{}
	for field, tlm := range locs {
		l, ok := strings.CutPrefix(field, "text_")
		if !ok {
			continue
		}
		for _, ls := range tlm {
			for _, loc := range ls {
				pos := 0
				if len(loc.ArrayPositions) > 0 {
					pos = int(loc.ArrayPositions[0])
				}
				if pos >= len(byLang[l]) {
					continue
				}
				i := byLang[l][pos]
				if int(loc.End) > len(c.Entries[i].Text) || loc.Start >= loc.End {
					continue
				}
				marks[i] = append(marks[i], [2]int{int(loc.Start), int(loc.End)})
			}
		}
	}
	entries := make([]int, 0, len(marks))
	for i := range marks {
		marks[i] = mergeMarks(marks[i])
		entries = append(entries, i)
	}
	sort.Slice(entries, func(a, b int) bool {
		ma, mb := len(marks[entries[a]]), len(marks[entries[b]])
		if ma != mb {
			return ma > mb
		}
		return entries[a] < entries[b]
	})
	if len(entries) > maxHighlights {
		entries = entries[:maxHighlights]
	}
	out := make([]search.Highlight, 0, len(entries))
	for _, i := range entries {
		out = append(out, fragment(c.Entries[i].ID, c.Entries[i].Text, marks[i]))
	}
	return out
}

// mergeMarks sorts marks and merges those that overlap.
func mergeMarks(ms [][2]int) [][2]int {
	sort.Slice(ms, func(a, b int) bool { return ms[a][0] < ms[b][0] })
	out := ms[:0]
	for _, m := range ms {
		if n := len(out); n > 0 && m[0] <= out[n-1][1] {
			out[n-1][1] = max(out[n-1][1], m[1])
			continue
		}
		out = append(out, m)
	}
	return out
}

// fragment cuts a window of text around its first mark, on word
// boundaries where it can, and shifts the marks into it.
func fragment(id, text string, marks [][2]int) search.Highlight {
	if len(text) <= fragmentBytes {
		return search.Highlight{EntryID: id, Fragment: text, Marks: marks}
	}
	start := max(0, marks[0][0]-leadBytes)
	if i := strings.LastIndexByte(text[:marks[0][0]], ' '); i >= start-20 && i >= 0 && start > 0 {
		start = i + 1
	}
	for start > 0 && !utf8.RuneStart(text[start]) {
		start--
	}
	end := min(len(text), max(start+fragmentBytes, marks[0][1]))
	if end < len(text) {
		if i := strings.LastIndexByte(text[start:end], ' '); i > 0 && start+i >= marks[0][1] {
			end = start + i
		}
		for end < len(text) && !utf8.RuneStart(text[end]) {
			end--
		}
	}
	var b strings.Builder
	shift := -start
	if start > 0 {
		b.WriteString(ellipsis)
		shift += len(ellipsis)
	}
	b.WriteString(text[start:end])
	if end < len(text) {
		b.WriteString(ellipsis)
	}
	var ms [][2]int
	for _, m := range marks {
		if m[0] >= start && m[1] <= end {
			ms = append(ms, [2]int{m[0] + shift, m[1] + shift})
		}
	}
	return search.Highlight{EntryID: id, Fragment: b.String(), Marks: ms}
}
