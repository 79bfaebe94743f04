// Package bustest is the conformance suite every bus implementation runs.
//
// An implementation's test calls Run with the Features it honestly has and a
// function that makes a fresh Env. Each test of the suite uses its own topic
// and group names, so environments on a shared broker do not interfere.
// Waits are bounded by generous deadlines that only catch hangs; nothing here
// measures speed.
package bustest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hotline-hub/hotline/bus"
)

// Env is one test's storage or broker. Open returns a bus on it; Open may be
// called again after the bus it returned before was closed, to simulate a
// restart of the process, and must then see everything the earlier bus
// stored.
type Env interface {
	Open(t testing.TB) bus.Bus
}

// Features describes what a backend can do, so the suite runs only the
// tests that apply. The embedded bus and Kafka claim the same features.
type Features struct {
	// Partitions is the partition count of topics created on first use. The
	// suite needs at least 2 to check order per key across partitions.
	Partitions int
	// Restartable says Env.Open may be called again after Close and sees the
	// earlier messages and committed offsets (persistence).
	Restartable bool
	// SlowGroups says joining or leaving a consumer group takes seconds
	// (Kafka's group protocol), so the suite keeps the number of group
	// changes small.
	SlowGroups bool
}

// Timeout bounds every wait in the suite. It is long on purpose: it only
// turns a hang into a failure.
var Timeout = 2 * time.Minute

// Run runs the whole suite.
func Run(t *testing.T, f Features, newEnv func(t testing.TB) Env) {
	if f.Partitions < 2 {
		t.Fatalf("bustest: Features.Partitions must be at least 2, got %d", f.Partitions)
	}
	tests := []struct {
		name string
		fn   func(t *testing.T, s *suite)
		need bool
	}{
		{"PayloadAndHeadersIntact", testPayloadAndHeaders, true},
		{"OrderPerKey", testOrderPerKey, true},
		{"ConcurrentSubscribers", testConcurrentSubscribers, true},
		{"GroupMembersShareWork", testGroupMembersShareWork, true},
		{"TwoGroupsEachReceiveEverything", testTwoGroups, true},
		{"ResumeAfterCloseNoLossNoGap", testResumeAfterClose, true},
		{"UnackedRedelivered", testUnackedRedelivered, true},
		{"RestartKeepsMessagesAndOffsets", testRestart, f.Restartable},
		{"ReplayFromStartAndOffset", testReplay, true},
		{"StartLatest", testStartLatest, true},
		{"ConcurrentClose", testConcurrentClose, true},
		{"PublishAfterClose", testPublishAfterClose, true},
		{"ReceiveHonoursContext", testReceiveContext, true},
		{"InvalidInput", testInvalidInput, true},
	}
	for _, tt := range tests {
		if !tt.need {
			continue
		}
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.fn(t, &suite{f: f, env: newEnv(t), prefix: uniqueName(tt.name)})
		})
	}
}

type suite struct {
	f      Features
	env    Env
	prefix string
}

func uniqueName(test string) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return "bustest." + strings.ToLower(test) + "." + hex.EncodeToString(b[:])
}

func (s *suite) topic(name string) string { return s.prefix + "." + name }
func (s *suite) group(name string) string { return s.prefix + ".g." + name }

// open opens a bus and closes it at the end of the test unless closed before.
func (s *suite) open(t *testing.T) bus.Bus {
	t.Helper()
	b := s.env.Open(t)
	t.Cleanup(func() { _ = b.Close() })
	return b
}

func ctxTimeout(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	t.Cleanup(cancel)
	return ctx
}

func subscribe(t *testing.T, b bus.Subscriber, topic string, opts bus.SubscribeOptions) bus.Subscription {
	t.Helper()
	sub, err := b.Subscribe(ctxTimeout(t), topic, opts)
	if err != nil {
		t.Fatalf("Subscribe(%s, %+v): %v", topic, opts, err)
	}
	t.Cleanup(func() { _ = sub.Close() })
	return sub
}

// msg builds a message whose value names it uniquely: "<key>/<seq>".
func msg(key string, seq int) bus.Message {
	return bus.Message{Key: []byte(key), Value: fmt.Appendf(nil, "%s/%d", key, seq)}
}

func publishAll(t *testing.T, p bus.Publisher, topic string, msgs []bus.Message) {
	t.Helper()
	ctx := ctxTimeout(t)
	for len(msgs) > 0 {
		n := min(len(msgs), 50)
		if err := p.Publish(ctx, topic, msgs[:n]...); err != nil {
			t.Fatalf("Publish(%s): %v", topic, err)
		}
		msgs = msgs[n:]
	}
}

// sequence returns n messages spread over keys, each key's seq increasing.
func sequence(keys, n int) []bus.Message {
	out := make([]bus.Message, 0, n)
	for i := 0; i < n; i++ {
		out = append(out, msg(fmt.Sprintf("k%d", i%keys), i/keys))
	}
	return out
}

// receiveN receives exactly n deliveries (acking each when ack is true).
func receiveN(t *testing.T, sub bus.Subscription, n int, ack bool) []*bus.Delivery {
	t.Helper()
	ctx := ctxTimeout(t)
	out := make([]*bus.Delivery, 0, n)
	for len(out) < n {
		d, err := sub.Receive(ctx)
		if err != nil {
			t.Fatalf("Receive after %d of %d: %v", len(out), n, err)
		}
		if ack {
			if err := d.Ack(); err != nil {
				t.Fatalf("Ack(%s): %v", d, err)
			}
		}
		out = append(out, d)
	}
	return out
}

// expectNothing checks that no delivery arrives within a short wait. A
// backend that delivered late would still be caught by later assertions;
// this only looks for surplus messages.
func expectNothing(t *testing.T, sub bus.Subscription, wait time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if d, err := sub.Receive(ctx); err == nil {
		t.Fatalf("unexpected delivery %s: %q", d, d.Value)
	}
}

func values(ds []*bus.Delivery) map[string]int {
	m := make(map[string]int, len(ds))
	for _, d := range ds {
		m[string(d.Value)]++
	}
	return m
}

func checkSameSet(t *testing.T, got []*bus.Delivery, want []bus.Message) {
	t.Helper()
	g := values(got)
	for _, m := range want {
		switch g[string(m.Value)] {
		case 0:
			t.Errorf("message %q never delivered", m.Value)
		case 1:
		default:
			t.Errorf("message %q delivered %d times", m.Value, g[string(m.Value)])
		}
		delete(g, string(m.Value))
	}
	for v := range g {
		t.Errorf("unexpected message %q delivered", v)
	}
}

// checkOrderPerKey checks that each key's sequence numbers increase in the
// order the deliveries were received; a duplicate counts as a break.
func checkOrderPerKey(t *testing.T, ds []*bus.Delivery) {
	t.Helper()
	last := map[string]int{}
	for _, d := range ds {
		var seq int
		k, rest, ok := bytes.Cut(d.Value, []byte("/"))
		if !ok {
			t.Fatalf("delivery %s has no sequence: %q", d, d.Value)
		}
		if _, err := fmt.Sscan(string(rest), &seq); err != nil {
			t.Fatalf("delivery %s: %v", d, err)
		}
		if !bytes.Equal(k, d.Key) {
			t.Fatalf("delivery %s: key %q does not match value %q", d, d.Key, d.Value)
		}
		if prev, seen := last[string(k)]; seen && seq <= prev {
			t.Fatalf("key %s: seq %d delivered after %d", k, seq, prev)
		}
		last[string(k)] = seq
	}
}
