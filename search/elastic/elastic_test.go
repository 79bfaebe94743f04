package elastic

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hotline-hub/hotline/search"
	"github.com/hotline-hub/hotline/search/elastic/estest"
	"github.com/hotline-hub/hotline/search/searchtest"
)

func TestMain(m *testing.M) { os.Exit(estest.Main(m)) }

// newTestIndex returns an Index on srv with a prefix of its own, set up
// with Ensure; its indices are deleted when tb ends.
func newTestIndex(tb testing.TB, srv *estest.Server) *Index {
	tb.Helper()
	var b [4]byte
	_, _ = rand.Read(b[:])
	x, err := New(Config{Addresses: []string{srv.URL()}, IndexPrefix: "t" + hex.EncodeToString(b[:])})
	if err != nil {
		tb.Fatal(err)
	}
	ctx := context.Background()
	if err := x.Ensure(ctx); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		dropAll(tb, x)
		_ = x.Close()
	})
	return x
}

// dropAll deletes every index of x's prefix (by name: wildcard deletes are
// refused by default).
func dropAll(tb testing.TB, x *Index) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	gens, _, err := x.Generations(ctx)
	if err != nil {
		tb.Logf("cleanup: %v", err)
		return
	}
	var names []string
	for _, g := range gens {
		names = append(names, x.indexName(kindConversations, g), x.indexName(kindContacts, g))
	}
	if len(names) == 0 {
		return
	}
	if err := x.call(ctx, "cleanup", http.MethodDelete, "/"+strings.Join(names, ","), nil, nil, nil); err != nil {
		tb.Logf("cleanup: %v", err)
	}
}

func TestConformance(t *testing.T) {
	srv := estest.Shared(t)
	searchtest.Run(t, func(tb testing.TB) search.Index { return newTestIndex(tb, srv) })
}

func conv(tenant, id, lang string, at time.Time, texts ...string) search.Conversation {
	c := search.Conversation{Tenant: tenant, ID: id, Channel: "chat", Status: search.StatusWaiting, Language: lang, Started: at, LastActivity: at}
	for i, s := range texts {
		c.Entries = append(c.Entries, search.Entry{ID: id + "-" + string(rune('a'+i)), Kind: search.KindMessage, Text: s, Time: at})
	}
	return c
}

// waitIDs waits until q finds exactly want (in any order).
func waitIDs(t *testing.T, x search.Index, q search.Query, want ...string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		r, err := x.Search(t.Context(), q)
		var got []string
		for _, h := range r.Hits {
			got = append(got, h.Conversation.ID)
		}
		slices.Sort(got)
		slices.Sort(want)
		if err == nil && slices.Equal(got, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%+v finds %v (%v), want %v", q, got, err, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestStopWords: a word that a language drops does not hide that
// language's entries from an AND.
func TestStopWords(t *testing.T) {
	x := newTestIndex(t, estest.Shared(t))
	at := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	err := x.Write(t.Context(), search.Batch{Conversations: []search.Conversation{
		conv("t", "fr", "fr", at, "Le service client répond vite."),
		conv("t", "en", "en", at.Add(time.Minute), "The die was cast."),
	}})
	if err != nil {
		t.Fatal(err)
	}
	waitIDs(t, x, search.Query{Tenant: "t"}, "fr", "en")
	for q, want := range map[string][]string{
		"le service":   {"fr"},
		"die cast":     {"en"},
		`"le service"`: {"fr"},
		"services":     {"fr"},
		"LE SERVICE":   {"fr"},
		"vite -répond": nil,
		"zz":           nil,
		"client OR zz": {"fr"},
		"service -le":  {"fr"}, // excluding a stop word excludes nothing in French
		"-the":         {"fr", "en"},
		"-(die OR zz)": {"fr"}, // "die" is an English word here
	} {
		waitIDs(t, x, search.Query{Tenant: "t", Text: q}, want...)
	}
}

// TestUnavailable stops the server under an Index: every call fails with
// ErrUnavailable, and once the server is back writes succeed and nothing
// written before is lost.
func TestUnavailable(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server of its own")
	}
	srv := estest.Start(t)
	if !srv.CanRestart() {
		t.Skip("the server cannot be restarted (" + estest.EnvURL + ")")
	}
	x := newTestIndex(t, srv)
	x.cfg.RequestTimeout = 5 * time.Second
	ctx := t.Context()
	at := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	before := conv("t", "before", "en", at, "written before the outage")
	if err := x.Write(ctx, search.Batch{Conversations: []search.Conversation{before}}); err != nil {
		t.Fatal(err)
	}
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	during := conv("t", "during", "en", at.Add(time.Minute), "written during the outage")
	checks := map[string]error{
		"Write":  x.Write(ctx, search.Batch{Conversations: []search.Conversation{during}}),
		"Search": func() error { _, err := x.Search(ctx, search.Query{Tenant: "t", Text: "outage"}); return err }(),
		"Dossier": func() error {
			_, err := x.Dossier(ctx, search.DossierQuery{Tenant: "t", ContactIDs: []string{"k"}})
			return err
		}(),
		"Contacts":     func() error { _, err := x.Contacts(ctx, search.ContactQuery{Tenant: "t", Name: "x"}); return err }(),
		"Conversation": func() error { _, _, err := x.Conversation(ctx, "t", "before"); return err }(),
		"Ping":         x.Ping(ctx),
		"Ensure":       x.Ensure(ctx),
	}
	for name, err := range checks {
		if !errors.Is(err, search.ErrUnavailable) {
			t.Errorf("%s with the server down: %v, want ErrUnavailable", name, err)
		}
	}
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	// The cluster may take a moment to recover the shards.
	deadline := time.Now().Add(60 * time.Second)
	for {
		err := x.Write(ctx, search.Batch{Conversations: []search.Conversation{during}})
		if err == nil {
			break
		}
		if !errors.Is(err, search.ErrUnavailable) || time.Now().After(deadline) {
			t.Fatalf("Write after the restart: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err := x.Ping(ctx); err != nil {
		t.Errorf("Ping after the restart: %v", err)
	}
	waitIDs(t, x, search.Query{Tenant: "t", Text: "outage"}, "before", "during")
	got, ok, err := x.Conversation(ctx, "t", "before")
	if err != nil || !ok || got.Entries[0].Text != before.Entries[0].Text {
		t.Errorf("Conversation(before) after the restart: %+v, %v, %v", got, ok, err)
	}
}

// TestAliasSwitch builds a second generation while the first answers,
// then switches the aliases to it.
func TestAliasSwitch(t *testing.T) {
	x := newTestIndex(t, estest.Shared(t))
	ctx := t.Context()
	at := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	old := conv("t", "old", "en", at, "the old generation")
	if err := x.Write(ctx, search.Batch{Conversations: []search.Conversation{old}, Contacts: []search.Contact{{Tenant: "t", ID: "k1", Name: "Old Name"}}}); err != nil {
		t.Fatal(err)
	}
	gens, cur, err := x.Generations(ctx)
	if err != nil || !slices.Equal(gens, []string{"1"}) || cur != "1" {
		t.Fatalf("Generations = %v, %q, %v; want [1], 1", gens, cur, err)
	}
	gen, err := x.CreateGeneration(ctx)
	if err != nil || gen != "2" {
		t.Fatalf("CreateGeneration = %q, %v; want 2", gen, err)
	}
	next, err := x.Generation(gen)
	if err != nil {
		t.Fatal(err)
	}
	rebuilt := conv("t", "new", "en", at, "the new generation")
	if err := next.Write(ctx, search.Batch{Conversations: []search.Conversation{rebuilt}, Contacts: []search.Contact{{Tenant: "t", ID: "k1", Name: "New Name"}}}); err != nil {
		t.Fatal(err)
	}
	waitIDs(t, next, search.Query{Tenant: "t", Text: "generation"}, "new")
	// The alias still answers with the old generation.
	waitIDs(t, x, search.Query{Tenant: "t", Text: "generation"}, "old")
	if c, _, err := x.Contact(ctx, "t", "k1"); err != nil || c.Name != "Old Name" {
		t.Errorf("Contact before the switch = %+v, %v", c, err)
	}
	if err := x.DeleteGeneration(ctx, "1"); err == nil {
		t.Error("DeleteGeneration of the current generation succeeded")
	}
	if err := x.SwitchAlias(ctx, gen); err != nil {
		t.Fatal(err)
	}
	waitIDs(t, x, search.Query{Tenant: "t", Text: "generation"}, "new")
	if c, _, err := x.Contact(ctx, "t", "k1"); err != nil || c.Name != "New Name" {
		t.Errorf("Contact after the switch = %+v, %v", c, err)
	}
	if _, cur, _ := x.Generations(ctx); cur != "2" {
		t.Errorf("current generation %q, want 2", cur)
	}
	// Writes through the alias go to the new generation.
	if err := x.Write(ctx, search.Batch{Conversations: []search.Conversation{conv("t", "later", "en", at, "written after the switch")}}); err != nil {
		t.Fatal(err)
	}
	waitIDs(t, next, search.Query{Tenant: "t", Text: "switch"}, "later")
	if err := x.DeleteGeneration(ctx, "1"); err != nil {
		t.Fatal(err)
	}
	if gens, _, _ := x.Generations(ctx); !slices.Equal(gens, []string{"2"}) {
		t.Errorf("after deleting 1: generations %v", gens)
	}
	// A view of the deleted generation cannot bring an index back.
	gone, err := x.Generation("1")
	if err != nil {
		t.Fatal(err)
	}
	if err := gone.Write(ctx, search.Batch{Conversations: []search.Conversation{old}}); err == nil {
		t.Error("Write to a deleted generation succeeded")
	}
	if gens, _, _ := x.Generations(ctx); !slices.Equal(gens, []string{"2"}) {
		t.Errorf("after writing to the deleted generation: generations %v", gens)
	}
	// Ensure leaves the switched aliases alone.
	if err := x.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	if gens, cur, _ := x.Generations(ctx); !slices.Equal(gens, []string{"2"}) || cur != "2" {
		t.Errorf("after Ensure: generations %v, current %q", gens, cur)
	}
}

// TestWriteErrors: a batch with an invalid document writes nothing, and a
// write without the alias does not create an index.
func TestWriteErrors(t *testing.T) {
	srv := estest.Shared(t)
	x := newTestIndex(t, srv)
	ctx := t.Context()
	at := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	good := conv("t", "ok", "en", at, "hello")
	for i, b := range []search.Batch{
		{Conversations: []search.Conversation{good, {ID: "x", LastActivity: at}}},
		{Conversations: []search.Conversation{good, {Tenant: "t", LastActivity: at}}},
		{Conversations: []search.Conversation{good, {Tenant: "t", ID: "x"}}},
		{Conversations: []search.Conversation{good, {Tenant: "t", ID: "x", LastActivity: time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC)}}},
		{Conversations: []search.Conversation{good, {Tenant: "t", ID: strings.Repeat("x", 600), LastActivity: at}}},
		{Conversations: []search.Conversation{good, {Tenant: "t", ID: "x", LastActivity: at, Entries: []search.Entry{{Text: "no id"}}}}},
		{Conversations: []search.Conversation{good}, Contacts: []search.Contact{{Tenant: "t"}}},
		{Conversations: []search.Conversation{good, {Tenant: "t", ID: "x", LastActivity: at, Tags: []string{strings.Repeat("x", 40000)}}}},
	} {
		if err := x.Write(ctx, b); err == nil {
			t.Errorf("batch %d: no error", i)
		}
	}
	if _, ok, err := x.Conversation(ctx, "t", "ok"); ok || err != nil {
		t.Errorf("a document of a rejected batch was written (%v)", err)
	}

	// Documents the cluster refuses are reported by id, as unavailable
	// when the cause is the cluster's (here a write block, which a full
	// disk also sets); once it is lifted, writing again succeeds.
	block := func(on bool) {
		t.Helper()
		body := map[string]any{"index.blocks.write": on}
		if err := x.call(ctx, "block", http.MethodPut, "/"+x.convs+"/_settings", nil, body, nil); err != nil {
			t.Fatal(err)
		}
	}
	block(true)
	err := x.Write(ctx, search.Batch{Conversations: []search.Conversation{good}})
	if !errors.Is(err, search.ErrUnavailable) || !strings.Contains(err.Error(), docID("t", "ok")) {
		t.Errorf("Write to a blocked index: %v, want ErrUnavailable naming the document", err)
	}
	block(false)
	if err := x.Write(ctx, search.Batch{Conversations: []search.Conversation{good}}); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := x.Conversation(ctx, "t", "ok"); !ok || err != nil {
		t.Errorf("written after the block: %v, %v", ok, err)
	}

	// An Index whose aliases were never made: writes fail, and no index
	// appears under the alias's name.
	y, err := New(Config{Addresses: []string{srv.URL()}, IndexPrefix: x.cfg.IndexPrefix + "-none"})
	if err != nil {
		t.Fatal(err)
	}
	defer y.Close()
	err = y.Write(ctx, search.Batch{Conversations: []search.Conversation{good}})
	if !errors.Is(err, search.ErrUnavailable) {
		t.Errorf("Write without Ensure: %v, want ErrUnavailable", err)
	}
	status, _, err := y.do(ctx, "check", http.MethodHead, "/"+y.alias(kindConversations), nil, nil)
	if err != nil || status != http.StatusNotFound {
		t.Errorf("HEAD %s = %d, %v; want 404", y.alias(kindConversations), status, err)
	}
	if _, err := y.Search(ctx, search.Query{Tenant: "t"}); !errors.Is(err, search.ErrUnavailable) {
		t.Errorf("Search without Ensure: %v, want ErrUnavailable", err)
	}
}

// TestMapping checks the stored mapping: every language field with its
// analyzer, entries nested, strict.
func TestMapping(t *testing.T) {
	x := newTestIndex(t, estest.Shared(t))
	var res map[string]struct {
		Mappings struct {
			Dynamic    string `json:"dynamic"`
			Properties map[string]struct {
				Type       string `json:"type"`
				Properties map[string]struct {
					Properties map[string]struct {
						Analyzer string `json:"analyzer"`
					} `json:"properties"`
				} `json:"properties"`
			} `json:"properties"`
		} `json:"mappings"`
	}
	if err := x.call(t.Context(), "mapping", http.MethodGet, "/"+x.convs+"/_mapping", nil, nil, &res); err != nil {
		t.Fatal(err)
	}
	if len(res) != 1 {
		t.Fatalf("alias %s points at %d indices", x.convs, len(res))
	}
	for name, ix := range res {
		if name != x.indexName(kindConversations, "1") {
			t.Errorf("alias points at %s", name)
		}
		if ix.Mappings.Dynamic != "strict" {
			t.Errorf("dynamic %q, want strict", ix.Mappings.Dynamic)
		}
		entries := ix.Mappings.Properties["entries"]
		if entries.Type != "nested" {
			t.Errorf("entries are %q, want nested", entries.Type)
		}
		want := map[string]string{"fr": "french", "en": "english", "ru": "russian", "de": "german", "std": "standard"}
		for l, a := range want {
			if got := entries.Properties["text"].Properties[l].Analyzer; got != a {
				t.Errorf("entries.text.%s analyzed by %q, want %q", l, got, a)
			}
		}
	}
}

func TestConfig(t *testing.T) {
	for _, cfg := range []Config{
		{},
		{Addresses: []string{"127.0.0.1:9200"}},
		{Addresses: []string{"http://127.0.0.1:9200"}, IndexPrefix: "Hotline"},
		{Addresses: []string{"http://127.0.0.1:9200"}, IndexPrefix: "-x"},
		{Addresses: []string{"http://127.0.0.1:9200"}, IndexPrefix: "a/b"},
		{Addresses: []string{"http://127.0.0.1:9200"}, RequestTimeout: -time.Second},
		{Addresses: []string{"http://127.0.0.1:9200"}, Shards: -1},
		{Addresses: []string{"http://127.0.0.1:9200"}, APIKey: "k", Username: "u"},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("New(%+v): no error", cfg)
		}
	}
	x, err := New(Config{Addresses: []string{"http://127.0.0.1:9200"}})
	if err != nil {
		t.Fatal(err)
	}
	if x.convs != "hotline-conversations" || x.contacts != "hotline-contacts" || x.cfg.RequestTimeout != DefaultTimeout {
		t.Errorf("defaults: %s, %s, %s", x.convs, x.contacts, x.cfg.RequestTimeout)
	}
	for _, g := range []string{"", "0", "01", "-1", "x", "1 "} {
		if _, err := x.Generation(g); err == nil {
			t.Errorf("Generation(%q): no error", g)
		}
	}
}

// TestUnreachable: nothing listens at the address.
func TestUnreachable(t *testing.T) {
	x, err := New(Config{Addresses: []string{"http://127.0.0.1:1"}, RequestTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := x.Ping(t.Context()); !errors.Is(err, search.ErrUnavailable) {
		t.Errorf("Ping: %v, want ErrUnavailable", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := x.Ping(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Ping with a canceled context: %v, want context.Canceled", err)
	}
}

func TestStatusError(t *testing.T) {
	body := []byte(`{"error":{"root_cause":[{"type":"query_shard_exception","reason":"failed to create query: bad"}],"type":"search_phase_execution_exception","reason":"all shards failed"},"status":400}`)
	err := statusError("search", 400, body)
	if !errors.Is(err, search.ErrInvalidQuery) || !strings.Contains(err.Error(), "failed to create query: bad") {
		t.Errorf("400: %v", err)
	}
	if err := statusError("ensure", 400, body); errors.Is(err, search.ErrInvalidQuery) || errors.Is(err, search.ErrUnavailable) {
		t.Errorf("400 to ensure: %v, want neither sentinel", err)
	}
	for _, status := range []int{404, 429, 500, 502, 503} {
		if err := statusError("search", status, []byte("oops")); !errors.Is(err, search.ErrUnavailable) {
			t.Errorf("%d: %v, want ErrUnavailable", status, err)
		}
	}
}

func TestFold(t *testing.T) {
	for in, want := range map[string]string{
		"Zoé Dupont":      "zoe dupont",
		"ZOÉ":             "zoe",
		"Jürgen Müller":   "jurgen muller",
		"Straße":          "strasse",
		"Łódź":            "lodz",
		"Наталья Иванова": "наталья иванова",
		"Йошкар-Ола":      "йошкар-ола",
		"Ёлкин":           "елкин",
		"Ze\u0301lie":     "zelie", // decomposed input
	} {
		if got := fold(in); got != want {
			t.Errorf("fold(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCursor(t *testing.T) {
	sort := []json.RawMessage{json.RawMessage(`1.2345678`), json.RawMessage(`1772359200000000000`), json.RawMessage(`"c1"`)}
	next := encodeCursor(kindByScore, "t", sort)
	after, err := decodeCursor(next, kindByScore, "t")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(after)
	if string(b) != `[1.2345678,1772359200000000000,"c1"]` {
		t.Errorf("search_after %s", b)
	}
	bad := map[string]string{
		"garbage":         "not a cursor!",
		"other kind":      next,
		"other tenant":    encodeCursor(kindByTime, "u", sort[1:]),
		"too few values":  encodeCursor(kindByTime, "t", sort[2:]),
		"string time":     encodeCursor(kindByTime, "t", []json.RawMessage{json.RawMessage(`"x"`), json.RawMessage(`"c1"`)}),
		"fractional time": encodeCursor(kindByTime, "t", []json.RawMessage{json.RawMessage(`1.5`), json.RawMessage(`"c1"`)}),
		"numeric id":      encodeCursor(kindByTime, "t", []json.RawMessage{json.RawMessage(`1`), json.RawMessage(`2`)}),
		"too long":        strings.Repeat("A", maxCursor+1),
	}
	for name, c := range bad {
		if _, err := decodeCursor(c, kindByTime, "t"); !errors.Is(err, search.ErrInvalidQuery) || !strings.Contains(err.Error(), "after") {
			t.Errorf("%s: %v, want ErrInvalidQuery naming after", name, err)
		}
	}
}

func TestHighlight(t *testing.T) {
	text := "Bonjour. Le remboursement de vos appels sera fait demain, deux remboursements en tout. Merci."
	tagged := "Le " + preTag + "remboursement" + postTag + " de vos appels sera fait demain, " + preTag + "deux remboursements" + postTag + " en tout."
	h, ok := highlight("e1", text, tagged)
	if !ok {
		t.Fatal("no highlight")
	}
	if !strings.HasPrefix(h.Fragment, ellipsis) || !strings.HasSuffix(h.Fragment, ellipsis) {
		t.Errorf("fragment %q: want ellipses on both sides", h.Fragment)
	}
	var marked []string
	for _, m := range h.Marks {
		marked = append(marked, h.Fragment[m[0]:m[1]])
	}
	if want := []string{"remboursement", "deux", "remboursements"}; !slices.Equal(marked, want) {
		t.Errorf("marked %q, want %q", marked, want)
	}
	if h, ok := highlight("e1", "whole text", preTag+"whole"+postTag+" text"); !ok || h.Fragment != "whole text" || !slices.Equal(h.Marks, [][2]int{{0, 5}}) {
		t.Errorf("whole text: %+v", h)
	}
	if _, ok := highlight("e1", "no marks", "no marks"); ok {
		t.Error("a fragment without marks is a highlight")
	}
}
