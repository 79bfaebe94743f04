package embedded

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hotline-hub/hotline/search"
	"github.com/hotline-hub/hotline/search/searchtest"
)

func openTemp(t testing.TB) *Index {
	t.Helper()
	x, err := Open(filepath.Join(t.TempDir(), "search"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = x.Close() })
	return x
}

func TestConformance(t *testing.T) {
	searchtest.Run(t, func(t testing.TB) search.Index { return openTemp(t) })
}

func conv(tenant, id, lang string, texts ...string) search.Conversation {
	at := time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)
	c := search.Conversation{Tenant: tenant, ID: id, Channel: "chat", Status: search.StatusWaiting, Started: at, LastActivity: at}
	for i, s := range texts {
		c.Entries = append(c.Entries, search.Entry{ID: id + "-" + string(rune('a'+i)), Kind: search.KindMessage, Language: lang, Text: s, Time: at})
	}
	return c
}

func find(t *testing.T, x *Index, tenant, text string) []string {
	t.Helper()
	r, err := x.Search(t.Context(), search.Query{Tenant: tenant, Text: text, Size: search.MaxSize})
	if err != nil {
		t.Fatalf("Search(%q): %v", text, err)
	}
	var ids []string
	for _, h := range r.Hits {
		ids = append(ids, h.Conversation.ID)
	}
	return ids
}

// TestNoSilentFallback fails if entries lose their language's analyzer:
// each form below is only found through its stem.
func TestNoSilentFallback(t *testing.T) {
	x := openTemp(t)
	err := x.Write(t.Context(), search.Batch{Conversations: []search.Conversation{
		conv("t", "ru", "ru", "Операторы отвечают на вопросы клиентов за звонками."),
		conv("t", "de", "de", "Der Anrufer wartet in der Warteschleife."),
		conv("t", "fr", "fr", "Merci pour votre appel."),
		conv("t", "en", "en", "The agent called back."),
	}})
	if err != nil {
		t.Fatal(err)
	}
	for q, want := range map[string]string{"звонков": "ru", "Anrufers": "de", "appels": "fr", "calling": "en"} {
		if got := find(t, x, "t", q); !slices.Equal(got, []string{want}) {
			t.Errorf("%q finds %v, want [%s]: is the %s analyzer applied?", q, got, want, want)
		}
	}
	// The mapping itself names each language's analyzer for its field.
	m, err := newMapping()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range search.Languages {
		fm := m.TypeMapping[typeConversation].Properties[textField(l)].Fields[0]
		if fm.Analyzer != analyzers[l] || fm.Analyzer == "" || fm.Analyzer == m.DefaultAnalyzer {
			t.Errorf("field %s analyzed by %q, want %q", textField(l), fm.Analyzer, analyzers[l])
		}
		if a := m.AnalyzerNamed(fm.Analyzer); a == nil {
			t.Errorf("analyzer %q is not registered", fm.Analyzer)
		}
	}
}

func TestStopWordsDoNotRestrict(t *testing.T) {
	x := openTemp(t)
	err := x.Write(t.Context(), search.Batch{Conversations: []search.Conversation{
		conv("t", "fr", "fr", "Le service client répond vite."),
		conv("t", "en", "en", "The die was cast."),
	}})
	if err != nil {
		t.Fatal(err)
	}
	for q, want := range map[string][]string{
		"le service":   {"fr"}, // "le" is a French stop word
		"die cast":     {"en"}, // "die" is a German stop word, an English word
		`"le service"`: {"fr"}, // a phrase skips the stop word
		"le the":       nil,    // stop words are not indexed in their language
		"service -le":  {"fr"}, // excluding a stop word excludes nothing in French
		"client OR zz": {"fr"}, // plain OR
		"zz":           nil,    // no match
		"vite -répond": nil,    // exclusion by stem
		"clients":      {"fr"}, // stem
		"répond die":   {"fr"}, // "die" is optional (a stop word somewhere)
		"the":          nil,    // nor alone
		"LE SERVICE":   {"fr"}, // case
		"services":     {"fr"}, // plural
	} {
		if got := find(t, x, "t", q); !slices.Equal(got, want) {
			t.Errorf("%q finds %v, want %v", q, got, want)
		}
	}
}

func TestWriteRejectsBadBatchWhole(t *testing.T) {
	x := openTemp(t)
	ctx := t.Context()
	good := conv("t", "ok", "en", "hello")
	bad := []search.Batch{
		{Conversations: []search.Conversation{good, {ID: "x", LastActivity: time.Now()}}},
		{Conversations: []search.Conversation{good, {Tenant: "t", LastActivity: time.Now()}}},
		{Conversations: []search.Conversation{good, {Tenant: "t", ID: "x"}}},
		{Conversations: []search.Conversation{good, {Tenant: "t\x00u", ID: "x", LastActivity: time.Now()}}},
		{Conversations: []search.Conversation{good, {Tenant: "t", ID: "x", LastActivity: time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)}}},
		{Conversations: []search.Conversation{good, {Tenant: "t", ID: "x", LastActivity: time.Now(), Entries: []search.Entry{{Text: "no id"}}}}},
		{Conversations: []search.Conversation{good}, Contacts: []search.Contact{{Tenant: "t"}}},
	}
	for i, b := range bad {
		if err := x.Write(ctx, b); err == nil {
			t.Errorf("batch %d: no error", i)
		}
	}
	if _, ok, _ := x.Conversation(ctx, "t", "ok"); ok {
		t.Error("a document of a rejected batch was written")
	}
}

func TestDurableAcrossReopen(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "search")
	x, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	c := conv("t", "c1", "fr", "Les appels sont enregistrés.")
	ct := search.Contact{Tenant: "t", ID: "k1", Name: "Zoé", Phones: []string{"+33123456789"}}
	if err := x.Write(t.Context(), search.Batch{Conversations: []search.Conversation{c}, Contacts: []search.Contact{ct}}); err != nil {
		t.Fatal(err)
	}
	if err := x.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := x.Search(t.Context(), search.Query{Tenant: "t"}); err == nil {
		t.Error("Search after Close: no error")
	}
	x, err = Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	if got := find(t, x, "t", "appel"); !slices.Equal(got, []string{"c1"}) {
		t.Errorf("after reopen: %v", got)
	}
	if _, ok, err := x.Contact(t.Context(), "t", "k1"); !ok || err != nil {
		t.Errorf("contact after reopen: %v, %v", ok, err)
	}
}

// TestDurableWithoutClose copies the index directory right after Write
// returns, without closing (as a crash would leave it), and opens the copy.
func TestDurableWithoutClose(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "search")
	x := func() *Index {
		x, err := Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		return x
	}()
	defer x.Close()
	for i := range 5 {
		c := conv("t", "c"+string(rune('0'+i)), "en", "written before the crash")
		if err := x.Write(t.Context(), search.Batch{Conversations: []search.Conversation{c}}); err != nil {
			t.Fatal(err)
		}
	}
	crash := filepath.Join(t.TempDir(), "crash")
	if err := os.CopyFS(crash, os.DirFS(dir)); err != nil {
		t.Fatal(err)
	}
	y, err := Open(crash)
	if err != nil {
		t.Fatal(err)
	}
	defer y.Close()
	if got := find(t, y, "t", "crash"); len(got) != 5 {
		t.Errorf("after a crash: %v, want 5 conversations", got)
	}
}

func TestGenerations(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "search")
	ctx := t.Context()
	live, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	if g := live.Generation(); g != "g000001" {
		t.Fatalf("first generation %q", g)
	}
	if err := live.Write(ctx, search.Batch{Conversations: []search.Conversation{conv("t", "old", "en", "old data")}}); err != nil {
		t.Fatal(err)
	}

	next, err := Create(dir)
	if err != nil {
		t.Fatal(err)
	}
	if g := next.Generation(); g != "g000002" {
		t.Fatalf("next generation %q", g)
	}
	if err := next.Write(ctx, search.Batch{Conversations: []search.Conversation{conv("t", "new", "en", "new data")}}); err != nil {
		t.Fatal(err)
	}
	// While the reindex runs the live index answers from the old one, and
	// a Reload before the switch changes nothing.
	if err := live.Reload(); err != nil {
		t.Fatal(err)
	}
	if got := find(t, live, "t", "data"); !slices.Equal(got, []string{"old"}) {
		t.Fatalf("before the switch: %v", got)
	}
	if err := next.Switch(); err != nil {
		t.Fatal(err)
	}
	if err := next.Close(); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "current")); strings.TrimSpace(string(b)) != "g000002" {
		t.Fatalf("current = %q", b)
	}

	// Queries keep running during the reload.
	var wg sync.WaitGroup
	stop := make(chan struct{})
	errs := make(chan error, 1)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			r, err := live.Search(context.Background(), search.Query{Tenant: "t", Text: "data"})
			if err != nil || r.Total != 1 {
				select {
				case errs <- err:
				default:
				}
				return
			}
		}
	}()
	time.Sleep(20 * time.Millisecond)
	if err := live.Reload(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond)
	close(stop)
	wg.Wait()
	select {
	case err := <-errs:
		t.Fatalf("a query failed during the reload: %v", err)
	default:
	}
	if got := find(t, live, "t", "data"); !slices.Equal(got, []string{"new"}) {
		t.Fatalf("after the switch: %v", got)
	}
	if live.Generation() != "g000002" {
		t.Errorf("generation %q", live.Generation())
	}
	if _, err := os.Stat(filepath.Join(dir, "g000001")); !os.IsNotExist(err) {
		t.Errorf("old generation not removed: %v", err)
	}

	// Open follows the pointer, and leaves a newer generation (a reindex
	// in progress) alone.
	wip, err := Create(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer wip.Close()
	if err := live.Close(); err != nil {
		t.Fatal(err)
	}
	again, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if again.Generation() != "g000002" {
		t.Errorf("reopened generation %q", again.Generation())
	}
	if _, err := os.Stat(filepath.Join(dir, wip.Generation())); err != nil {
		t.Errorf("generation in progress removed: %v", err)
	}
}

func TestOpenErrors(t *testing.T) {
	if _, err := Open(""); err == nil {
		t.Error("Open(\"\"): no error")
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "current"), []byte("../etc\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(dir); err == nil || !strings.Contains(err.Error(), "names no generation") {
		t.Errorf("Open with a bad pointer: %v", err)
	}
}

func TestFragment(t *testing.T) {
	long := strings.Repeat("word ", 100) + "target " + strings.Repeat("más ", 100)
	i := strings.Index(long, "target")
	h := fragment("e1", long, [][2]int{{i, i + 6}})
	if len(h.Marks) != 1 || h.Fragment[h.Marks[0][0]:h.Marks[0][1]] != "target" {
		t.Fatalf("fragment %q marks %v", h.Fragment, h.Marks)
	}
	if !strings.HasPrefix(h.Fragment, "…") || !strings.HasSuffix(h.Fragment, "…") || len(h.Fragment) > fragmentBytes+2*len("…") {
		t.Errorf("fragment %q", h.Fragment)
	}
	if !utf8Valid(h.Fragment) {
		t.Errorf("fragment cut inside a character: %q", h.Fragment)
	}
}

func utf8Valid(s string) bool { return strings.ToValidUTF8(s, "\uFFFD") == s }
