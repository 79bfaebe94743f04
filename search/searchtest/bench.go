package searchtest

import (
	"context"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"

	"github.com/hotline-hub/hotline/search"
)

// Shape of Bench's load: ~10 entries per conversation, 50 tenants, the
// four languages, a few conversations per contact.
const (
	// BenchTenants is how many tenants the load spreads over
	// (tenant-00 … tenant-49).
	BenchTenants = 50
	// BenchEntriesPerConv is the average number of entries (messages and
	// notes) of a generated conversation.
	BenchEntriesPerConv = 10
	// BenchConvsPerContact is the average number of conversations of a
	// contact, which sets the size of a dossier.
	BenchConvsPerContact = 4
)

var (
	benchChannels = []string{"voice", "email", "sms", "chat"}
	benchStatuses = []string{search.StatusWaiting, search.StatusAssigned, search.StatusResolved, search.StatusResolved, search.StatusAbandoned}
	benchQueues   = []string{"sales", "support", "billing"}
)

// LoadGen makes realistic conversations and analysts' queries from the
// corpus sentences (see Corpus). Its random source has a fixed seed, so
// every run of a benchmark writes and asks the same things.
type LoadGen struct {
	rnd       *rand.Rand
	contacts  int // per tenant
	sentences map[string][]string
	words     map[string][]string // words of 5 letters or more, for queries
	langs     []string
	start     time.Time
}

// NewLoadGen returns a generator whose conversations go to contacts
// contacts per tenant. It skips tb when the corpus is missing.
func NewLoadGen(tb testing.TB, contacts int) *LoadGen {
	tb.Helper()
	c := Corpus(tb)
	g := &LoadGen{rnd: rand.New(rand.NewPCG(1, 2)), contacts: contacts, sentences: c, words: map[string][]string{},
		langs: []string{"fr", "en", "ru", "de"}, start: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	for l, ss := range c {
		seen := map[string]bool{}
		for _, s := range ss {
			for _, w := range strings.FieldsFunc(s, func(r rune) bool { return !unicode.IsLetter(r) }) {
				if len([]rune(w)) >= 5 && !seen[w] {
					seen[w] = true
					g.words[l] = append(g.words[l], w)
				}
			}
		}
	}
	return g
}

// text mixes one or two sentences of lang, sometimes cut and joined.
func (g *LoadGen) text(lang string) string {
	ss := g.sentences[lang]
	a := ss[g.rnd.IntN(len(ss))]
	switch g.rnd.IntN(3) {
	case 0:
		return a
	case 1:
		return a + " " + ss[g.rnd.IntN(len(ss))]
	default:
		wa, wb := strings.Fields(a), strings.Fields(ss[g.rnd.IntN(len(ss))])
		return strings.Join(append(wa[:len(wa)/2+1], wb[len(wb)/2:]...), " ")
	}
}

// Conversation is conversation number n (conv-0000n of tenant n mod
// BenchTenants): one language, 8 to 12 entries of corpus text, some of
// them internal notes, over a random day of 2025.
func (g *LoadGen) Conversation(n int) search.Conversation {
	lang := g.langs[g.rnd.IntN(len(g.langs))]
	started := g.start.Add(time.Duration(g.rnd.Int64N(int64(365 * 24 * time.Hour))))
	c := search.Conversation{
		Tenant:    fmt.Sprintf("tenant-%02d", n%BenchTenants),
		ID:        fmt.Sprintf("conv-%07d", n),
		ContactID: fmt.Sprintf("contact-%05d", g.rnd.IntN(g.contacts)),
		Channel:   benchChannels[g.rnd.IntN(len(benchChannels))],
		Queue:     benchQueues[g.rnd.IntN(len(benchQueues))],
		AgentID:   fmt.Sprintf("agent-%02d", g.rnd.IntN(30)),
		Status:    benchStatuses[g.rnd.IntN(len(benchStatuses))],
		Language:  lang,
		Started:   started,
	}
	if g.rnd.IntN(4) == 0 {
		c.Tags = []string{"vip"}
	}
	k := BenchEntriesPerConv - 2 + g.rnd.IntN(5) // 8..12, 10 on average
	at := started
	for i := range k {
		kind, dir := search.KindMessage, []string{search.DirectionIn, search.DirectionOut}[i%2]
		if g.rnd.IntN(10) == 0 {
			kind, dir = search.KindNote, ""
		}
		at = at.Add(time.Duration(g.rnd.IntN(3600)) * time.Second)
		c.Entries = append(c.Entries, search.Entry{ID: fmt.Sprintf("m%d", i), Kind: kind, Direction: dir, Text: g.text(lang), Time: at})
	}
	c.LastActivity = at
	return c
}

// Query is an analyst's query in a random tenant: one or two corpus words,
// or a two-word phrase, sometimes with a status or channel filter.
func (g *LoadGen) Query() search.Query {
	lang := g.langs[g.rnd.IntN(len(g.langs))]
	ws := g.words[lang]
	q := search.Query{Tenant: fmt.Sprintf("tenant-%02d", g.rnd.IntN(BenchTenants))}
	switch r := g.rnd.IntN(10); {
	case r < 6:
		q.Text = ws[g.rnd.IntN(len(ws))]
	case r < 9:
		q.Text = ws[g.rnd.IntN(len(ws))] + " " + ws[g.rnd.IntN(len(ws))]
	default:
		s := strings.Fields(g.sentences[lang][g.rnd.IntN(len(g.sentences[lang]))])
		i := g.rnd.IntN(len(s) - 1)
		q.Text = `"` + strings.NewReplacer(`"`, "", "(", "", ")", "").Replace(s[i]+" "+s[i+1]) + `"`
	}
	if g.rnd.IntN(3) == 0 {
		q.Statuses = []string{search.StatusResolved}
	}
	if g.rnd.IntN(4) == 0 {
		q.Channels = []string{benchChannels[g.rnd.IntN(len(benchChannels))]}
	}
	return q
}

// Dossier is the dossier of a random contact of a random tenant.
func (g *LoadGen) Dossier() search.DossierQuery {
	return search.DossierQuery{
		Tenant:     fmt.Sprintf("tenant-%02d", g.rnd.IntN(BenchTenants)),
		ContactIDs: []string{fmt.Sprintf("contact-%05d", g.rnd.IntN(g.contacts))},
	}
}

// BenchConfig is what a backend tells Bench about its load and its index.
// Zero numbers take the defaults.
type BenchConfig struct {
	// Messages is how many messages to index (100,000 by default; the
	// issue's target is 1,000,000).
	Messages int
	// Batch is the number of conversations per Write (1000 by default).
	Batch int
	// Writers is the number of concurrent Write calls, as the indexer's
	// workers make them (2 by default).
	Writers int
	// CPU adds msgs/cpu-s to Index: messages per second of the test
	// process's CPU time, which says more than wall time on a shared
	// machine, but only of an index that works inside the process.
	CPU bool
	// Settle, if set, runs once the last Write returned, before Size: a
	// refresh making everything searchable, for instance.
	Settle func(ctx context.Context) error
	// Size returns the index's size in bytes (required): on disk, or as
	// the engine reports its store.
	Size func(ctx context.Context) (int64, error)
}

func (c BenchConfig) withDefaults() BenchConfig {
	if c.Messages <= 0 {
		c.Messages = 100_000
	}
	if c.Batch <= 0 {
		c.Batch = 1000
	}
	if c.Writers <= 0 {
		c.Writers = 2
	}
	return c
}

// Bench is a backend's load benchmark. It indexes cfg.Messages messages of
// LoadGen's conversations with cfg.Writers concurrent Writes of cfg.Batch
// conversations (made before the clock starts: it measures the index, not
// the generator), then runs four sub-benchmarks on idx:
//
//   - Index reports msgs/s (and msgs/cpu-s with cfg.CPU), the size in MiB
//     and B/msg;
//   - Dossier, a random contact's dossier, reports p50-ms, p99-ms and
//     convs/dossier;
//   - FullText, LoadGen's queries, reports p50-ms, p99-ms and
//     matches/query;
//   - Browse, no text but a status filter and facets (the analyst's
//     landing page), reports p50-ms and p99-ms.
//
// ns/op of the last three is their mean latency. The numbers go to
// docs/BENCHMARKS.md with the command that produced them; nothing here
// asserts a duration.
func Bench(b *testing.B, idx search.Index, cfg BenchConfig) {
	b.Helper()
	cfg = cfg.withDefaults()
	if cfg.Size == nil {
		b.Fatal("searchtest.Bench: BenchConfig.Size is required")
	}
	g := NewLoadGen(b, max(10, cfg.Messages/BenchEntriesPerConv/BenchTenants/BenchConvsPerContact))
	ctx := context.Background()

	var (
		all             []search.Batch
		messages, convs int
	)
	for messages < cfg.Messages {
		var batch search.Batch
		for range cfg.Batch {
			c := g.Conversation(convs)
			convs++
			messages += len(c.Entries)
			batch.Conversations = append(batch.Conversations, c)
			if messages >= cfg.Messages {
				break
			}
		}
		all = append(all, batch)
	}
	batches := make(chan search.Batch, cfg.Writers)
	errs := make(chan error, cfg.Writers)
	var wg sync.WaitGroup
	for range cfg.Writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for batch := range batches {
				if err := idx.Write(ctx, batch); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	cpu0 := cpuTime()
	t0 := time.Now()
	for _, batch := range all {
		batches <- batch
	}
	close(batches)
	wg.Wait()
	spent := time.Since(t0)
	cpu := cpuTime() - cpu0
	select {
	case err := <-errs:
		b.Fatal(err)
	default:
	}
	all = nil
	if cfg.Settle != nil {
		if err := cfg.Settle(ctx); err != nil {
			b.Fatal(err)
		}
	}
	size, err := cfg.Size(ctx)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("indexed %d messages in %d conversations in %s (%d conversations per Write, %d writers)",
		messages, convs, spent.Round(time.Millisecond), cfg.Batch, cfg.Writers)

	b.Run("Index", func(b *testing.B) {
		for b.Loop() {
		}
		b.ReportMetric(float64(messages)/spent.Seconds(), "msgs/s")
		if cfg.CPU && cpu > 0 {
			b.ReportMetric(float64(messages)/cpu.Seconds(), "msgs/cpu-s")
		}
		b.ReportMetric(float64(size)/(1<<20), "MiB")
		b.ReportMetric(float64(size)/float64(messages), "B/msg")
	})
	b.Run("Dossier", func(b *testing.B) {
		var ds []time.Duration
		total := 0
		for b.Loop() {
			q := g.Dossier()
			t0 := time.Now()
			d, err := idx.Dossier(ctx, q)
			ds = append(ds, time.Since(t0))
			if err != nil {
				b.Fatal(err)
			}
			total += d.Total
		}
		ReportPercentiles(b, ds)
		b.ReportMetric(float64(total)/float64(len(ds)), "convs/dossier")
	})
	b.Run("FullText", func(b *testing.B) {
		var ds []time.Duration
		hits := 0
		for b.Loop() {
			q := g.Query()
			t0 := time.Now()
			r, err := idx.Search(ctx, q)
			ds = append(ds, time.Since(t0))
			if err != nil {
				b.Fatalf("%+v: %v", q, err)
			}
			hits += r.Total
		}
		ReportPercentiles(b, ds)
		b.ReportMetric(float64(hits)/float64(len(ds)), "matches/query")
	})
	b.Run("Browse", func(b *testing.B) {
		var ds []time.Duration
		for b.Loop() {
			q := search.Query{Tenant: fmt.Sprintf("tenant-%02d", g.rnd.IntN(BenchTenants)),
				Statuses: []string{search.StatusWaiting, search.StatusAssigned}, Facets: true}
			t0 := time.Now()
			if _, err := idx.Search(ctx, q); err != nil {
				b.Fatal(err)
			}
			ds = append(ds, time.Since(t0))
		}
		ReportPercentiles(b, ds)
	})
}

// ReportPercentiles reports the median and the 99th percentile of ds as
// p50-ms and p99-ms. It sorts ds.
func ReportPercentiles(b *testing.B, ds []time.Duration) {
	if len(ds) == 0 {
		return
	}
	slices.Sort(ds)
	p := func(q float64) float64 {
		return float64(ds[min(len(ds)-1, int(q*float64(len(ds))))]) / float64(time.Millisecond)
	}
	b.ReportMetric(p(0.50), "p50-ms")
	b.ReportMetric(p(0.99), "p99-ms")
}

// DirSize is the total size of the files under dir, in bytes: an embedded
// index's size on disk.
func DirSize(dir string) (int64, error) {
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			info, err := d.Info()
			if err != nil {
				return err
			}
			n += info.Size()
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("searchtest: size of %s: %w", dir, err)
	}
	return n, nil
}
