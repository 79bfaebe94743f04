package embedded

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	"github.com/hotline-hub/hotline/bus"
)

// heldMsg is record i of the held-bytes tests: sizes vary so that flushes
// and chunk reads fall at every kind of position in a frame.
func heldMsg(rng *rand.Rand, i int) bus.Message {
	return bus.Message{Key: fmt.Appendf(nil, "k%d", i), Value: randBytes(rng, 20+rng.IntN(900)),
		Headers: []bus.Header{{Key: "i", Value: fmt.Appendf(nil, "%d", i)}}}
}

// The active segment's newest records wait in memory: the file does not
// have them yet, readers do, and a checkpoint, a roll or a close writes
// them. Every read of a byte range, across the held bytes' start or not,
// returns the segment's bytes.
func TestHeldBytesReadBeforeTheFileHasThem(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{Dir: dir, Partitions: 1, SegmentBytes: 1 << 20, CheckpointInterval: time.Hour}
	b := mustOpen(t, cfg, nil)
	defer b.Close()
	b.tailRecords, b.tailBytes = 0, 0 // every read from the segment
	rng := rand.New(rand.NewPCG(3, 4))
	var want []bus.Message
	for i := range 200 { // some 100 KB: a flush, then held bytes
		m := heldMsg(rng, i)
		want = append(want, m)
		publish(t, b, "t", m)
	}
	p := b.topics["t"].parts[0]
	s := p.active()
	size := s.size.Load()
	s.heldMu.Lock()
	heldAt, held := s.heldAt, len(s.held)
	s.heldMu.Unlock()
	if heldAt < flushAt || held == 0 || heldAt+int64(held) != size {
		t.Fatalf("segment of %d bytes: %d held from %d; want a flush (at %d bytes) and bytes held since", size, held, heldAt, flushAt)
	}
	file, err := os.ReadFile(s.path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(file[heldAt:size], make([]byte, size-heldAt)) {
		t.Fatal("the file has the held bytes before a flush")
	}

	// The whole segment as readers see it, then every range of a grid.
	whole := make([]byte, size)
	if err := s.readAt(whole, 0); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(whole[:heldAt], file[:heldAt]) {
		t.Fatal("the written part differs from the file")
	}
	starts, end := frames(t, whole)
	if len(starts) != len(want) || int64(end) != size {
		t.Fatalf("%d frames ending at %d, want %d ending at %d", len(starts), end, len(want), size)
	}
	for pos := int64(0); pos < size; pos += 997 {
		for _, n := range []int64{1, 100, 4096, heldAt - pos, heldAt - pos + 1, size - pos} {
			if n <= 0 || pos+n > size {
				continue
			}
			got := make([]byte, n)
			if err := s.readAt(got, pos); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, whole[pos:pos+n]) {
				t.Fatalf("readAt(%d bytes at %d) differs, held from %d", n, pos, heldAt)
			}
		}
	}

	got, fromRing := readCursor(t, p, 0)
	if len(got) != len(want) {
		t.Fatalf("cursor read %d records, want %d", len(got), len(want))
	}
	for i, d := range got {
		if fromRing[i] || !bytes.Equal(d.Key, want[i].Key) || !bytes.Equal(d.Value, want[i].Value) ||
			string(d.Headers[0].Value) != fmt.Sprint(i) {
			t.Fatalf("record %d differs from what was published (from the ring: %v)", i, fromRing[i])
		}
	}

	if err := b.cm.checkpoint(); err != nil {
		t.Fatal(err)
	}
	if file, err = os.ReadFile(s.path); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(file[:size], whole) {
		t.Fatal("after a checkpoint the file does not hold every record")
	}
	s.heldMu.Lock()
	held = len(s.held)
	s.heldMu.Unlock()
	if held != 0 {
		t.Fatalf("%d bytes still held after a checkpoint", held)
	}
}

// Readers tailing while records are held, flushed and segments roll (run
// with -race) get every record once, in order; a close writes what is
// held, and the reopened log has every record without a replay's help.
func TestHeldBytesTailedAcrossFlushesAndRolls(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{Dir: dir, Partitions: 1, SegmentBytes: 96 << 10, CheckpointInterval: time.Hour}
	b := mustOpen(t, cfg, nil)
	b.tailRecords, b.tailBytes = 0, 0
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sub, err := b.Subscribe(ctx, "t", bus.SubscribeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(5, 6))
	const n = 1500 // some 700 KB: several rolls
	want := make([]bus.Message, n)
	for i := range want {
		want[i] = heldMsg(rng, i)
	}
	done := make(chan error, 1)
	go func() {
		for i := 0; i < n; {
			k := min(n-i, 1+i%3)
			if err := b.Publish(ctx, "t", want[i:i+k]...); err != nil {
				done <- err
				return
			}
			i += k
		}
		done <- nil
	}()
	for i := range n {
		d, err := sub.Receive(ctx)
		if err != nil {
			t.Fatalf("receive %d: %v", i, err)
		}
		if d.Offset != int64(i) || !bytes.Equal(d.Value, want[i].Value) || !bytes.Equal(d.Key, want[i].Key) {
			t.Fatalf("record %d: offset %d, or bytes differ from what was published", i, d.Offset)
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	sub.Close()
	if segs := segFiles(t, dir, "t", 0); len(segs) < 4 {
		t.Fatalf("%d segments, want rolls", len(segs))
	}
	p := b.topics["t"].parts[0]
	p.segMu.RLock()
	for _, sg := range p.segs[:len(p.segs)-1] {
		sg.heldMu.Lock()
		if sg.held != nil {
			t.Errorf("sealed segment %s keeps a buffer of %d bytes", sg.path, cap(sg.held))
		}
		sg.heldMu.Unlock()
	}
	p.segMu.RUnlock()
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	// The files alone, without the WAL, hold every record after a close.
	if err := os.RemoveAll(dir + "/wal"); err != nil {
		t.Fatal(err)
	}
	b = mustOpen(t, cfg, nil)
	defer b.Close()
	got := readAll(t, b, "t", bus.SubscribeOptions{}, n)
	for i, d := range got {
		if !bytes.Equal(d.Value, want[i].Value) {
			t.Fatalf("after reopening, record %d differs", i)
		}
	}
}
