package elastic

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"

	"github.com/hotline-hub/hotline/search"
	"github.com/hotline-hub/hotline/search/elastic/estest"
	"github.com/hotline-hub/hotline/search/searchtest"
)

var (
	benchMessages = flag.Int("search.messages", 100_000, "messages to index in BenchmarkLoad")
	benchBatch    = flag.Int("search.batch", 1000, "conversations per Write in BenchmarkLoad")
	benchWriters  = flag.Int("search.writers", 2, "concurrent Write calls in BenchmarkLoad (indexer workers)")
)

// Shape of the generated load, as in search/embedded's benchmark: ~10
// entries per conversation, 50 tenants, 4 languages, a few conversations
// per contact.
const (
	benchTenants         = 50
	benchEntriesPerConv  = 10
	benchConvsPerContact = 4
)

// loadGen makes conversations from the corpus sentences.
type loadGen struct {
	rnd       *rand.Rand
	contacts  int // per tenant
	sentences map[string][]string
	words     map[string][]string // words of 5 letters or more, for queries
	langs     []string
	start     time.Time
}

func newLoadGen(tb testing.TB) *loadGen {
	c := searchtest.Corpus(tb)
	g := &loadGen{rnd: rand.New(rand.NewPCG(1, 2)), sentences: c, words: map[string][]string{}, langs: []string{"fr", "en", "ru", "de"},
		start: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
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
func (g *loadGen) text(lang string) string {
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

var (
	benchChannels = []string{"voice", "email", "sms", "chat"}
	benchStatuses = []string{search.StatusWaiting, search.StatusAssigned, search.StatusResolved, search.StatusResolved, search.StatusAbandoned}
	benchQueues   = []string{"sales", "support", "billing"}
)

func (g *loadGen) conversation(n int) search.Conversation {
	lang := g.langs[g.rnd.IntN(len(g.langs))]
	started := g.start.Add(time.Duration(g.rnd.Int64N(int64(365 * 24 * time.Hour))))
	c := search.Conversation{
		Tenant:    fmt.Sprintf("tenant-%02d", n%benchTenants),
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
	k := benchEntriesPerConv - 2 + g.rnd.IntN(5) // 8..12, 10 on average
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

// query is an analyst's query: one or two words, or a phrase, sometimes
// with a filter.
func (g *loadGen) query() search.Query {
	lang := g.langs[g.rnd.IntN(len(g.langs))]
	ws := g.words[lang]
	q := search.Query{Tenant: fmt.Sprintf("tenant-%02d", g.rnd.IntN(benchTenants))}
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

// BenchmarkLoad indexes -search.messages messages (default 100,000 in
// about 10,000 conversations) into the test server, then measures dossier
// lookups and analyst full-text queries, like search/embedded's
// BenchmarkLoad:
//
//	go test -run XXX -bench Load -benchtime 2000x ./search/elastic
//
// Index reports messages/s and the store size; Dossier, FullText and
// Browse report p50 and p99 latencies in milliseconds (ns/op is their
// mean). Latencies include the HTTP round trip to a server on the same
// machine.
func BenchmarkLoad(b *testing.B) {
	g := newLoadGen(b)
	x := newTestIndex(b, estest.Shared(b))
	ctx := context.Background()

	g.contacts = max(10, *benchMessages/benchEntriesPerConv/benchTenants/benchConvsPerContact)
	var (
		all             []search.Batch
		messages, convs int
	)
	for messages < *benchMessages {
		var batch search.Batch
		for range *benchBatch {
			c := g.conversation(convs)
			convs++
			messages += len(c.Entries)
			batch.Conversations = append(batch.Conversations, c)
			if messages >= *benchMessages {
				break
			}
		}
		all = append(all, batch)
	}
	batches := make(chan search.Batch, *benchWriters)
	errs := make(chan error, *benchWriters)
	var wg sync.WaitGroup
	for range *benchWriters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for batch := range batches {
				if err := x.Write(ctx, batch); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	t0 := time.Now()
	for _, batch := range all {
		batches <- batch
	}
	close(batches)
	wg.Wait()
	spent := time.Since(t0)
	select {
	case err := <-errs:
		b.Fatal(err)
	default:
	}
	all = nil
	// Searchable now (the refresh interval would do it within a second),
	// merged as an index that has been live for a while would be.
	if err := x.call(ctx, "refresh", http.MethodPost, "/"+x.convs+"/_refresh", nil, nil, nil); err != nil {
		b.Fatal(err)
	}
	var stats struct {
		All struct {
			Primaries struct {
				Store struct {
					Size int64 `json:"size_in_bytes"`
				} `json:"store"`
			} `json:"primaries"`
		} `json:"_all"`
	}
	if err := x.call(ctx, "stats", http.MethodGet, "/"+x.convs+"/_stats/store", nil, nil, &stats); err != nil {
		b.Fatal(err)
	}
	size := stats.All.Primaries.Store.Size
	b.Logf("indexed %d messages in %d conversations in %s (%d conversations per Write, %d writers)", messages, convs, spent.Round(time.Millisecond), *benchBatch, *benchWriters)

	b.Run("Index", func(b *testing.B) {
		for b.Loop() {
		}
		b.ReportMetric(float64(messages)/spent.Seconds(), "msgs/s")
		b.ReportMetric(float64(size)/(1<<20), "MiB")
		b.ReportMetric(float64(size)/float64(messages), "B/msg")
	})
	b.Run("Dossier", func(b *testing.B) {
		var ds []time.Duration
		total := 0
		for b.Loop() {
			q := search.DossierQuery{
				Tenant:     fmt.Sprintf("tenant-%02d", g.rnd.IntN(benchTenants)),
				ContactIDs: []string{fmt.Sprintf("contact-%05d", g.rnd.IntN(g.contacts))},
			}
			t0 := time.Now()
			d, err := x.Dossier(ctx, q)
			ds = append(ds, time.Since(t0))
			if err != nil {
				b.Fatal(err)
			}
			total += d.Total
		}
		reportPercentiles(b, ds)
		b.ReportMetric(float64(total)/float64(len(ds)), "convs/dossier")
	})
	b.Run("FullText", func(b *testing.B) {
		var ds []time.Duration
		hits := 0
		for b.Loop() {
			q := g.query()
			t0 := time.Now()
			r, err := x.Search(ctx, q)
			ds = append(ds, time.Since(t0))
			if err != nil {
				b.Fatalf("%+v: %v", q, err)
			}
			hits += r.Total
		}
		reportPercentiles(b, ds)
		b.ReportMetric(float64(hits)/float64(len(ds)), "matches/query")
	})
	b.Run("Browse", func(b *testing.B) { // no text, a filter, facets: the analyst's landing page
		var ds []time.Duration
		for b.Loop() {
			q := search.Query{Tenant: fmt.Sprintf("tenant-%02d", g.rnd.IntN(benchTenants)), Statuses: []string{search.StatusWaiting, search.StatusAssigned}, Facets: true}
			t0 := time.Now()
			if _, err := x.Search(ctx, q); err != nil {
				b.Fatal(err)
			}
			ds = append(ds, time.Since(t0))
		}
		reportPercentiles(b, ds)
	})
}

func reportPercentiles(b *testing.B, ds []time.Duration) {
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
