package chatbench

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestSummarizeSorts(t *testing.T) {
	s := []int64{5e6, 1e6, 4e6, 2e6, 3e6}
	l := Summarize(s)
	want := Latency{Samples: 5, P50: 3 * time.Millisecond, P90: 5 * time.Millisecond, P99: 5 * time.Millisecond,
		P999: 5 * time.Millisecond, Max: 5 * time.Millisecond}
	if l != want {
		t.Errorf("Summarize = %+v, want %+v", l, want)
	}
	if (Summarize(nil) != Latency{}) {
		t.Errorf("Summarize(nil) = %+v, want zero", Summarize(nil))
	}
}

func TestStampRoundTrip(t *testing.T) {
	st := stamp{Phase: phaseMeasured, Customer: 9999, Seq: 42, Sent: 1_763_884_800_123_456_789}
	got, err := parseStamp(st.text())
	if err != nil || got != st {
		t.Fatalf("parseStamp(%q) = %+v, %v; want %+v", st.text(), got, err, st)
	}
	if id := st.clientID("r"); id != "rm-9999-42" {
		t.Errorf("clientID = %q", id)
	}
	other := stamp{Phase: phaseWarm, Customer: 42, Seq: 9999}
	if st.key() == other.key() {
		t.Error("customer and sequence swapped give the same key")
	}
	for _, bad := range []string{"", "hello", "x 1 2 3", "m 1 2", "m -1 2 3", "m 1 two 3", "mm 1 2 3", "m 1 2 3 4"} {
		if _, err := parseStamp(bad); err == nil {
			t.Errorf("parseStamp(%q) accepted", bad)
		}
	}
}

func TestReportText(t *testing.T) {
	r := &Report{
		Options: Settings{Agents: 10, Customers: 100, Rate: 50, Duration: 10 * time.Second, Warmup: time.Second,
			ReplyEvery: 1, Workers: 2, Capacity: 11, Bus: "embedded", GCPercent: -1, MemoryLimit: 900 << 20, Sysmon: "steady"},
		LoadAvg: "0.10 0.20 0.30", LoadEnd: "1.00 0.50 0.40",
		Phases: []PhaseReport{
			{Name: "relay", Agents: 10, Customers: 100, Assigned: 100, Measured: 10 * time.Second,
				Counts: Counts{Sent: 500, Received: 500}, Rate: 50, HubCPU: 2 * time.Second},
			{Name: "hub", Agents: 10, Customers: 100, Assigned: 100, Measured: 10 * time.Second,
				Counts:          Counts{Sent: 500, Acked: 500, Received: 498, Lost: 2, Replies: 498, RepliesReceived: 498, Disconnects: 1},
				CustomerToAgent: Latency{Samples: 498, P50: 1500 * time.Microsecond, P99: 12345 * time.Microsecond, Max: 250 * time.Millisecond},
				HubCPU:          5 * time.Second, HubPeakRSS: 300 << 20, HubHeapInUse: 100 << 20, HubHeapPeak: 120 << 20,
				FirstErrors: []string{"agent agent3: socket closed"}},
		},
	}
	var b bytes.Buffer
	if err := r.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	lines := strings.Split(out, "\n")
	find := func(prefix string) string {
		for _, l := range lines {
			if strings.HasPrefix(strings.TrimSpace(l), prefix) {
				return strings.Join(strings.Fields(strings.TrimPrefix(strings.TrimSpace(l), prefix)), " ")
			}
		}
		t.Fatalf("no row %q in\n%s", prefix, out)
		return ""
	}
	for _, tc := range []struct{ row, want string }{
		{"received by agents", "500 498"},
		{"lost", "0 2"},
		{"customer→agent p50", "- 1.5ms"},
		{"customer→agent p99 ", "- 12.35ms"},
		{"customer→agent max", "- 250ms"},
		{"hub CPU (user+sys)", "2s (20% of a core) 5s (50% of a core)"},
		{"hub peak RSS (VmHWM)", "0.0 MiB 300.0 MiB"},
		{"errors (send/frames/reply/disc.)", "0/0/0/0 0/0/0/1"},
	} {
		if got := find(tc.row); got != tc.want {
			t.Errorf("row %q = %q, want %q", tc.row, got, tc.want)
		}
	}
	if !strings.Contains(out, "hub error: agent agent3: socket closed") || !strings.Contains(out, "load average before: 0.10 0.20 0.30") ||
		!strings.Contains(out, "hub runtime: GOGC off, memory limit 900.0 MiB, sysmon steady") {
		t.Errorf("report lacks the errors, the load or the runtime settings:\n%s", out)
	}
	var j bytes.Buffer
	if err := r.WriteJSON(&j); err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(j.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if back.Phases[1].CustomerToAgent != r.Phases[1].CustomerToAgent || back.Phases[1].Counts != r.Phases[1].Counts {
		t.Errorf("JSON round trip lost data: %+v", back.Phases[1])
	}
}

func TestOptionsValidate(t *testing.T) {
	ok := Defaults()
	ok.WorkerCommand = []string{"/bin/true"}
	ok.Log = nil
	if err := ok.Validate(); err == nil || !strings.Contains(err.Error(), "logger") {
		t.Errorf("Validate without a logger = %v", err)
	}
	for name, mutate := range map[string]func(*Options){
		"no agents":       func(o *Options) { o.Agents = 0 },
		"no customers":    func(o *Options) { o.Customers = -1 },
		"negative rate":   func(o *Options) { o.Rate = -1 },
		"zero duration":   func(o *Options) { o.Duration = 0 },
		"negative warmup": func(o *Options) { o.Warmup = -time.Second },
		"no workers":      func(o *Options) { o.Workers = 0 },
		"negative procs":  func(o *Options) { o.WorkerProcs = -1 },
		"no command":      func(o *Options) { o.WorkerCommand = nil },
		"bad reply-via":   func(o *Options) { o.ReplyVia = "pigeon" },
		"trace for 0 s":   func(o *Options) { o.Trace, o.TraceFor = "hub.trace", 0 },
	} {
		o := Defaults()
		o.WorkerCommand = []string{"/bin/true"}
		o.Log = testLogger()
		if err := o.Validate(); err != nil {
			t.Fatalf("defaults do not validate: %v", err)
		}
		mutate(&o)
		if err := o.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if c := Defaults().Capacity(); c != 11 {
		t.Errorf("capacity for 10,000 customers on 1,000 agents = %d, want 11", c)
	}
	o := Defaults()
	o.Agents, o.Customers = 3, 10
	if c := o.Capacity(); c != 5 {
		t.Errorf("capacity for 10 customers on 3 agents = %d, want 5", c)
	}
}

func TestTimelineGroupsBySendSecond(t *testing.T) {
	start := time.Unix(1000, 0)
	at := func(ms int64) int64 { return start.UnixNano() + ms*int64(time.Millisecond) }
	ms := func(n int64) int64 { return n * int64(time.Millisecond) }
	lat := []int64{ms(1), ms(2), ms(50), ms(3), ms(11), ms(7)}
	sent := []int64{at(-5), at(100), at(900), at(1500), at(2999), at(2000)}
	got := timeline(lat, sent, start)
	want := []Second{
		{At: 0, N: 2, Slow: 1, P99: 50 * time.Millisecond, Max: 50 * time.Millisecond},
		{At: 1, N: 1, Slow: 0, P99: 3 * time.Millisecond, Max: 3 * time.Millisecond},
		{At: 2, N: 2, Slow: 1, P99: 11 * time.Millisecond, Max: 11 * time.Millisecond},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("timeline:\n got %+v\nwant %+v", got, want)
	}
	worst := worstSeconds(got, 1)
	if len(worst) != 1 || worst[0].At != 0 {
		t.Fatalf("worst second: %+v", worst)
	}
	if w := worstSeconds(got, 5); len(w) != 2 || w[0].At != 0 || w[1].At != 2 {
		t.Fatalf("worst seconds in time order: %+v", w)
	}
}

func TestTimelineMarksGC(t *testing.T) {
	start := time.Unix(1000, 0)
	tl := timeline([]int64{int64(20 * time.Millisecond), int64(time.Millisecond), int64(30 * time.Millisecond)},
		[]int64{start.UnixNano(), start.Add(1500 * time.Millisecond).UnixNano(), start.Add(2100 * time.Millisecond).UnixNano()}, start)
	markGC(tl, start, []time.Time{start.Add(-time.Second), start.Add(1200 * time.Millisecond), start.Add(3 * time.Second)})
	if len(tl) != 3 || tl[0].GC != 0 || tl[1].GC != 1 || tl[2].GC != 0 {
		t.Fatalf("timeline = %+v, want one GC cycle in second 1 (the others before or after the window)", tl)
	}
	// Second 0 is slow with a cycle ending in the next second; second 2 is
	// slow with none in it or after it.
	if !gcNear(tl, 0) || gcNear(tl, 2) {
		t.Errorf("gcNear = %v, %v; want true, false", gcNear(tl, 0), gcNear(tl, 2))
	}
	slow, nearGC := countSlow(tl)
	if slow != 2 || nearGC != 1 {
		t.Errorf("countSlow = %d, %d; want 2 slow seconds, 1 of them next to a GC cycle's end", slow, nearGC)
	}
	r := &Report{Phases: []PhaseReport{{Name: "hub", Timeline: tl, SlowSeconds: slow, SlowNearGC: nearGC}}}
	var b bytes.Buffer
	if err := r.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if !strings.Contains(out, "hub second 0: 1 of 1 messages over 10ms, p99 20ms, max 20ms; a GC cycle ended in it or the next second\n") ||
		!strings.Contains(out, "hub second 2: 1 of 1 messages over 10ms, p99 30ms, max 30ms\n") {
		t.Errorf("worst seconds not marked by GC:\n%s", out)
	}
	found := false
	for _, l := range strings.Split(out, "\n") {
		if f := strings.Fields(l); strings.HasPrefix(strings.TrimSpace(l), "of them next to a GC cycle's end") && f[len(f)-1] == "1" {
			found = true
		}
	}
	if !found {
		t.Errorf("no row counting 1 slow second next to a GC cycle:\n%s", out)
	}
}
