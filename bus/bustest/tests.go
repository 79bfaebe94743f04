package bustest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/hotline-hub/hotline/bus"
)

func testPayloadAndHeaders(t *testing.T, s *suite) {
	b := s.open(t)
	topic := s.topic("payload")
	binary := make([]byte, 4096)
	for i := range binary {
		binary[i] = byte(i * 7)
	}
	want := []bus.Message{
		{Key: []byte("conv-1"), Value: []byte(`{"text":"Bonjour, j'appelle pour ma facture"}`),
			Headers: []bus.Header{{Key: "ce_id", Value: []byte("1")}, {Key: "ce_type", Value: []byte("message.received")}}},
		{Key: []byte("conv-1"), Value: binary, Headers: []bus.Header{{Key: "bin", Value: []byte{0, 1, 0xff, 0}}}},
		{Key: []byte("звонок"), Value: []byte("Здравствуйте"), Headers: []bus.Header{{Key: "dup", Value: []byte("a")}, {Key: "dup", Value: []byte("b")}}},
		{Key: []byte("conv-2"), Value: []byte{}, Headers: nil},
		{Key: nil, Value: []byte("no key")},
	}
	publishAll(t, b, topic, want)
	sub := subscribe(t, b, topic, bus.SubscribeOptions{Group: s.group("payload")})
	got := receiveN(t, sub, len(want), true)
	byValue := map[string]*bus.Delivery{}
	for _, d := range got {
		if d.Topic != topic {
			t.Errorf("delivery %s: Topic = %q, want %q", d, d.Topic, topic)
		}
		if d.Partition < 0 || d.Partition >= s.f.Partitions {
			t.Errorf("delivery %s: partition out of range 0..%d", d, s.f.Partitions-1)
		}
		if d.Time.IsZero() {
			t.Errorf("delivery %s: zero Time", d)
		}
		byValue[string(d.Value)] = d
	}
	for _, m := range want {
		d := byValue[string(m.Value)]
		if d == nil {
			t.Errorf("message with value %.20q not delivered", m.Value)
			continue
		}
		if !bytes.Equal(d.Key, m.Key) {
			t.Errorf("key = %q, want %q", d.Key, m.Key)
		}
		if len(d.Headers) != len(m.Headers) {
			t.Errorf("message %.20q: %d headers, want %d: %v", m.Value, len(d.Headers), len(m.Headers), d.Headers)
			continue
		}
		for i, h := range m.Headers {
			if d.Headers[i].Key != h.Key || !bytes.Equal(d.Headers[i].Value, h.Value) {
				t.Errorf("message %.20q header %d = %s:%q, want %s:%q", m.Value, i, d.Headers[i].Key, d.Headers[i].Value, h.Key, h.Value)
			}
		}
	}
	// Same key, same partition; in publish order.
	first, second := byValue[string(want[0].Value)], byValue[string(want[1].Value)]
	if first != nil && second != nil && (first.Partition != second.Partition || first.Offset >= second.Offset) {
		t.Errorf("same key stored out of order: %s then %s", first, second)
	}
}

func testOrderPerKey(t *testing.T, s *suite) {
	b := s.open(t)
	topic := s.topic("order")
	const keys, perKey = 24, 40
	// One goroutine per key publishes that key's sequence in order, all at
	// once, so the bus sees interleaved concurrent publishes.
	var wg sync.WaitGroup
	errs := make(chan error, keys)
	ctx := ctxTimeout(t)
	for k := 0; k < keys; k++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			key := fmt.Sprintf("k%d", k)
			for i := 0; i < perKey; i++ {
				if err := b.Publish(ctx, topic, msg(key, i)); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("Publish: %v", err)
	}
	sub := subscribe(t, b, topic, bus.SubscribeOptions{Group: s.group("order")})
	got := receiveN(t, sub, keys*perKey, true)
	checkOrderPerKey(t, got)
	var want []bus.Message
	for k := 0; k < keys; k++ {
		for i := 0; i < perKey; i++ {
			want = append(want, msg(fmt.Sprintf("k%d", k), i))
		}
	}
	checkSameSet(t, got, want)
	parts := map[int]bool{}
	for _, d := range got {
		parts[d.Partition] = true
	}
	if len(parts) < 2 {
		t.Errorf("%d keys all landed in %d partition(s); keys must spread", keys, len(parts))
	}
}

// Many subscriptions, each its own group, receive concurrently while
// publishing goes on.
func testConcurrentSubscribers(t *testing.T, s *suite) {
	b := s.open(t)
	topic := s.topic("concurrent")
	groups := 8
	if s.f.SlowGroups {
		groups = 4
	}
	want := sequence(10, 300)
	subs := make([]bus.Subscription, groups)
	for i := range subs {
		subs[i] = subscribe(t, b, topic, bus.SubscribeOptions{Group: s.group(fmt.Sprint(i))})
	}
	results := make([][]*bus.Delivery, groups)
	var wg sync.WaitGroup
	for i, sub := range subs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = receiveNQuiet(sub, len(want))
		}()
	}
	publishAll(t, b, topic, want)
	wg.Wait()
	for i, got := range results {
		if len(got) != len(want) {
			t.Fatalf("group %d received %d of %d", i, len(got), len(want))
		}
		checkOrderPerKey(t, got)
		checkSameSet(t, got, want)
	}
}

// receiveNQuiet is receiveN for goroutines other than the test's: it stops
// at the first error and returns what it had, for the caller to check.
func receiveNQuiet(sub bus.Subscription, n int) []*bus.Delivery {
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	var out []*bus.Delivery
	for len(out) < n {
		d, err := sub.Receive(ctx)
		if err != nil {
			return out
		}
		if d.Ack() != nil {
			return out
		}
		out = append(out, d)
	}
	return out
}

// Members of one group share the partitions: together they receive every
// message, each key stays in order within a member, and a member that
// leaves hands its partitions to the others.
func testGroupMembersShareWork(t *testing.T, s *suite) {
	b := s.open(t)
	topic := s.topic("members")
	group := s.group("shared")
	want := sequence(16, 320)
	a := subscribe(t, b, topic, bus.SubscribeOptions{Group: group})
	c := subscribe(t, b, topic, bus.SubscribeOptions{Group: group})
	publishAll(t, b, topic, want)

	var mu sync.Mutex
	seen := map[string]int{}
	perMember := make([][]*bus.Delivery, 2)
	ctx, cancel := context.WithCancel(ctxTimeout(t))
	defer cancel()
	var wg sync.WaitGroup
	for i, sub := range []bus.Subscription{a, c} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				d, err := sub.Receive(ctx)
				if err != nil {
					return
				}
				_ = d.Ack()
				mu.Lock()
				perMember[i] = append(perMember[i], d)
				seen[string(d.Value)]++
				done := len(seen) == len(want)
				mu.Unlock()
				if done {
					cancel()
				}
			}
		}()
	}
	wg.Wait()
	if len(seen) != len(want) {
		t.Fatalf("the group's two members received %d distinct of %d messages", len(seen), len(want))
	}
	for _, got := range perMember {
		checkOrderPerKey(t, got)
	}
	// Both members joined before anything was published, so a backend with
	// fast group changes must deliver each message once. With slow group
	// changes a rebalance may still be under way during the first messages,
	// and at-least-once allows the redeliveries it causes.
	for v, n := range seen {
		if n > 1 && !s.f.SlowGroups {
			t.Errorf("message %q delivered %d times within one group", v, n)
		}
	}

	// A leaves; C takes over its partitions and receives what comes next.
	if err := a.Close(); err != nil {
		t.Fatalf("member Close: %v", err)
	}
	more := sequence(16, 640)[320:]
	publishAll(t, b, topic, more)
	got := receiveN(t, c, len(more), true)
	checkOrderPerKey(t, got)
	checkSameSet(t, got, more)
}

func testTwoGroups(t *testing.T, s *suite) {
	b := s.open(t)
	topic := s.topic("twogroups")
	want := sequence(7, 200)
	publishAll(t, b, topic, want)
	for _, g := range []string{"billing", "routing"} {
		sub := subscribe(t, b, topic, bus.SubscribeOptions{Group: s.group(g)})
		got := receiveN(t, sub, len(want), true)
		checkOrderPerKey(t, got)
		checkSameSet(t, got, want)
		expectNothing(t, sub, 300*time.Millisecond)
	}
}

// A subscriber that acknowledged a prefix and closed resumes exactly after
// it: nothing acknowledged comes again, nothing after it is skipped.
func testResumeAfterClose(t *testing.T, s *suite) {
	b := s.open(t)
	topic := s.topic("resume")
	group := s.group("resume")
	first := sequence(5, 100)
	publishAll(t, b, topic, first)

	sub, err := b.Subscribe(ctxTimeout(t), topic, bus.SubscribeOptions{Group: group})
	if err != nil {
		t.Fatal(err)
	}
	// One receiving goroutine acks in delivery order, so each partition's
	// acknowledged messages form a prefix of that partition.
	acked := receiveN(t, sub, 40, true)
	if err := sub.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	second := sequence(5, 150)[100:]
	publishAll(t, b, topic, second)

	sub2 := subscribe(t, b, topic, bus.SubscribeOptions{Group: group})
	ackedSet := values(acked)
	var rest []bus.Message
	for _, m := range append(first, second...) {
		if ackedSet[string(m.Value)] == 0 {
			rest = append(rest, m)
		}
	}
	got := receiveN(t, sub2, len(rest), true)
	checkOrderPerKey(t, got)
	checkSameSet(t, got, rest)
	expectNothing(t, sub2, 300*time.Millisecond)
}

// Messages received and not acknowledged are delivered again to the group.
func testUnackedRedelivered(t *testing.T, s *suite) {
	b := s.open(t)
	topic := s.topic("redeliver")
	group := s.group("redeliver")
	want := sequence(3, 60)
	publishAll(t, b, topic, want)

	sub, err := b.Subscribe(ctxTimeout(t), topic, bus.SubscribeOptions{Group: group})
	if err != nil {
		t.Fatal(err)
	}
	got := receiveN(t, sub, len(want), false)
	unacked := map[string]bool{}
	for i, d := range got {
		if i%3 == 1 {
			unacked[string(d.Value)] = true
			continue
		}
		if err := d.Ack(); err != nil {
			t.Fatalf("Ack: %v", err)
		}
	}
	if err := sub.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	sub2 := subscribe(t, b, topic, bus.SubscribeOptions{Group: group})
	// Everything from each partition's first unacknowledged message on comes
	// again, so at least the unacknowledged ones; keep receiving until all
	// of them are back.
	ctx := ctxTimeout(t)
	for len(unacked) > 0 {
		d, err := sub2.Receive(ctx)
		if err != nil {
			t.Fatalf("Receive: %v; still missing %d unacknowledged messages, e.g. %v", err, len(unacked), anyKey(unacked))
		}
		delete(unacked, string(d.Value))
		_ = d.Ack()
	}
}

func anyKey(m map[string]bool) string {
	for k := range m {
		return k
	}
	return ""
}

func testRestart(t *testing.T, s *suite) {
	topic := s.topic("restart")
	group := s.group("restart")
	want := sequence(4, 80)

	b := s.env.Open(t)
	publishAll(t, b, topic, want)
	sub, err := b.Subscribe(ctxTimeout(t), topic, bus.SubscribeOptions{Group: group})
	if err != nil {
		t.Fatal(err)
	}
	acked := receiveN(t, sub, 30, true)
	// Close the bus without closing the subscription first: Close must
	// flush the group's commits.
	if err := b.Close(); err != nil {
		t.Fatalf("bus Close: %v", err)
	}

	b2 := s.open(t)
	all := subscribe(t, b2, topic, bus.SubscribeOptions{Start: bus.StartEarliest})
	checkSameSet(t, receiveN(t, all, len(want), false), want)

	sub2 := subscribe(t, b2, topic, bus.SubscribeOptions{Group: group})
	ackedSet := values(acked)
	var rest []bus.Message
	for _, m := range want {
		if ackedSet[string(m.Value)] == 0 {
			rest = append(rest, m)
		}
	}
	got := receiveN(t, sub2, len(rest), true)
	checkSameSet(t, got, rest)
}

func testReplay(t *testing.T, s *suite) {
	b := s.open(t)
	topic := s.topic("replay")
	want := sequence(6, 120)
	publishAll(t, b, topic, want)

	all := subscribe(t, b, topic, bus.SubscribeOptions{})
	got := receiveN(t, all, len(want), true) // Ack is a no-op without a group
	checkOrderPerKey(t, got)
	checkSameSet(t, got, want)

	// Replaying a second time gives the same messages at the same offsets.
	again := subscribe(t, b, topic, bus.SubscribeOptions{Start: bus.StartEarliest})
	got2 := receiveN(t, again, len(want), false)
	pos := map[string]string{}
	for _, d := range got {
		pos[string(d.Value)] = d.String()
	}
	for _, d := range got2 {
		if pos[string(d.Value)] != d.String() {
			t.Errorf("replayed %q at %s, first read at %s", d.Value, d, pos[string(d.Value)])
		}
	}

	// From an offset: choose a partition with messages and start half-way.
	byPart := map[int][]*bus.Delivery{}
	for _, d := range got {
		byPart[d.Partition] = append(byPart[d.Partition], d)
	}
	var p int
	for p = range byPart {
		if len(byPart[p]) >= 4 {
			break
		}
	}
	ds := byPart[p]
	from := ds[len(ds)/2].Offset
	offsets := map[int]int64{p: from}
	// Every other partition starts past its end, so only p's tail comes.
	for q, qd := range byPart {
		if q != p {
			offsets[q] = qd[len(qd)-1].Offset + 1
		}
	}
	for q := 0; q < s.f.Partitions; q++ {
		if _, ok := offsets[q]; !ok {
			offsets[q] = 0
		}
	}
	tail := subscribe(t, b, topic, bus.SubscribeOptions{Offsets: offsets})
	wantTail := ds[len(ds)/2:]
	gotTail := receiveN(t, tail, len(wantTail), false)
	for i, d := range gotTail {
		if d.Partition != p || d.Offset != wantTail[i].Offset || !bytes.Equal(d.Value, wantTail[i].Value) {
			t.Fatalf("replay from %d/%d: got %s %q, want %s %q", p, from, d, d.Value, wantTail[i], wantTail[i].Value)
		}
	}
	expectNothing(t, tail, 300*time.Millisecond)
}

// A reader without a group that starts at the latest position sees what is
// published after Subscribe returned, and nothing from before.
func testStartLatest(t *testing.T, s *suite) {
	b := s.open(t)
	topic := s.topic("latest")
	old := sequence(4, 40)
	publishAll(t, b, topic, old)
	sub := subscribe(t, b, topic, bus.SubscribeOptions{Start: bus.StartLatest})
	fresh := sequence(4, 80)[40:]
	publishAll(t, b, topic, fresh)
	got := receiveN(t, sub, len(fresh), false)
	checkSameSet(t, got, fresh)
}

// Closing subscriptions and the bus while publishes and receives are under
// way must neither panic nor hang, and calls that fail say ErrClosed (or
// that their context ended).
func testConcurrentClose(t *testing.T, s *suite) {
	b := s.env.Open(t)
	topic := s.topic("close")
	ctx := ctxTimeout(t)
	publishAll(t, b, topic, sequence(4, 40))
	var subs []bus.Subscription
	for i := 0; i < 4; i++ {
		sub, err := b.Subscribe(ctx, topic, bus.SubscribeOptions{Group: s.group(fmt.Sprint(i))})
		if err != nil {
			t.Fatal(err)
		}
		subs = append(subs, sub)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	okErr := func(err error) bool {
		return err == nil || errors.Is(err, bus.ErrClosed) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
	}
	for i := 0; i < 4; i++ {
		wg.Add(2)
		go func() { // publisher
			defer wg.Done()
			for j := 0; ; j++ {
				err := b.Publish(ctx, topic, msg(fmt.Sprintf("p%d", i), j))
				if err != nil {
					if !okErr(err) {
						errs <- fmt.Errorf("Publish during Close: %w", err)
					}
					return
				}
			}
		}()
		go func() { // receiver
			defer wg.Done()
			for {
				d, err := subs[i].Receive(ctx)
				if err != nil {
					if !okErr(err) {
						errs <- fmt.Errorf("Receive during Close: %w", err)
					}
					return
				}
				if err := d.Ack(); !okErr(err) {
					errs <- fmt.Errorf("Ack during Close: %w", err)
				}
			}
		}()
	}
	time.Sleep(100 * time.Millisecond)
	// Close two subscriptions twice each, concurrently, then the bus
	// (which must close the other two), also twice.
	var cw sync.WaitGroup
	for _, c := range []func() error{subs[0].Close, subs[0].Close, subs[1].Close, subs[1].Close, b.Close, b.Close} {
		cw.Add(1)
		go func() {
			defer cw.Done()
			if err := c(); !okErr(err) {
				errs <- fmt.Errorf("Close: %w", err)
			}
		}()
	}
	cw.Wait()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if _, err := subs[3].Receive(ctx); !errors.Is(err, bus.ErrClosed) {
		t.Errorf("Receive on a subscription of a closed bus = %v, want ErrClosed", err)
	}
}

func testPublishAfterClose(t *testing.T, s *suite) {
	b := s.env.Open(t)
	topic := s.topic("afterclose")
	ctx := ctxTimeout(t)
	if err := b.Publish(ctx, topic, msg("k", 0)); err != nil {
		t.Fatal(err)
	}
	sub, err := b.Subscribe(ctx, topic, bus.SubscribeOptions{Group: s.group("a")})
	if err != nil {
		t.Fatal(err)
	}
	d := receiveN(t, sub, 1, false)[0]
	if err := sub.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := sub.Receive(ctx); !errors.Is(err, bus.ErrClosed) {
		t.Errorf("Receive after subscription Close = %v, want ErrClosed", err)
	}
	if err := d.Ack(); !errors.Is(err, bus.ErrClosed) {
		t.Errorf("Ack after subscription Close = %v, want ErrClosed", err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Publish(ctx, topic, msg("k", 1)); !errors.Is(err, bus.ErrClosed) {
		t.Errorf("Publish after Close = %v, want ErrClosed", err)
	}
	if _, err := b.Subscribe(ctx, topic, bus.SubscribeOptions{}); !errors.Is(err, bus.ErrClosed) {
		t.Errorf("Subscribe after Close = %v, want ErrClosed", err)
	}
}

func testReceiveContext(t *testing.T, s *suite) {
	b := s.open(t)
	sub := subscribe(t, b, s.topic("ctx"), bus.SubscribeOptions{Group: s.group("ctx")})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := sub.Receive(ctx)
		done <- err
	}()
	time.Sleep(50 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Receive after cancel = %v, want context.Canceled", err)
		}
	case <-time.After(Timeout):
		t.Fatal("Receive did not return after its context was cancelled")
	}
}

func testInvalidInput(t *testing.T, s *suite) {
	b := s.open(t)
	ctx := ctxTimeout(t)
	topic := s.topic("invalid")
	for _, bad := range []string{"", "has space", "slash/inside", "..", "ü"} {
		if err := b.Publish(ctx, bad, msg("k", 0)); !errors.Is(err, bus.ErrInvalidTopic) {
			t.Errorf("Publish to %q = %v, want ErrInvalidTopic", bad, err)
		}
		if _, err := b.Subscribe(ctx, bad, bus.SubscribeOptions{}); !errors.Is(err, bus.ErrInvalidTopic) {
			t.Errorf("Subscribe to %q = %v, want ErrInvalidTopic", bad, err)
		}
	}
	// A batch with one oversized message stores none of the batch.
	huge := bus.Message{Key: []byte("k"), Value: bytes.Repeat([]byte("x"), 8<<20)}
	err := b.Publish(ctx, topic, msg("k", 0), huge, msg("k", 1))
	if !errors.Is(err, bus.ErrMessageTooLarge) {
		t.Errorf("Publish of an 8 MiB message = %v, want ErrMessageTooLarge", err)
	}
	if err := b.Publish(ctx, topic, msg("k", 2)); err != nil {
		t.Fatalf("Publish after a refused batch: %v", err)
	}
	sub := subscribe(t, b, topic, bus.SubscribeOptions{})
	got := receiveN(t, sub, 1, false)
	if string(got[0].Value) != "k/2" {
		t.Errorf("first stored message = %q, want k/2 (the refused batch must leave nothing)", got[0].Value)
	}
	expectNothing(t, sub, 300*time.Millisecond)

	for _, opts := range []bus.SubscribeOptions{
		{Start: bus.Start(7)},
		{Group: s.group("x"), Offsets: map[int]int64{0: 1}},
		{Offsets: map[int]int64{0: -1}},
	} {
		if _, err := b.Subscribe(ctx, topic, opts); err == nil {
			t.Errorf("Subscribe with %+v succeeded, want an error", opts)
		}
	}
}
