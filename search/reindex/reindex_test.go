package reindex

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hotline-hub/hotline/search"
)

// recorder collects a job's progress reports.
type recorder struct {
	mu  sync.Mutex
	all []Progress
}

func (r *recorder) report(p Progress) {
	r.mu.Lock()
	r.all = append(r.all, p)
	r.mu.Unlock()
}

func (r *recorder) list() []Progress {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Progress(nil), r.all...)
}

// TestReindexEmbedded rebuilds the embedded index from the embedded bus
// while conversations keep arriving and an analyst keeps searching: every
// search during the job answers with at least the conversations indexed
// before it, the job switches to a new generation and removes the old one,
// and every conversation, including those published during the job, ends
// up complete in the new generation.
func TestReindexEmbedded(t *testing.T) {
	ctx := context.Background()
	b := openBus(t)
	dir, x := openIndex(t)
	live := runLive(t, b, x)

	before := publishBefore(t, ctx, b, 1000, func(i int) bool { return i%3 == 0 })
	resolved := map[string]bool{}
	for i, id := range before {
		resolved[id] = i%3 == 0
	}
	isResolved := func(id string) bool { return resolved[id] }
	waitComplete(t, x, before, isResolved)
	gen := x.Generation()

	late := newLateArrivals(t, live, b, x)
	job := newJob(t, 20*time.Millisecond, late.gate, b, slowTarget{Embedded{Dir: dir, Live: x}, 30 * time.Millisecond}, late)

	// Conversations keep arriving during the job, and a little after.
	stopPublishing := make(chan struct{})
	var during []string
	var pubErr error
	pubDone := make(chan struct{})
	go func() {
		defer close(pubDone)
		for i := 0; ; i++ {
			select {
			case <-stopPublishing:
				return
			default:
			}
			id := fmt.Sprintf("during-%04d", i)
			if err := publish(ctx, b, conversation(t, id, 10000+i*10, false)...); err != nil {
				pubErr = err
				return
			}
			during = append(during, id)
			time.Sleep(2 * time.Millisecond)
		}
	}()
	// An analyst searches throughout.
	load := startSearching(x, search.Query{Tenant: tenant, Text: "colis", Statuses: []string{search.StatusResolved}}, 0, func(res search.Result) error {
		if res.Total < 334 {
			return fmt.Errorf("%d resolved conversations found, want at least the 334 indexed before", res.Total)
		}
		ok, err := complete(ctx, x, before[len(before)/2], false)
		if err == nil && !ok {
			err = errors.New("a conversation indexed before the job is missing")
		}
		return err
	})

	rec := &recorder{}
	if err := job.Run(ctx, rec.report); err != nil {
		t.Fatalf("Run: %v", err)
	}
	time.Sleep(50 * time.Millisecond) // a few publishes after the switch
	close(stopPublishing)
	<-pubDone
	load.stopAndCheck(t)
	if pubErr != nil {
		t.Fatal(pubErr)
	}
	t.Logf("%d conversations published during the reindex", len(during))

	// The new generation answers, the old one is gone.
	if x.Generation() == gen {
		t.Fatalf("still on generation %s after the reindex", gen)
	}
	if _, err := os.Stat(filepath.Join(dir, gen)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the old generation %s is still on disk: %v", gen, err)
	}
	// Nothing is missing: every conversation, complete, in the new
	// generation (those published after the pause come from the live
	// indexer, resumed).
	waitComplete(t, x, before, isResolved)
	waitComplete(t, x, during, func(string) bool { return false })
	if len(late.ids) == 0 {
		t.Fatal("the job never paused the live indexer")
	}
	// These the live indexer had written and committed before it paused:
	// it does not write them again, so only the rebuild can have.
	waitComplete(t, x, late.ids, func(string) bool { return false })
	want := len(before) + len(during) + len(late.ids)
	res, err := x.Search(ctx, search.Query{Tenant: tenant, Text: "colis"})
	if err != nil || res.Total != want {
		t.Fatalf("search after the reindex finds %d (%v), want %d", res.Total, err, want)
	}

	// Progress went from rebuilding through switching to done, counting
	// up to the total.
	reports := rec.list()
	if len(reports) < 3 {
		t.Fatalf("%d progress reports, want at least 3: %+v", len(reports), reports)
	}
	first, last := reports[0], reports[len(reports)-1]
	if first.Phase != PhaseRebuilding || first.Generation != x.Generation() {
		t.Errorf("first report %+v, want phase %s of generation %s", first, PhaseRebuilding, x.Generation())
	}
	// 1000 conversations, 4 or 5 events each, 2 or 3 of them also on the
	// routing log.
	if least := int64(1000 * (4 + 2)); first.Total < least {
		t.Errorf("first report counts %d events, want at least %d", first.Total, least)
	}
	if last.Phase != PhaseDone || last.Done != last.Total || last.Total < first.Total {
		t.Errorf("last report %+v, want phase done with done = total >= %d", last, first.Total)
	}
	phases := map[string]bool{}
	var prev int64
	for _, p := range reports {
		phases[p.Phase] = true
		if p.Phase == PhaseRebuilding && p.Done < prev {
			t.Errorf("progress went back from %d to %d", prev, p.Done)
		}
		prev = p.Done
		if p.Done > p.Total {
			t.Errorf("report %+v counts more done than total", p)
		}
	}
	if !phases[PhaseSwitching] {
		t.Errorf("no %s report: %+v", PhaseSwitching, reports)
	}
	if job.Running() {
		t.Error("the job still says it is running")
	}
}

// TestReindexOneAtATime: a second Run while one is under way gets
// ErrRunning and changes nothing; the first one completes.
func TestReindexOneAtATime(t *testing.T) {
	ctx := context.Background()
	b, dir, x, live := withConversation(t)
	bt := &blockingTarget{Target: Embedded{Dir: dir, Live: x}, entered: make(chan struct{}), release: make(chan struct{})}
	job := newJob(t, 20*time.Millisecond, b, b, bt, live)
	firstDone := make(chan error, 1)
	go func() { firstDone <- job.Run(ctx, nil) }()
	<-bt.entered
	if !job.Running() {
		t.Error("Running is false during a job")
	}
	if err := job.Run(ctx, nil); !errors.Is(err, ErrRunning) {
		t.Fatalf("second Run = %v, want ErrRunning", err)
	}
	close(bt.release)
	if err := <-firstDone; err != nil {
		t.Fatalf("first Run: %v", err)
	}
	waitComplete(t, x, []string{"c1"}, func(string) bool { return true })
	if x.Generation() != "g000002" {
		t.Errorf("generation %s after one reindex, want g000002", x.Generation())
	}
}

// TestReindexFailureKeepsCurrent: a job that fails (its switch is
// refused, or its context ends) leaves the current generation serving,
// removes the one it built, and resumes the live indexer; a later job
// succeeds.
func TestReindexFailureKeepsCurrent(t *testing.T) {
	ctx := context.Background()
	b, dir, x, live := withConversation(t)
	waitComplete(t, x, []string{"c1"}, func(string) bool { return true })
	gen := x.Generation()
	generations := func() []string {
		des, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, de := range des {
			if de.IsDir() && strings.HasPrefix(de.Name(), "g") {
				out = append(out, de.Name())
			}
		}
		return out
	}
	n := 1
	check := func(what string, runErr error) {
		t.Helper()
		if runErr == nil {
			t.Fatalf("%s: Run succeeded", what)
		}
		if x.Generation() != gen {
			t.Errorf("%s: serving generation %s, want %s", what, x.Generation(), gen)
		}
		if gens := generations(); len(gens) != 1 || gens[0] != gen {
			t.Errorf("%s: generations on disk %v, want only %s", what, gens, gen)
		}
		// The live indexer writes into the current generation again.
		n++
		id := fmt.Sprintf("c%d", n)
		mustPublish(t, ctx, b, conversation(t, id, n*10, false)...)
		waitComplete(t, x, []string{"c1", id}, func(id string) bool { return id == "c1" })
	}

	failing := newJob(t, 20*time.Millisecond, b, b, failingTarget{Embedded{Dir: dir, Live: x}}, live)
	err := failing.Run(ctx, nil)
	if !errors.Is(err, errSwitch) {
		t.Errorf("Run with a refused switch = %v, want the switch's error", err)
	}
	check("switch refused", err)

	job := newJob(t, 20*time.Millisecond, b, b, Embedded{Dir: dir, Live: x}, live)
	cctx, cancel := context.WithCancel(ctx)
	err = job.Run(cctx, func(Progress) { cancel() })
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Run cancelled = %v, want context.Canceled", err)
	}
	check("cancelled", err)

	if err := job.Run(ctx, nil); err != nil {
		t.Fatalf("Run after the failures: %v", err)
	}
	if x.Generation() == gen {
		t.Fatal("the reindex after the failures did not switch")
	}
	waitComplete(t, x, []string{"c1", "c2", "c3"}, func(id string) bool { return id == "c1" })
	if gens := generations(); len(gens) != 1 || gens[0] != x.Generation() {
		t.Errorf("generations on disk %v, want only %s", gens, x.Generation())
	}
}

// TestReindexRestartNeeded: when the switch made the new generation
// current on disk but the serving index could not load it, the live
// indexer stays paused (nothing goes into the old generation that the new
// one would lack) and the new generation is kept for the next start.
func TestReindexRestartNeeded(t *testing.T) {
	ctx := context.Background()
	b, dir, x, live := withConversation(t)
	spy := &pauseSpy{Pauser: live}
	job := newJob(t, 20*time.Millisecond, b, b, restartTarget{Embedded{Dir: dir, Live: x}}, spy)
	err := job.Run(ctx, nil)
	if !errors.Is(err, ErrRestartNeeded) {
		t.Fatalf("Run = %v, want ErrRestartNeeded", err)
	}
	if !spy.paused.Load() || spy.resumed.Load() {
		t.Errorf("paused %v, resumed %v: want the live indexer left paused", spy.paused.Load(), spy.resumed.Load())
	}
	if _, err := os.Stat(filepath.Join(dir, "g000002")); err != nil {
		t.Errorf("the new, current generation was removed: %v", err)
	}
	spy.resume() // let the live indexer stop with the test
}

// TestConfig rejects what cannot work.
func TestConfig(t *testing.T) {
	b := openBus(t)
	if _, err := New(Config{Interval: -time.Second}, b, b, Embedded{}, NewLive(nil), nil); err == nil {
		t.Error("a negative interval was accepted")
	}
	if _, err := New(Config{}, b, nil, Embedded{}, NewLive(nil), nil); err == nil {
		t.Error("a job without end offsets was accepted")
	}
	if _, err := New(Config{Indexer: indexerConfig()}, b, b, Embedded{}, NewLive(nil), nil); err != nil {
		t.Errorf("a valid configuration: %v", err)
	}
}
