// Package chatbench is `hotline bench chat`: it measures how long a web
// chat customer's message takes to reach the assigned agent's inbox socket,
// and the agent's reply the customer's chat socket, with thousands of
// agents and customers connected to a real hub.
//
// The hub runs in this process, assembled from the real components (the
// configured bus in a fresh data directory, auth, routing, the inbox and
// the chat channel) on an HTTP server at 127.0.0.1. The clients run in
// worker processes (the same binary re-executed) and speak only the public
// protocols: customers the chat WebSocket, agents the login, presence,
// accept and reply API and the inbox WebSocket.
//
// A phase goes: agents log in and become available; customers connect, say
// hello and send a first message, which queues a conversation; agents take
// their offers (by polling their load, then their offered conversations)
// until every conversation is assigned; agents open their sockets. Then
// customers send at the aggregate rate on an open-loop schedule (a message
// is sent at its time whether or not earlier ones were answered), each
// carrying its send time; agents take the latency at the frame
// and reply to every ReplyEvery-th message (by a reply frame on their inbox
// socket, or by the HTTP API: ReplyVia), and customers take the reply's
// latency. A baseline phase runs the same workers through a bare relay (no
// bus, no routing) first, so that stalls of the machine can be told from
// the hub's own cost.
package chatbench

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
	"strconv"
	"sync"
	"time"

	"github.com/hotline-hub/hotline/cmd/hotline/internal/benchstat"
	"github.com/hotline-hub/hotline/cmd/hotline/internal/config"
	"github.com/hotline-hub/hotline/cmd/hotline/internal/procstat"
	"github.com/hotline-hub/hotline/cmd/hotline/internal/sysmon"
)

// Options configure a bench run. The defaults (Defaults) are the target
// of the issue: 1,000 agents, 10,000 customers, 2,000 messages/s.
type Options struct {
	Agents    int
	Customers int
	// Rate is customer messages per second, all customers together.
	Rate     int
	Duration time.Duration
	Warmup   time.Duration
	// Drain is how long workers wait after the last send for what is still
	// on its way; a message not received by then counts as lost.
	Drain time.Duration
	// ReplyEvery: each agent answers every ReplyEvery-th message it gets; 0
	// means no replies.
	ReplyEvery int
	// ReplyVia is how agents reply: ReplyViaSocket, a reply frame on their
	// inbox socket (as the web app does while its socket is open), or
	// ReplyViaHTTP, POST .../conversations/{id}/messages.
	ReplyVia string
	// Workers is the number of client processes, and WorkerProcs the
	// GOMAXPROCS each runs with: the load generators share the machine
	// with the hub, and one thread per worker keeps their scheduling (the
	// runtime handing goroutines between threads) off the hub's cores.
	Workers     int
	WorkerProcs int
	// SetupTimeout bounds logins, connections and assignment of a phase.
	SetupTimeout time.Duration
	// DataDir holds the hub's data; empty means a temporary directory,
	// removed afterwards. A given directory must be empty of accounts.
	DataDir string
	// Baseline runs the bare relay phase before the hub.
	Baseline bool
	// CPUProfile, if set, is where the hub's CPU profile of the measured
	// window is written; MutexProfile likewise for lock contention (one
	// contention event in MutexProfileRate sampled).
	CPUProfile   string
	MutexProfile string
	// HeapProfile, if set, is where the hub's heap profile at the end of
	// the measured window is written (with the goroutines' profile at that
	// time in HeapProfile+".goroutines"), and HeapProfile+".start" the one at
	// its start (the window's allocations are the difference).
	HeapProfile string
	// Trace, if set, is where the hub's runtime execution trace of the
	// first TraceFor of the measured window is written (go tool trace;
	// -pprof=sched shows what waited for a processor, and after what).
	// A trace of a whole minute at the target load is too large to read.
	Trace    string
	TraceFor time.Duration
	// Config is the process configuration; its bus section picks the bus.
	Config config.Config
	// WorkerCommand is the argv that starts a worker process: one that
	// calls RunWorker on its stdin and stdout. WorkerEnv is added to the
	// worker's environment.
	WorkerCommand []string
	WorkerEnv     []string
	// Log receives the hub components' logs; Progress (may be nil) a line
	// per step of the run; workers' stderr goes to Stderr (nil: os.Stderr).
	Log      *slog.Logger
	Progress io.Writer
	Stderr   io.Writer
}

// Defaults are the options of the target.
func Defaults() Options {
	return Options{Agents: 1000, Customers: 10000, Rate: 2000, Duration: 60 * time.Second, Warmup: 10 * time.Second,
		Drain: 5 * time.Second, ReplyEvery: 1, ReplyVia: ReplyViaSocket, Workers: 4, WorkerProcs: 1, SetupTimeout: 10 * time.Minute, Baseline: true,
		TraceFor: 10 * time.Second}
}

// Validate reports options that cannot run.
func (o Options) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if o.Agents < 1 {
		bad("agents must be at least 1, got %d", o.Agents)
	}
	if o.Customers < 1 {
		bad("customers must be at least 1, got %d", o.Customers)
	}
	if o.Rate < 0 {
		bad("rate must not be negative, got %d", o.Rate)
	}
	if o.Duration <= 0 {
		bad("duration must be positive, got %s", o.Duration)
	}
	if o.Warmup < 0 || o.Drain < 0 {
		bad("warmup and drain must not be negative")
	}
	if o.ReplyEvery < 0 {
		bad("reply-every must be 0 (no replies) or positive, got %d", o.ReplyEvery)
	}
	if o.ReplyVia != ReplyViaSocket && o.ReplyVia != ReplyViaHTTP {
		bad("reply-via must be %s or %s, got %q", ReplyViaSocket, ReplyViaHTTP, o.ReplyVia)
	}
	if o.Trace != "" && o.TraceFor <= 0 {
		bad("trace-for must be positive, got %s", o.TraceFor)
	}
	if o.WorkerProcs < 0 {
		bad("worker-procs must be 0 (the runtime's default) or positive, got %d", o.WorkerProcs)
	}
	if o.Workers < 1 {
		bad("workers must be at least 1, got %d", o.Workers)
	}
	if o.SetupTimeout <= 0 {
		bad("setup timeout must be positive")
	}
	if len(o.WorkerCommand) == 0 {
		bad("no worker command")
	}
	if o.Log == nil {
		bad("no logger")
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("chatbench: %w", err)
	}
	return nil
}

// Capacity is each agent's chat capacity: every conversation fits, with
// one to spare.
func (o Options) Capacity() int { return (o.Customers+o.Agents-1)/o.Agents + 1 }

// Run runs the baseline (if asked) and the hub phase and returns the
// report.
func Run(ctx context.Context, o Options) (*Report, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if o.Stderr == nil {
		o.Stderr = os.Stderr
	}
	dir := o.DataDir
	if dir == "" {
		tmp, err := os.MkdirTemp("", "hotline-chatbench-")
		if err != nil {
			return nil, fmt.Errorf("chatbench: temporary directory: %w", err)
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	} else if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("chatbench: data directory: %w", err)
	}
	r := &Report{Start: time.Now().UTC(), LoadAvg: procstat.LoadAvg(), DataDir: dir, Options: Settings{
		Agents: o.Agents, Customers: o.Customers, Rate: o.Rate, Duration: o.Duration, Warmup: o.Warmup,
		Drain: o.Drain, ReplyEvery: o.ReplyEvery, ReplyVia: o.ReplyVia, Workers: o.Workers, WorkerProcs: o.WorkerProcs, Capacity: o.Capacity(), Bus: o.Config.Bus.Driver}}
	r.Options.GCPercent, r.Options.MemoryLimit = procstat.GC()
	r.Options.Sysmon = sysmon.Describe(os.Getenv("GODEBUG"))
	c := &coordinator{o: o}
	if o.Baseline {
		p, err := c.relayPhase(ctx)
		if err != nil {
			return nil, err
		}
		r.Phases = append(r.Phases, p)
	}
	p, err := c.hubPhase(ctx, dir)
	if err != nil {
		return nil, err
	}
	r.Phases = append(r.Phases, p)
	r.LoadEnd = procstat.LoadAvg()
	r.Profiled = o.CPUProfile
	return r, nil
}

type coordinator struct {
	o Options
}

func (c *coordinator) progress(format string, args ...any) {
	benchstat.Progress(c.o.Progress, format, args...)
}

func (c *coordinator) relayPhase(ctx context.Context) (PhaseReport, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return PhaseReport{}, fmt.Errorf("chatbench: relay: listen: %w", err)
	}
	mux := http.NewServeMux()
	newRelay(c.o.Agents).Routes(mux)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	c.progress("relay: serving at %s", ln.Addr())
	return c.phase(ctx, modeRelay, "http://"+ln.Addr().String(), nil)
}

func (c *coordinator) hubPhase(ctx context.Context, dir string) (PhaseReport, error) {
	// The hub's peak memory is its own, not the baseline's.
	procstat.ResetPeakRSS()
	start := time.Now()
	h, err := startHub(ctx, c.o.Config, dir, c.o.Agents, c.o.Capacity(), c.o.Log, func(f string, a ...any) { c.progress("hub: "+f, a...) })
	if err != nil {
		return PhaseReport{}, err
	}
	c.progress("hub: serving at %s (%s)", h.url, time.Since(start).Round(time.Millisecond))
	p, err := c.phase(ctx, modeHub, h.url, h.err)
	if serr := h.stop(); serr != nil && err == nil {
		err = serr
	}
	return p, err
}

// workerEnviron is a worker's environment: env (the bench's) with
// schedtrace added to its GODEBUG (see package sysmon), unless env sets
// one, then the worker's GOMAXPROCS, then WorkerEnv. Of keys set twice,
// the last counts.
func (o Options) workerEnviron(env []string) []string {
	godebug, _ := sysmon.GODEBUG(sysmon.Lookup(env), workerSchedTrace)
	env = sysmon.Environ(env, godebug)
	if o.WorkerProcs > 0 {
		env = append(env, "GOMAXPROCS="+strconv.Itoa(o.WorkerProcs))
	}
	return append(env, o.WorkerEnv...)
}

// workerProc is one running worker.
type workerProc struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	enc    *json.Encoder
	stderr *sysmon.Filter
}

type workerMsg struct {
	w  int
	ev workerEvent
}

// phase starts the workers against url and runs the steps of a phase.
// hubErr, if not nil, reports a failed hub component.
func (c *coordinator) phase(ctx context.Context, mode, url string, hubErr func() error) (_ PhaseReport, err error) {
	o := c.o
	rep := PhaseReport{Name: mode}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	msgs := make(chan workerMsg, 1024)
	var procs []*workerProc
	var readers sync.WaitGroup
	defer func() {
		for _, p := range procs {
			_ = p.stdin.Close()
		}
		done := make(chan struct{})
		exits := make([]error, len(procs))
		go func() {
			for n, p := range procs {
				exits[n] = p.cmd.Wait()
				_ = p.stderr.Flush()
			}
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			for _, p := range procs {
				_ = p.cmd.Process.Kill()
			}
			<-done
		}
		readers.Wait()
		for n, e := range exits {
			if e != nil && err == nil {
				// A worker that reported its result and then failed
				// (a data race under -race, a crash) spoils the run.
				err = fmt.Errorf("chatbench: %s worker %d: %w", mode, n, e)
			}
		}
	}()
	for w := range o.Workers {
		pl := plan{Mode: mode, URL: url, Tenant: benchTenant, Queue: benchQueue, Password: agentPassword,
			AllCust: o.Customers, Rate: float64(o.Rate), Worker: w, Workers: o.Workers,
			Warmup: o.Warmup, Duration: o.Duration, Drain: o.Drain, ReplyEvery: o.ReplyEvery, ReplyVia: o.ReplyVia}
		if o.ReplyEvery == 0 {
			pl.ReplyEvery = 1 << 30
		}
		for i := w; i < o.Agents; i += o.Workers {
			pl.Agents = append(pl.Agents, i)
		}
		for k := w; k < o.Customers; k += o.Workers {
			pl.Customers = append(pl.Customers, k)
		}
		cmd := exec.Command(o.WorkerCommand[0], o.WorkerCommand[1:]...)
		cmd.Env = o.workerEnviron(os.Environ())
		stderr := &sysmon.Filter{W: o.Stderr}
		cmd.Stderr = stderr
		stdin, err := cmd.StdinPipe()
		if err != nil {
			return rep, fmt.Errorf("chatbench: worker %d: %w", w, err)
		}
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			return rep, fmt.Errorf("chatbench: worker %d: %w", w, err)
		}
		if err := cmd.Start(); err != nil {
			return rep, fmt.Errorf("chatbench: start worker %d: %w", w, err)
		}
		p := &workerProc{cmd: cmd, stdin: stdin, enc: json.NewEncoder(stdin), stderr: stderr}
		procs = append(procs, p)
		readers.Add(1)
		go func() {
			defer readers.Done()
			sc := bufio.NewScanner(stdout)
			sc.Buffer(make([]byte, 1<<20), 256<<20)
			for sc.Scan() {
				var ev workerEvent
				if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
					ev = workerEvent{Ev: evError, Error: fmt.Sprintf("unreadable line %.200q", sc.Text())}
				}
				select {
				case msgs <- workerMsg{w: w, ev: ev}:
				case <-ctx.Done():
					return
				}
				if ev.Ev == evResult {
					return // its last word; it exits now
				}
			}
			why := "exited before its result"
			if err := sc.Err(); err != nil {
				why += ": " + err.Error()
			}
			select {
			case msgs <- workerMsg{w: w, ev: workerEvent{Ev: evError, Error: why}}:
			case <-ctx.Done():
			}
		}()
		if err := p.enc.Encode(pl); err != nil {
			return rep, fmt.Errorf("chatbench: worker %d: send plan: %w", w, err)
		}
	}
	send := func(cmd command) error {
		for w, p := range procs {
			if err := p.enc.Encode(cmd); err != nil {
				return fmt.Errorf("chatbench: worker %d: send %s: %w", w, cmd.Cmd, err)
			}
		}
		return nil
	}
	assigned := make([]int, o.Workers)
	results := make([]*workerResult, o.Workers)
	setupEnd := time.Now().Add(o.SetupTimeout)
	// await reads worker events until each worker has sent want (or, with
	// want empty, until until() holds).
	await := func(want string, deadline time.Time, until func() bool) (int, error) {
		got, n := make([]bool, o.Workers), 0
		count := 0
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		timer := time.NewTimer(time.Until(deadline))
		defer timer.Stop()
		for {
			if want == "" && until() || want != "" && n == o.Workers {
				return count, nil
			}
			select {
			case m := <-msgs:
				switch m.ev.Ev {
				case evError:
					return count, fmt.Errorf("chatbench: %s worker %d: %s", mode, m.w, m.ev.Error)
				case evAssigned:
					assigned[m.w] = m.ev.N
				case evResult:
					results[m.w] = m.ev.Result
				}
				if m.ev.Ev == want && !got[m.w] {
					got[m.w], n = true, n+1
					count += m.ev.N
				}
			case <-tick.C:
				if hubErr != nil {
					if err := hubErr(); err != nil {
						return count, err
					}
				}
			case <-timer.C:
				return count, fmt.Errorf("chatbench: %s: timed out waiting for %s", mode, orElse(want, "assignment"))
			case <-ctx.Done():
				return count, ctx.Err()
			}
		}
	}
	sum := func() int {
		n := 0
		for _, a := range assigned {
			n += a
		}
		return n
	}

	start := time.Now()
	if err := send(command{Cmd: cmdAgents}); err != nil {
		return rep, err
	}
	n, err := await(evAgentsReady, setupEnd, nil)
	if err != nil {
		return rep, err
	}
	c.progress("%s: %d agents ready (%s)", mode, n, time.Since(start).Round(time.Millisecond))
	if err := send(command{Cmd: cmdCustomers}); err != nil {
		return rep, err
	}
	if rep.Customers, err = await(evCustomersReady, setupEnd, nil); err != nil {
		return rep, err
	}
	c.progress("%s: %d customers connected, %d conversations assigned (%s)", mode, rep.Customers, sum(), time.Since(start).Round(time.Millisecond))
	last := time.Now()
	if _, err := await("", setupEnd, func() bool {
		if time.Since(last) > 5*time.Second {
			c.progress("%s: %d of %d conversations assigned", mode, sum(), o.Customers)
			last = time.Now()
		}
		return sum() >= o.Customers
	}); err != nil {
		return rep, fmt.Errorf("%w (%d of %d conversations assigned)", err, sum(), o.Customers)
	}
	rep.Assigned = sum()
	if err := send(command{Cmd: cmdSockets}); err != nil {
		return rep, err
	}
	if rep.Agents, err = await(evSocketsReady, setupEnd, nil); err != nil {
		return rep, err
	}
	rep.Setup = time.Since(start)
	c.progress("%s: %d conversations assigned, agent sockets open (setup %s); measuring", mode, rep.Assigned, rep.Setup.Round(time.Millisecond))

	// The run: workers follow the schedule from t0; this process takes its
	// own CPU, memory and profile over the measured window.
	t0 := time.Now().Add(time.Second)
	if err := send(command{Cmd: cmdStart, T0: t0.UnixNano()}); err != nil {
		return rep, err
	}
	hubDone := make(chan error, 1)
	go func() { hubDone <- c.sampleHub(ctx, mode, t0, &rep) }()
	end := t0.Add(o.Warmup + o.Duration + o.Drain + 2*time.Minute)
	if _, err := await(evResult, end, nil); err != nil {
		return rep, err
	}
	if err := <-hubDone; err != nil {
		return rep, err
	}
	rep.Measured = o.Duration
	var c2a, c2aSent, a2c, acks []int64
	for _, r := range results {
		k := r.Counts
		t := &rep.Counts
		t.Sent += k.Sent
		t.Acked += k.Acked
		t.Received += k.Received
		t.Duplicates += k.Duplicates
		t.Replies += k.Replies
		t.RepliesReceived += k.RepliesReceived
		t.SendErrors += k.SendErrors
		t.ErrorFrames += k.ErrorFrames
		t.ReplyErrors += k.ReplyErrors
		t.Disconnects += k.Disconnects
		c2a = append(c2a, r.C2A...)
		c2aSent = append(c2aSent, r.C2ASent...)
		a2c = append(a2c, r.A2C...)
		acks = append(acks, r.Acks...)
		rep.GeneratorLagP99 = max(rep.GeneratorLagP99, time.Duration(r.LagP99))
		rep.GeneratorLagMax = max(rep.GeneratorLagMax, time.Duration(r.LagMax))
		rep.WorkersCPU += time.Duration(r.CPU)
		for _, e := range r.Errors {
			if len(rep.FirstErrors) < maxErrors {
				rep.FirstErrors = append(rep.FirstErrors, e)
			}
		}
	}
	rep.Counts.Lost = rep.Counts.Sent - rep.Counts.Received
	// A reply whose request failed late (the inbox gave up waiting for
	// its fold) may still arrive, so received can exceed accepted.
	rep.Counts.RepliesLost = max(0, rep.Counts.Replies-rep.Counts.RepliesReceived)
	rep.Rate = float64(rep.Counts.Sent) / o.Duration.Seconds()
	rep.Timeline = timeline(c2a, c2aSent, t0.Add(o.Warmup))
	markGC(rep.Timeline, t0.Add(o.Warmup), rep.gcEnds)
	rep.SlowSeconds, rep.SlowNearGC = countSlow(rep.Timeline)
	rep.CustomerToAgent = Summarize(c2a)
	rep.AgentToCustomer = Summarize(a2c)
	rep.CustomerToAck = Summarize(acks)
	c.progress("%s: done: %d sent, %d received, p99 %s", mode, rep.Counts.Sent, rep.Counts.Received, dur(rep.CustomerToAgent.P99))
	return rep, nil
}

// sampleHub takes this process's CPU time, heap and (for the hub) CPU
// profile over the measured window of a phase starting at t0.
func (c *coordinator) sampleHub(ctx context.Context, mode string, t0 time.Time, rep *PhaseReport) error {
	o := c.o
	heap := procstat.NewHeapSampler()
	sleepUntil(ctx, t0.Add(o.Warmup))
	cpu0, gc0 := procstat.CPU(), procstat.ReadGCCPU()
	waits := procstat.NewWaitSampler()
	if mode == modeHub && o.MutexProfile != "" {
		prev := runtime.SetMutexProfileFraction(mutexProfileRate)
		defer func() {
			err := writeProfile("mutex", o.MutexProfile)
			runtime.SetMutexProfileFraction(prev)
			if err != nil {
				c.progress("%v", err)
			}
		}()
	}
	if mode == modeHub && o.HeapProfile != "" {
		// The allocations of the window are the end's profile less this one
		// (go tool pprof -sample_index=alloc_space -diff_base FILE.start FILE).
		if err := writeProfile("heap", o.HeapProfile+".start"); err != nil {
			return err
		}
	}
	profiling := false
	if mode == modeHub && o.CPUProfile != "" {
		f, err := os.Create(o.CPUProfile)
		if err != nil {
			return fmt.Errorf("chatbench: cpu profile: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("chatbench: cpu profile: %w", err)
		}
		profiling = true
	}
	if mode == modeHub && o.Trace != "" {
		stop, err := startTrace(o.Trace)
		if err != nil {
			return err
		}
		// Once: the timer's stop and this function's end may meet, and
		// the second waits for the first to close the file.
		var once sync.Once
		end := func() {
			once.Do(func() {
				if err := stop(); err != nil {
					c.progress("%v", err)
				}
			})
		}
		t := time.AfterFunc(min(o.TraceFor, o.Duration), end)
		defer func() {
			t.Stop()
			end()
		}()
	}
	end := t0.Add(o.Warmup + o.Duration)
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	cycles := procstat.GCCycles()
	var afterGC procstat.GoMemory // read within a tick of the last cycle's end
	for time.Now().Before(end) && ctx.Err() == nil {
		rep.HubHeapPeak = max(rep.HubHeapPeak, heapInUse(heap))
		now, n := time.Now(), procstat.GCCycles()
		if cycles < n {
			afterGC = procstat.ReadGoMemory()
		}
		for ; cycles < n; cycles++ {
			rep.gcEnds = append(rep.gcEnds, now)
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
		}
	}
	if profiling {
		pprof.StopCPUProfile()
	}
	rep.HubCPU = procstat.CPU() - cpu0
	rep.HubWaits = waits.Read()
	rep.HubMemory = procstat.ReadGoMemory()
	// The scannable heap grows with every allocation between cycles: read
	// just after one, it is close to what that cycle scanned. (A window
	// without a cycle keeps the values read at its end.)
	if len(rep.gcEnds) > 0 {
		rep.HubMemory.ScanHeap, rep.HubMemory.ScanStacks = afterGC.ScanHeap, afterGC.ScanStacks
	}
	rep.HubGCCPU = procstat.ReadGCCPU().Sub(gc0)
	if mode == modeHub && o.HeapProfile != "" {
		if err := writeProfile("heap", o.HeapProfile); err != nil {
			return err
		}
		// What the collector scans besides the heap: every goroutine's
		// stack.
		if err := writeProfile("goroutine", o.HeapProfile+".goroutines"); err != nil {
			return err
		}
	}
	rep.HubHeapInUse = heapInUse(heap)
	rep.HubHeapPeak = max(rep.HubHeapPeak, rep.HubHeapInUse)
	rep.HubPeakRSS = procstat.PeakRSS()
	return ctx.Err()
}

// mutexProfileRate samples one contention event in this many.
const mutexProfileRate = 10

// startTrace starts the runtime execution trace into path; stop ends it
// and closes the file.
func startTrace(path string) (stop func() error, err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("chatbench: trace: %w", err)
	}
	if err := trace.Start(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("chatbench: trace: %w", err)
	}
	return func() error {
		trace.Stop()
		if err := f.Close(); err != nil {
			return fmt.Errorf("chatbench: trace: %w", err)
		}
		return nil
	}, nil
}

// writeProfile writes the named runtime profile to path.
func writeProfile(name, path string) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("chatbench: %s profile: %w", name, err)
	}
	if err := pprof.Lookup(name).WriteTo(f, 0); err != nil {
		f.Close()
		return fmt.Errorf("chatbench: %s profile: %w", name, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("chatbench: %s profile: %w", name, err)
	}
	return nil
}

func orElse(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// heapInUse is the Go heap in use, in bytes.
func heapInUse(h *procstat.HeapSampler) int64 {
	n, _ := h.Read()
	return n
}
