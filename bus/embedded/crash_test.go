package embedded

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hotline-hub/hotline/bus"
)

const (
	crashDirEnv   = "HOTLINE_EMBEDDED_CRASH_DIR"
	crashRoundEnv = "HOTLINE_EMBEDDED_CRASH_ROUND"
)

func crashConfig(dir string) Config {
	// Small segments so that kills also land in segment rolls.
	return Config{Dir: dir, Partitions: 4, SegmentBytes: 64 << 10, CommitInterval: 5 * time.Millisecond, CheckpointInterval: 20 * time.Millisecond}
}

// TestCrashChild is the child process of TestCrashRecovery: it publishes
// from several goroutines and prints each event id only after the Publish
// carrying it returned, until it is killed.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashDirEnv)
	if dir == "" {
		t.Skip("only runs as the child of TestCrashRecovery")
	}
	round := os.Getenv(crashRoundEnv)
	b, err := Open(crashConfig(dir), nil)
	if err != nil {
		fmt.Fprintf(os.Stdout, "open failed: %v\n", err)
		os.Exit(3)
	}
	ctx := context.Background()
	// A consumer group acknowledging as it goes, so that commits are
	// being written when the kill comes.
	sub, err := b.Subscribe(ctx, "crash", bus.SubscribeOptions{Group: "g"})
	if err != nil {
		fmt.Fprintf(os.Stdout, "subscribe failed: %v\n", err)
		os.Exit(3)
	}
	go func() {
		for {
			d, err := sub.Receive(ctx)
			if err != nil {
				return
			}
			d.Ack()
		}
	}()
	var out sync.Mutex
	os.Stdout.WriteString("ready\n")
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(g), uint64(time.Now().UnixNano())))
			for seq := 0; ; {
				n := 1
				if g%2 == 1 {
					n = 1 + rng.IntN(8) // batches too
				}
				msgs := make([]bus.Message, n)
				var line strings.Builder
				for i := range msgs {
					id := fmt.Sprintf("r%s-g%d-%d", round, g, seq)
					seq++
					msgs[i] = bus.Message{Key: []byte(fmt.Sprintf("k%d", rng.IntN(50))), Value: []byte(id + strings.Repeat(".", rng.IntN(2000)))}
					line.WriteString(id + "\n")
				}
				if err := b.Publish(ctx, "crash", msgs...); err != nil {
					fmt.Fprintf(os.Stdout, "publish failed: %v\n", err)
					os.Exit(3)
				}
				out.Lock()
				os.Stdout.WriteString(line.String())
				out.Unlock()
			}
		}()
	}
	wg.Wait()
}

// TestCrashRecovery kills a publishing child process with SIGKILL at
// random moments and checks after each kill that the log reopens, that
// every event whose Publish had returned is there, that committed group
// offsets point inside the log, and that publishing goes on.
func TestCrashRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test skipped in -short mode")
	}
	dir := t.TempDir()
	rounds, budget := 30, 60*time.Second
	if s := os.Getenv("HOTLINE_EMBEDDED_CRASH_ROUNDS"); s != "" {
		rounds, _ = strconv.Atoi(s)
	}
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	acked := map[string]bool{} // every id a child printed, all rounds
	start := time.Now()
	var parentMsgs int
	for round := 0; round < rounds && time.Since(start) < budget; round++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), crashDirEnv+"="+dir, crashRoundEnv+"="+strconv.Itoa(round))
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := make(chan string, 1024)
		go func() {
			r := bufio.NewReader(stdout)
			for {
				s, err := r.ReadString('\n')
				if err != nil {
					close(lines) // a partial last line is not a printed id
					return
				}
				lines <- strings.TrimSuffix(s, "\n")
			}
		}()
		if l := <-lines; l != "ready" {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("round %d: child said %q", round, l)
		}
		time.Sleep(time.Duration(10+rng.IntN(300)) * time.Millisecond)
		cmd.Process.Signal(syscall.SIGKILL)
		printed := 0
		for l := range lines {
			if strings.Contains(l, "failed") {
				t.Fatalf("round %d: child: %s", round, l)
			}
			acked[l] = true
			printed++
		}
		cmd.Wait()

		b, err := Open(crashConfig(dir), nil)
		if err != nil {
			t.Fatalf("round %d: reopen after kill: %v", round, err)
		}
		tp := b.topics["crash"]
		var total int64
		for _, p := range tp.parts {
			total += p.end.Load()
		}
		got := readAll(t, b, "crash", bus.SubscribeOptions{}, int(total))
		seen := make(map[string]bool, len(got))
		for _, d := range got {
			id, _, _ := strings.Cut(string(d.Value), ".")
			seen[id] = true
		}
		missing := 0
		for id := range acked {
			if !seen[id] {
				if missing < 5 {
					t.Errorf("round %d: event %s was acknowledged to the publisher but is not in the log", round, id)
				}
				missing++
			}
		}
		if missing > 0 {
			t.Fatalf("round %d: %d acknowledged events lost", round, missing)
		}
		g := tp.group("g")
		g.mu.Lock()
		for p, off := range g.committed {
			if end := tp.parts[p].end.Load(); off > end {
				t.Errorf("round %d: group committed offset %d of partition %d is past the log's end %d", round, off, p, end)
			}
		}
		g.mu.Unlock()
		parentMsgs++
		publish(t, b, "crash", bus.Message{Value: []byte(fmt.Sprintf("parent-%d", round))})
		if err := b.Close(); err != nil {
			t.Fatalf("round %d: close: %v", round, err)
		}
		t.Logf("round %d: child printed %d ids; log holds %d records, all %d acknowledged ids present", round, printed, total+1, len(acked))
	}
	if len(acked) == 0 {
		t.Fatal("the children never published anything")
	}
}
