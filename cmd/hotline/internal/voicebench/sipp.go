package voicebench

import (
	"bufio"
	"context"
	"embed"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hotline-hub/hotline/channels/voice/media"
)

// scenarios are the bench's own sipp scenarios: the caller (uac.xml) and
// the bare answerer of the baseline (uas.xml). Their media marker lines
// become rtp_stream actions with media, nothing without.
//
//go:embed scenarios/*.xml
var scenarios embed.FS

// audioFile is the caller's audio, streamed by sipp's rtp_stream: raw
// G.711 µ-law at 8 kHz (rtp_stream sends the file's bytes as payload,
// 160 per 20 ms packet for payload type 0, looping).
const audioFile = "caller.ulaw"

// writeScenario writes scenario name ("uac" or "uas") into dir, with the
// caller's audio streamed when audio is not empty, and returns its path.
func writeScenario(dir, name, audio string) (string, error) {
	raw, err := scenarios.ReadFile("scenarios/" + name + ".xml")
	if err != nil {
		return "", fmt.Errorf("voicebench: scenario %s: %w", name, err)
	}
	start, stop := "", ""
	if audio != "" {
		if strings.ContainsAny(audio, `,"<>&`) {
			return "", fmt.Errorf("voicebench: audio path %q has characters sipp's rtp_stream cannot take", audio)
		}
		start = `  <nop><action><exec rtp_stream="` + audio + `,-1,0"/></action></nop>`
		stop = `  <nop><action><exec rtp_stream="pause"/></action></nop>`
	}
	s := string(raw)
	for _, m := range []struct{ marker, with string }{{"MEDIA_START", start}, {"MEDIA_STOP", stop}} {
		if strings.Count(s, m.marker) != 1 {
			return "", fmt.Errorf("voicebench: scenario %s: want one %s line", name, m.marker)
		}
		s = strings.Replace(s, m.marker, m.with, 1)
	}
	path := filepath.Join(dir, name+".xml")
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		return "", fmt.Errorf("voicebench: write scenario: %w", err)
	}
	return path, nil
}

// writeAudio writes one second of a four-note tone as raw µ-law.
func writeAudio(path string) error {
	pcm := media.Tone([]float64{440, 550, 660, 550}, 250*time.Millisecond).Samples()
	b := make([]byte, len(pcm))
	media.EncodeULaw(b, pcm)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return fmt.Errorf("voicebench: write caller audio: %w", err)
	}
	return nil
}

// freeUDPPort returns a loopback UDP port free at the time of the call,
// with port+2 free too (sipp binds its media port and the one two above
// it for video).
func freeUDPPort() (int, error) {
	for range 50 {
		c, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			return 0, fmt.Errorf("voicebench: free port: %w", err)
		}
		port := c.LocalAddr().(*net.UDPAddr).Port
		c2, err := net.ListenPacket("udp", "127.0.0.1:"+strconv.Itoa(port+2))
		c.Close()
		if err != nil {
			continue
		}
		c2.Close()
		return port, nil
	}
	return 0, errors.New("voicebench: no free pair of UDP ports")
}

// sippProc is one running sipp.
type sippProc struct {
	name string
	dir  string
	cmd  *exec.Cmd
	out  *os.File
	done chan struct{}
	err  error // of Wait, once done
}

// startSipp starts sipp with args in dir (its logs land there), output
// to dir/sipp.out.
func startSipp(ctx context.Context, sippPath, name, dir string, args []string) (*sippProc, error) {
	out, err := os.Create(filepath.Join(dir, "sipp.out"))
	if err != nil {
		return nil, fmt.Errorf("voicebench: %s: %w", name, err)
	}
	cmd := exec.CommandContext(ctx, sippPath, args...)
	cmd.Dir = dir
	cmd.Stdout = out
	cmd.Stderr = out
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		out.Close()
		return nil, fmt.Errorf("voicebench: start %s (%s): %w", name, sippPath, err)
	}
	p := &sippProc{name: name, dir: dir, cmd: cmd, out: out, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		out.Close()
		close(p.done)
	}()
	return p, nil
}

// stop asks sipp to end (SIGUSR1: finish the calls in progress and quit)
// and kills it after grace.
func (p *sippProc) stop(grace time.Duration) {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGUSR1)
	select {
	case <-p.done:
	case <-time.After(grace):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// cpu is the user+sys CPU time of the exited process.
func (p *sippProc) cpu() time.Duration {
	if p.cmd.ProcessState == nil {
		return 0
	}
	return p.cmd.ProcessState.UserTime() + p.cmd.ProcessState.SystemTime()
}

// Sipp's exit codes (sipp(1)): 0 every call succeeded, 1 at least one
// failed; anything else means the test itself did not run as asked.
const (
	sippExitOK     = 0
	sippExitFailed = 1
)

// exitStatus checks how sipp ended: a clean end or one with failed calls
// is a result; anything else is an error with the end of its output.
func (p *sippProc) exitStatus() error {
	if p.err == nil {
		return nil
	}
	var ee *exec.ExitError
	if errors.As(p.err, &ee) && ee.ExitCode() == sippExitFailed {
		return nil
	}
	out, _ := os.ReadFile(filepath.Join(p.dir, "sipp.out"))
	return fmt.Errorf("voicebench: %s: %w\n%s", p.name, p.err, tailLines(string(out), 15))
}

// SippStats are the cumulative counters of sipp's statistics file
// (-trace_stat) at the end of a run.
type SippStats struct {
	// Outgoing calls created (attempted) and incoming calls (for a UAS).
	Outgoing, Incoming int
	Successful, Failed int
	Retransmissions    int
	// Failures by cause, only those that happened.
	FailedBy map[string]int
}

// failureColumns are the cumulative failure counters of the statistics
// file, by the name printed in the report.
var failureColumns = []struct{ column, name string }{
	{"FailedCannotSendMessage(C)", "cannot send"},
	{"FailedMaxUDPRetrans(C)", "no answer after retransmissions"},
	{"FailedTcpConnect(C)", "tcp connect"},
	{"FailedTcpClosed(C)", "tcp closed"},
	{"FailedUnexpectedMessage(C)", "unexpected message (e.g. 503)"},
	{"FailedCallRejected(C)", "rejected"},
	{"FailedCmdNotSent(C)", "command not sent"},
	{"FailedRegexpDoesntMatch(C)", "regexp"},
	{"FailedOutboundCongestion(C)", "outbound congestion"},
	{"FailedTimeoutOnRecv(C)", "timeout on receive"},
	{"FailedTimeoutOnSend(C)", "timeout on send"},
}

// ParseStatCSV reads a sipp statistics file (-trace_stat, ';'-separated,
// a header line then one line per dump) and returns the counters of its
// last line.
func ParseStatCSV(r io.Reader) (SippStats, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	var header, last []string
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		if line == "" {
			continue
		}
		fields := strings.Split(line, ";")
		if header == nil {
			header = fields
			continue
		}
		last = fields
	}
	if err := sc.Err(); err != nil {
		return SippStats{}, fmt.Errorf("sipp statistics: %w", err)
	}
	if header == nil || last == nil {
		return SippStats{}, errors.New("sipp statistics: no data line")
	}
	col := make(map[string]int, len(header))
	for i, h := range header {
		col[strings.TrimSpace(h)] = i
	}
	get := func(name string) (int, error) {
		i, ok := col[name]
		if !ok {
			return 0, fmt.Errorf("sipp statistics: no column %s", name)
		}
		if i >= len(last) {
			return 0, fmt.Errorf("sipp statistics: short line, no %s", name)
		}
		n, err := strconv.Atoi(strings.TrimSpace(last[i]))
		if err != nil {
			return 0, fmt.Errorf("sipp statistics: %s: %w", name, err)
		}
		return n, nil
	}
	var s SippStats
	var errs []error
	for _, f := range []struct {
		column string
		dst    *int
	}{{"OutgoingCall(C)", &s.Outgoing}, {"IncomingCall(C)", &s.Incoming}, {"SuccessfulCall(C)", &s.Successful},
		{"FailedCall(C)", &s.Failed}, {"Retransmissions(C)", &s.Retransmissions}} {
		n, err := get(f.column)
		errs = append(errs, err)
		*f.dst = n
	}
	if err := errors.Join(errs...); err != nil {
		return SippStats{}, err
	}
	for _, f := range failureColumns {
		if n, err := get(f.column); err == nil && n > 0 {
			if s.FailedBy == nil {
				s.FailedBy = make(map[string]int)
			}
			s.FailedBy[f.name] += n
		}
	}
	return s, nil
}

// RTT is what a sipp response time file (-trace_rtt) says about one
// response time (rtd): the samples, and the first and last time one was
// taken, in milliseconds since sipp started.
type RTT struct {
	Samples     []time.Duration
	First, Last float64 // ms, when the responses came
	// FirstSent and LastSent are when the requests of the first and last
	// timed exchange were sent (the response's time less its duration).
	FirstSent, LastSent float64
	// Unparseable counts lines that are not three ';'-separated numbers.
	Unparseable int
}

// ParseRTT reads a sipp response time file ("Date_ms;response_time_ms;
// rtd_no" lines) and keeps the samples of response time rtd ("1" for the
// first rtd="true" of the scenario). sipp measures in whole milliseconds.
func ParseRTT(r io.Reader, rtd string) (RTT, error) {
	sc := bufio.NewScanner(r)
	out := RTT{First: -1, FirstSent: -1}
	header := true
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		if header {
			header = false
			if strings.HasPrefix(line, "Date_ms") {
				continue
			}
		}
		f := strings.Split(line, ";")
		if len(f) < 3 {
			out.Unparseable++
			continue
		}
		if strings.TrimSpace(f[2]) != rtd {
			continue
		}
		date, err1 := strconv.ParseFloat(strings.TrimSpace(f[0]), 64)
		ms, err2 := strconv.ParseFloat(strings.TrimSpace(f[1]), 64)
		if err1 != nil || err2 != nil || ms < 0 {
			out.Unparseable++
			continue
		}
		out.Samples = append(out.Samples, time.Duration(ms*float64(time.Millisecond)))
		if out.First < 0 || date < out.First {
			out.First = date
		}
		out.Last = max(out.Last, date)
		if sent := date - ms; out.FirstSent < 0 || sent < out.FirstSent {
			out.FirstSent = sent
		}
		out.LastSent = max(out.LastSent, date-ms)
	}
	if err := sc.Err(); err != nil {
		return out, fmt.Errorf("sipp response times: %w", err)
	}
	out.First, out.FirstSent = max(out.First, 0), max(out.FirstSent, 0)
	return out, nil
}

// firstErrors returns up to n lines of the sipp error logs in dir.
func firstErrors(dir string, n int) []string {
	files, _ := filepath.Glob(filepath.Join(dir, "*_errors.log"))
	slices.Sort(files)
	var out []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			line = strings.TrimSpace(line)
			if line == "" || strings.HasPrefix(line, "sipp:") || strings.HasPrefix(line, "Use 'sipp -h'") {
				continue
			}
			if len(line) > 300 {
				line = line[:300] + "…"
			}
			out = append(out, line)
			if len(out) >= n {
				return out
			}
		}
	}
	return out
}

func tailLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
