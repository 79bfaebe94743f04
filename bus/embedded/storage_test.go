package embedded

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hotline-hub/hotline/bus"
)

// syncBuffer collects log output from concurrent goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func mustOpen(t testing.TB, cfg Config, log *slog.Logger) *Bus {
	t.Helper()
	b, err := Open(cfg, log)
	if err != nil {
		t.Fatalf("Open(%s): %v", cfg.Dir, err)
	}
	return b
}

func publish(t testing.TB, b bus.Publisher, topic string, msgs ...bus.Message) {
	t.Helper()
	if err := b.Publish(context.Background(), topic, msgs...); err != nil {
		t.Fatalf("Publish(%s): %v", topic, err)
	}
}

// readAll reads every record of topic with a group-less reader, waiting at
// most for want records (or a short quiet period when want < 0).
func readAll(t testing.TB, b bus.Subscriber, topic string, opts bus.SubscribeOptions, want int) []*bus.Delivery {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sub, err := b.Subscribe(ctx, topic, opts)
	if err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	defer sub.Close()
	var out []*bus.Delivery
	for want < 0 || len(out) < want {
		rctx := ctx
		var rcancel context.CancelFunc
		if want < 0 {
			rctx, rcancel = context.WithTimeout(ctx, 200*time.Millisecond)
		}
		d, err := sub.Receive(rctx)
		if rcancel != nil {
			rcancel()
		}
		if err != nil {
			if want < 0 && errors.Is(err, context.DeadlineExceeded) {
				break
			}
			t.Fatalf("Receive after %d of %d: %v", len(out), want, err)
		}
		out = append(out, d)
	}
	return out
}

func segFiles(t testing.TB, dir, topic string, p int) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "topics", topic, fmt.Sprint(p), "*.log"))
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// frames returns the start position of every frame in a segment file, and
// its end.
func frames(t testing.TB, data []byte) (starts []int, end int) {
	t.Helper()
	pos := 0
	for pos+4 <= len(data) && frameLen(data[pos:]) != 0 {
		h, err := checkFrame(data[pos:])
		if err != nil {
			t.Fatalf("frame at %d: %v", pos, err)
		}
		starts = append(starts, pos)
		pos += h.size
	}
	return starts, pos
}

func randBytes(rng *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32()) | 1 // never zero, so any zeroing damages
	}
	return b
}

func copyDir(t testing.TB, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, path)
		dst := filepath.Join(to, rel)
		if d.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(dst, data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// pristineLog builds a one-partition log: 40 records published one per
// Publish (each its own write), then 20 in one Publish (one write), and
// returns its directory, the segment's bytes and the frame starts.
func pristineLog(t *testing.T) (dir string, data []byte, starts []int) {
	dir = t.TempDir()
	b := mustOpen(t, Config{Dir: dir, Partitions: 1, SegmentBytes: 1 << 20}, nil)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 40; i++ {
		v := randBytes(rng, 10+rng.IntN(300))
		publish(t, b, "t", bus.Message{Key: []byte(fmt.Sprint(i)), Value: v, Headers: []bus.Header{{Key: "i", Value: []byte(fmt.Sprint(i))}}})
	}
	var last []bus.Message
	for i := 40; i < 60; i++ {
		last = append(last, bus.Message{Key: []byte(fmt.Sprint(i)), Value: randBytes(rng, 10+rng.IntN(300)), Headers: []bus.Header{{Key: "i", Value: []byte(fmt.Sprint(i))}}})
	}
	publish(t, b, "t", last...)
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	files := segFiles(t, dir, "t", 0)
	if len(files) != 1 {
		t.Fatalf("segments: %v", files)
	}
	data, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	starts, end := frames(t, data)
	if len(starts) != 60 || end != len(data) {
		t.Fatalf("%d frames ending at %d in a file of %d bytes (Close must trim)", len(starts), end, len(data))
	}
	return dir, data, starts
}

// A crash leaves the tail of the last write torn: cut short, zeroed
// (preallocated space), garbled, or with a hole inside the last write.
// Whatever the position, Open cuts the damaged record and everything after
// it, logs the cut, keeps everything before, and the log goes on.
func TestTornTailRecovery(t *testing.T) {
	pristine, data, starts := pristineLog(t)
	seed0 := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed0)
	rng := rand.New(rand.NewPCG(seed0, 4))
	kinds := []string{"truncate", "zeros", "garbage", "hole-in-last-write"}
	lastWrite := starts[40]
	for round := 0; round < 60; round++ {
		kind := kinds[round%len(kinds)]
		var cut int
		switch {
		case kind == "hole-in-last-write":
			cut = lastWrite + rng.IntN(len(data)-lastWrite-100)
		case round%3 == 0:
			cut = rng.IntN(len(data)) // anywhere
		default:
			cut = lastWrite + rng.IntN(len(data)-lastWrite) // in the last write
		}
		seed := rng.Uint64()
		t.Run(fmt.Sprintf("%s@%d", kind, cut), func(t *testing.T) {
			t.Parallel()
			rng := rand.New(rand.NewPCG(seed, 5))
			dir := t.TempDir()
			copyDir(t, pristine, dir)
			seg := segFiles(t, dir, "t", 0)[0]
			damaged := bytes.Clone(data)
			switch kind {
			case "truncate":
				damaged = damaged[:cut]
			case "zeros":
				clear(damaged[cut:])
				damaged = append(damaged, make([]byte, 4096)...) // preallocated rest
			case "garbage":
				for i := cut; i < len(damaged); i++ {
					damaged[i] = byte(rng.Uint32())
				}
			case "hole-in-last-write":
				// The pages of one write reach the disk in any order: a
				// hole, then later bytes of the same write.
				clear(damaged[cut : cut+1+rng.IntN(60)])
			}
			if err := os.WriteFile(seg, damaged, 0o644); err != nil {
				t.Fatal(err)
			}
			// The records wholly before the first damaged byte survive (a
			// hole may fall on bytes that were zero already).
			diff := 0
			for diff < len(data) && diff < len(damaged) && damaged[diff] == data[diff] {
				diff++
			}
			keep := 0
			for keep < len(starts) {
				end := len(data)
				if keep+1 < len(starts) {
					end = starts[keep+1]
				}
				if end > diff {
					break
				}
				keep++
			}
			// A cut is logged when it removes bytes that are not zero.
			wantLog := false
			if keep < len(starts) {
				for _, c := range damaged[starts[keep]:] {
					wantLog = wantLog || c != 0
				}
			}
			var logs syncBuffer
			log := slog.New(slog.NewTextHandler(&logs, nil))
			b := mustOpen(t, Config{Dir: dir, Partitions: 1, SegmentBytes: 1 << 20}, log)
			got := readAll(t, b, "t", bus.SubscribeOptions{}, keep)
			if n := b.topics["t"].parts[0].durable.Load(); n != int64(keep) {
				t.Fatalf("log ends at offset %d after recovery, want %d", n, keep)
			}
			if len(got) != keep {
				t.Fatalf("%d records after recovery, want %d", len(got), keep)
			}
			for i, d := range got {
				if d.Offset != int64(i) || string(d.Key) != fmt.Sprint(i) {
					t.Fatalf("record %d = %s key %q", i, d, d.Key)
				}
			}
			if wantLog {
				if l := logs.String(); !strings.Contains(l, "torn tail") || !strings.Contains(l, fmt.Sprintf("offset=%d", keep)) || !strings.Contains(l, "partition=0") || !strings.Contains(l, "topic=t") {
					t.Errorf("no log of the cut naming topic, partition and offset %d: %q", keep, l)
				}
			}
			// The log goes on from the cut, and survives another restart.
			publish(t, b, "t", bus.Message{Key: []byte("after")})
			if err := b.Close(); err != nil {
				t.Fatal(err)
			}
			b = mustOpen(t, Config{Dir: dir, Partitions: 1}, nil)
			defer b.Close()
			got = readAll(t, b, "t", bus.SubscribeOptions{}, keep+1)
			if d := got[keep]; d.Offset != int64(keep) || string(d.Key) != "after" {
				t.Fatalf("record after recovery = %s %q", d, d.Key)
			}
		})
	}
}

// Damage followed by records of later writes is corruption of acknowledged
// data: Open refuses, naming the file and the position.
func TestMidLogCorruptionRefused(t *testing.T) {
	pristine, data, starts := pristineLog(t)
	cases := []struct {
		name   string
		record int
		damage func(b []byte, start int)
	}{
		{"bit flip in the value", 10, func(b []byte, s int) { b[s+40] ^= 0x10 }},
		{"bit flip in the CRC", 20, func(b []byte, s int) { b[s+5] ^= 1 }},
		{"zeroed length", 25, func(b []byte, s int) { clear(b[s : s+4]) }},
		{"zeroed record", 0, func(b []byte, s int) { clear(b[s : s+60]) }},
		{"length too large", 39, func(b []byte, s int) { b[s+3] = 0x7f }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			copyDir(t, pristine, dir)
			seg := segFiles(t, dir, "t", 0)[0]
			damaged := bytes.Clone(data)
			c.damage(damaged, starts[c.record])
			if err := os.WriteFile(seg, damaged, 0o644); err != nil {
				t.Fatal(err)
			}
			b, err := Open(Config{Dir: dir, Partitions: 1}, nil)
			if err == nil {
				b.Close()
				t.Fatal("Open succeeded on a corrupt log")
			}
			var ce *CorruptionError
			if !errors.As(err, &ce) {
				t.Fatalf("Open = %v, want a CorruptionError", err)
			}
			if ce.File != seg || ce.Pos != int64(starts[c.record]) || ce.Offset != int64(c.record) {
				t.Errorf("error = %+v, want file %s pos %d offset %d", ce, seg, starts[c.record], c.record)
			}
			if !strings.Contains(err.Error(), seg) || !strings.Contains(err.Error(), fmt.Sprintf("byte %d", starts[c.record])) {
				t.Errorf("error %q does not name the file and position", err)
			}
			// And the data is left as it was for a human to look at.
			after, _ := os.ReadFile(seg)
			if !bytes.Equal(after, damaged) {
				t.Error("Open changed a corrupt file")
			}
		})
	}
}

// In a segment that is not the last any damage is corruption, and so is a
// missing segment.
func TestCorruptionInEarlierSegment(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{Dir: dir, Partitions: 1, SegmentBytes: 2048}
	b := mustOpen(t, cfg, nil)
	for i := 0; i < 60; i++ {
		publish(t, b, "t", bus.Message{Value: bytes.Repeat([]byte{byte(i)}, 200)})
	}
	b.Close()
	files := segFiles(t, dir, "t", 0)
	if len(files) < 4 {
		t.Fatalf("only %d segments", len(files))
	}
	t.Run("last byte of an early segment", func(t *testing.T) {
		d := t.TempDir()
		copyDir(t, dir, d)
		f := segFiles(t, d, "t", 0)[1]
		data, _ := os.ReadFile(f)
		data[len(data)-1] ^= 0xff
		os.WriteFile(f, data, 0o644)
		_, err := Open(Config{Dir: d}, nil)
		var ce *CorruptionError
		if !errors.As(err, &ce) || ce.File != f {
			t.Fatalf("Open = %v, want corruption in %s", err, f)
		}
	})
	t.Run("truncated early segment", func(t *testing.T) {
		d := t.TempDir()
		copyDir(t, dir, d)
		f := segFiles(t, d, "t", 0)[0]
		data, _ := os.ReadFile(f)
		os.WriteFile(f, data[:len(data)-10], 0o644)
		_, err := Open(Config{Dir: d}, nil)
		var ce *CorruptionError
		if !errors.As(err, &ce) || ce.File != f {
			t.Fatalf("Open = %v, want corruption in %s", err, f)
		}
	})
	t.Run("missing segment", func(t *testing.T) {
		d := t.TempDir()
		copyDir(t, dir, d)
		fs := segFiles(t, d, "t", 0)
		os.Remove(fs[2])
		_, err := Open(Config{Dir: d}, nil)
		var ce *CorruptionError
		if !errors.As(err, &ce) || ce.File != fs[3] || !strings.Contains(err.Error(), "missing") {
			t.Fatalf("Open = %v, want records missing before %s", err, fs[3])
		}
	})
}

func TestUnreadableMetadata(t *testing.T) {
	dir := t.TempDir()
	b := mustOpen(t, Config{Dir: dir, Partitions: 2}, nil)
	publish(t, b, "t", bus.Message{Value: []byte("x")})
	sub, err := b.Subscribe(context.Background(), "t", bus.SubscribeOptions{Group: "g"})
	if err != nil {
		t.Fatal(err)
	}
	d, err := sub.Receive(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	d.Ack()
	sub.Close()
	b.Close()
	for _, c := range []struct {
		file    string
		content string
	}{
		{filepath.Join(dir, "topics", "t", "topic.json"), "{not json"},
		{filepath.Join(dir, "topics", "t", "topic.json"), `{"partitions": 0}`},
		{filepath.Join(dir, "topics", "t", "groups", "g.json"), "\x00\x00garbage"},
		{filepath.Join(dir, "topics", "t", "groups", "g.json"), `{"group":"g","offsets":{"7":1}}`},
	} {
		d := t.TempDir()
		copyDir(t, dir, d)
		f := filepath.Join(d, strings.TrimPrefix(c.file, dir))
		if err := os.WriteFile(f, []byte(c.content), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := Open(Config{Dir: d}, nil)
		if err == nil || !strings.Contains(err.Error(), f) {
			t.Errorf("Open with %s = %q: %v, want an error naming the file", filepath.Base(f), c.content, err)
		}
	}
}

func TestPartitionCountKeptOnReopen(t *testing.T) {
	dir := t.TempDir()
	b := mustOpen(t, Config{Dir: dir, Partitions: 3}, nil)
	publish(t, b, "t", bus.Message{Key: []byte("a")})
	b.Close()
	b = mustOpen(t, Config{Dir: dir, Partitions: 8}, nil)
	defer b.Close()
	if n := len(b.topics["t"].parts); n != 3 {
		t.Fatalf("topic reopened with %d partitions, want the 3 it was created with", n)
	}
	publish(t, b, "t2", bus.Message{Key: []byte("a")})
	if n := len(b.topics["t2"].parts); n != 8 {
		t.Fatalf("new topic has %d partitions, want 8", n)
	}
	for i := 0; i < 50; i++ {
		publish(t, b, "t", bus.Message{Key: []byte(fmt.Sprint(i))})
	}
	for _, d := range readAll(t, b, "t", bus.SubscribeOptions{}, 51) {
		if d.Partition >= 3 {
			t.Fatalf("record in partition %d of a 3-partition topic", d.Partition)
		}
	}
}

func TestDirectoryLocked(t *testing.T) {
	dir := t.TempDir()
	b := mustOpen(t, Config{Dir: dir}, nil)
	_, err := Open(Config{Dir: dir}, nil)
	if err == nil || !strings.Contains(err.Error(), "in use") || !strings.Contains(err.Error(), dir) {
		t.Fatalf("second Open = %v, want an in-use error naming %s", err, dir)
	}
	b.Close()
	b = mustOpen(t, Config{Dir: dir}, nil)
	b.Close()
}

// A record is readable only once it is synced: a reader waiting while the
// writer is inside fdatasync sees nothing until the sync is done.
func TestNothingReadBeforeSync(t *testing.T) {
	b := mustOpen(t, Config{Dir: t.TempDir(), Partitions: 1}, nil)
	defer b.Close()
	publish(t, b, "t", bus.Message{Value: []byte("first")})
	sub, err := b.Subscribe(context.Background(), "t", bus.SubscribeOptions{Start: bus.StartLatest})
	if err != nil {
		t.Fatal(err)
	}
	inSync := make(chan struct{})
	release := make(chan struct{})
	testHookSync = func() {
		close(inSync)
		<-release
	}
	defer func() { testHookSync = nil }()
	published := make(chan error, 1)
	go func() { published <- b.Publish(context.Background(), "t", bus.Message{Value: []byte("second")}) }()
	<-inSync
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	d, err := sub.Receive(ctx)
	cancel()
	if err == nil {
		t.Fatalf("received %q while its write was not yet synced", d.Value)
	}
	select {
	case err := <-published:
		t.Fatalf("Publish returned (%v) before the sync", err)
	default:
	}
	testHookSync = nil
	close(release)
	if err := <-published; err != nil {
		t.Fatal(err)
	}
	d, err = sub.Receive(context.Background())
	if err != nil || string(d.Value) != "second" {
		t.Fatalf("after the sync: %v %v", d, err)
	}
}

// Restarts that leave the active segment empty (trimmed to nothing by
// Close) replace it in place, keeping the offsets going, also when
// retention deleted every older segment.
func TestRestartWithEmptyActiveSegment(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{Dir: dir, Partitions: 1, SegmentBytes: 1024, RetentionBytes: 1}
	b := mustOpen(t, cfg, nil)
	if _, err := b.Subscribe(context.Background(), "t", bus.SubscribeOptions{}); err != nil {
		t.Fatal(err) // creates the topic, publishes nothing
	}
	b.Close()
	for round := 0; round < 3; round++ {
		b = mustOpen(t, cfg, nil)
		for i := 0; i < 5; i++ {
			publish(t, b, "t", bus.Message{Value: bytes.Repeat([]byte("x"), 400)})
		}
		// Retention keeps only the active segment, which the next publish
		// after a restart replaces when it is empty.
		b.Close()
	}
	b = mustOpen(t, cfg, nil)
	defer b.Close()
	p := b.topics["t"].parts[0]
	if p.durable.Load() != 15 {
		t.Fatalf("log ends at %d after 3 rounds of 5, want 15", p.durable.Load())
	}
	publish(t, b, "t", bus.Message{Value: []byte("last")})
	got := readAll(t, b, "t", bus.SubscribeOptions{}, int(16-p.oldest()))
	if d := got[len(got)-1]; d.Offset != 15 || string(d.Value) != "last" {
		t.Fatalf("last record %s %q", d, d.Value)
	}
	for _, f := range segFiles(t, dir, "t", 0) {
		if strings.Contains(f, ".tmp") {
			t.Errorf("temporary file left: %s", f)
		}
	}
}

// The zero-filling variant of preallocation (off by default) keeps the
// same format: the log reopens and reads back.
func TestZeroFilledSegments(t *testing.T) {
	zeroFill = true
	defer func() { zeroFill = false }()
	dir := t.TempDir()
	b := mustOpen(t, Config{Dir: dir, Partitions: 1, SegmentBytes: 8192}, nil)
	for i := 0; i < 30; i++ {
		publish(t, b, "t", bus.Message{Value: bytes.Repeat([]byte{'a' + byte(i%26)}, 500)})
	}
	b.Close()
	b = mustOpen(t, Config{Dir: dir}, nil)
	defer b.Close()
	got := readAll(t, b, "t", bus.SubscribeOptions{}, 30)
	for i, d := range got {
		if d.Offset != int64(i) || d.Value[0] != 'a'+byte(i%26) {
			t.Fatalf("record %d: %s %q", i, d, d.Value[:1])
		}
	}
}
