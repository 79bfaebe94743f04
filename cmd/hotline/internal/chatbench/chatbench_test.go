package chatbench

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hotline-hub/hotline/cmd/hotline/internal/config"
)

// workerEnv makes the test binary a worker process, as `hotline bench
// chat-worker` is for the command.
const workerEnv = "HOTLINE_CHATBENCH_TEST_WORKER"

func TestMain(m *testing.M) {
	if os.Getenv(workerEnv) == "1" {
		if err := RunWorker(context.Background(), os.Stdin, os.Stdout); err != nil {
			os.Stderr.WriteString("worker: " + err.Error() + "\n")
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestRunCounts runs a small bench end to end, relay and hub, with agents
// replying by reply frames on their sockets and by HTTP, and checks that
// every message and reply arrived once and every conversation was
// assigned. It never looks at timings.
func TestRunCounts(t *testing.T) {
	if testing.Short() {
		t.Skip("starts worker processes and a hub")
	}
	for _, via := range []string{ReplyViaSocket, ReplyViaHTTP} {
		t.Run(via, func(t *testing.T) { runCounts(t, via) })
	}
}

func runCounts(t *testing.T, via string) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	o := Defaults()
	o.Agents, o.Customers, o.Rate = 5, 20, 100
	o.Duration, o.Warmup, o.Drain = 2*time.Second, 500*time.Millisecond, 3*time.Second
	o.Workers = 2
	o.ReplyVia = via
	o.SetupTimeout = 2 * time.Minute
	o.DataDir = t.TempDir()
	o.Config = config.Default()
	o.WorkerCommand = []string{exe}
	o.WorkerEnv = []string{workerEnv + "=1"}
	o.Log = testLogger()
	if via == ReplyViaSocket {
		// Half a second of the hub's window, not the relay's.
		o.Trace, o.TraceFor = filepath.Join(t.TempDir(), "hub.trace"), 500*time.Millisecond
	}
	var progress bytes.Buffer
	o.Progress = &progress
	// The workers' stderr, in a file: several of them write at once.
	stderr, err := os.Create(filepath.Join(t.TempDir(), "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	defer stderr.Close()
	o.Stderr = stderr
	workersStderr := func() string {
		raw, _ := os.ReadFile(stderr.Name())
		return string(raw)
	}
	// Workers print a schedtrace line every 100 ms, which must not show.
	saved := workerSchedTrace
	workerSchedTrace = 100
	defer func() { workerSchedTrace = saved }()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	r, err := Run(ctx, o)
	if err != nil {
		t.Fatalf("Run: %v\nprogress:\n%s\nworkers' stderr:\n%s", err, progress.String(), workersStderr())
	}
	if len(r.Phases) != 2 || r.Phases[0].Name != "relay" || r.Phases[1].Name != "hub" {
		t.Fatalf("phases = %+v, want relay then hub", r.Phases)
	}
	// 100 msg/s for 2 s, scheduled on two workers: 200 messages, give or
	// take the one at each boundary.
	for _, p := range r.Phases {
		c := p.Counts
		if p.Agents != o.Agents || p.Customers != o.Customers || p.Assigned != o.Customers {
			t.Errorf("%s: agents %d customers %d assigned %d, want %d, %d, %d", p.Name, p.Agents, p.Customers, p.Assigned, o.Agents, o.Customers, o.Customers)
		}
		if c.Sent < 195 || c.Sent > 205 {
			t.Errorf("%s: sent %d, want about 200", p.Name, c.Sent)
		}
		if c.Received != c.Sent || c.Lost != 0 || c.Acked != c.Sent {
			t.Errorf("%s: sent %d, acked %d, received %d, lost %d; want all acked and received", p.Name, c.Sent, c.Acked, c.Received, c.Lost)
		}
		if c.Replies != c.Received || c.RepliesReceived != c.Replies || c.RepliesLost != 0 {
			t.Errorf("%s: replies %d, received %d, lost %d; want one per message, all received", p.Name, c.Replies, c.RepliesReceived, c.RepliesLost)
		}
		if c.SendErrors+c.ErrorFrames+c.ReplyErrors+c.Disconnects+c.Duplicates != 0 {
			t.Errorf("%s: errors %+v: %v", p.Name, c, p.FirstErrors)
		}
		if p.CustomerToAck.Samples != c.Acked {
			t.Errorf("%s: %d ack latency samples for %d acks", p.Name, p.CustomerToAck.Samples, c.Acked)
		}
		if p.CustomerToAgent.Samples != c.Received || p.AgentToCustomer.Samples != c.RepliesReceived {
			t.Errorf("%s: %d and %d latency samples for %d messages and %d replies", p.Name,
				p.CustomerToAgent.Samples, p.AgentToCustomer.Samples, c.Received, c.RepliesReceived)
		}
	}
	if o.Trace != "" {
		// An execution trace starts with its header, "go 1.NN trace".
		raw, err := os.ReadFile(o.Trace)
		if err != nil || !bytes.HasPrefix(raw, []byte("go 1.")) || len(raw) < 1024 {
			t.Errorf("trace: %d bytes starting %q (%v), want an execution trace", len(raw), raw[:min(len(raw), 16)], err)
		}
	}
	noSchedLines(t, workersStderr())
	if r.Phases[1].HubPeakRSS <= 0 || r.Phases[1].HubHeapInUse <= 0 {
		t.Errorf("hub memory not measured: %+v", r.Phases[1])
	}
	var text, js bytes.Buffer
	if err := r.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"via " + via, "conversations assigned", "customer→agent p99", "agent→customer p99.9", "hub peak RSS"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text report lacks %q:\n%s", want, text.String())
		}
	}
	if err := r.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(js.Bytes(), &back); err != nil || back.Phases[1].Counts != r.Phases[1].Counts || back.Options.ReplyVia != via {
		t.Errorf("JSON report does not read back: %v", err)
	}
	t.Logf("progress:\n%s\nreport:\n%s", progress.String(), text.String())
}

func testLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
