package elastic

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/hotline-hub/hotline/search"
)

// obj is a JSON object of the query DSL.
type obj = map[string]any

// Sizes of aggregations and highlights.
const (
	maxChannelFacet = 1000
	maxHighlights   = 3
	fragmentSize    = 200
	// maxAnalyzedOffset bounds how much of an entry the highlighter
	// reads; Elasticsearch refuses longer texts without it.
	maxAnalyzedOffset = 100000
)

// Highlight tags: private-use characters, stripped to compute the marks.
// (An entry that has these characters itself gets wrong marks, never
// markup.)
const (
	preTag  = string(preRune)
	postTag = string(postRune)

	preRune  = '\uE000'
	postRune = '\uE001'
)

// Search runs an analyst's query: the text translated to the query DSL
// (see translate), the tenant and the filters as filter clauses, sorted by
// relevance (with text) or newest first, paged with search_after.
func (x *Index) Search(ctx context.Context, q search.Query) (search.Result, error) {
	var res search.Result
	expr, err := q.Check()
	if err != nil {
		return res, err
	}
	for _, t := range []struct {
		field string
		t     time.Time
	}{{"from", q.From}, {"to", q.To}} {
		if err := checkTime(t.field, t.t); err != nil {
			return res, search.Invalid(t.field, "%v", err)
		}
	}
	kind := kindByTime
	if expr != nil {
		kind = kindByScore
	}
	after, err := decodeCursor(q.After, kind, q.Tenant)
	if err != nil {
		return res, err
	}
	size := search.PageSize(q.Size)
	boolq := obj{"filter": conversationFilter(&q)}
	body := obj{
		"size":             size + 1,
		"track_total_hits": true,
		"query":            obj{"bool": boolq},
	}
	if expr != nil {
		boolq["must"] = []any{translate(expr, false)}
		if hl := highlightClause(positives(expr, false, nil)); hl != nil {
			boolq["should"] = []any{hl}
		}
		body["sort"] = []any{"_score", obj{"last_activity": "desc"}, obj{"id": "asc"}}
	} else {
		body["sort"] = []any{obj{"last_activity": "desc"}, obj{"id": "asc"}}
	}
	if after != nil {
		body["search_after"] = after
	}
	if q.Facets {
		body["aggs"] = obj{
			"channels": obj{"terms": obj{"field": "channel", "size": maxChannelFacet}},
			"days": obj{"date_histogram": obj{
				"field": "last_activity", "calendar_interval": "day", "time_zone": "UTC",
				"format": "yyyy-MM-dd", "min_doc_count": 1,
			}},
		}
	}
	var sr searchResponse
	if err := x.call(ctx, "search", http.MethodPost, "/"+x.convs+"/_search", nil, body, &sr); err != nil {
		return res, err
	}
	res.Total = sr.Hits.Total.Value
	res.Hits = make([]search.Hit, 0, min(len(sr.Hits.Hits), size))
	for i, h := range sr.Hits.Hits {
		if i == size {
			res.Next = encodeCursor(kind, q.Tenant, sr.Hits.Hits[i-1].Sort)
			break
		}
		var d convDoc
		if err := json.Unmarshal(h.Source, &d); err != nil {
			return res, decodeError("search", err)
		}
		c := d.conversation()
		res.Hits = append(res.Hits, search.Hit{Conversation: c, Highlights: highlights(&c, h.InnerHits["hl"])})
	}
	if q.Facets {
		res.Facets = &search.Facets{Channels: map[string]int{}, Days: []search.DayCount{}}
		for _, b := range sr.Aggregations.Channels.Buckets {
			res.Facets.Channels[string(b.Key)] = b.DocCount
		}
		for _, b := range sr.Aggregations.Days.Buckets {
			res.Facets.Days = append(res.Facets.Days, search.DayCount{Day: b.KeyAsString, Count: b.DocCount})
		}
	}
	return res, nil
}

// searchResponse is what Search, Dossier and Contacts read of an answer.
type searchResponse struct {
	Hits struct {
		Total struct {
			Value int `json:"value"`
		} `json:"total"`
		Hits []searchHit `json:"hits"`
	} `json:"hits"`
	Aggregations struct {
		Channels termsAgg `json:"channels"`
		Statuses termsAgg `json:"statuses"`
		Days     struct {
			Buckets []struct {
				KeyAsString string `json:"key_as_string"`
				DocCount    int    `json:"doc_count"`
			} `json:"buckets"`
		} `json:"days"`
	} `json:"aggregations"`
}

type searchHit struct {
	Source    json.RawMessage      `json:"_source"`
	Sort      []json.RawMessage    `json:"sort"`
	InnerHits map[string]innerHits `json:"inner_hits"`
}

type innerHits struct {
	Hits struct {
		Hits []innerHit `json:"hits"`
	} `json:"hits"`
}

type innerHit struct {
	Nested struct {
		Offset int `json:"offset"`
	} `json:"_nested"`
	Score     float64             `json:"_score"`
	Highlight map[string][]string `json:"highlight"`
}

type termsAgg struct {
	Buckets []struct {
		Key      keyString `json:"key"`
		DocCount int       `json:"doc_count"`
	} `json:"buckets"`
}

// keyString is a bucket key: a string, or a number for a numeric field.
type keyString string

func (k *keyString) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		*k = keyString(b)
		return nil
	}
	*k = keyString(s)
	return nil
}

// conversationFilter is the filter clauses of q: the tenant (always) and
// the filters.
func conversationFilter(q *search.Query) []any {
	f := []any{obj{"term": obj{"tenant": q.Tenant}}}
	for _, kv := range []struct {
		field string
		vals  []string
	}{{"channel", q.Channels}, {"queue", q.Queues}, {"agent_id", q.Agents}, {"status", q.Statuses}} {
		if len(kv.vals) > 0 {
			f = append(f, obj{"terms": obj{kv.field: kv.vals}})
		}
	}
	for _, t := range q.Tags {
		f = append(f, obj{"term": obj{"tags": t}})
	}
	if !q.To.IsZero() {
		// Started before To; a conversation stored without a start time
		// started before anything.
		f = append(f, obj{"bool": obj{
			"should": []any{
				obj{"range": obj{"started": obj{"lt": q.To.UTC().Format(time.RFC3339Nano)}}},
				obj{"bool": obj{"must_not": obj{"exists": obj{"field": "started"}}}},
			},
			"minimum_should_match": 1,
		}})
	}
	if !q.From.IsZero() {
		f = append(f, obj{"range": obj{"last_activity": obj{"gte": q.From.UTC().Format(time.RFC3339Nano)}}})
	}
	return f
}

// translate turns a parsed query text into the query DSL. Words and
// phrases are each a nested query over the entries (a phrase is within
// one entry; the words of an AND may be in different entries of the
// conversation); And is a bool of must and must_not, Or a bool of should
// with minimum_should_match 1, Not a must_not.
//
// A word is searched in every language's text field, analysed by that
// field's analyzer. A word that is a stop word of a language ("le", "die",
// "the") matches every entry of that language (zero_terms_query all
// within the entries that have the field) rather than none, so that it
// does not hide the entries of that language from an AND; excluded (neg,
// under an odd number of Nots), it matches none of them, so that it does
// not exclude them all either.
func translate(e search.Expr, neg bool) any {
	switch e := e.(type) {
	case *search.Word:
		return nested(textClause(e.Text, true, !neg), false)
	case *search.Phrase:
		return nested(textClause(e.Text, false, false), false)
	case *search.Not:
		return obj{"bool": obj{"must": obj{"match_all": obj{}}, "must_not": translate(e.Expr, !neg)}}
	case *search.And:
		var must, mustNot []any
		for _, x := range e.Exprs {
			if n, ok := x.(*search.Not); ok {
				mustNot = append(mustNot, translate(n.Expr, !neg))
				continue
			}
			must = append(must, translate(x, neg))
		}
		if len(must) == 0 {
			must = []any{obj{"match_all": obj{}}}
		}
		b := obj{"must": must}
		if len(mustNot) > 0 {
			b["must_not"] = mustNot
		}
		return obj{"bool": b}
	case *search.Or:
		should := make([]any, len(e.Exprs))
		for i, x := range e.Exprs {
			should[i] = translate(x, neg)
		}
		return obj{"bool": obj{"should": should, "minimum_should_match": 1}}
	}
	return obj{"match_none": obj{}}
}

// textClause matches text in an entry's text, in any language's field:
// as a phrase (the words next to each other, which is also how a word
// that analyses to several tokens, "4711-XB", is matched). A word
// (isWord) that a language's analyzer drops entirely, a stop word,
// matches every entry of that language when stopWordsMatch is set; in
// German it is also matched in the forms germanForms adds.
func textClause(text string, isWord, stopWordsMatch bool) any {
	should := make([]any, 0, len(textFields)+1)
	for _, f := range textFields {
		mp := obj{"query": text}
		if isWord && stopWordsMatch && f.lang != langStd {
			mp["zero_terms_query"] = "all"
			should = append(should, obj{"bool": obj{
				"filter": obj{"exists": obj{"field": textPath(f.lang)}},
				"must":   obj{"match_phrase": obj{textPath(f.lang): mp}},
			}})
		} else {
			should = append(should, obj{"match_phrase": obj{textPath(f.lang): mp}})
		}
		if isWord && f.lang == "de" {
			for _, form := range germanForms(text) {
				should = append(should, obj{"match_phrase": obj{textPath(f.lang): obj{"query": form}}})
			}
		}
	}
	return obj{"bool": obj{"should": should, "minimum_should_match": 1}}
}

// germanForms returns the other form of a German noun with or without
// the genitive -s ("Anrufer", "Anrufers"): Lucene's light German stemmer,
// which Elasticsearch's german analyzer uses, only strips an -s after
// some letters (not after r, as in "des Anrufers"), so the stems of the
// two forms differ. The forms are searched in the German field only, and
// without the stop word rule.
func germanForms(w string) []string {
	lw := strings.ToLower(w)
	if utf8.RuneCountInString(lw) < 4 || strings.IndexFunc(lw, func(r rune) bool { return !unicode.IsLetter(r) }) >= 0 {
		return nil
	}
	switch {
	case strings.HasSuffix(lw, "ss"):
		return nil
	case strings.HasSuffix(lw, "s"):
		return []string{w[:len(w)-1]}
	}
	return []string{w + "s"}
}

// positives returns the words and phrases of e that are not excluded:
// what highlights may mark.
func positives(e search.Expr, neg bool, out []search.Expr) []search.Expr {
	switch e := e.(type) {
	case *search.Word, *search.Phrase:
		if !neg {
			out = append(out, e)
		}
	case *search.Not:
		out = positives(e.Expr, !neg, out)
	case *search.And:
		for _, x := range e.Exprs {
			out = positives(x, neg, out)
		}
	case *search.Or:
		for _, x := range e.Exprs {
			out = positives(x, neg, out)
		}
	}
	return out
}

// nested wraps a query of entries into a query of conversations, scored
// by the best entry.
func nested(q any, innerHits bool) any {
	n := obj{"path": "entries", "score_mode": "max", "query": q}
	if innerHits {
		fields := obj{}
		for _, f := range textFields {
			fields[textPath(f.lang)] = obj{}
		}
		n["inner_hits"] = obj{
			"name":    "hl",
			"size":    maxHighlights,
			"_source": false,
			"highlight": obj{
				"type":                "unified",
				"pre_tags":            []string{preTag},
				"post_tags":           []string{postTag},
				"number_of_fragments": 1,
				"fragment_size":       fragmentSize,
				"no_match_size":       0,
				"max_analyzed_offset": maxAnalyzedOffset,
				"fields":              fields,
			},
		}
	}
	return obj{"nested": n}
}

// highlightClause is an optional clause of the search that matches the
// entries with any of terms (the query's words and phrases that are not
// excluded) and returns the best few, highlighted, as inner hits. Stop
// words match nothing here, so that they never mark an entry.
func highlightClause(terms []search.Expr) any {
	if len(terms) == 0 {
		return nil
	}
	should := make([]any, 0, len(terms))
	for _, t := range terms {
		switch t := t.(type) {
		case *search.Word:
			should = append(should, textClause(t.Text, true, false))
		case *search.Phrase:
			should = append(should, textClause(t.Text, false, false))
		}
	}
	n := nested(obj{"bool": obj{"should": should, "minimum_should_match": 1}}, true)
	n.(obj)["nested"].(obj)["boost"] = 0 // ranks nothing: translate's clauses do
	return n
}

// highlights turns the inner hits of a conversation into highlights: the
// fragment with the tags stripped and turned into byte offsets, marking
// words (the highlighter marks a whole phrase as one span). The entries
// with the most marks come first.
func highlights(c *search.Conversation, ih innerHits) []search.Highlight {
	var out []search.Highlight
	for _, h := range ih.Hits.Hits {
		if h.Nested.Offset < 0 || h.Nested.Offset >= len(c.Entries) {
			continue
		}
		entry := &c.Entries[h.Nested.Offset]
		for _, f := range textFields {
			frags := h.Highlight[textPath(f.lang)]
			if len(frags) == 0 {
				continue
			}
			if hl, ok := highlight(entry.ID, entry.Text, frags[0]); ok {
				out = append(out, hl)
			}
			break
		}
	}
	slices.SortStableFunc(out, func(a, b search.Highlight) int { return len(b.Marks) - len(a.Marks) })
	return out
}

const ellipsis = "…"

// highlight makes the highlight of an entry's text from a fragment with
// the highlighter's tags. An ellipsis marks a fragment that is not the
// whole text.
func highlight(entryID, text, tagged string) (search.Highlight, bool) {
	var frag strings.Builder
	var marks [][2]int
	start := -1
	for _, r := range tagged {
		switch r {
		case preRune:
			start = frag.Len()
		case postRune:
			if start >= 0 && frag.Len() > start {
				marks = append(marks, words(frag.String(), start, frag.Len())...)
			}
			start = -1
		default:
			frag.WriteRune(r)
		}
	}
	if len(marks) == 0 {
		return search.Highlight{}, false
	}
	f := frag.String()
	if i := strings.Index(text, f); i >= 0 {
		if i > 0 {
			f = ellipsis + f
			for j := range marks {
				marks[j][0] += len(ellipsis)
				marks[j][1] += len(ellipsis)
			}
		}
		if i+len(frag.String()) < len(text) {
			f += ellipsis
		}
	}
	return search.Highlight{EntryID: entryID, Fragment: f, Marks: marks}, true
}

// words splits the span [start, end) of s into the spans of its words
// (runs without spaces).
func words(s string, start, end int) [][2]int {
	var out [][2]int
	w := -1
	for i, r := range s[start:end] {
		if unicode.IsSpace(r) {
			if w >= 0 {
				out = append(out, [2]int{start + w, start + i})
				w = -1
			}
		} else if w < 0 {
			w = i
		}
	}
	if w >= 0 {
		out = append(out, [2]int{start + w, end})
	}
	return out
}

// Dossier returns a contact's conversations, newest first, without their
// entries, with the counts by channel and of open cases.
func (x *Index) Dossier(ctx context.Context, q search.DossierQuery) (search.Dossier, error) {
	var d search.Dossier
	if err := q.Check(); err != nil {
		return d, err
	}
	after, err := decodeCursor(q.After, kindDossier, q.Tenant)
	if err != nil {
		return d, err
	}
	size := search.PageSize(q.Size)
	body := obj{
		"size":             size + 1,
		"track_total_hits": true,
		"_source":          obj{"excludes": []string{"entries"}},
		"query": obj{"bool": obj{"filter": []any{
			obj{"term": obj{"tenant": q.Tenant}},
			obj{"terms": obj{"contact_id": q.ContactIDs}},
		}}},
		"sort": []any{obj{"last_activity": "desc"}, obj{"id": "asc"}},
		"aggs": obj{
			"channels": obj{"terms": obj{"field": "channel", "size": maxChannelFacet}},
			"statuses": obj{"terms": obj{"field": "status", "size": 100}},
		},
	}
	if after != nil {
		body["search_after"] = after
	}
	var sr searchResponse
	if err := x.call(ctx, "dossier", http.MethodPost, "/"+x.convs+"/_search", nil, body, &sr); err != nil {
		return d, err
	}
	d.Total = sr.Hits.Total.Value
	d.Conversations = make([]search.Conversation, 0, min(len(sr.Hits.Hits), size))
	for i, h := range sr.Hits.Hits {
		if i == size {
			d.Next = encodeCursor(kindDossier, q.Tenant, sr.Hits.Hits[i-1].Sort)
			break
		}
		var cd convDoc
		if err := json.Unmarshal(h.Source, &cd); err != nil {
			return d, decodeError("dossier", err)
		}
		d.Conversations = append(d.Conversations, cd.conversation())
	}
	d.ByChannel = map[string]int{}
	for _, b := range sr.Aggregations.Channels.Buckets {
		d.ByChannel[string(b.Key)] = b.DocCount
	}
	for _, b := range sr.Aggregations.Statuses.Buckets {
		if search.Open(string(b.Key)) {
			d.Open += b.DocCount
		}
	}
	return d, nil
}

// Contacts looks contacts up: a phone by its E.164 key, an email by its
// lower-cased key, a name by its words, folded (see fold) or as written.
func (x *Index) Contacts(ctx context.Context, q search.ContactQuery) ([]search.Contact, error) {
	q, err := q.Check()
	if err != nil {
		return nil, err
	}
	var must any
	switch {
	case q.Phone != "":
		must = obj{"term": obj{"phone_keys": q.Phone}}
	case q.Email != "":
		must = obj{"term": obj{"email_keys": q.Email}}
	default:
		if strings.IndexFunc(q.Name, func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }) < 0 {
			return nil, search.Invalid("name", "no word to look for in %q", q.Name)
		}
		must = obj{"bool": obj{
			"should": []any{
				obj{"match": obj{"name": obj{"query": q.Name, "operator": "and"}}},
				obj{"match": obj{"name_folded": obj{"query": fold(q.Name), "operator": "and"}}},
			},
			"minimum_should_match": 1,
		}}
	}
	body := obj{
		"size":  search.PageSize(q.Size),
		"query": obj{"bool": obj{"filter": obj{"term": obj{"tenant": q.Tenant}}, "must": must}},
		"sort":  []any{"_score", obj{"id": "asc"}},
	}
	var sr searchResponse
	if err := x.call(ctx, "contacts", http.MethodPost, "/"+x.contacts+"/_search", nil, body, &sr); err != nil {
		return nil, err
	}
	out := make([]search.Contact, 0, len(sr.Hits.Hits))
	for _, h := range sr.Hits.Hits {
		var cd contactDoc
		if err := json.Unmarshal(h.Source, &cd); err != nil {
			return nil, decodeError("contacts", err)
		}
		out = append(out, cd.Contact)
	}
	return out, nil
}

func decodeError(op string, err error) error {
	return fmt.Errorf("elastic: %s: decode document: %w", op, err)
}

// Kinds of cursors: the sort they continue.
const (
	kindByScore = "s" // _score, last_activity, id
	kindByTime  = "t" // last_activity, id
	kindDossier = "d" // last_activity, id
)

// cursor is the position after a page's last hit: its sort values, for
// one tenant and one kind of sort. It travels as base64url JSON.
type cursor struct {
	Kind   string            `json:"k"`
	Tenant string            `json:"t"`
	After  []json.RawMessage `json:"a"`
}

func encodeCursor(kind, tenant string, sort []json.RawMessage) string {
	b, _ := json.Marshal(cursor{Kind: kind, Tenant: tenant, After: sort})
	return base64.RawURLEncoding.EncodeToString(b)
}

// maxCursor bounds the length of a cursor: sort values and a tenant.
const maxCursor = 4096

// decodeCursor checks after (a Next of the same tenant and kind of query)
// and returns the search_after values, or nil for the first page.
func decodeCursor(after, kind, tenant string) ([]any, error) {
	if after == "" {
		return nil, nil
	}
	bad := func(why string) error { return search.Invalid("after", "not a cursor of this query: %s", why) }
	if len(after) > maxCursor {
		return nil, bad("too long")
	}
	b, err := base64.RawURLEncoding.DecodeString(after)
	if err != nil {
		return nil, bad("not base64url")
	}
	var c cursor
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, bad("undecodable")
	}
	if c.Kind != kind {
		return nil, bad("from a query sorted otherwise")
	}
	if c.Tenant != tenant {
		return nil, bad("another tenant's")
	}
	// The sort values: [score,] last activity (nanoseconds), id.
	want := 2
	if kind == kindByScore {
		want = 3
	}
	if len(c.After) != want {
		return nil, bad("wrong number of sort values")
	}
	out := make([]any, want)
	for i, raw := range c.After {
		switch {
		case i == want-1:
			var s string
			if err := json.Unmarshal(raw, &s); err != nil {
				return nil, bad("bad id")
			}
			out[i] = s
		default:
			var n json.Number
			if err := json.Unmarshal(raw, &n); err != nil {
				return nil, bad("bad sort value")
			}
			if i == want-2 { // last activity: an integer
				if _, err := n.Int64(); err != nil {
					return nil, bad("bad time")
				}
			} else if _, err := n.Float64(); err != nil {
				return nil, bad("bad score")
			}
			out[i] = n
		}
	}
	return out, nil
}
