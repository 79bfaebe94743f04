package chatbench

import (
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hotline-hub/hotline/cmd/hotline/internal/benchstat"
	"github.com/hotline-hub/hotline/cmd/hotline/internal/procstat"
)

// Latency summarises one direction's latency samples.
type Latency struct {
	Samples int           `json:"samples"`
	P50     time.Duration `json:"p50_ns"`
	P90     time.Duration `json:"p90_ns"`
	P99     time.Duration `json:"p99_ns"`
	P999    time.Duration `json:"p999_ns"`
	Max     time.Duration `json:"max_ns"`
}

// Summarize computes the percentiles of samples (nanoseconds), sorting it.
func Summarize(samples []int64) Latency {
	if len(samples) == 0 {
		return Latency{}
	}
	slices.Sort(samples)
	p := func(q float64) time.Duration { return time.Duration(benchstat.Percentile(samples, q)) }
	return Latency{Samples: len(samples), P50: p(50), P90: p(90), P99: p(99), P999: p(99.9), Max: p(100)}
}

// Counts are what one phase sent and received, measured messages only
// (those scheduled after the warm-up).
type Counts struct {
	// Customer messages written to their sockets, and the hub's answers.
	Sent     int `json:"sent"`
	Acked    int `json:"acked"`
	Received int `json:"received"` // by the assigned agents, each once
	Lost     int `json:"lost"`     // Sent − Received at the end of the drain
	// Duplicates are frames of a message an agent had already seen.
	Duplicates int `json:"duplicates"`
	// Agent replies: accepted by the API (2xx), received by customers, and
	// accepted but not received (never below zero: a reply whose request
	// failed late may still arrive).
	Replies         int `json:"replies"`
	RepliesReceived int `json:"replies_received"`
	RepliesLost     int `json:"replies_lost"`
	// Errors: send failures, error frames, failed replies, sockets closed
	// during the run.
	SendErrors  int `json:"send_errors"`
	ErrorFrames int `json:"error_frames"`
	ReplyErrors int `json:"reply_errors"`
	Disconnects int `json:"disconnects"`
}

// PhaseReport is one measured phase: the hub or the bare relay.
type PhaseReport struct {
	Name string `json:"name"` // "hub" or "relay"
	// Connected sockets and conversations assigned before the run.
	Agents    int `json:"agents"`
	Customers int `json:"customers"`
	Assigned  int `json:"assigned"`
	// Setup is how long logins, connections and assignment took.
	Setup    time.Duration `json:"setup_ns"`
	Measured time.Duration `json:"measured_ns"`
	Counts   Counts        `json:"counts"`
	// Rate is Sent per second of the measured window.
	Rate float64 `json:"rate"`
	// CustomerToAgent: from just before the customer's write to the agent
	// socket's frame; AgentToCustomer: from just before the reply's write
	// (its reply frame or its POST) to the customer's frame.
	CustomerToAgent Latency `json:"customer_to_agent"`
	// CustomerToAck: from the same write to the hub's ack on the customer's
	// socket (the message is durable on the bus); the part of
	// CustomerToAgent that is the chat channel and the bus.
	CustomerToAck   Latency `json:"customer_to_ack"`
	AgentToCustomer Latency `json:"agent_to_customer"`
	// GeneratorLag is the delay between a message's scheduled time and its
	// write by the worker (timer slack, a busy worker or machine), which the
	// latencies do not include; a large one means the rate was not offered
	// evenly.
	GeneratorLagP99 time.Duration `json:"generator_lag_p99_ns"`
	GeneratorLagMax time.Duration `json:"generator_lag_max_ns"`
	// Hub process (the process serving the phase) over the measured window.
	HubCPU       time.Duration `json:"hub_cpu_ns"`
	HubPeakRSS   int64         `json:"hub_peak_rss_bytes"` // VmHWM, reset before the phase where the kernel allows
	HubHeapInUse int64         `json:"hub_heap_in_use_bytes"`
	HubHeapPeak  int64         `json:"hub_heap_peak_bytes"`
	// HubMemory is where the hub's Go memory was at the end of the window;
	// its scan sizes are as read within a sampling tick (250 ms) of the
	// window's last GC cycle.
	HubMemory procstat.GoMemory `json:"hub_go_memory"`
	// HubGCCPU is the CPU the hub's garbage collector took over the
	// window, as the Go runtime estimates it.
	HubGCCPU procstat.GCCPU `json:"hub_gc_cpu"`
	// HubWaits are the Go runtime's scheduling latency and GC pauses in the
	// hub process over the measured window.
	HubWaits procstat.Waits `json:"hub_waits"`
	// Timeline is customer→agent latency by second of the measured window
	// (by send time); SlowSeconds counts its seconds with a message over
	// the target, SlowNearGC those of them in which or just before a GC
	// cycle of the hub ended (gcNear).
	Timeline    []Second `json:"timeline,omitempty"`
	SlowSeconds int      `json:"slow_seconds"`
	SlowNearGC  int      `json:"slow_seconds_near_gc"`
	// gcEnds are when the hub's GC cycles of the measured window ended, to
	// within the sampling tick, for the timeline.
	gcEnds []time.Time
	// WorkersCPU is the load generators' CPU over the measured window.
	WorkersCPU time.Duration `json:"workers_cpu_ns"`
	// FirstErrors are a few error messages seen, for diagnosis.
	FirstErrors []string `json:"first_errors,omitempty"`
}

// Target is the customer→agent p99 the bench is measured against.
const Target = 10 * time.Millisecond

// Second is the messages sent in one second of the measured window that
// reached their agent.
type Second struct {
	At   int           `json:"at_s"` // seconds from the window's start
	N    int           `json:"n"`
	Slow int           `json:"slow"` // of them, over Target
	P99  time.Duration `json:"p99_ns"`
	Max  time.Duration `json:"max_ns"`
	// GC is how many of the hub's GC cycles ended in this second (to
	// within 250 ms). A cycle's marking runs for up to a second before
	// it ends, and slows every goroutine of the hub meanwhile.
	GC int `json:"gc,omitempty"`
}

// timeline groups latency samples by the second of their send time from
// start; samples before start are left out.
func timeline(lat, sent []int64, start time.Time) []Second {
	var by [][]int64
	for i, l := range lat[:min(len(lat), len(sent))] {
		d := sent[i] - start.UnixNano()
		if d < 0 {
			continue
		}
		s := int(d / int64(time.Second))
		for len(by) <= s {
			by = append(by, nil)
		}
		by[s] = append(by[s], l)
	}
	out := make([]Second, len(by))
	for s, ls := range by {
		out[s].At = s
		if len(ls) == 0 {
			continue
		}
		slices.Sort(ls)
		out[s].N = len(ls)
		out[s].P99 = time.Duration(benchstat.Percentile(ls, 99))
		out[s].Max = time.Duration(ls[len(ls)-1])
		out[s].Slow = len(ls) - sort.Search(len(ls), func(i int) bool { return ls[i] > int64(Target) })
	}
	return out
}

// markGC counts in t the GC cycles that ended at each of ends, by their
// second from start.
func markGC(t []Second, start time.Time, ends []time.Time) {
	for _, e := range ends {
		if d := e.Sub(start); d >= 0 && int(d/time.Second) < len(t) {
			t[d/time.Second].GC++
		}
	}
}

// gcNear reports whether a GC cycle ended in second i of t or the next
// one: the cycle that slowed second i.
func gcNear(t []Second, i int) bool {
	return t[i].GC > 0 || (i+1 < len(t) && t[i+1].GC > 0)
}

// countSlow counts the seconds of t with a message over Target, and those
// of them next to a GC cycle's end (gcNear).
func countSlow(t []Second) (slow, nearGC int) {
	for i, s := range t {
		if s.Slow > 0 {
			slow++
			if gcNear(t, i) {
				nearGC++
			}
		}
	}
	return slow, nearGC
}

// worstSeconds are up to n seconds of t with the most slow messages, in
// time order.
func worstSeconds(t []Second, n int) []Second {
	var slow []Second
	for _, s := range t {
		if s.Slow > 0 {
			slow = append(slow, s)
		}
	}
	slices.SortStableFunc(slow, func(a, b Second) int { return b.Slow - a.Slow })
	slow = slow[:min(n, len(slow))]
	slices.SortFunc(slow, func(a, b Second) int { return a.At - b.At })
	return slow
}

// Report is the result of a bench run.
type Report struct {
	Options  Settings      `json:"options"`
	Start    time.Time     `json:"start"`
	LoadAvg  string        `json:"loadavg_before"`
	LoadEnd  string        `json:"loadavg_after"`
	Phases   []PhaseReport `json:"phases"`
	DataDir  string        `json:"data_dir"`
	Profiled string        `json:"cpuprofile,omitempty"`
}

// Settings are the options a report was made with, as printed.
type Settings struct {
	Agents     int           `json:"agents"`
	Customers  int           `json:"customers"`
	Rate       int           `json:"rate"`
	Duration   time.Duration `json:"duration_ns"`
	Warmup     time.Duration `json:"warmup_ns"`
	Drain      time.Duration `json:"drain_ns"`
	ReplyEvery int           `json:"reply_every"`
	ReplyVia   string        `json:"reply_via"`
	Workers    int           `json:"workers"`
	// WorkerProcs is each worker's GOMAXPROCS (0: the runtime's default).
	WorkerProcs int    `json:"worker_procs"`
	Capacity    int    `json:"capacity"`
	Bus         string `json:"bus"`
	// GCPercent and MemoryLimit are the hub process's garbage collector
	// settings (runtime.gc_percent and runtime.memory_limit, or GOGC and
	// GOMEMLIMIT): -1 for no proportional collection, 0 for no limit.
	GCPercent   int   `json:"gc_percent"`
	MemoryLimit int64 `json:"memory_limit_bytes"`
	// Sysmon is how the hub process runs the runtime's sysmon
	// (sysmon.Describe: "steady" with runtime.steady_sysmon).
	Sysmon string `json:"sysmon"`
}

// WriteJSON writes r as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	return benchstat.WriteJSON(w, r, "chatbench")
}

// WriteText writes r as a plain text table, one column per phase.
func (r *Report) WriteText(w io.Writer) error {
	o := r.Options
	var b strings.Builder
	fmt.Fprintf(&b, "chat bench: %d agents, %d customers, %d msg/s for %s after %s warm-up (drain %s), reply every %d via %s, %d workers (GOMAXPROCS %s), chat capacity %d, bus %s\n",
		o.Agents, o.Customers, o.Rate, o.Duration, o.Warmup, o.Drain, o.ReplyEvery, o.ReplyVia, o.Workers, procs(o.WorkerProcs), o.Capacity, o.Bus)
	gogc, limit := strconv.Itoa(o.GCPercent), "none"
	if o.GCPercent < 0 {
		gogc = "off"
	}
	if o.MemoryLimit > 0 {
		limit = benchstat.MiB(o.MemoryLimit)
	}
	fmt.Fprintf(&b, "hub runtime: GOGC %s, memory limit %s, sysmon %s\n", gogc, limit, o.Sysmon)
	fmt.Fprintf(&b, "load average before: %s; after: %s\n", r.LoadAvg, r.LoadEnd)
	tw := benchstat.NewTable(&b, r.Phases)
	row := tw.Row
	row("", func(p PhaseReport) string { return p.Name })
	row("agents connected", func(p PhaseReport) string { return fmt.Sprint(p.Agents) })
	row("customers connected", func(p PhaseReport) string { return fmt.Sprint(p.Customers) })
	row("conversations assigned", func(p PhaseReport) string { return fmt.Sprint(p.Assigned) })
	row("setup", func(p PhaseReport) string { return p.Setup.Round(100 * time.Millisecond).String() })
	row("messages sent", func(p PhaseReport) string { return fmt.Sprint(p.Counts.Sent) })
	row("acked", func(p PhaseReport) string { return fmt.Sprint(p.Counts.Acked) })
	row("received by agents", func(p PhaseReport) string { return fmt.Sprint(p.Counts.Received) })
	row("lost", func(p PhaseReport) string { return fmt.Sprint(p.Counts.Lost) })
	row("achieved rate (msg/s)", func(p PhaseReport) string { return fmt.Sprintf("%.1f", p.Rate) })
	lat := func(name string, get func(PhaseReport) Latency) {
		row(name+" p50", func(p PhaseReport) string { return dur(get(p).P50) })
		row(name+" p90", func(p PhaseReport) string { return dur(get(p).P90) })
		row(name+" p99", func(p PhaseReport) string { return dur(get(p).P99) })
		row(name+" p99.9", func(p PhaseReport) string { return dur(get(p).P999) })
		row(name+" max", func(p PhaseReport) string { return dur(get(p).Max) })
	}
	lat("customer→agent", func(p PhaseReport) Latency { return p.CustomerToAgent })
	row("customer→ack p50", func(p PhaseReport) string { return dur(p.CustomerToAck.P50) })
	row("customer→ack p99", func(p PhaseReport) string { return dur(p.CustomerToAck.P99) })
	row("customer→ack max", func(p PhaseReport) string { return dur(p.CustomerToAck.Max) })
	row("replies sent", func(p PhaseReport) string { return fmt.Sprint(p.Counts.Replies) })
	row("replies received", func(p PhaseReport) string { return fmt.Sprint(p.Counts.RepliesReceived) })
	row("replies lost", func(p PhaseReport) string { return fmt.Sprint(p.Counts.RepliesLost) })
	lat("agent→customer", func(p PhaseReport) Latency { return p.AgentToCustomer })
	row("generator lag p99", func(p PhaseReport) string { return dur(p.GeneratorLagP99) })
	row("generator lag max", func(p PhaseReport) string { return dur(p.GeneratorLagMax) })
	row("errors (send/frames/reply/disc.)", func(p PhaseReport) string {
		c := p.Counts
		return fmt.Sprintf("%d/%d/%d/%d", c.SendErrors, c.ErrorFrames, c.ReplyErrors, c.Disconnects)
	})
	row("duplicates", func(p PhaseReport) string { return fmt.Sprint(p.Counts.Duplicates) })
	row("hub CPU (user+sys)", func(p PhaseReport) string {
		if p.Measured <= 0 {
			return "-"
		}
		return fmt.Sprintf("%s (%.0f%% of a core)", p.HubCPU.Round(10*time.Millisecond), 100*p.HubCPU.Seconds()/p.Measured.Seconds())
	})
	row("hub Go memory live / goal / stacks / total", func(p PhaseReport) string {
		m := p.HubMemory
		return benchstat.MiB(m.Live) + " / " + benchstat.MiB(m.Goal) + " / " + benchstat.MiB(m.Stacks) + " / " + benchstat.MiB(m.Total)
	})
	row("hub GC scan heap / stacks (after the last cycle)", func(p PhaseReport) string {
		return benchstat.MiB(p.HubMemory.ScanHeap) + " / " + benchstat.MiB(p.HubMemory.ScanStacks)
	})
	row("hub GC CPU assists / workers / pauses", func(p PhaseReport) string {
		g := p.HubGCCPU
		return dur(g.Assist) + " / " + dur(g.Background) + " / " + dur(g.Pause)
	})
	row("hub scheduling latency p99 / p99.9 / max", func(p PhaseReport) string {
		d := p.HubWaits.Sched
		return dur(d.P99) + " / " + dur(d.P999) + " / " + dur(d.Max)
	})
	row("hub GC pauses (count, max)", func(p PhaseReport) string {
		return fmt.Sprintf("%d, %s", p.HubWaits.GC.Count, dur(p.HubWaits.GC.Max))
	})
	row("seconds with a message over "+dur(Target), func(p PhaseReport) string {
		return fmt.Sprintf("%d of %d", p.SlowSeconds, len(p.Timeline))
	})
	row("  of them next to a GC cycle's end", func(p PhaseReport) string { return fmt.Sprint(p.SlowNearGC) })
	row("workers CPU (user+sys)", func(p PhaseReport) string { return p.WorkersCPU.Round(10 * time.Millisecond).String() })
	row("hub peak RSS (VmHWM)", func(p PhaseReport) string { return benchstat.MiB(p.HubPeakRSS) })
	row("hub Go heap in use (end/peak)", func(p PhaseReport) string {
		return benchstat.MiB(p.HubHeapInUse) + " / " + benchstat.MiB(p.HubHeapPeak)
	})
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, p := range r.Phases {
		for _, s := range worstSeconds(p.Timeline, 8) {
			gc := ""
			if gcNear(p.Timeline, s.At) {
				gc = "; a GC cycle ended in it or the next second"
			}
			fmt.Fprintf(&b, "%s second %d: %d of %d messages over %s, p99 %s, max %s%s\n", p.Name, s.At, s.Slow, s.N, dur(Target), dur(s.P99), dur(s.Max), gc)
		}
		for _, e := range p.FirstErrors {
			fmt.Fprintf(&b, "%s error: %s\n", p.Name, e)
		}
	}
	if r.Profiled != "" {
		fmt.Fprintf(&b, "hub CPU profile of the measured window: %s\n", r.Profiled)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// dur prints a latency for the table, zero as a dash.
func dur(d time.Duration) string { return benchstat.Duration(d, "-") }

// procs names a GOMAXPROCS setting.
func procs(n int) string {
	if n <= 0 {
		return "default"
	}
	return strconv.Itoa(n)
}
