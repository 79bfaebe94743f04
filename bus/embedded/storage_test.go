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
	"sync/atomic"
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

// crashedLog builds a one-partition log as a crash leaves it: 40 records
// published one per Publish (each its own commit cycle), then 20 in one
// Publish, with no checkpoint since the topic was created, copied while
// the bus is open (so the partition file was never synced on its own: the
// WAL holds every record). It returns the copy's directory, the partition
// segment's bytes and frame starts, and the WAL segment's path and entry
// positions.
func crashedLog(t *testing.T) (dir string, data []byte, starts []int, walFile string, entries []int) {
	live := t.TempDir()
	b := mustOpen(t, Config{Dir: live, Partitions: 1, SegmentBytes: 1 << 20, CheckpointInterval: time.Hour}, nil)
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
	b.flushHeld(t)
	dir = t.TempDir()
	copyDir(t, live, dir)
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
	if len(starts) != 60 {
		t.Fatalf("%d frames", len(starts))
	}
	data = data[:end]
	walFile, _, _, entries = walEntries(t, dir)
	if len(entries) != 41 {
		t.Fatalf("%d WAL entries, want 41 (one per cycle)", len(entries))
	}
	return dir, data, starts, walFile, entries
}

// walEntries reads the one WAL segment of the bus in dir: its path, its
// bytes, and its live entries from the start and where each is.
func walEntries(t *testing.T, dir string) (file string, raw []byte, entries []walEntry, at []int) {
	t.Helper()
	wals, _ := filepath.Glob(filepath.Join(dir, "wal", "*.wal"))
	if len(wals) != 1 {
		t.Fatalf("WAL segments: %v", wals)
	}
	raw, err := os.ReadFile(wals[0])
	if err != nil {
		t.Fatal(err)
	}
	for pos := 0; ; {
		e, err := checkWALEntry(raw[pos:], int64(pos))
		if err != nil {
			break
		}
		entries, at = append(entries, e), append(at, pos)
		pos += e.size
	}
	return wals[0], raw, entries, at
}

// checkRecords reads the log of dir and checks it holds records 0..n-1 of
// crashedLog, then that it goes on after a restart.
func checkRecords(t *testing.T, dir string, n int, log *slog.Logger) {
	t.Helper()
	b := mustOpen(t, Config{Dir: dir, Partitions: 1, SegmentBytes: 1 << 20}, log)
	got := readAll(t, b, "t", bus.SubscribeOptions{}, n)
	if end := b.topics["t"].parts[0].end.Load(); end != int64(n) {
		t.Fatalf("log ends at offset %d after recovery, want %d", end, n)
	}
	for i, d := range got {
		if d.Offset != int64(i) || string(d.Key) != fmt.Sprint(i) || len(d.Headers) != 1 || string(d.Headers[0].Value) != fmt.Sprint(i) {
			t.Fatalf("record %d = %s key %q", i, d, d.Key)
		}
	}
	publish(t, b, "t", bus.Message{Key: []byte("after")})
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	b = mustOpen(t, Config{Dir: dir, Partitions: 1}, nil)
	defer b.Close()
	got = readAll(t, b, "t", bus.SubscribeOptions{}, n+1)
	if d := got[n]; d.Offset != int64(n) || string(d.Key) != "after" {
		t.Fatalf("record after recovery = %s %q", d, d.Key)
	}
}

// A crash leaves a partition file that was never synced on its own in any
// state past the last checkpoint: cut short, zeroed, garbled, with holes.
// Open cuts it at the first damaged record, logs the cut, and the WAL
// replay restores every acknowledged record.
func TestUnsyncedPartitionTailReplayed(t *testing.T) {
	pristine, data, _, _, _ := crashedLog(t)
	seed0 := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed0)
	rng := rand.New(rand.NewPCG(seed0, 4))
	kinds := []string{"truncate", "zeros", "garbage", "hole"}
	for round := 0; round < 40; round++ {
		kind := kinds[round%len(kinds)]
		cut := rng.IntN(len(data))
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
				damaged = append(damaged, make([]byte, 4096)...)
			case "garbage":
				for i := cut; i < len(damaged); i++ {
					damaged[i] = byte(rng.Uint32())
				}
			case "hole":
				clear(damaged[cut:min(len(damaged), cut+1+rng.IntN(600))])
			}
			if err := os.WriteFile(seg, damaged, 0o644); err != nil {
				t.Fatal(err)
			}
			var logs syncBuffer
			checkRecords(t, dir, 60, slog.New(slog.NewTextHandler(&logs, nil)))
			if kind == "garbage" {
				if l := logs.String(); !strings.Contains(l, "unsynced tail") || !strings.Contains(l, "partition=0") || !strings.Contains(l, "topic=t") {
					t.Errorf("no log of the cut naming topic and partition: %q", l)
				}
			}
		})
	}
}

// A crash in the middle of a commit cycle leaves the WAL's last write torn
// (it was never acknowledged) and the partition without that cycle's
// records: Open cuts the torn entry, logs it, and keeps everything before.
func TestWALTornTail(t *testing.T) {
	pristine, data, starts, walFile, entries := crashedLog(t)
	lastEntry := entries[40]
	for _, kind := range []string{"truncate", "garbage", "zeros", "bit flip"} {
		t.Run(kind, func(t *testing.T) {
			dir := t.TempDir()
			copyDir(t, pristine, dir)
			wf := filepath.Join(dir, "wal", filepath.Base(walFile))
			raw, err := os.ReadFile(wf)
			if err != nil {
				t.Fatal(err)
			}
			cut := lastEntry + 100
			switch kind {
			case "truncate":
				raw = raw[:cut]
			case "garbage":
				for i := cut; i < cut+2000; i++ {
					raw[i] = byte(i*7 + 1)
				}
			case "zeros":
				clear(raw[cut : cut+1500])
			case "bit flip":
				raw[cut] ^= 4
			}
			if err := os.WriteFile(wf, raw, 0o644); err != nil {
				t.Fatal(err)
			}
			// The partition never got the last cycle's records.
			seg := segFiles(t, dir, "t", 0)[0]
			if err := os.WriteFile(seg, data[:starts[40]], 0o644); err != nil {
				t.Fatal(err)
			}
			var logs syncBuffer
			checkRecords(t, dir, 40, slog.New(slog.NewTextHandler(&logs, nil)))
			if l := logs.String(); !strings.Contains(l, "torn tail of the write-ahead log") || !strings.Contains(l, fmt.Sprintf("pos=%d", lastEntry)) {
				t.Errorf("no log of the WAL cut at %d: %q", lastEntry, l)
			}
		})
	}
}

// Writes go to the WAL before they are synced, so a crash can leave
// several unsynced writes, any of whose pages may be lost while later ones
// survive. Damage followed by intact entries that were written before the
// damaged bytes were synced is such a tail, not corruption: Open cuts it
// at the damage, logs it, and keeps everything before.
func TestWALUnsyncedWritesTornTail(t *testing.T) {
	live := t.TempDir()
	b := mustOpen(t, Config{Dir: live, Partitions: 1, SegmentBytes: 1 << 20, CheckpointInterval: time.Hour}, nil)
	msg := func(i int) bus.Message {
		return bus.Message{Key: []byte(fmt.Sprint(i)), Value: []byte(strings.Repeat("v", 50+i)), Headers: []bus.Header{{Key: "i", Value: []byte(fmt.Sprint(i))}}}
	}
	for i := range 5 {
		publish(t, b, "t", msg(i))
	}
	inSync, release := holdSyncs()
	defer release()
	p := b.topics["t"].parts[0]
	errs := make(chan error, 4)
	for i := 5; i < 9; i++ {
		go func() { errs <- b.Publish(context.Background(), "t", msg(i)) }()
		// Each its own cycle: the next is enqueued once this one is
		// written (and, from the first on, waits for a sync that hangs).
		for p.end.Load() != int64(i+1) {
			time.Sleep(time.Millisecond)
		}
	}
	<-inSync
	b.flushHeld(t)
	crashed := t.TempDir()
	copyDir(t, live, crashed)
	release()
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}

	walFile, raw, entries, at := walEntries(t, crashed)
	if len(entries) != 9 {
		t.Fatalf("%d WAL entries, want 9 (one per cycle)", len(entries))
	}
	for i := 6; i < 9; i++ {
		if entries[i].synced > int64(at[6]) {
			t.Fatalf("entry %d says the WAL was synced up to %d, past entry 6 at %d, which was never synced", i, entries[i].synced, at[6])
		}
	}
	// Entry 6 lost, 7 and 8 kept; the partition lost records 6 on.
	raw[at[6]+50] ^= 0x20
	if err := os.WriteFile(walFile, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	seg := segFiles(t, crashed, "t", 0)[0]
	data, err := os.ReadFile(seg)
	if err != nil {
		t.Fatal(err)
	}
	starts, _ := frames(t, data)
	if err := os.WriteFile(seg, data[:starts[6]], 0o644); err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	checkRecords(t, crashed, 6, slog.New(slog.NewTextHandler(&logs, nil)))
	if l := logs.String(); !strings.Contains(l, "torn tail of the write-ahead log") || !strings.Contains(l, fmt.Sprintf("pos=%d", at[6])) {
		t.Errorf("no log of the WAL cut at %d: %q", at[6], l)
	}
}

// Damage to a WAL entry followed by an entry of a later write is corruption
// of acknowledged data: Open refuses, naming the WAL file and position,
// and changes nothing.
func TestWALCorruptionRefused(t *testing.T) {
	pristine, _, _, walFile, entries := crashedLog(t)
	for _, c := range []struct {
		name  string
		entry int
		hurt  func(b []byte)
	}{
		{"bit flip in a record", 10, func(b []byte) { b[60] ^= 0x10 }},
		{"zeroed length", 25, func(b []byte) { clear(b[:4]) }},
		{"zeroed entry", 0, func(b []byte) { clear(b[:50]) }},
		{"length too large", 39, func(b []byte) { b[3] = 0x7f }},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			copyDir(t, pristine, dir)
			wf := filepath.Join(dir, "wal", filepath.Base(walFile))
			raw, err := os.ReadFile(wf)
			if err != nil {
				t.Fatal(err)
			}
			c.hurt(raw[entries[c.entry]:])
			if err := os.WriteFile(wf, raw, 0o644); err != nil {
				t.Fatal(err)
			}
			b, err := Open(Config{Dir: dir, Partitions: 1}, nil)
			if err == nil {
				b.Close()
				t.Fatal("Open succeeded on a corrupt write-ahead log")
			}
			var ce *CorruptionError
			if !errors.As(err, &ce) {
				t.Fatalf("Open = %v, want a CorruptionError", err)
			}
			if ce.File != wf || ce.Pos != int64(entries[c.entry]) {
				t.Errorf("error = %+v, want file %s pos %d", ce, wf, entries[c.entry])
			}
			after, _ := os.ReadFile(wf)
			if !bytes.Equal(after, raw) {
				t.Error("Open changed a corrupt write-ahead log")
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

// holdSyncs makes the WAL's fdatasyncs wait until release is called
// (release may be called more than once: a test defers it, so that a
// failure does not leave Close waiting for a sync). inSync is closed when
// the first sync starts waiting.
func holdSyncs() (inSync <-chan struct{}, release func()) {
	in, rel := make(chan struct{}), make(chan struct{})
	var started, released sync.Once
	testHookSync = func() {
		started.Do(func() { close(in) })
		<-rel
	}
	return in, func() {
		released.Do(func() {
			testHookSync = nil
			close(rel)
		})
	}
}

// A record is readable once it is written, and acknowledged only once it
// is synced: while the syncer is inside fdatasync, a reader already gets
// the record (from the tail cache), and Publish has not returned.
func TestReadBeforeSyncAckAfter(t *testing.T) {
	b := mustOpen(t, Config{Dir: t.TempDir(), Partitions: 1}, nil)
	defer b.Close()
	publish(t, b, "t", bus.Message{Value: []byte("first")})
	sub, err := b.Subscribe(context.Background(), "t", bus.SubscribeOptions{Start: bus.StartLatest})
	if err != nil {
		t.Fatal(err)
	}
	inSync, release := holdSyncs()
	defer release()
	published := make(chan error, 1)
	go func() { published <- b.Publish(context.Background(), "t", bus.Message{Value: []byte("second")}) }()
	<-inSync
	p := b.topics["t"].parts[0]
	if r := p.tail.get(1); r == nil || string(r.d.Message.Value) != "second" {
		t.Fatal("the tail cache does not hold the written record while it is being synced")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	d, err := sub.Receive(ctx)
	cancel()
	if err != nil || string(d.Value) != "second" {
		t.Fatalf("while the sync is under way: %v %v, want the written record", d, err)
	}
	select {
	case err := <-published:
		t.Fatalf("Publish returned (%v) before the sync", err)
	case <-time.After(200 * time.Millisecond):
	}
	release()
	if err := <-published; err != nil {
		t.Fatal(err)
	}
	b.cm.w.mu.Lock()
	written := b.cm.w.pos
	b.cm.w.mu.Unlock()
	if got := b.cm.w.synced.Load(); got != written {
		t.Fatalf("after Publish returned the WAL is synced up to %d, written up to %d", got, written)
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
	if p.end.Load() != 15 {
		t.Fatalf("log ends at %d after 3 rounds of 5, want 15", p.end.Load())
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

// A checkpoint syncs the partitions, records how far they are durable and
// drops the WAL before it (keeping spares to recycle); a crash after it
// replays only the WAL written since, and loses nothing.
func TestCheckpointDropsWAL(t *testing.T) {
	saved := walCheckpointBytes
	walCheckpointBytes = 256 << 10
	defer func() { walCheckpointBytes = saved }()
	live := t.TempDir()
	b := mustOpen(t, Config{Dir: live, Partitions: 2, CheckpointInterval: time.Hour}, nil)
	defer b.Close()
	value := bytes.Repeat([]byte("v"), 1000)
	batch := func(from int) []bus.Message {
		msgs := make([]bus.Message, 10)
		for i := range msgs {
			msgs[i] = bus.Message{Key: []byte(fmt.Sprint(from + i)), Value: value}
		}
		return msgs
	}
	for i := 0; i < 3000; i += 10 {
		publish(t, b, "t", batch(i)...)
	}
	if err := b.cm.checkpoint(); err != nil {
		t.Fatal(err)
	}
	cp, err := readCheckpoint(filepath.Join(live, "wal"))
	if err != nil {
		t.Fatal(err)
	}
	if ends := cp.Partitions["t"]; len(ends) != 2 || ends[0]+ends[1] != 3000 {
		t.Fatalf("checkpoint partitions = %v, want ends adding up to 3000", cp.Partitions)
	}
	b.cm.w.mu.Lock()
	pos := b.cm.w.pos
	b.cm.w.mu.Unlock()
	if cp.WAL != pos || pos < 3<<20 {
		t.Fatalf("checkpoint at WAL position %d, the WAL is at %d (3000 KB published)", cp.WAL, pos)
	}
	wals, _ := filepath.Glob(filepath.Join(live, "wal", "*.wal"))
	spares, _ := filepath.Glob(filepath.Join(live, "wal", "*.free"))
	if len(wals) != 1 || len(spares) == 0 || len(spares) > walKeepSpares {
		t.Fatalf("after a checkpoint: WAL segments %v, spares %v; want only the active one and 1..%d spares", wals, spares, walKeepSpares)
	}
	for i := 3000; i < 3100; i += 10 {
		publish(t, b, "t", batch(i)...)
	}
	b.flushHeld(t)
	crash := t.TempDir()
	copyDir(t, live, crash)
	// Lose what the partitions got after the checkpoint, as a crash
	// before the page cache reached the disk may.
	for p := 0; p < 2; p++ {
		f := segFiles(t, crash, "t", p)
		last := f[len(f)-1]
		raw, _ := os.ReadFile(last)
		starts, _ := frames(t, raw)
		cleared := false
		for _, s := range starts {
			if h, _ := checkFrame(raw[s:]); h.offset == cp.Partitions["t"][p] {
				clear(raw[s:])
				cleared = true
				break
			}
		}
		if !cleared {
			t.Fatalf("partition %d: no record at the checkpointed offset %d in %s", p, cp.Partitions["t"][p], last)
		}
		if err := os.WriteFile(last, raw, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b2 := mustOpen(t, Config{Dir: crash}, nil)
	defer b2.Close()
	got := readAll(t, b2, "t", bus.SubscribeOptions{}, 3100)
	seen := map[string]bool{}
	for _, d := range got {
		seen[string(d.Key)] = true
	}
	if len(seen) != 3100 {
		t.Fatalf("%d distinct records after the crash, want 3100", len(seen))
	}
}

// Before the WAL moves to a new segment it syncs the one it leaves, so
// that only the last segment can ever hold unsynced writes (recovery
// relies on it). With the syncer held inside its first fdatasync, writes
// that fill the first segment make the committer sync it itself.
func TestWALSegmentSyncedBeforeTheNext(t *testing.T) {
	b := mustOpen(t, Config{Dir: t.TempDir(), Partitions: 1}, nil)
	defer b.Close()
	publish(t, b, "t", bus.Message{Value: []byte("first")})
	var calls atomic.Int32
	rel := make(chan struct{})
	var released sync.Once
	release := func() { released.Do(func() { close(rel) }) }
	defer release()
	testHookSync = func() {
		calls.Add(1)
		<-rel
	}
	defer func() { testHookSync = nil }()
	value := bytes.Repeat([]byte("v"), 10<<10)
	n := int(walFirstSegment/int64(len(value))) + 10
	errs := make(chan error, n)
	p := b.topics["t"].parts[0]
	for i := range n {
		go func() { errs <- b.Publish(context.Background(), "t", bus.Message{Value: value}) }()
		// One cycle each (one write), so that a write finds the first
		// segment full rather than making it as big as itself.
		for p.end.Load() != int64(i+2) && calls.Load() < 2 {
			time.Sleep(100 * time.Microsecond)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for calls.Load() < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("%d syncs asked for after writing past the first WAL segment, want the syncer's and the committer's", calls.Load())
		}
		time.Sleep(time.Millisecond)
	}
	testHookSync = nil
	release()
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	w := b.cm.w
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.segs) < 2 {
		t.Fatalf("%d WAL segments after %d bytes, want a second one", len(w.segs), n*len(value))
	}
	if got := w.synced.Load(); got < w.segs[len(w.segs)-1].base {
		t.Fatalf("the WAL is synced up to %d, short of the last segment's start %d", got, w.segs[len(w.segs)-1].base)
	}
}
