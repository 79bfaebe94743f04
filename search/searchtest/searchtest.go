// Package searchtest is the conformance suite every search backend runs.
//
// A backend's test calls Run with a function that returns a fresh index
// (and registers its Close with t.Cleanup). Each test of the suite uses
// tenants of its own (with a random prefix), so indexes on a shared
// cluster do not interfere. Documents are searchable "within about a
// second" of Write, so the suite waits for what it wrote to show up before
// asking anything; the waits are bounded by a generous Timeout that only
// turns a hang into a failure. Nothing here measures speed.
//
// The texts for stemming and relevance come from the shared multilingual
// corpus (see Corpus); the tests that need it are skipped with a message
// when it is missing.
package searchtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/hotline-hub/hotline/search"
)

// Timeout bounds every wait for written documents to become searchable.
var Timeout = 30 * time.Second

// Run runs the whole suite.
func Run(t *testing.T, newIndex func(t testing.TB) search.Index) {
	tests := []struct {
		name string
		fn   func(t *testing.T, e *env)
	}{
		{"WriteGetReplace", testWriteGetReplace},
		{"EntryReplacedNotDuplicated", testEntryReplaced},
		{"FewerEntriesOnRewrite", testFewerEntries},
		{"TenantIsolation", testTenantIsolation},
		{"Stemming", testStemming},
		{"UnknownLanguageExactWords", testUnknownLanguage},
		{"PhrasesExclusionsOr", testPhrasesExclusionsOr},
		{"Highlights", testHighlights},
		{"Ordering", testOrdering},
		{"Filters", testFilters},
		{"Facets", testFacets},
		{"Paging", testPaging},
		{"Dossier", testDossier},
		{"Contacts", testContacts},
		{"BadInput", testBadInput},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			idx := newIndex(t)
			tt.fn(t, newEnv(t, idx))
		})
	}
}

// env is one test's index with a model of what the test wrote, to wait
// for it to become searchable.
type env struct {
	t      *testing.T
	idx    search.Index
	ctx    context.Context
	prefix string
	convs  map[string]map[string]search.Conversation // tenant → id → latest
	base   time.Time
}

func newEnv(t *testing.T, idx search.Index) *env {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return &env{
		t:      t,
		idx:    idx,
		ctx:    t.Context(),
		prefix: "st" + hex.EncodeToString(b[:]) + "-",
		convs:  map[string]map[string]search.Conversation{},
		base:   time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC),
	}
}

// tenant returns this test's name for tenant n.
func (e *env) tenant(n string) string { return e.prefix + n }

// at returns the suite's base time plus d.
func (e *env) at(d time.Duration) time.Time { return e.base.Add(d) }

// write writes b and waits until a search of each tenant shows exactly
// what the test wrote (and the contacts are found by id).
func (e *env) write(b search.Batch) {
	e.t.Helper()
	if err := e.idx.Write(e.ctx, b); err != nil {
		e.t.Fatalf("Write: %v", err)
	}
	touched := map[string]bool{}
	for _, c := range b.Conversations {
		if e.convs[c.Tenant] == nil {
			e.convs[c.Tenant] = map[string]search.Conversation{}
		}
		e.convs[c.Tenant][c.ID] = dedupe(c)
		touched[c.Tenant] = true
	}
	deadline := time.Now().Add(Timeout)
	for tenant := range touched {
		for {
			got, err := e.all(search.Query{Tenant: tenant})
			if err == nil && e.sameAsModel(tenant, got) {
				break
			}
			if time.Now().After(deadline) {
				e.t.Fatalf("written conversations of %s not searchable after %s (err %v, %d of %d)", tenant, Timeout, err, len(got), len(e.convs[tenant]))
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	for _, c := range b.Contacts {
		for {
			got, ok, err := e.idx.Contact(e.ctx, c.Tenant, c.ID)
			if err == nil && ok && reflect.DeepEqual(got, c) && e.contactSearchable(c) {
				break
			}
			if time.Now().After(deadline) {
				e.t.Fatalf("written contact %s/%s not found after %s (err %v, found %v: %+v)", c.Tenant, c.ID, Timeout, err, ok, got)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

func (e *env) contactSearchable(c search.Contact) bool {
	var q search.ContactQuery
	switch {
	case len(c.Phones) > 0:
		q = search.ContactQuery{Tenant: c.Tenant, Phone: c.Phones[0], Size: search.MaxSize}
	case len(c.Emails) > 0:
		q = search.ContactQuery{Tenant: c.Tenant, Email: c.Emails[0], Size: search.MaxSize}
	default:
		return true
	}
	got, err := e.idx.Contacts(e.ctx, q)
	if err != nil {
		return false
	}
	for _, g := range got {
		if reflect.DeepEqual(g, c) {
			return true
		}
	}
	return false
}

func (e *env) sameAsModel(tenant string, got []search.Conversation) bool {
	want := e.convs[tenant]
	if len(got) != len(want) {
		return false
	}
	for _, g := range got {
		w, ok := want[g.ID]
		if !ok || !sameConversation(g, w) {
			return false
		}
	}
	return true
}

// all pages through q and returns every hit's conversation.
func (e *env) all(q search.Query) ([]search.Conversation, error) {
	q.Size = search.MaxSize
	var out []search.Conversation
	for range 1000 {
		r, err := e.idx.Search(e.ctx, q)
		if err != nil {
			return out, err
		}
		for _, h := range r.Hits {
			out = append(out, h.Conversation)
		}
		if r.Next == "" {
			return out, nil
		}
		q.After = r.Next
	}
	e.t.Fatalf("more than 1000 pages for %+v", q)
	return nil, nil
}

// search runs q and fails the test on an error.
func (e *env) search(q search.Query) search.Result {
	e.t.Helper()
	r, err := e.idx.Search(e.ctx, q)
	if err != nil {
		e.t.Fatalf("Search(%+v): %v", q, err)
	}
	return r
}

// ids returns the ids of the hits of q (every page), in order.
func (e *env) ids(q search.Query) []string {
	e.t.Helper()
	cs, err := e.all(q)
	if err != nil {
		e.t.Fatalf("Search(%+v): %v", q, err)
	}
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.ID
	}
	return out
}

// dedupe is what the store must hold of c: the last entry written with
// each id, in the place of the first.
func dedupe(c search.Conversation) search.Conversation {
	seen := map[string]int{}
	var es []search.Entry
	for _, x := range c.Entries {
		if i, ok := seen[x.ID]; ok {
			es[i] = x
			continue
		}
		seen[x.ID] = len(es)
		es = append(es, x)
	}
	c.Entries = es
	return c
}

// sameConversation compares two conversations with times compared as
// instants and nil equal to empty.
func sameConversation(a, b search.Conversation) bool {
	return reflect.DeepEqual(canonical(a), canonical(b))
}

func canonical(c search.Conversation) string {
	c.Started = c.Started.UTC()
	c.LastActivity = c.LastActivity.UTC()
	es := make([]search.Entry, len(c.Entries))
	for i, x := range c.Entries {
		x.Time = x.Time.UTC()
		es[i] = x
	}
	c.Entries = es
	if len(c.Tags) == 0 {
		c.Tags = nil
	}
	b, _ := json.Marshal(c)
	return string(b)
}

// conv is a conversation for tests: tenant and id, on chat, waiting,
// started at off from the base time and active until off+1m, with one
// message per text (in lang).
func (e *env) conv(tenant, id string, off time.Duration, lang string, texts ...string) search.Conversation {
	c := search.Conversation{
		Tenant:       e.tenant(tenant),
		ID:           id,
		ContactID:    "contact-" + id,
		Channel:      "chat",
		Status:       search.StatusWaiting,
		Language:     lang,
		Started:      e.at(off),
		LastActivity: e.at(off + time.Minute),
	}
	for i, s := range texts {
		c.Entries = append(c.Entries, search.Entry{
			ID:        id + "-m" + string(rune('a'+i)),
			Kind:      search.KindMessage,
			Direction: search.DirectionIn,
			Text:      s,
			Time:      e.at(off + time.Duration(i)*time.Second),
		})
	}
	return c
}

// sameSet reports whether a and b hold the same strings.
func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}
