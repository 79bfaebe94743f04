package routing

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/hotline-hub/hotline/bus"
	"github.com/hotline-hub/hotline/bus/embedded"
	"github.com/hotline-hub/hotline/bus/event"
)

// benchTenant has 20 queues over 10 skills and n agents with three skills
// each and capacity on three channels.
func benchTenant(id string, agents int, rng *rand.Rand) TenantConfig {
	tc := TenantConfig{ID: id}
	for i := range 20 {
		tc.Queues = append(tc.Queues, QueueConfig{ID: fmt.Sprintf("q%02d", i), Skills: []string{fmt.Sprintf("s%d", i%10)}, Priority: i % 3})
	}
	for i := range agents {
		skills := []string{}
		for _, k := range rng.Perm(10)[:3] {
			skills = append(skills, fmt.Sprintf("s%d", k))
		}
		if i%4 == 0 {
			skills = append(skills, "lang:de")
		}
		tc.Agents = append(tc.Agents, AgentConfig{ID: fmt.Sprintf("a%04d", i), Skills: skills,
			Capacity: map[string]int{event.ChannelVoice: 1, event.ChannelChat: 3, event.ChannelEmail: 5}})
	}
	return tc
}

type benchLoad struct {
	tb  testing.TB
	st  *State
	rng *rand.Rand
	now time.Time
	n   int
}

func (l *benchLoad) ev(typ, conv string, p event.Payload, opts ...event.Option) *event.Envelope {
	opts = append(opts, event.WithTime(l.now), event.WithSource("/bench"))
	if conv != "" {
		opts = append(opts, event.WithConversation(conv))
	}
	e, err := event.New(typ, l.st.Tenant(), p, opts...)
	if err != nil {
		l.tb.Fatal(err)
	}
	return e
}

func (l *benchLoad) apply(e *event.Envelope) {
	if err := l.st.Apply(e); err != nil {
		l.tb.Fatalf("apply %s: %v", e.Type, err)
	}
}

// arrive queues a new conversation on a random queue and channel.
func (l *benchLoad) arrive() {
	l.n++
	d := &event.ConversationQueuedData{Queue: fmt.Sprintf("q%02d", l.rng.IntN(20)), Priority: l.rng.IntN(3)}
	if l.rng.IntN(8) == 0 {
		d.Skills = []string{"lang:de"}
	}
	ch := []string{event.ChannelVoice, event.ChannelChat, event.ChannelChat, event.ChannelEmail}[l.rng.IntN(4)]
	l.apply(l.ev(event.ConversationQueued, fmt.Sprintf("c%07d", l.n), d, event.WithChannel(ch),
		event.WithContact(fmt.Sprintf("k%d", l.rng.IntN(50000)))))
}

// settle applies decisions (agents accepting every offer) until a round
// decides nothing.
func (l *benchLoad) settle() {
	for {
		ds := l.st.Decide(l.now)
		if len(ds) == 0 {
			return
		}
		l.accept(ds)
	}
}

func (l *benchLoad) accept(ds []Decision) {
	for _, d := range ds {
		e, err := d.Envelope(l.st.Tenant(), l.now)
		if err != nil {
			l.tb.Fatal(err)
		}
		l.apply(e)
		if d.Kind == Offer {
			l.apply(l.ev(event.ConversationAssigned, d.ConversationID, &event.ConversationAssignedData{AgentID: d.AgentID}))
		}
	}
}

// BenchmarkDecide measures one routing decision with 10,000 conversations
// waiting and 2,000 agents busy: each iteration frees one agent slot (a
// resolution), queues a new conversation, and times Decide alone.
// Percentiles over all iterations are reported as p50-ns and p99-ns.
func BenchmarkDecide(b *testing.B) {
	rng := rand.New(rand.NewPCG(7, 7))
	st, err := NewState(benchTenant(tenantID, 2000, rng))
	if err != nil {
		b.Fatal(err)
	}
	l := &benchLoad{tb: b, st: st, rng: rng, now: t0}
	for _, a := range st.Config().Agents {
		l.apply(l.ev(event.AgentPresenceChanged, "", &event.AgentPresenceChangedData{AgentID: a.ID, Presence: event.PresenceAvailable}))
	}
	// Fill the agents, then leave 10,000 waiting.
	for st.waitingTotal() < 10000 {
		for range 2000 {
			l.arrive()
		}
		l.settle()
	}
	var assigned []string
	for _, c := range st.Conversations() {
		if c.Status == Assigned {
			assigned = append(assigned, c.ID)
		}
	}
	b.Logf("%d waiting, %d assigned, %d agents, %d lanes", st.waitingTotal(), len(assigned), len(st.agents), len(st.lanes))

	lat := make([]time.Duration, 0, b.N)
	offers := 0
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		l.now = l.now.Add(time.Millisecond)
		i := rng.IntN(len(assigned))
		id := assigned[i]
		c := st.Conversation(id)
		l.apply(l.ev(event.ConversationResolved, id, &event.ConversationResolvedData{AgentID: c.AgentID}))
		assigned[i] = assigned[len(assigned)-1]
		assigned = assigned[:len(assigned)-1]
		l.arrive()
		b.StartTimer()

		start := time.Now()
		ds := st.Decide(l.now)
		lat = append(lat, time.Since(start))

		b.StopTimer()
		offers += len(ds)
		l.accept(ds)
		for _, d := range ds {
			assigned = append(assigned, d.ConversationID)
		}
		b.StartTimer()
	}
	b.StopTimer()
	slices.Sort(lat)
	pct := func(p float64) float64 { return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Nanoseconds()) }
	b.ReportMetric(pct(0.50), "p50-ns")
	b.ReportMetric(pct(0.99), "p99-ns")
	b.ReportMetric(float64(st.waitingTotal()), "waiting")
	b.ReportMetric(float64(offers)/float64(len(lat)), "offers/decision")
}

// waitingTotal counts waiting conversations over all queues.
func (s *State) waitingTotal() int {
	n := 0
	for _, q := range s.queues {
		n += q.waiting
	}
	return n
}

// BenchmarkReplay writes a routing log of 1,000,000 events (100,000 with
// -short) for 10 tenants into an embedded bus, then times a router
// starting on it until it has caught up with every tenant, and reports
// events/s, wall and CPU seconds per replay (CPU time includes the bus's
// own background work, such as preparing segment files).
func BenchmarkReplay(b *testing.B) {
	total := 1_000_000
	if testing.Short() {
		total = 100_000
	}
	dir := b.TempDir()
	bb, err := embedded.Open(embedded.Config{Dir: dir}, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer bb.Close()
	const tenants = 10
	rng := rand.New(rand.NewPCG(1, 2))
	cfg := Config{RouterID: "bench"}
	for i := range tenants {
		cfg.Tenants = append(cfg.Tenants, benchTenant(fmt.Sprintf("t%02d", i), 200, rng))
	}
	start := time.Now()
	written := writeRoutingLog(b, bb, cfg, total)
	b.Logf("wrote %d events in %s", written, time.Since(start).Round(time.Millisecond))
	// Replay is what a restarted process does: reopen the bus from disk
	// (not timed), then fold.
	if err := bb.Close(); err != nil {
		b.Fatal(err)
	}
	if bb, err = embedded.Open(embedded.Config{Dir: dir}, nil); err != nil {
		b.Fatal(err)
	}
	runtime.GC()

	b.ResetTimer()
	var elapsed, cpu time.Duration
	for b.Loop() {
		ctx, cancel := context.WithCancel(context.Background())
		r, err := New(cfg, bb, quietLog())
		if err != nil {
			b.Fatal(err)
		}
		done := make(chan error, 1)
		t, c := time.Now(), cpuTime()
		go func() { done <- r.Run(ctx) }()
		for _, tc := range cfg.Tenants {
			for !r.Synced(tc.ID) {
				time.Sleep(time.Millisecond)
			}
		}
		elapsed += time.Since(t)
		cpu += cpuTime() - c
		b.StopTimer()
		var folded uint64
		for _, tc := range cfg.Tenants {
			r.View(tc.ID, func(st *State) { folded += st.Version() })
		}
		if folded < uint64(written) {
			b.Fatalf("folded %d of %d events", folded, written)
		}
		cancel()
		if err := <-done; err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(written)*float64(b.N)/elapsed.Seconds(), "events/s")
	b.ReportMetric(elapsed.Seconds()/float64(b.N), "s/replay")
	b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/replay")
}

// writeRoutingLog publishes a realistic routing log: agents logging in,
// then conversations queued, offered to an agent with room, accepted and
// resolved, in waves, 10 ms apart in event time.
func writeRoutingLog(b *testing.B, bb bus.Bus, cfg Config, total int) int {
	now := t0
	written := 0
	batch := make([]bus.Message, 0, 1000)
	flush := func() {
		if len(batch) == 0 {
			return
		}
		if err := bb.Publish(context.Background(), event.TopicRouting, batch...); err != nil {
			b.Fatal(err)
		}
		batch = batch[:0]
	}
	add := func(tenant, typ, conv string, p event.Payload, opts ...event.Option) {
		now = now.Add(10 * time.Millisecond)
		opts = append(opts, event.WithTime(now), event.WithSource("/bench"))
		if conv != "" {
			opts = append(opts, event.WithConversation(conv))
		}
		e, err := event.New(typ, tenant, p, opts...)
		if err != nil {
			b.Fatal(err)
		}
		m, err := event.RoutingMessage(e)
		if err != nil {
			b.Fatal(err)
		}
		batch = append(batch, m)
		written++
		if len(batch) == cap(batch) {
			flush()
		}
	}
	for _, tc := range cfg.Tenants {
		for _, a := range tc.Agents {
			add(tc.ID, event.AgentPresenceChanged, "", &event.AgentPresenceChangedData{AgentID: a.ID, Presence: event.PresenceAvailable})
		}
	}
	n := 0
	for written < total {
		for _, tc := range cfg.Tenants {
			// A wave: one chat per agent, queued, offered, accepted, resolved.
			for i, a := range tc.Agents {
				n++
				conv := fmt.Sprintf("c%07d", n)
				q := tc.Queues[slices.IndexFunc(tc.Queues, func(q QueueConfig) bool { return q.Skills[0] == a.Skills[0] })].ID
				add(tc.ID, event.ConversationQueued, conv, &event.ConversationQueuedData{Queue: q, Priority: i % 3},
					event.WithChannel(event.ChannelChat), event.WithContact(fmt.Sprintf("k%d", n%5000)))
				add(tc.ID, event.ConversationOffered, conv, &event.ConversationOfferedData{AgentID: a.ID, Queue: q, TimeoutMs: 30000},
					event.WithChannel(event.ChannelChat))
				add(tc.ID, event.ConversationAssigned, conv, &event.ConversationAssignedData{AgentID: a.ID, Queue: q},
					event.WithChannel(event.ChannelChat))
			}
			for i := range tc.Agents {
				conv := fmt.Sprintf("c%07d", n-len(tc.Agents)+1+i)
				add(tc.ID, event.ConversationResolved, conv, &event.ConversationResolvedData{AgentID: tc.Agents[i].ID},
					event.WithChannel(event.ChannelChat))
			}
			if written >= total {
				break
			}
		}
	}
	flush()
	return written
}
