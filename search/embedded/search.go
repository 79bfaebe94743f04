package embedded

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/blevesearch/bleve/v2"
	bsearch "github.com/blevesearch/bleve/v2/search"
	"github.com/blevesearch/bleve/v2/search/query"

	"github.com/hotline-hub/hotline/search"
)

// Facet sizes: enough for every channel and for every day of decades.
const (
	maxChannelFacet = 1000
	maxDayFacet     = 100000
	maxHighlights   = 3
)

// Search runs an analyst's query.
func (x *Index) Search(ctx context.Context, q search.Query) (search.Result, error) {
	var res search.Result
	expr, err := q.Check()
	if err != nil {
		return res, err
	}
	if err := checkTime("from", q.From); err != nil {
		return res, err
	}
	if err := checkTime("to", q.To); err != nil {
		return res, err
	}
	byScore := expr != nil
	after, err := decodeCursor(q.After, q.Tenant, byScore)
	if err != nil {
		return res, err
	}
	size := search.PageSize(q.Size)
	err = x.use(func(g *generation) error {
		tr := translator{g: g}
		text := tr.top(expr)
		if text == nil { // nothing can match, e.g. a phrase of stop words only
			res.Hits = []search.Hit{}
			if q.Facets {
				res.Facets = &search.Facets{Channels: map[string]int{}, Days: []search.DayCount{}}
			}
			return nil
		}
		// The tenant and the keyword filters join the text in a
		// conjunction, which advances through the rarest of them (a
		// tenant's documents, not every tenant's matches of a common
		// word); they add the same score to every hit, so the order is
		// the text's. Tags (their score depends on how many a
		// conversation has) and dates only filter. Without text the
		// conjunction alone drives the search.
		keys, rest := conversationFilter(&q)
		var bq query.Query
		if byScore {
			keys = append(keys, text)
		}
		bq = bleve.NewConjunctionQuery(keys...)
		if len(rest) > 0 {
			b := bleve.NewBooleanQuery()
			b.AddMust(bq)
			b.AddFilter(bleve.NewConjunctionQuery(rest...))
			bq = b
		}
		req := bleve.NewSearchRequestOptions(bq, size+1, 0, false)
		if !byScore {
			req.Score = "none"
		}
		req.Fields = []string{fieldConv, fieldEntries}
		req.IncludeLocations = byScore
		if byScore {
			req.SortByCustom(bsearch.SortOrder{&bsearch.SortScore{Desc: true}, &bsearch.SortDocID{}})
		} else {
			req.SortByCustom(byNewest())
		}
		req.SearchAfter = after
		if q.Facets {
			req.AddFacet(fieldChannel, bleve.NewFacetRequest(fieldChannel, maxChannelFacet))
			req.AddFacet(fieldDay, bleve.NewFacetRequest(fieldDay, maxDayFacet))
		}
		sr, err := g.bi.SearchInContext(ctx, req)
		if err != nil {
			return searchError(ctx, err)
		}
		res.Total = int(sr.Total)
		res.Hits = make([]search.Hit, 0, min(len(sr.Hits), size))
		for i, h := range sr.Hits {
			if i == size {
				res.Next = encodeCursor(sr.Hits[i-1], byScore)
				break
			}
			c, err := decodeConversation(str(h.Fields[fieldConv]), str(h.Fields[fieldEntries]))
			if err != nil {
				return err
			}
			res.Hits = append(res.Hits, search.Hit{Conversation: c, Highlights: highlights(&c, h.Locations)})
		}
		if q.Facets {
			res.Facets = &search.Facets{
				Channels: termCounts(sr.Facets[fieldChannel]),
				Days:     dayCounts(sr.Facets[fieldDay]),
			}
		}
		return nil
	})
	return res, err
}

// Dossier returns a contact's conversations, newest first.
func (x *Index) Dossier(ctx context.Context, q search.DossierQuery) (search.Dossier, error) {
	var d search.Dossier
	if err := q.Check(); err != nil {
		return d, err
	}
	after, err := decodeCursor(q.After, q.Tenant, false)
	if err != nil {
		return d, err
	}
	size := search.PageSize(q.Size)
	err = x.use(func(g *generation) error {
		bq := bleve.NewConjunctionQuery(term(fieldTenant, q.Tenant), terms(fieldContactID, q.ContactIDs))
		req := bleve.NewSearchRequestOptions(bq, size+1, 0, false)
		req.Score = "none"
		req.Fields = []string{fieldConv}
		req.SortByCustom(byNewest())
		req.SearchAfter = after
		req.AddFacet(fieldChannel, bleve.NewFacetRequest(fieldChannel, maxChannelFacet))
		req.AddFacet(fieldStatus, bleve.NewFacetRequest(fieldStatus, 100))
		sr, err := g.bi.SearchInContext(ctx, req)
		if err != nil {
			return searchError(ctx, err)
		}
		d.Total = int(sr.Total)
		d.Conversations = make([]search.Conversation, 0, min(len(sr.Hits), size))
		for i, h := range sr.Hits {
			if i == size {
				d.Next = encodeCursor(sr.Hits[i-1], false)
				break
			}
			c, err := decodeConversation(str(h.Fields[fieldConv]), "")
			if err != nil {
				return err
			}
			d.Conversations = append(d.Conversations, c)
		}
		d.ByChannel = termCounts(sr.Facets[fieldChannel])
		for s, n := range termCounts(sr.Facets[fieldStatus]) {
			if search.Open(s) {
				d.Open += n
			}
		}
		return nil
	})
	return d, err
}

// Contacts looks contacts up by phone, email or name.
func (x *Index) Contacts(ctx context.Context, q search.ContactQuery) ([]search.Contact, error) {
	q, err := q.Check()
	if err != nil {
		return nil, err
	}
	var out []search.Contact
	err = x.use(func(g *generation) error {
		var must query.Query
		switch {
		case q.Phone != "":
			must = term(fieldCPhone, q.Phone)
		case q.Email != "":
			must = term(fieldCEmail, q.Email)
		default:
			words := analyze(g, analyzerName, q.Name)
			if len(words) == 0 {
				return search.Invalid("name", "no word to look for in %q", q.Name)
			}
			ws := make([]query.Query, len(words))
			for i, w := range words {
				ws[i] = term(fieldCName, w)
			}
			must = bleve.NewConjunctionQuery(ws...)
		}
		bq := bleve.NewBooleanQuery()
		bq.AddMust(must)
		bq.AddFilter(term(fieldCTenant, q.Tenant))
		req := bleve.NewSearchRequestOptions(bq, search.PageSize(q.Size), 0, false)
		req.Fields = []string{fieldContact}
		req.SortByCustom(bsearch.SortOrder{&bsearch.SortScore{Desc: true}, &bsearch.SortDocID{}})
		sr, err := g.bi.SearchInContext(ctx, req)
		if err != nil {
			return searchError(ctx, err)
		}
		out = make([]search.Contact, 0, len(sr.Hits))
		for _, h := range sr.Hits {
			var c search.Contact
			if err := json.Unmarshal([]byte(str(h.Fields[fieldContact])), &c); err != nil {
				return fmt.Errorf("embedded: decode contact %q: %w", h.ID, err)
			}
			out = append(out, c)
		}
		return nil
	})
	return out, err
}

// conversationFilter returns the queries that keep the tenant's
// conversations passing q's filters: the keyword ones (one term each or a
// disjunction of terms) and the rest (tags and dates).
func conversationFilter(q *search.Query) (keys, rest []query.Query) {
	keys = []query.Query{term(fieldTenant, q.Tenant)}
	for _, f := range []struct {
		field string
		vals  []string
	}{{fieldChannel, q.Channels}, {fieldQueue, q.Queues}, {fieldAgent, q.Agents}, {fieldStatus, q.Statuses}} {
		switch len(f.vals) {
		case 0:
		case 1:
			keys = append(keys, term(f.field, f.vals[0]))
		default:
			keys = append(keys, terms(f.field, f.vals))
		}
	}
	for _, t := range q.Tags {
		rest = append(rest, term(fieldTags, t))
	}
	incl := true
	if !q.To.IsZero() {
		r := bleve.NewDateRangeInclusiveQuery(time.Time{}, q.To, nil, new(bool))
		r.SetField(fieldStarted)
		rest = append(rest, r)
	}
	if !q.From.IsZero() {
		r := bleve.NewDateRangeInclusiveQuery(q.From, time.Time{}, &incl, nil)
		r.SetField(fieldLastActivity)
		rest = append(rest, r)
	}
	return keys, rest
}

// checkTime rejects times bleve cannot represent (nanoseconds since 1970
// in an int64).
func checkTime(field string, t time.Time) error {
	if t.IsZero() {
		return nil
	}
	if t.Year() < 1678 || t.Year() > 2261 {
		return search.Invalid(field, "out of range: %s", t.Format(time.RFC3339))
	}
	return nil
}

func term(field, v string) *query.TermQuery {
	t := bleve.NewTermQuery(v)
	t.SetField(field)
	return t
}

func terms(field string, vs []string) query.Query {
	qs := make([]query.Query, len(vs))
	for i, v := range vs {
		qs[i] = term(field, v)
	}
	return bleve.NewDisjunctionQuery(qs...)
}

func byNewest() bsearch.SortOrder {
	return bsearch.SortOrder{
		&bsearch.SortField{Field: fieldLastActivity, Desc: true, Type: bsearch.SortFieldAsDate, Missing: bsearch.SortFieldMissingLast},
		&bsearch.SortDocID{},
	}
}

func searchError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return fmt.Errorf("embedded: search: %v: %w", err, search.ErrUnavailable)
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

func termCounts(fr *bsearch.FacetResult) map[string]int {
	out := map[string]int{}
	if fr == nil {
		return out
	}
	for _, t := range fr.Terms.Terms() {
		out[t.Term] = t.Count
	}
	return out
}

func dayCounts(fr *bsearch.FacetResult) []search.DayCount {
	out := []search.DayCount{}
	if fr == nil {
		return out
	}
	for _, t := range fr.Terms.Terms() {
		out = append(out, search.DayCount{Day: t.Term, Count: t.Count})
	}
	slices.SortFunc(out, func(a, b search.DayCount) int { return strings.Compare(a.Day, b.Day) })
	return out
}

// cursor is the position after the last hit of a page: its sort values
// (the score or the last activity) and its document id, which also ties it
// to its tenant.
type cursor struct {
	Kind  string `json:"k"` // "s" by score, "t" by time
	Value string `json:"v"`
	DocID string `json:"i"`
}

func encodeCursor(h *bsearch.DocumentMatch, byScore bool) string {
	c := cursor{Kind: "t", DocID: h.ID}
	if byScore {
		c.Kind, c.Value = "s", strconv.FormatFloat(h.Score, 'g', -1, 64)
	} else {
		var conv search.Conversation
		_ = json.Unmarshal([]byte(str(h.Fields[fieldConv])), &conv)
		c.Value = conv.LastActivity.UTC().Format(time.RFC3339Nano)
	}
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeCursor checks after (a Next of the same tenant and kind of query)
// and returns bleve's SearchAfter values for it.
func decodeCursor(after, tenant string, byScore bool) ([]string, error) {
	if after == "" {
		return nil, nil
	}
	bad := func(why string) error { return search.Invalid("after", "not a cursor of this query: %s", why) }
	if len(after) > 4096 {
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
	if !strings.HasPrefix(c.DocID, convDocID(tenant, "")) {
		return nil, bad("another tenant's")
	}
	switch {
	case byScore && c.Kind == "s":
		f, err := strconv.ParseFloat(c.Value, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, bad("bad score")
		}
	case !byScore && c.Kind == "t":
		if _, err := time.Parse(time.RFC3339Nano, c.Value); err != nil {
			return nil, bad("bad time")
		}
	default:
		return nil, bad("from a query sorted otherwise")
	}
	return []string{c.Value, c.DocID}, nil
}
