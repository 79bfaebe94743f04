package embedded

import (
	"bytes"
	"context"
	"errors"
	"reflect"
	"testing"
	"time"
	"unsafe"

	"github.com/hotline-hub/hotline/bus"
)

// keepCases are published messages in every shape the frame encoding
// normalises: the ring must deliver each exactly as a file read does.
func keepCases() []bus.Message {
	binary := make([]byte, 700)
	for i := range binary {
		binary[i] = byte(i * 13)
	}
	spare := make([]byte, 500, 900) // kept: capacity within 2*len+256
	copy(spare, "spare capacity")
	big := make([]byte, 10, 64<<10) // copied: would pin 64 KiB for 10 bytes
	copy(big, "big buffer")
	bigKey := make([]byte, 3, 4096)
	copy(bigKey, "bkk")
	return []bus.Message{
		{Key: nil, Value: []byte("nil key")},
		{Key: []byte{}, Value: []byte("empty key")},
		{Key: []byte("k"), Value: []byte("no headers"), Headers: nil},
		{Key: []byte("k"), Value: []byte("empty header slice"), Headers: []bus.Header{}},
		{Key: []byte("k"), Value: []byte("empty header values"), Headers: []bus.Header{
			{Key: "nil", Value: nil}, {Key: "empty", Value: []byte{}}, {Key: "", Value: []byte("unnamed")}}},
		{Key: []byte("k"), Value: nil, Headers: []bus.Header{{Key: "what", Value: []byte("nil value")}}},
		{Key: []byte("k"), Value: []byte{}, Headers: []bus.Header{{Key: "what", Value: []byte("empty value")}}},
		{Key: []byte{0, 0xff, 0}, Value: binary, Headers: []bus.Header{{Key: "bin", Value: []byte{0, 1, 0xff, 0}}}},
		{Key: []byte("k"), Value: spare},
		{Key: []byte("k"), Value: big, Headers: []bus.Header{{Key: "h", Value: big[:4]}}},
		{Key: bigKey, Value: []byte("key in a big buffer")},
		{Key: []byte("dup"), Value: []byte("repeated headers"), Headers: []bus.Header{
			{Key: "ce_id", Value: []byte("a")}, {Key: "ce_id", Value: []byte("b")}}},
	}
}

// fromRing reads the partition from off to its written end and fails
// unless every record came from the ring.
func fromRing(t *testing.T, p *partition, off int64) []*bus.Delivery {
	t.Helper()
	got, ring := readCursor(t, p, off)
	for i, r := range ring {
		if !r {
			t.Fatalf("%s was read from the files, want the ring", got[i])
		}
	}
	return got
}

// sameMemory reports whether a and b start at the same byte.
func sameMemory(a, b []byte) bool {
	return len(a) > 0 && len(b) > 0 && unsafe.SliceData(a) == unsafe.SliceData(b)
}

// The ring holds the publishers' messages, normalised: every delivery from
// it is reflect.DeepEqual to a file read of the same record (after a
// reopen, when the ring is empty), across batches split by segment rolls.
// Kept slices are capped to their length and share the publisher's
// buffer, unless its capacity is much larger (then they are copies).
func TestTailCacheKeepsPublishedMessages(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{Dir: dir, Partitions: 1, SegmentBytes: 16 << 10}
	b := mustOpen(t, cfg, nil)
	var published []bus.Message
	pub := func(msgs ...bus.Message) {
		publish(t, b, "t", msgs...)
		published = append(published, msgs...)
	}
	cases := keepCases()
	for _, m := range cases {
		pub(m)
	}
	pub(cases...) // all in one batch too
	// Many records over several batches, each batch bigger than a segment:
	// a batch's frames go to the files in chunks split by the rolls.
	for i := 0; i < 300; i += 50 {
		batch := make([]bus.Message, 0, 50)
		for j := i; j < i+50; j++ {
			m := tailMsg(j)
			m.Value = append(m.Value, bytes.Repeat([]byte{'.'}, 300)...)
			batch = append(batch, m)
		}
		pub(batch...)
	}
	p := b.topics["t"].parts[0]
	p.segMu.RLock()
	segs := len(p.segs)
	p.segMu.RUnlock()
	if segs < 5 {
		t.Fatalf("%d segments: the test needs batches split by rolls", segs)
	}
	n := int64(len(published))
	if held, _, first := p.tail.stats(); first != 0 || held != int(n) {
		t.Fatalf("ring holds %d records from %d, want all %d", held, first, n)
	}
	ring := fromRing(t, p, 0)
	if int64(len(ring)) != n {
		t.Fatalf("read %d records from the ring, want %d", len(ring), n)
	}

	for i, d := range ring {
		m, src := d.Message, published[i]
		for _, s := range [][]byte{m.Key, m.Value} {
			if cap(s) != len(s) {
				t.Fatalf("%s: a kept slice has capacity %d for length %d", d, cap(s), len(s))
			}
		}
		for _, h := range m.Headers {
			if cap(h.Value) != len(h.Value) {
				t.Fatalf("%s: header %s has capacity %d for length %d", d, h.Key, cap(h.Value), len(h.Value))
			}
		}
		if len(src.Value) > 0 {
			copied := cap(src.Value) > 2*len(src.Value)+256
			if shared := sameMemory(m.Value, src.Value); shared == copied {
				t.Fatalf("%s: value of %d bytes (capacity %d) shares the publisher's buffer: %v", d, len(src.Value), cap(src.Value), shared)
			}
		}
		if len(src.Key) > 0 && cap(src.Key) > 2*len(src.Key)+256 && sameMemory(m.Key, src.Key) {
			t.Fatalf("%s: a 3-byte key pins the publisher's %d-byte buffer", d, cap(src.Key))
		}
	}
	// A header slice already as the ring keeps it is the publisher's (no
	// copy per record); one with a value to normalise is the ring's own.
	for i, c := range cases {
		if len(c.Headers) == 0 {
			continue
		}
		_, _, asKept := keptHeaders(c.Headers)
		shared := unsafe.SliceData(ring[i].Headers) == unsafe.SliceData(c.Headers)
		if shared != asKept {
			t.Fatalf("%s: headers shared with the publisher: %v, want %v", ring[i], shared, asKept)
		}
	}
	// Header names of a rebuilt slice are interned: records share one
	// string per name ("nil" of the case with empty header values).
	const emptyValues = 4 // keepCases' record with empty header values
	if a := ring[emptyValues].Headers[0].Key; unsafe.StringData(a) == unsafe.StringData(cases[emptyValues].Headers[0].Key) {
		t.Fatal("a rebuilt header slice kept the publisher's name instead of the interned one")
	}
	if a, b := ring[emptyValues].Headers[0].Key, ring[len(cases)+emptyValues].Headers[0].Key; unsafe.StringData(a) != unsafe.StringData(b) {
		t.Fatal("header names of two records are not one interned string")
	}

	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	b = mustOpen(t, cfg, nil)
	defer b.Close()
	p = b.topics["t"].parts[0]
	files, fromR := readCursor(t, p, 0)
	if int64(len(files)) != n {
		t.Fatalf("after reopen read %d records, want %d", len(files), n)
	}
	for i, d := range files {
		if fromR[i] {
			t.Fatalf("after reopen %s came from the ring", d)
		}
		if !reflect.DeepEqual(ring[i].Message, d.Message) {
			t.Fatalf("%s: ring delivery %#v, file read %#v", d, ring[i].Message, d.Message)
		}
		if !ring[i].Time.Equal(d.Time) {
			t.Fatalf("%s: ring time %v, file time %v", d, ring[i].Time, d.Time)
		}
		if !bytes.Equal(d.Value, published[i].Value) || !bytes.Equal(d.Key, published[i].Key) {
			t.Fatalf("%s: stored %q/%q, published %q/%q", d, d.Key, d.Value, published[i].Key, published[i].Value)
		}
	}
}

// A consumer's append to a delivered slice cannot write into the
// publisher's buffer: kept slices have no spare capacity.
func TestTailCacheKeptAppendDoesNotWrite(t *testing.T) {
	b := mustOpen(t, Config{Dir: t.TempDir(), Partitions: 1}, nil)
	defer b.Close()
	buf := make([]byte, 8, 64)
	copy(buf, "original")
	publish(t, b, "t", bus.Message{Key: []byte("k"), Value: buf[:4], Headers: []bus.Header{{Key: "h", Value: buf[4:6]}}})
	d := fromRing(t, b.topics["t"].parts[0], 0)[0]
	_ = append(d.Value, "XXXX"...)
	_ = append(d.Headers[0].Value, "YY"...)
	if string(buf) != "original" {
		t.Fatalf("appending to a delivery changed the publisher's buffer: %q", buf)
	}
}

// The bus copies the Message values of msgs when Publish enqueues them:
// changing the caller's slice elements afterwards, even when Publish
// returned early (ctx ended) and the batch is written later, changes
// nothing subscribers get.
func TestTailCacheIgnoresCallerSliceChanges(t *testing.T) {
	b := mustOpen(t, Config{Dir: t.TempDir(), Partitions: 1}, nil)
	defer b.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sub, err := b.Subscribe(ctx, "t", bus.SubscribeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	orig := func() []bus.Message {
		return []bus.Message{
			{Key: []byte("a"), Value: []byte("first"), Headers: []bus.Header{{Key: "h", Value: []byte("1")}}},
			{Key: []byte("b"), Value: []byte("second")},
		}
	}
	scribble := func(msgs []bus.Message) {
		for i := range msgs {
			msgs[i] = bus.Message{Key: []byte("changed"), Value: []byte("changed"), Headers: []bus.Header{{Key: "x", Value: []byte("y")}}}
		}
	}

	// Publish returned nil: the batch is written.
	msgs := orig()
	publish(t, b, "t", msgs...)
	scribble(msgs)

	// Publish returns while the batch waits for the committer (holding
	// the WAL's lock stops it before it takes the batch): the ctx ends
	// once the records are enqueued.
	msgs2 := orig()
	p := b.topics["t"].parts[0]
	b.cm.w.mu.Lock()
	pctx, pcancel := context.WithCancel(ctx)
	published := make(chan error, 1)
	go func() { published <- b.Publish(pctx, "t", msgs2...) }()
	for enqueued := false; !enqueued; {
		p.mu.Lock()
		enqueued = p.pend.n == len(msgs2)
		p.mu.Unlock()
		if !enqueued {
			select {
			case <-ctx.Done():
				b.cm.w.mu.Unlock()
				t.Fatal("the records were never enqueued")
			case <-time.After(time.Millisecond):
			}
		}
	}
	pcancel()
	err = <-published
	scribble(msgs2)
	b.cm.w.mu.Unlock()
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Publish with a ctx ending while it waits: %v, want context.Canceled", err)
	}

	want := append(orig(), orig()...)
	for i := range want {
		d, err := sub.Receive(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(d.Key, want[i].Key) || !bytes.Equal(d.Value, want[i].Value) || len(d.Headers) != len(want[i].Headers) {
			t.Fatalf("%s: got %q/%q %v, want %q/%q %v", d, d.Key, d.Value, d.Headers, want[i].Key, want[i].Value, want[i].Headers)
		}
	}
}

// Once a batch is written its message slots are cleared: the batch (and
// the buffer recycled for the next one) pins nothing the ring does not.
func TestTailCacheBatchDropsMessages(t *testing.T) {
	b := mustOpen(t, Config{Dir: t.TempDir(), Partitions: 1}, nil)
	defer b.Close()
	publish(t, b, "t", bus.Message{Value: []byte("create the topic")})
	p := b.topics["t"].parts[0]
	msgs := []bus.Message{{Key: []byte("k"), Value: []byte("one")}, {Value: []byte("two")}}
	bt, err := p.enqueue(msgs, nil, time.Now().UnixNano())
	if err != nil {
		t.Fatal(err)
	}
	if err := wait(context.Background(), bt); err != nil {
		t.Fatal(err)
	}
	if cap(bt.msgs) < len(msgs) {
		t.Fatalf("the batch kept %d message slots for %d messages", cap(bt.msgs), len(msgs))
	}
	for i, m := range bt.msgs[:cap(bt.msgs)] {
		if m.Key != nil || m.Value != nil || m.Headers != nil {
			t.Fatalf("written batch still holds message %d: %q", i, m.Value)
		}
	}
	if got := fromRing(t, p, 1); len(got) != 2 || string(got[1].Value) != "two" {
		t.Fatalf("ring holds %d records after the batch", len(got))
	}
}

// Chunks without kept messages (what recovery writes) are decoded from
// their frames, and give the same ring records as kept messages do.
func TestTailCacheDecodePathMatchesKept(t *testing.T) {
	newPart := func() *partition {
		b := &Bus{tailRecords: tailCacheRecords, tailBytes: tailCacheBytes, cm: &committer{hkeys: headerKeys{}}}
		return &partition{b: b, t: &topic{name: "t"}}
	}
	var msgs []bus.Message
	for range 3 {
		msgs = append(msgs, keepCases()...)
	}
	var chunk []byte
	for i := range msgs {
		start := len(chunk)
		chunk = appendFrame(chunk, &msgs[i], int64(100+i), int64(1e18)+int64(i))
		sealFrame(chunk[start:], start)
	}
	decoded, kept := newPart(), newPart()
	decoded.cacheChunk(chunk, 100, nil)
	kept.cacheChunk(chunk, 100, msgs)
	for i := range msgs {
		off := int64(100 + i)
		d, k := decoded.tail.get(off), kept.tail.get(off)
		if d == nil || k == nil {
			t.Fatalf("offset %d: decoded %v, kept %v", off, d != nil, k != nil)
		}
		if !reflect.DeepEqual(d.d.Message, k.d.Message) || d.unixNano != k.unixNano {
			t.Fatalf("offset %d: decoded %#v, kept %#v", off, d.d.Message, k.d.Message)
		}
		if sameMemory(d.d.Message.Value, msgs[i].Value) {
			t.Fatalf("offset %d: the decoded record shares the publisher's buffer", off)
		}
	}
	if !sameMemory(kept.tail.get(100+8).d.Message.Value, msgs[8].Value) {
		t.Fatal("the kept record copied a value it may keep")
	}
}

// After a crash the write-ahead log replay restores the records (recovery
// leaves the ring empty: they are read from the files, decoded); records
// published after the restart are kept in the ring again, identical to
// file reads.
func TestTailCacheAfterReplay(t *testing.T) {
	live := t.TempDir()
	cfg := Config{Dir: live, Partitions: 1, SegmentBytes: 16 << 10, CheckpointInterval: time.Hour}
	b := mustOpen(t, cfg, nil)
	var want []bus.Message
	for i := range 120 {
		m := tailMsg(i)
		want = append(want, m)
		publish(t, b, "t", m)
	}
	crash := t.TempDir()
	copyDir(t, live, crash) // as a crash leaves it: the WAL holds every record
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	cfg.Dir = crash
	b = mustOpen(t, cfg, nil)
	p := b.topics["t"].parts[0]
	if held, _, _ := p.tail.stats(); held != 0 {
		t.Fatalf("ring holds %d records after recovery, want none", held)
	}
	got, ring := readCursor(t, p, 0)
	if len(got) != len(want) {
		t.Fatalf("recovered %d records, want %d", len(got), len(want))
	}
	for i, d := range got {
		if ring[i] {
			t.Fatalf("recovered %s came from the ring", d)
		}
		sameDelivery(t, d, &bus.Delivery{Message: want[i], Topic: d.Topic, Partition: d.Partition, Offset: d.Offset, Time: d.Time})
	}
	var more []bus.Message
	for i := 120; i < 200; i++ {
		more = append(more, tailMsg(i))
	}
	publish(t, b, "t", more...)
	after := fromRing(t, p, 120)
	if len(after) != len(more) {
		t.Fatalf("ring holds %d records published after recovery, want %d", len(after), len(more))
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	b = mustOpen(t, cfg, nil)
	defer b.Close()
	files, _ := readCursor(t, b.topics["t"].parts[0], 120)
	if len(files) != len(after) {
		t.Fatalf("files hold %d records, the ring held %d", len(files), len(after))
	}
	for i := range files {
		if !reflect.DeepEqual(files[i].Message, after[i].Message) {
			t.Fatalf("%s: file %#v, ring %#v", files[i], files[i].Message, after[i].Message)
		}
	}
}

// A message laid out as event.ToMessage lays it out (every value a capped
// slice of one buffer) is kept with no allocation at all: its header slice
// too is the publisher's.
func TestTailCacheKeepsEventLayoutWithoutAllocating(t *testing.T) {
	buf := []byte("1.0evt-1tenant-akey{}")
	m := bus.Message{
		Key:   buf[16:19:19],
		Value: buf[19:21:21],
		Headers: append(make([]bus.Header, 0, 12),
			bus.Header{Key: "ce_specversion", Value: buf[0:3:3]},
			bus.Header{Key: "ce_id", Value: buf[3:8:8]},
			bus.Header{Key: "ce_tenant", Value: buf[8:16:16]}),
	}
	keys := headerKeys{}
	var out bus.Message
	if n := testing.AllocsPerRun(100, func() { out, _ = keepMessage(&m, keys) }); n != 0 {
		t.Errorf("keeping an event-shaped message allocates %v times, want 0", n)
	}
	if unsafe.SliceData(out.Headers) != unsafe.SliceData(m.Headers) || cap(out.Headers) != len(m.Headers) {
		t.Errorf("headers not kept as the publisher's slice capped to its length")
	}
	if !reflect.DeepEqual(out, m) {
		t.Errorf("kept %+v, published %+v", out, m)
	}
}
