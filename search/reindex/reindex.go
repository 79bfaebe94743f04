// Package reindex rebuilds the search index from the bus into a new
// generation and switches searches to it, while the current one keeps
// answering.
//
// A Job runs in the process that runs the live indexer (see Live):
//
//  1. It measures the target: the end offsets of the indexer's topics
//     (conversations, outbox, contacts, routing) when the job starts.
//  2. It creates a new generation (Target.Create: a new bleve generation
//     on the embedded index, new indices behind the aliases on
//     Elasticsearch) and runs a second indexer into it, in a consumer group
//     of its own (the live group's name, the generation and the job's
//     start time), which reads every topic from its earliest offset. The
//     live indexer keeps writing the current generation meanwhile;
//     searches keep reading it.
//  3. Once the rebuild has written everything up to the target (and has
//     replayed the routing log up to its start markers, so statuses are
//     final), it pauses the live indexer, which writes what it has applied
//     and commits its offsets; measures the end offsets again; and lets
//     the rebuild catch up to them. Every event the live indexer had
//     written is then in the new generation too.
//  4. It stops the rebuild, switches (Build.Switch: the serving index now
//     answers from the new generation, and the old one is removed) and
//     resumes the live indexer, which continues from its committed offsets
//     into the new generation. Nothing published during the rebuild is
//     missing: what the live indexer had not committed when it paused it
//     reads again after resuming, and everything before was rebuilt.
//
// Two writers never write the same generation at once: the rebuild alone
// writes the new one until the switch, the live indexer alone after it.
// That matters because both write whole conversation documents, folded
// from what each has read: a writer that is behind would replace the
// document of one that is ahead.
//
// One job runs at a time; a second Run gets ErrRunning. A job that fails
// or whose context ends before the switch drops the new generation and
// leaves the current one serving, with the live indexer resumed (but see
// ErrRestartNeeded).
//
// The job pauses the indexer of its own process only. With several
// processes indexing in one group (Kafka), the others keep writing the old
// generation until the switch, and what they write in the moments before
// it may be missing from the new one: stop their indexers for a reindex.
//
// The rebuild's consumer group stays on the bus after the job (groups are
// never deleted; Kafka expires idle ones after its offsets retention).
package reindex

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hotline-hub/hotline/bus"
	"github.com/hotline-hub/hotline/bus/event"
	"github.com/hotline-hub/hotline/search/indexer"
)

// Sentinel errors that callers test with errors.Is.
var (
	// ErrRunning is returned by Run while another reindex is under way.
	ErrRunning = errors.New("reindex: a reindex is already running")
	// ErrRestartNeeded is returned (wrapped) by a Build's Switch that made
	// its generation the current one on disk but could not make the
	// serving index answer from it. Run then leaves the live indexer
	// paused, so that nothing is written into the old generation that the
	// new one would lack: search lags until the hub restarts (and opens the
	// new generation), but loses nothing.
	ErrRestartNeeded = errors.New("the hub must restart to serve the new index")
)

// EndOffsetter is the optional bus method a job measures its target with;
// bus/embedded and bus/kafka implement it.
type EndOffsetter interface {
	// EndOffsets returns, per partition of topic, the offset the next
	// message will get.
	EndOffsets(ctx context.Context, topic string) (map[int]int64, error)
}

// Pauser stops the live indexer for the switch. *Live implements it.
type Pauser interface {
	// Pause returns once the live indexer has stopped, having written what
	// it applied and committed its offsets; resume starts it again (and
	// may be called more than once).
	Pause(ctx context.Context) (resume func(), err error)
}

// Phases of a job, in order.
const (
	PhaseRebuilding = "rebuilding" // the new generation is being written
	PhaseSwitching  = "switching"  // the live indexer is paused; the rebuild catches up, then the switch
	PhaseDone       = "done"       // searches answer from the new generation
)

// Progress is a job's state, reported every Config.Interval.
type Progress struct {
	Phase      string `json:"phase"`
	Generation string `json:"generation"`
	// Done counts the events of the target written into the new
	// generation, Total all of them: the messages on the indexer's topics
	// when the job started (and, in PhaseSwitching, when the live indexer
	// paused).
	Done  int64 `json:"done"`
	Total int64 `json:"total"`
	// Rate is events per second since the job started; ETASeconds the time
	// left at that rate (0 when unknown or done).
	Rate           float64 `json:"rate"`
	ETASeconds     float64 `json:"eta_seconds"`
	ElapsedSeconds float64 `json:"elapsed_seconds"`
}

// checkInterval is how often a job checks whether the rebuild caught up.
const checkInterval = 50 * time.Millisecond

// Defaults of Config.
const (
	DefaultInterval      = time.Second
	DefaultSwitchTimeout = 2 * time.Minute
)

// Config configures a Job. Zero fields take the defaults.
type Config struct {
	// Indexer is the live indexer's configuration: the rebuild folds the
	// same events the same way (routing configuration, phone region), in
	// the group Indexer.Group (default indexer.DefaultGroup) + "-" + the
	// generation + "-" + the job's start in Unix milliseconds.
	Indexer indexer.Config
	// Interval is how often progress is measured and reported.
	Interval time.Duration
	// SwitchTimeout bounds the switch itself, which is not interrupted
	// when the job's context ends.
	SwitchTimeout time.Duration
}

// Validate reports the first field that cannot be used.
func (c Config) Validate() error {
	if c.Interval < 0 || c.SwitchTimeout < 0 {
		return errors.New("reindex: durations must be positive")
	}
	return c.Indexer.Validate()
}

// Job rebuilds the index; see the package comment.
type Job struct {
	cfg    Config
	bus    bus.Bus
	ends   EndOffsetter
	target Target
	live   Pauser
	log    *slog.Logger

	running atomic.Bool
}

// topics are the indexer's topics: the three its group reads, then the
// routing log it replays without a group.
var topics = []string{event.TopicConversations, event.TopicOutbox, event.TopicContacts, event.TopicRouting}

// New returns a job that rebuilds target from b, measuring the bus with
// ends and pausing live around the switch. log may be nil.
func New(cfg Config, b bus.Bus, ends EndOffsetter, target Target, live Pauser, log *slog.Logger) (*Job, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if b == nil || ends == nil || target == nil || live == nil {
		return nil, errors.New("reindex: a bus, its end offsets, a target and the live indexer are required")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.Interval == 0 {
		cfg.Interval = DefaultInterval
	}
	if cfg.SwitchTimeout == 0 {
		cfg.SwitchTimeout = DefaultSwitchTimeout
	}
	if cfg.Indexer.Group == "" {
		cfg.Indexer.Group = indexer.DefaultGroup
	}
	return &Job{cfg: cfg, bus: b, ends: ends, target: target, live: live, log: log}, nil
}

// Running reports whether a job is under way.
func (j *Job) Running() bool { return j.running.Load() }

// Run rebuilds the index and switches to it, calling report (if not nil)
// with the progress: first right after the new generation is created,
// then every Config.Interval, last with PhaseDone. report is called from
// Run's goroutine and should not block. Run returns ErrRunning at once if
// a job is already under way. When ctx ends before the switch, the job is
// abandoned like a failed one.
func (j *Job) Run(ctx context.Context, report func(Progress)) (err error) {
	if !j.running.CompareAndSwap(false, true) {
		return ErrRunning
	}
	defer j.running.Store(false)
	if report == nil {
		report = func(Progress) {}
	}
	start := time.Now()
	first, err := j.measure(ctx)
	if err != nil {
		return err
	}
	b, err := j.target.Create(ctx)
	if err != nil {
		return fmt.Errorf("reindex: create a generation: %w", err)
	}
	gen := b.Name()
	log := j.log.With("generation", gen)
	log.Info("reindex started", "events", first.total())
	defer func() {
		if err == nil {
			return
		}
		log.Error("reindex failed", "err", err)
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), j.cfg.SwitchTimeout)
		defer cancel()
		if derr := b.Drop(dctx); derr != nil {
			log.Error("reindex: could not remove the abandoned generation", "err", derr)
			err = errors.Join(err, fmt.Errorf("reindex: remove generation %s: %w", gen, derr))
		}
	}()

	icfg := j.cfg.Indexer
	// A group of its own, never used before: a generation's name comes
	// back after an abandoned job, and a group that exists resumes from
	// its offsets instead of the beginning.
	icfg.Group = fmt.Sprintf("%s-%s-%d", icfg.Group, gen, start.UnixMilli())
	tr := newTracker(j.bus, topics)
	ix, err := indexer.New(icfg, tr, b.Index(), log.With("group", icfg.Group))
	if err != nil {
		return err
	}
	rctx, stopRebuild := context.WithCancel(context.WithoutCancel(ctx))
	defer stopRebuild()
	rdone := make(chan error, 1)
	go func() { rdone <- ix.Run(rctx) }()
	var stopOnce sync.Once
	var stopErr error
	stop := func() error {
		stopOnce.Do(func() {
			stopRebuild()
			stopErr = <-rdone
		})
		return stopErr
	}
	defer stop()

	progress := func(phase string, t *target) Progress {
		p := Progress{Phase: phase, Generation: gen, ElapsedSeconds: time.Since(start).Seconds()}
		p.Done, p.Total = t.progress(tr)
		if el := time.Since(start).Seconds(); el > 0 {
			p.Rate = float64(p.Done) / el
		}
		if p.Rate > 0 && p.Total > p.Done {
			p.ETASeconds = math.Round(float64(p.Total-p.Done)/p.Rate*10) / 10
		}
		return p
	}
	// wait reports progress until the rebuild has written everything up
	// to t, the rebuild fails or ctx ends.
	wait := func(phase string, t *target) error {
		tick := time.NewTicker(min(j.cfg.Interval, checkInterval))
		defer tick.Stop()
		reported := time.Now()
		for {
			st := ix.Stats()
			if t.caughtUp(tr, st.RoutingFacts) && st.Replaying == 0 {
				return nil
			}
			select {
			case now := <-tick.C:
				if now.Sub(reported) >= j.cfg.Interval {
					reported = now
					report(progress(phase, t))
				}
			case err := <-rdone:
				rdone <- err // for stop
				if err == nil {
					err = errors.New("stopped")
				}
				return fmt.Errorf("reindex: the rebuilding indexer: %w", err)
			case <-ctx.Done():
				return fmt.Errorf("reindex: %w", context.Cause(ctx))
			}
		}
	}

	report(progress(PhaseRebuilding, first))
	if err := wait(PhaseRebuilding, first); err != nil {
		return err
	}
	log.Info("reindex caught up with the bus; pausing the live indexer for the switch")
	resume, err := j.live.Pause(ctx)
	if err != nil {
		return fmt.Errorf("reindex: pause the live indexer: %w", err)
	}
	keepPaused := false
	defer func() {
		if !keepPaused {
			resume()
		}
	}()
	// What the live indexer wrote is below these offsets: the rebuild
	// writes it too before the switch.
	final, err := j.measure(ctx)
	if err != nil {
		return err
	}
	report(progress(PhaseSwitching, final))
	if err := wait(PhaseSwitching, final); err != nil {
		return err
	}
	if err := stop(); err != nil {
		return fmt.Errorf("reindex: the rebuilding indexer: %w", err)
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), j.cfg.SwitchTimeout)
	defer cancel()
	if err := b.Switch(sctx); err != nil {
		if errors.Is(err, ErrRestartNeeded) {
			keepPaused = true
			log.Error("reindex: the live indexer stays paused until the hub restarts", "err", err)
		}
		return fmt.Errorf("reindex: switch to generation %s: %w", gen, err)
	}
	resume()
	done := progress(PhaseDone, final)
	log.Info("reindex done: searches answer from the new generation", "events", done.Done, "seconds", done.ElapsedSeconds)
	report(done)
	return nil
}

// measure reads the end offsets of the indexer's topics.
func (j *Job) measure(ctx context.Context) (*target, error) {
	t := &target{ends: make(map[string]map[int]int64, len(topics)), reached: map[string]int64{}}
	for _, topic := range topics {
		ends, err := j.ends.EndOffsets(ctx, topic)
		if err != nil {
			return nil, fmt.Errorf("reindex: end offsets of %s: %w", topic, err)
		}
		t.ends[topic] = ends
	}
	return t, nil
}

// target is how far the rebuild must have written.
type target struct {
	ends map[string]map[int]int64 // topic -> partition -> end offset
	// reached remembers, per routing partition ("topic/p"), the routing
	// sequence number at which the rebuild was first seen to have read up
	// to its end; it has written it once RoutingFacts reaches that number.
	reached map[string]int64
}

func (t *target) total() int64 {
	var n int64
	for _, ends := range t.ends {
		for _, e := range ends {
			n += e
		}
	}
	return n
}

// caughtUp reports whether the rebuild has written every message below
// the end offsets; routingWritten is its Stats().RoutingFacts.
func (t *target) caughtUp(tr *tracker, routingWritten int64) bool {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	for topic, ends := range t.ends {
		pt := tr.topics[topic]
		for p, end := range ends {
			if end == 0 {
				continue
			}
			if first, ok := pt.first[p]; ok && first >= end {
				continue // retention deleted everything below the end
			}
			if pt.done[p] < end {
				return false
			}
			if !pt.routing {
				continue
			}
			key := fmt.Sprintf("%s/%d", topic, p)
			seq, ok := t.reached[key]
			if !ok {
				seq = tr.seq
				t.reached[key] = seq
			}
			if routingWritten < seq {
				return false
			}
		}
	}
	return true
}

// progress counts the messages below the end offsets the rebuild has
// handled, and all of them. Messages that retention deleted before the
// rebuild read its first one of a partition are not counted.
func (t *target) progress(tr *tracker) (done, total int64) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	for topic, ends := range t.ends {
		pt := tr.topics[topic]
		for p, end := range ends {
			base := int64(0)
			if first, ok := pt.first[p]; ok {
				base = min(first, end)
			}
			total += end - base
			done += max(min(pt.done[p], end)-base, 0)
		}
	}
	return done, total
}
