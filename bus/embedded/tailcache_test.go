package embedded

import (
	"bytes"
	"context"
	"fmt"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hotline-hub/hotline/bus"
)

// tailMsg is the i-th test record: keys, headers and values of varied
// sizes, some empty.
func tailMsg(i int) bus.Message {
	m := bus.Message{Value: bytes.Repeat([]byte{byte(i), byte(i >> 8)}, i%300)}
	if i%3 != 0 {
		m.Key = fmt.Appendf(nil, "key-%d", i%17)
	}
	for h := range i % 4 {
		m.Headers = append(m.Headers, bus.Header{Key: fmt.Sprintf("h%d", h), Value: fmt.Appendf(nil, "v-%d-%d", i, h)})
	}
	return m
}

// readCursor reads a partition from off to its written end through a
// cursor, noting which records came from the ring.
func readCursor(t *testing.T, p *partition, off int64) (recs []*bus.Delivery, fromRing []bool) {
	t.Helper()
	c := &cursor{p: p, next: off}
	for {
		m, h, memo, err := c.read()
		if err != nil {
			t.Fatalf("read at %d: %v", c.next, err)
		}
		if m == nil {
			return recs, fromRing
		}
		recs = append(recs, bus.NewDelivery(*m, p.t.name, p.id, h.offset, time.Unix(0, h.unixNano), nil))
		fromRing = append(fromRing, memo != nil)
	}
}

// sameDelivery fails unless a and b are the same record, field by field.
func sameDelivery(t *testing.T, a, b *bus.Delivery) {
	t.Helper()
	if a.Topic != b.Topic || a.Partition != b.Partition || a.Offset != b.Offset || !a.Time.Equal(b.Time) || a.Time.UnixNano() != b.Time.UnixNano() {
		t.Fatalf("position or time differ: %s %v, %s %v", a, a.Time, b, b.Time)
	}
	if !bytes.Equal(a.Key, b.Key) || (a.Key == nil) != (b.Key == nil) || !bytes.Equal(a.Value, b.Value) {
		t.Fatalf("%s: key or value differ: %q/%q, %q/%q", a, a.Key, a.Value, b.Key, b.Value)
	}
	if len(a.Headers) != len(b.Headers) {
		t.Fatalf("%s: %d headers, %d headers", a, len(a.Headers), len(b.Headers))
	}
	for i := range a.Headers {
		if a.Headers[i].Key != b.Headers[i].Key || !bytes.Equal(a.Headers[i].Value, b.Headers[i].Value) {
			t.Fatalf("%s: header %d differs: %+v, %+v", a, i, a.Headers[i], b.Headers[i])
		}
	}
}

// A reader from offset 0 reads the files up to the ring, then the ring; a
// tailing reader gets the ring only. After a reopen the ring is empty and
// everything comes from the files, identical to what the ring gave.
func TestTailCacheHitsAndMisses(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{Dir: dir, Partitions: 1, SegmentBytes: 256 << 10}
	b := mustOpen(t, cfg, nil)
	const n = 3000
	for i := 0; i < n; i += 50 {
		batch := make([]bus.Message, 0, 50)
		for j := i; j < i+50; j++ {
			batch = append(batch, tailMsg(j))
		}
		publish(t, b, "t", batch...)
	}
	p := b.topics["t"].parts[0]
	held, _, first := p.tail.stats()
	if held == 0 {
		t.Fatalf("ring holds %d records", held)
	}
	if first+int64(held) != n {
		t.Fatalf("ring holds %d records from %d, want it to end at %d", held, first, n)
	}
	if first == 0 {
		t.Fatalf("ring holds everything (%d records): the test needs files below it", held)
	}
	all, fromRing := readCursor(t, p, 0)
	if len(all) != n {
		t.Fatalf("read %d records, want %d", len(all), n)
	}
	for i, d := range all {
		if d.Offset != int64(i) {
			t.Fatalf("record %d has offset %d", i, d.Offset)
		}
		if want := d.Offset >= first; fromRing[i] != want {
			t.Fatalf("offset %d from the ring: %v, want %v (ring from %d)", d.Offset, fromRing[i], want, first)
		}
		want := tailMsg(i)
		sameDelivery(t, d, &bus.Delivery{Message: want, Topic: d.Topic, Partition: d.Partition, Offset: d.Offset, Time: d.Time})
	}
	tail, fromRing := readCursor(t, p, n-10)
	for i, d := range tail {
		if !fromRing[i] {
			t.Fatalf("tailing reader read %s from the files", d)
		}
	}

	// The same through subscriptions, and again after a reopen: the ring
	// starts empty and the files give identical deliveries.
	before := readAll(t, b, "t", bus.SubscribeOptions{Offsets: map[int]int64{0: first}}, int(n-first))
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	b = mustOpen(t, cfg, nil)
	defer b.Close()
	p = b.topics["t"].parts[0]
	if held, _, _ := p.tail.stats(); held != 0 {
		t.Fatalf("ring holds %d records after reopen, want none", held)
	}
	after, fromRing := readCursor(t, p, first)
	if len(after) != len(before) {
		t.Fatalf("after reopen read %d records, before %d", len(after), len(before))
	}
	for i := range after {
		if fromRing[i] {
			t.Fatalf("after reopen %s came from the ring", after[i])
		}
		sameDelivery(t, before[i], after[i])
	}
	// New records after the reopen go to the ring again.
	publish(t, b, "t", tailMsg(n))
	if d, fromRing := readCursor(t, p, n); len(d) != 1 || !fromRing[0] {
		t.Fatalf("record published after reopen: %d read, from ring %v", len(d), fromRing)
	}
}

// The ring keeps at most the configured number of records and bytes,
// whichever is reached first, dropping the oldest; a record bigger than
// the byte bound empties it.
func TestTailCacheBounds(t *testing.T) {
	b := mustOpen(t, Config{Dir: t.TempDir(), Partitions: 1}, nil)
	defer b.Close()
	b.tailRecords, b.tailBytes = 10, 1<<20
	msg := bus.Message{Key: []byte("k"), Value: make([]byte, 100), Headers: []bus.Header{{Key: "a", Value: []byte("b")}}}
	for range 25 {
		publish(t, b, "t", msg)
	}
	p := b.topics["t"].parts[0]
	// Published records are cached as the publisher's buffers, counted
	// by their capacity.
	kept, size := keepMessage(&msg, headerKeys{})
	cost := recordCost(size, &kept)
	if size != cap(msg.Key)+cap(msg.Value)+len("a")+cap(msg.Headers[0].Value) {
		t.Fatalf("kept size %d, want the capacities of the buffers", size)
	}
	if n, bytes, first := p.tail.stats(); n != 10 || first != 15 || bytes != 10*cost {
		t.Fatalf("count bound 10: ring holds %d records (%d bytes) from %d, want 10 (%d) from 15", n, bytes, first, 10*cost)
	}

	// Bytes bind first: room for 4 records.
	b2 := mustOpen(t, Config{Dir: t.TempDir(), Partitions: 1}, nil)
	defer b2.Close()
	b2.tailRecords, b2.tailBytes = 100, 4*cost+cost/2
	for range 25 {
		publish(t, b2, "t", msg)
	}
	p2 := b2.topics["t"].parts[0]
	if n, bytes, first := p2.tail.stats(); n != 4 || first != 21 || bytes != 4*cost {
		t.Fatalf("byte bound: ring holds %d records (%d bytes) from %d, want 4 (%d) from 21", n, bytes, first, 4*cost)
	}
	// A record over the byte bound is never cached and leaves the ring
	// empty (it must stay a run up to the written end); readers read it
	// from the file.
	big := bus.Message{Value: make([]byte, 5*cost)}
	publish(t, b2, "t", big)
	if n, bytes, _ := p2.tail.stats(); n != 0 || bytes != 0 {
		t.Fatalf("after a record over the bound the ring holds %d records (%d bytes)", n, bytes)
	}
	got, fromRing := readCursor(t, p2, 25)
	if len(got) != 1 || fromRing[0] || len(got[0].Value) != len(big.Value) {
		t.Fatalf("big record: %d read, from ring %v", len(got), fromRing)
	}
	publish(t, b2, "t", msg, msg)
	if n, _, first := p2.tail.stats(); n != 2 || first != 26 {
		t.Fatalf("after the big record the ring holds %d records from %d, want 2 from 26", n, first)
	}
	// The ring's slots grow with use, never past the record bound.
	if len(p.tail.slots) > 10 || len(p2.tail.slots) > 100 {
		t.Fatalf("ring slots %d and %d", len(p.tail.slots), len(p2.tail.slots))
	}
}

// Every subscription of the process gets the same record from the ring,
// with one memo: what the layer above derives from it is computed once.
// Records read from the files get a memo each.
func TestTailCacheSharedMemo(t *testing.T) {
	b := mustOpen(t, Config{Dir: t.TempDir(), Partitions: 1}, nil)
	defer b.Close()
	ctx := context.Background()
	reader, err := b.Subscribe(ctx, "t", bus.SubscribeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	member, err := b.Subscribe(ctx, "t", subOpts("g"))
	if err != nil {
		t.Fatal(err)
	}
	publish(t, b, "t", bus.Message{Key: []byte("k"), Value: []byte("v")})
	var calls atomic.Int32
	build := func() (any, error) {
		calls.Add(1)
		return new(int), nil
	}
	var vals []any
	for _, s := range []bus.Subscription{reader, member} {
		d, err := s.Receive(ctx)
		if err != nil {
			t.Fatal(err)
		}
		v, err := d.Memo(build)
		if err != nil {
			t.Fatal(err)
		}
		vals = append(vals, v)
		if v2, _ := d.Memo(build); v2 != v {
			t.Fatal("a second Memo call returned another value")
		}
	}
	if calls.Load() != 1 || vals[0] != vals[1] {
		t.Fatalf("two subscriptions of one record: build called %d times, values %p %p", calls.Load(), vals[0], vals[1])
	}

	// Concurrent callers on one shared record: still one call.
	publish(t, b, "t", bus.Message{Value: []byte("w")})
	d1, _ := reader.Receive(ctx)
	d2, _ := member.Receive(ctx)
	calls.Store(0)
	var wg sync.WaitGroup
	for _, d := range []*bus.Delivery{d1, d2, d1, d2} {
		wg.Go(func() { d.Memo(build) })
	}
	wg.Wait()
	if calls.Load() != 1 {
		t.Fatalf("concurrent Memo calls built %d times", calls.Load())
	}

	// Without the ring (bounds 0), the records come from the files, each
	// delivery with its own memo.
	b.tailRecords = 0
	b.tailBytes = 0
	b.topics["t"].parts[0].tail.clear()
	publish(t, b, "t", bus.Message{Value: []byte("x")})
	calls.Store(0)
	for _, s := range []bus.Subscription{reader, member} {
		d, err := s.Receive(ctx)
		if err != nil || string(d.Value) != "x" {
			t.Fatal(d, err)
		}
		d.Memo(build)
		d.Memo(build)
	}
	if calls.Load() != 2 {
		t.Fatalf("two file reads of one record: build called %d times, want once each", calls.Load())
	}
}

// Readers tailing while publishers publish (run with -race) each get every
// record once, in order, identical to what was published.
func TestTailCacheConcurrentReaders(t *testing.T) {
	b := mustOpen(t, Config{Dir: t.TempDir(), Partitions: 2}, nil)
	defer b.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	const readers, publishers, each = 4, 3, 400
	subs := make([]bus.Subscription, readers)
	for i := range subs {
		s, err := b.Subscribe(ctx, "t", bus.SubscribeOptions{})
		if err != nil {
			t.Fatal(err)
		}
		subs[i] = s
	}
	var wg sync.WaitGroup
	for w := range publishers {
		wg.Go(func() {
			for i := range each {
				m := tailMsg(i)
				m.Key = fmt.Appendf(nil, "pub-%d", w)
				m.Headers = append(m.Headers, bus.Header{Key: "seq", Value: fmt.Appendf(nil, "%d", i)})
				if err := b.Publish(ctx, "t", m); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	errs := make(chan error, readers)
	for _, s := range subs {
		go func() {
			next := map[string]int{}
			for range publishers * each {
				d, err := s.Receive(ctx)
				if err != nil {
					errs <- err
					return
				}
				seq, _ := d.Header("seq")
				key := string(d.Key)
				if want := fmt.Sprint(next[key]); string(seq) != want {
					errs <- fmt.Errorf("%s: key %s seq %s, want %s", d, key, seq, want)
					return
				}
				if m := tailMsg(next[key]); !bytes.Equal(d.Value, m.Value) {
					errs <- fmt.Errorf("%s: value differs", d)
					return
				}
				next[key]++
			}
			errs <- nil
		}()
	}
	wg.Wait()
	for range readers {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

// Subscriptions without a group share one delivery of a cached record (no
// allocation per reader); a group member gets its own, which carries its
// acknowledgement.
func TestTailCacheOneDeliveryForReaders(t *testing.T) {
	b := mustOpen(t, Config{Dir: t.TempDir(), Partitions: 1}, nil)
	defer b.Close()
	ctx := context.Background()
	var subs []bus.Subscription
	for _, opts := range []bus.SubscribeOptions{{}, {}, subOpts("g")} {
		s, err := b.Subscribe(ctx, "t", opts)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		subs = append(subs, s)
	}
	publish(t, b, "t", tailMsg(1), tailMsg(2))
	for i := range 2 {
		var got []*bus.Delivery
		for _, s := range subs {
			d, err := s.Receive(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if d.Offset != int64(i) || !reflect.DeepEqual(d.Message, tailMsg(i+1)) {
				t.Fatalf("record %d: got %s %+v", i, d, d.Message)
			}
			got = append(got, d)
		}
		if got[0] != got[1] {
			t.Errorf("record %d: the two readers got two deliveries", i)
		}
		if got[2] == got[0] {
			t.Errorf("record %d: the group member got the readers' delivery", i)
		}
		if err := got[2].Ack(); err != nil {
			t.Fatal(err)
		}
	}
}

// The ring keeps the memo's value of its newest tailDecodedRecords records
// only: a reader that lags further gets the record's bytes from the ring
// and computes the value again (once for all such readers), while a reader
// near the end shares the value the first reader computed.
func TestTailCacheForgetsOldDecodedValues(t *testing.T) {
	b := mustOpen(t, Config{Dir: t.TempDir(), Partitions: 1}, nil)
	defer b.Close()
	ctx := context.Background()
	const n = 3 * tailDecodedRecords
	first, err := b.Subscribe(ctx, "t", bus.SubscribeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var calls atomic.Int32
	build := func() (any, error) {
		calls.Add(1)
		return new(int), nil
	}
	// The first reader keeps up: it decodes every record as it arrives.
	vals := make([]any, n)
	for i := range n {
		publish(t, b, "t", tailMsg(i))
		d, err := first.Receive(ctx)
		if err != nil {
			t.Fatal(err)
		}
		vals[i], _ = d.Memo(build)
	}
	if calls.Load() != n {
		t.Fatalf("the first reader built %d values for %d records", calls.Load(), n)
	}
	p := b.topics["t"].parts[0]
	if held, _, from := p.tail.stats(); held != n || from != 0 {
		t.Fatalf("ring holds %d records from %d, want all %d", held, from, n)
	}
	// A reader from the start gets every record from the ring; only the
	// newest tailDecodedRecords still have their value.
	late, err := b.Subscribe(ctx, "t", bus.SubscribeOptions{Start: bus.StartEarliest})
	if err != nil {
		t.Fatal(err)
	}
	calls.Store(0)
	again := make([]any, n)
	for i := range n {
		d, err := late.Receive(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if d.Offset != int64(i) {
			t.Fatalf("record %d has offset %d", i, d.Offset)
		}
		before := calls.Load()
		again[i], _ = d.Memo(build)
		shared := calls.Load() == before
		if want := i >= n-tailDecodedRecords; shared != want || (again[i] == vals[i]) != want {
			t.Fatalf("offset %d: value shared %v, want %v", i, shared, want)
		}
		// A second late delivery of the same record shares the value
		// computed again.
		if v, _ := d.Memo(build); v != again[i] {
			t.Fatalf("offset %d: the value computed again is not kept", i)
		}
	}
	if want := int32(n - tailDecodedRecords); calls.Load() != want {
		t.Fatalf("the late reader built %d values, want %d", calls.Load(), want)
	}
}
