// Package voicebench is `hotline bench voice`: it calls a real voice
// channel with sipp and measures how many calls per second it answers and
// how many calls with media both ways it holds at once, with the hub's
// CPU, memory and RTP counters alongside.
//
// The hub runs in this process: the embedded bus in a fresh directory and
// the voice channel (SIP over UDP on 127.0.0.1, tone prompts, recordings
// in the same directory), with two numbers: one whose callers hear the
// language menu, one whose callers go straight to the recording notice and
// wait in the queue with music, recorded. No routing runs, so queued
// calls wait until they hang up. The callers are sipp processes (the
// bench's own scenarios, written to a temporary directory), the load split
// evenly between them.
//
// Mode rate: calls at a steady rate into the language menu; each caller
// stays Hold (hearing the menu prompt) and hangs up. Mode concurrent:
// Calls calls ramped up at Rate, each held Hold after its answer while the
// caller streams audio to the hub (sipp's rtp_stream) and the hub plays the
// notice and music and records, then hung up; the hub is measured while
// every call is up.
//
// A baseline phase runs first: the same sipp callers against sipp
// answerers that do nothing but answer (and, with media, stream audio
// back), so that the cost of sipp itself and the machine's noise show
// next to the hub's figures.
package voicebench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"sync"
	"time"

	"github.com/hotline-hub/hotline/bus/event"
	"github.com/hotline-hub/hotline/cmd/hotline/internal/benchstat"
	"github.com/hotline-hub/hotline/cmd/hotline/internal/config"
	"github.com/hotline-hub/hotline/cmd/hotline/internal/procstat"
)

// Modes of a run.
const (
	ModeRate       = "rate"
	ModeConcurrent = "concurrent"
)

const (
	phaseBaseline = "baseline"
	phaseHub      = "hub"
)

// ErrNoSipp is returned by Run when the sipp binary is not found.
var ErrNoSipp = errors.New("voicebench: sipp not found (Debian package sip-tester)")

// packetsPerSecond is G.711 at 20 ms packets, each way of a call.
const packetsPerSecond = 50

// Options configure a bench run. Defaults gives those of a mode's target.
type Options struct {
	Mode string
	// Rate is calls per second: the steady rate in mode rate, the ramp
	// in mode concurrent.
	Rate float64
	// Duration is how long calls are started in mode rate.
	Duration time.Duration
	// Calls is the number of calls of mode concurrent.
	Calls int
	// Hold is how long each caller stays after the answer before its BYE.
	Hold time.Duration
	// Media makes callers stream audio to the hub (sipp's rtp_stream).
	Media bool
	// SippProcs is the number of sipp caller processes sharing the load
	// (and, for the baseline, of sipp answerers).
	SippProcs int
	// Baseline runs the bare sipp-to-sipp phase first.
	Baseline bool
	// RTPPortMin and RTPPortMax are the hub's RTP port range (two ports
	// per call).
	RTPPortMin, RTPPortMax int
	// DataDir holds the hub's bus, prompts and recordings; empty means a
	// temporary directory, removed afterwards.
	DataDir string
	// KeepLogs keeps sipp's logs and statistics files (their directory is
	// in the report); otherwise they are removed.
	KeepLogs bool
	// SippPath is the sipp binary; empty means "sipp" on PATH.
	SippPath string
	// CPUProfile and HeapProfile, if set, receive the hub's CPU profile of
	// the measured window and its heap profile at the window's end.
	CPUProfile, HeapProfile string
	// Config is the process configuration; the bench hub needs the
	// embedded bus.
	Config config.Config
	// Log receives the hub's logs; Progress (may be nil) a line per step.
	Log      *slog.Logger
	Progress io.Writer
}

// Defaults are the options of mode's target: 300 calls/s for 30 s into the
// menu; 1,000 concurrent calls with media held 60 s.
func Defaults(mode string) Options {
	o := Options{Mode: mode, SippProcs: 2, Baseline: true, RTPPortMin: 50000, RTPPortMax: 59999}
	switch mode {
	case ModeConcurrent:
		o.Calls, o.Rate, o.Hold, o.Media = 1000, 100, 60*time.Second, true
	default:
		o.Rate, o.Duration, o.Hold = 300, 30*time.Second, time.Second
	}
	return o
}

// ramp is how long mode concurrent takes to start every call.
func (o Options) ramp() time.Duration {
	return time.Duration(float64(o.Calls) / o.Rate * float64(time.Second))
}

// Validate reports options that cannot run.
func (o Options) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	switch o.Mode {
	case ModeRate:
		if o.Duration < time.Second {
			bad("duration must be at least 1s, got %s", o.Duration)
		}
	case ModeConcurrent:
		if o.Calls < 1 {
			bad("calls must be at least 1, got %d", o.Calls)
		}
		if o.Rate > 0 && o.Hold < o.ramp()+5*time.Second {
			bad("hold %s must exceed the ramp (calls/rate = %s) by 5s or more, so every call is up at once for a while",
				o.Hold, o.ramp().Round(time.Millisecond))
		}
	default:
		bad("mode must be %q or %q, got %q", ModeRate, ModeConcurrent, o.Mode)
	}
	if !(o.Rate > 0) || math.IsInf(o.Rate, 0) {
		bad("rate must be positive, got %g", o.Rate)
	}
	if o.Hold < 0 {
		bad("hold must not be negative, got %s", o.Hold)
	}
	if o.SippProcs < 1 {
		bad("sipp processes must be at least 1, got %d", o.SippProcs)
	}
	if o.RTPPortMin < 1024 || o.RTPPortMax > 65535 || o.RTPPortMax-o.RTPPortMin < 3 {
		bad("rtp ports %d-%d: want a range within 1024-65535 with room for a call", o.RTPPortMin, o.RTPPortMax)
	}
	if o.Log == nil {
		bad("no logger")
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("voicebench: %w", err)
	}
	return nil
}

// number is the hotline number the mode dials.
func (o Options) number() string {
	if o.Mode == ModeConcurrent {
		return QueueNumber
	}
	return MenuNumber
}

// Run runs the baseline (if asked) and the hub phase and returns the
// report.
func Run(ctx context.Context, o Options) (_ *Report, err error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if o.SippPath == "" {
		o.SippPath = "sipp"
	}
	sippPath, err := exec.LookPath(o.SippPath)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoSipp, err)
	}
	o.SippPath = sippPath
	work, err := os.MkdirTemp("", "hotline-voicebench-")
	if err != nil {
		return nil, fmt.Errorf("voicebench: temporary directory: %w", err)
	}
	if !o.KeepLogs {
		defer os.RemoveAll(work)
	}
	dataDir := o.DataDir
	if dataDir == "" {
		dataDir = filepath.Join(work, "hub")
	}
	if err := os.MkdirAll(dataDir, 0o750); err != nil {
		return nil, fmt.Errorf("voicebench: data directory: %w", err)
	}
	c := &coordinator{o: o, work: work}
	if o.Media {
		c.audio = filepath.Join(work, audioFile)
		if err := writeAudio(c.audio); err != nil {
			return nil, err
		}
	}
	r := &Report{Start: time.Now().UTC(), LoadAvg: procstat.LoadAvg(), Options: Settings{
		Mode: o.Mode, Rate: o.Rate, Duration: o.Duration, Calls: o.Calls, Hold: o.Hold,
		SippProcs: o.SippProcs, Number: o.number(), Media: o.Media}}
	if o.KeepLogs {
		r.LogsDir = work
	}
	if o.Baseline {
		p, err := c.baseline(ctx)
		if err != nil {
			return nil, err
		}
		r.Phases = append(r.Phases, p)
	}
	p, err := c.hubPhase(ctx, dataDir)
	if err != nil {
		return nil, err
	}
	r.Phases = append(r.Phases, p)
	r.LoadEnd = procstat.LoadAvg()
	r.Profiled = o.CPUProfile
	return r, nil
}

type coordinator struct {
	o     Options
	work  string
	audio string // the callers' µ-law file, "" without media
}

func (c *coordinator) progress(format string, args ...any) {
	benchstat.Progress(c.o.Progress, format, args...)
}

// share is one sipp caller's part of the load.
type share struct {
	rate  float64
	calls int
	limit int // simultaneous calls
}

// shares splits the load between the sipp callers.
func (c *coordinator) shares() []share {
	o := c.o
	total := o.Calls
	if o.Mode == ModeRate {
		total = int(math.Round(o.Rate * o.Duration.Seconds()))
	}
	out := make([]share, o.SippProcs)
	for i := range out {
		n := total / o.SippProcs
		if i < total%o.SippProcs {
			n++
		}
		rate := o.Rate / float64(o.SippProcs)
		limit := n
		if o.Mode == ModeRate {
			// Room for every call of Hold plus 20 s of slow answers: sipp
			// throttles beyond it, which would lower the offered rate.
			limit = min(n, max(100, int(rate*(o.Hold+20*time.Second).Seconds())))
		}
		out[i] = share{rate: rate, calls: n, limit: max(limit, 1)}
	}
	return out
}

// timeout bounds one sipp run: every call started, held and hung up, and
// a minute to spare.
func (c *coordinator) timeout() time.Duration {
	o := c.o
	start := o.Duration
	if o.Mode == ModeConcurrent {
		start = o.ramp()
	}
	return start + o.Hold + time.Minute
}

// baseline runs the callers against sipp answerers.
func (c *coordinator) baseline(ctx context.Context) (PhaseReport, error) {
	dir := filepath.Join(c.work, phaseBaseline)
	var answerers []*sippProc
	var targets []string
	defer func() {
		for _, p := range answerers {
			p.stop(time.Second)
		}
	}()
	for i := range c.o.SippProcs {
		d := filepath.Join(dir, "uas-"+strconv.Itoa(i))
		if err := os.MkdirAll(d, 0o750); err != nil {
			return PhaseReport{}, fmt.Errorf("voicebench: %w", err)
		}
		sf, err := writeScenario(d, "uas", c.audio)
		if err != nil {
			return PhaseReport{}, err
		}
		port, err := freeUDPPort()
		if err != nil {
			return PhaseReport{}, err
		}
		mp, err := freeUDPPort()
		if err != nil {
			return PhaseReport{}, err
		}
		args := []string{"-sf", sf, "-i", "127.0.0.1", "-p", strconv.Itoa(port), "-mp", strconv.Itoa(mp),
			"-t", "u1", "-nostdin", "-trace_stat", "-stf", "stat.csv", "-fd", "1", "-trace_err"}
		p, err := startSipp(ctx, c.o.SippPath, fmt.Sprintf("baseline answerer %d", i), d, args)
		if err != nil {
			return PhaseReport{}, err
		}
		answerers = append(answerers, p)
		targets = append(targets, "127.0.0.1:"+strconv.Itoa(port))
	}
	// sipp binds its ports as it starts; give it a moment before calling.
	time.Sleep(500 * time.Millisecond)
	for _, p := range answerers {
		select {
		case <-p.done:
			return PhaseReport{}, fmt.Errorf("voicebench: %s exited at start: %w", p.name, p.exitStatus())
		default:
		}
	}
	c.progress("baseline: %d sipp answerers at %v", len(answerers), targets)
	rep, err := c.callers(ctx, phaseBaseline, dir, targets, nil)
	for _, p := range answerers {
		p.stop(10 * time.Second)
		rep.SippCPU += p.cpu()
	}
	rep.Target = "sipp"
	return rep, err
}

// hubPhase starts the hub and runs the callers against it.
func (c *coordinator) hubPhase(ctx context.Context, dataDir string) (PhaseReport, error) {
	procstat.ResetPeakRSS()
	h, err := startHub(ctx, c.o.Config, dataDir, c.o.RTPPortMin, c.o.RTPPortMax, c.o.Log)
	if err != nil {
		return PhaseReport{}, err
	}
	c.progress("hub: voice channel at %s (udp), RTP ports %d-%d, data in %s", h.addr, c.o.RTPPortMin, c.o.RTPPortMax, dataDir)
	targets := make([]string, c.o.SippProcs)
	for i := range targets {
		targets[i] = h.addr
	}
	sample := &hubSample{}
	rep, err := c.callers(ctx, phaseHub, filepath.Join(c.work, phaseHub), targets, func(ctx context.Context, t0 time.Time) error {
		return c.sampleHub(ctx, h, t0, sample)
	})
	rep.Target = "hub"
	// Calls still up (there should be none) are hung up by the hub.
	if serr := h.stop(30 * time.Second); serr != nil && err == nil {
		err = serr
	}
	if err != nil {
		return rep, err
	}
	counts, lat, failed := h.pub.snapshot()
	rep.Events = counts
	rep.PublishFailed = failed
	samples := make([]time.Duration, len(lat))
	for i, v := range lat {
		samples[i] = time.Duration(v)
	}
	rep.Publish = Summarize(samples)
	sample.fill(&rep, c.o)
	return rep, nil
}

// callers runs the sipp callers against targets (one per process) and
// collects their results; hub, if not nil, runs alongside from the
// callers' start.
func (c *coordinator) callers(ctx context.Context, phase, dir string, targets []string, hub func(context.Context, time.Time) error) (PhaseReport, error) {
	o := c.o
	rep := PhaseReport{Name: phase, SippProcs: len(targets)}
	ctx, cancel := context.WithTimeout(ctx, c.timeout()+30*time.Second)
	defer cancel()
	shares := c.shares()
	var procs []*sippProc
	defer func() {
		for _, p := range procs {
			p.stop(time.Second)
		}
	}()
	hold := strconv.FormatInt(o.Hold.Milliseconds(), 10)
	for i, target := range targets {
		d := filepath.Join(dir, "uac-"+strconv.Itoa(i))
		if err := os.MkdirAll(d, 0o750); err != nil {
			return rep, fmt.Errorf("voicebench: %w", err)
		}
		sf, err := writeScenario(d, "uac", c.audio)
		if err != nil {
			return rep, err
		}
		port, err := freeUDPPort()
		if err != nil {
			return rep, err
		}
		mp, err := freeUDPPort()
		if err != nil {
			return rep, err
		}
		s := shares[i]
		if s.calls == 0 {
			continue
		}
		args := []string{target, "-sf", sf, "-s", o.number(), "-i", "127.0.0.1",
			"-p", strconv.Itoa(port), "-mp", strconv.Itoa(mp), "-t", "u1", "-nostdin",
			"-r", strconv.FormatFloat(s.rate, 'f', -1, 64), "-m", strconv.Itoa(s.calls), "-l", strconv.Itoa(s.limit),
			"-d", hold, "-timeout", strconv.Itoa(int(c.timeout().Seconds())) + "s",
			"-trace_stat", "-stf", "stat.csv", "-fd", "1", "-trace_rtt", "-rtt_freq", "1", "-trace_err"}
		p, err := startSipp(ctx, o.SippPath, fmt.Sprintf("%s caller %d", phase, i), d, args)
		if err != nil {
			return rep, err
		}
		procs = append(procs, p)
	}
	t0 := time.Now()
	c.progress("%s: %d sipp callers started (%s)", phase, len(procs), c.describeLoad())
	var hubErr error
	var hubDone sync.WaitGroup
	if hub != nil {
		hubDone.Add(1)
		go func() {
			defer hubDone.Done()
			hubErr = hub(ctx, t0)
		}()
	}
	for _, p := range procs {
		select {
		case <-p.done:
		case <-ctx.Done():
		}
	}
	rep.Wall = time.Since(t0)
	hubDone.Wait()
	if err := ctx.Err(); err != nil {
		return rep, fmt.Errorf("voicebench: %s: sipp did not finish within %s: %w", phase, c.timeout()+30*time.Second, err)
	}
	var setup []time.Duration
	for _, p := range procs {
		rep.SippCPU += p.cpu()
		if err := p.exitStatus(); err != nil {
			return rep, err
		}
		f, err := os.Open(filepath.Join(p.dir, "stat.csv"))
		if err != nil {
			return rep, fmt.Errorf("voicebench: %s: statistics: %w", p.name, err)
		}
		st, err := ParseStatCSV(f)
		f.Close()
		if err != nil {
			return rep, fmt.Errorf("voicebench: %s: %w", p.name, err)
		}
		rep.Attempted += st.Outgoing
		rep.Successful += st.Successful
		rep.Failed += st.Failed
		rep.Retransmissions += st.Retransmissions
		for k, v := range st.FailedBy {
			if rep.FailedBy == nil {
				rep.FailedBy = make(map[string]int)
			}
			rep.FailedBy[k] += v
		}
		files, _ := filepath.Glob(filepath.Join(p.dir, "*_rtt.csv"))
		for _, name := range files {
			f, err := os.Open(name)
			if err != nil {
				return rep, fmt.Errorf("voicebench: %s: response times: %w", p.name, err)
			}
			rtt, err := ParseRTT(f, "1")
			f.Close()
			if err != nil {
				return rep, fmt.Errorf("voicebench: %s: %w", p.name, err)
			}
			setup = append(setup, rtt.Samples...)
			rep.Answered += len(rtt.Samples)
			// n answers over the span between the first and the last
			// make n−1 intervals; likewise their INVITEs.
			if span := (rtt.Last - rtt.First) / 1000; len(rtt.Samples) > 1 && span > 0 {
				rep.AnsweredRate += float64(len(rtt.Samples)-1) / span
			}
			if span := (rtt.LastSent - rtt.FirstSent) / 1000; len(rtt.Samples) > 1 && span > 0 {
				rep.OfferedRate += float64(len(rtt.Samples)-1) / span
			}
		}
		for _, e := range firstErrors(p.dir, 5) {
			if len(rep.FirstErrors) < 10 {
				rep.FirstErrors = append(rep.FirstErrors, e)
			}
		}
	}
	if rep.Attempted > 0 {
		rep.FailedPercent = 100 * float64(rep.Failed) / float64(rep.Attempted)
	}
	rep.Setup = Summarize(setup)
	c.progress("%s: done: %d attempted, %d answered, %d failed", phase, rep.Attempted, rep.Answered, rep.Failed)
	return rep, hubErr
}

func (c *coordinator) describeLoad() string {
	o := c.o
	if o.Mode == ModeRate {
		return fmt.Sprintf("%g calls/s for %s, hold %s", o.Rate, o.Duration, o.Hold)
	}
	return fmt.Sprintf("%d calls at %g calls/s, hold %s, caller media %v", o.Calls, o.Rate, o.Hold, o.Media)
}

// hubSample is what sampleHub measured.
type hubSample struct {
	window         time.Duration
	cpu            time.Duration
	heapPeak       int64
	heapEnd        int64
	goroutines     int
	callsUp0       int
	callsUp1       int
	media0, media1 mediaTotals
	drops          uint64
	sipDrops       uint64
	peakRSS        int64
}

type mediaTotals struct {
	in, out, late, foreign, malformed, sendErrors uint64
}

// window is the part of the run the hub is measured over: the whole
// sending time in mode rate; in mode concurrent, from two seconds after
// the last call started to a second before the first one hangs up.
func (c *coordinator) window(t0 time.Time) (time.Time, time.Time) {
	o := c.o
	if o.Mode == ModeRate {
		return t0, t0.Add(o.Duration)
	}
	return t0.Add(o.ramp() + 2*time.Second), t0.Add(o.Hold - time.Second)
}

// sampleHub takes the hub's CPU, memory, calls up and media counters over
// the measured window, and its profiles.
func (c *coordinator) sampleHub(ctx context.Context, h *hub, t0 time.Time, s *hubSample) error {
	o := c.o
	heap := procstat.NewHeapSampler()
	sipPort := 0
	if a, ok := h.voice.Addr("udp").(*net.UDPAddr); ok {
		sipPort = a.Port
	}
	drops := newUDPDrops(o.RTPPortMin, o.RTPPortMax, sipPort)
	from, to := c.window(t0)
	readMedia := func() mediaTotals {
		m := h.voice.MediaStats()
		return mediaTotals{in: m.PacketsIn, out: m.PacketsOut, late: m.LateSends, foreign: m.DroppedForeign,
			malformed: m.Malformed, sendErrors: m.SendErrors}
	}
	callsUp := func() int {
		counts, _, _ := h.pub.snapshot()
		return counts[event.CallStarted] - counts[event.CallEnded]
	}
	if !sleepUntil(ctx, from) {
		return nil
	}
	cpu0 := procstat.CPU()
	s.media0 = readMedia()
	s.callsUp0 = callsUp()
	if o.CPUProfile != "" {
		f, err := os.Create(o.CPUProfile)
		if err != nil {
			return fmt.Errorf("voicebench: cpu profile: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("voicebench: cpu profile: %w", err)
		}
	}
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	n := 0
	for time.Now().Before(to) && ctx.Err() == nil {
		hp, g := heap.Read()
		s.heapPeak = max(s.heapPeak, hp)
		s.goroutines = max(s.goroutines, g)
		if n%4 == 0 {
			drops.sample()
		}
		n++
		select {
		case <-tick.C:
		case <-ctx.Done():
		}
	}
	s.cpu = procstat.CPU() - cpu0
	s.window = time.Since(from)
	s.media1 = readMedia()
	s.callsUp1 = callsUp()
	drops.sample()
	s.drops, s.sipDrops = drops.total()
	s.heapEnd, _ = heap.Read()
	s.heapPeak = max(s.heapPeak, s.heapEnd)
	s.peakRSS = procstat.PeakRSS()
	if o.CPUProfile != "" {
		pprof.StopCPUProfile()
	}
	if o.HeapProfile != "" {
		if err := writeProfile("heap", o.HeapProfile); err != nil {
			return err
		}
	}
	return nil
}

// fill copies the sample into the phase report.
func (s *hubSample) fill(rep *PhaseReport, o Options) {
	rep.Window = s.window
	rep.HubCPU = s.cpu
	rep.HubPeakRSS = s.peakRSS
	rep.HubHeapEnd = s.heapEnd
	rep.HubHeapPeak = s.heapPeak
	rep.HubGoroutines = s.goroutines
	rep.CallsUpAtStart = s.callsUp0
	rep.CallsUpAtEnd = s.callsUp1
	x := &RTPReport{
		PacketsIn: s.media1.in, PacketsOut: s.media1.out,
		WindowIn: s.media1.in - s.media0.in, WindowOut: s.media1.out - s.media0.out,
		LateSends: s.media1.late - s.media0.late, SocketDrops: s.drops,
		Foreign: s.media1.foreign, Malformed: s.media1.malformed, SendErrors: s.media1.sendErrors,
		CallerStreams: o.Media, SIPDrops: s.sipDrops,
	}
	if secs := s.window.Seconds(); secs > 0 {
		x.InPerSecond = float64(x.WindowIn) / secs
		x.OutPerSecond = float64(x.WindowOut) / secs
	}
	// Calls up during the window times 50 packets/s: in mode rate, calls
	// come and go, rate × hold of them up on average (Little's law); in
	// mode concurrent, the mean of the window's two ends.
	if o.Mode == ModeRate {
		x.ExpectedPerS = o.Rate * o.Hold.Seconds() * packetsPerSecond
	} else {
		x.ExpectedPerS = float64(s.callsUp0+s.callsUp1) / 2 * packetsPerSecond
	}
	rep.RTP = x
}

// writeProfile writes the named runtime profile to path.
func writeProfile(name, path string) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("voicebench: %s profile: %w", name, err)
	}
	if err := pprof.Lookup(name).WriteTo(f, 0); err != nil {
		f.Close()
		return fmt.Errorf("voicebench: %s profile: %w", name, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("voicebench: %s profile: %w", name, err)
	}
	return nil
}

// sleepUntil waits until t; it reports false if ctx ended first.
func sleepUntil(ctx context.Context, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err() == nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
		return false
	}
}
