package embedded

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hotline-hub/hotline/bus"
)

func owners(g *group) []*subscription {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]*subscription(nil), g.owner...)
}

func ownedBy(s *subscription) map[int]bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := map[int]bool{}
	for _, p := range s.owned {
		m[p] = true
	}
	return m
}

// Members share the partitions (each owned by exactly one member), are
// rebalanced on join and leave, and a partition that moves resumes at the
// group's committed offset, so what the old owner did not acknowledge comes
// again to the new one.
func TestGroupRebalance(t *testing.T) {
	b := mustOpen(t, Config{Dir: t.TempDir(), Partitions: 6, CommitInterval: time.Hour}, nil)
	defer b.Close()
	ctx := context.Background()
	var subs []*subscription
	check := func(members int) {
		t.Helper()
		g := b.topics["t"].group("g")
		own := owners(g)
		count := map[*subscription]int{}
		for p, o := range own {
			if o == nil {
				t.Fatalf("partition %d has no owner with %d members", p, members)
			}
			if !ownedBy(o)[p] {
				t.Fatalf("partition %d's owner does not read it", p)
			}
			count[o]++
		}
		if len(count) != min(members, 6) {
			t.Fatalf("%d members own partitions, want %d", len(count), min(members, 6))
		}
		for o, n := range count {
			if n < 6/members || n > (6+members-1)/members {
				t.Errorf("member owns %d partitions; unbalanced for %d members", n, members)
			}
			for _, s := range subs {
				if s != o {
					for p := range ownedBy(s) {
						if own[p] == o {
							t.Fatalf("partition %d read by two members", p)
						}
					}
				}
			}
		}
	}
	for i := 0; i < 3; i++ {
		s, err := b.Subscribe(ctx, "t", bus.SubscribeOptions{Group: "g"})
		if err != nil {
			t.Fatal(err)
		}
		subs = append(subs, s.(*subscription))
		check(i + 1)
	}
	var msgs []bus.Message
	for i := 0; i < 120; i++ {
		msgs = append(msgs, bus.Message{Key: []byte(fmt.Sprint("k", i%30)), Value: []byte(fmt.Sprint(i))})
	}
	publish(t, b, "t", msgs...)

	// Each member receives only its partitions. Member 0 acknowledges
	// nothing; the others everything.
	received := map[string]int{}
	fromFirst := map[string]bool{}
	for i, s := range subs {
		mine := ownedBy(s)
		rctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		for {
			d, err := s.Receive(rctx)
			if err != nil {
				break
			}
			if !mine[d.Partition] {
				t.Fatalf("member %d received %s from a partition it does not own", i, d)
			}
			received[string(d.Value)]++
			if i == 0 {
				fromFirst[string(d.Value)] = true
			} else if err := d.Ack(); err != nil {
				t.Fatal(err)
			}
		}
		cancel()
	}
	if len(received) != 120 {
		t.Fatalf("members received %d distinct messages, want 120", len(received))
	}
	for v, n := range received {
		if n != 1 {
			t.Fatalf("message %s received %d times", v, n)
		}
	}
	// Member 0 leaves: its partitions go to the others, which receive its
	// unacknowledged messages again, and nothing else.
	if err := subs[0].Close(); err != nil {
		t.Fatal(err)
	}
	subs = subs[1:]
	check(2)
	again := map[string]bool{}
	for _, s := range subs {
		rctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		for {
			d, err := s.Receive(rctx)
			if err != nil {
				break
			}
			if !fromFirst[string(d.Value)] {
				t.Fatalf("message %s delivered again though it was acknowledged", d.Value)
			}
			again[string(d.Value)] = true
			d.Ack()
		}
		cancel()
	}
	if len(again) != len(fromFirst) {
		t.Fatalf("%d of %d unacknowledged messages redelivered", len(again), len(fromFirst))
	}
	// A new member takes some partitions over at the committed offsets:
	// nothing is redelivered (everything is acknowledged now).
	s, err := b.Subscribe(ctx, "t", bus.SubscribeOptions{Group: "g"})
	if err != nil {
		t.Fatal(err)
	}
	subs = append(subs, s.(*subscription))
	check(3)
	for _, s := range subs {
		rctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		if d, err := s.Receive(rctx); err == nil {
			t.Fatalf("message %s redelivered after a join though acknowledged", d.Value)
		}
		cancel()
	}
	// A join moves only the partitions the newcomer takes: 3 members own
	// 2 each; with a 4th the shares are 2+2+1+1, so one partition moves,
	// from the third member to the new one.
	before := owners(b.topics["t"].group("g"))
	s4, err := b.Subscribe(ctx, "t", bus.SubscribeOptions{Group: "g"})
	if err != nil {
		t.Fatal(err)
	}
	subs = append(subs, s4.(*subscription))
	check(4)
	moved := 0
	for p, o := range owners(b.topics["t"].group("g")) {
		if o != before[p] {
			moved++
			if o != s4 {
				t.Errorf("partition %d moved between two old members", p)
			}
		}
	}
	if moved != 1 {
		t.Errorf("%d partitions moved when a 4th member joined 3 on 6 partitions, want 1", moved)
	}
	// More members than partitions: the extra ones wait, idle.
	for i := 0; i < 4; i++ {
		s, err := b.Subscribe(ctx, "t", bus.SubscribeOptions{Group: "g"})
		if err != nil {
			t.Fatal(err)
		}
		subs = append(subs, s.(*subscription))
	}
	check(8)
	for _, s := range subs {
		s.Close()
	}
}

// Acknowledged offsets reach the disk every CommitInterval without a
// Close, so a crash loses at most the last interval's acknowledgements.
func TestCommitInterval(t *testing.T) {
	dir := t.TempDir()
	b := mustOpen(t, Config{Dir: dir, Partitions: 2, CommitInterval: 20 * time.Millisecond}, nil)
	defer b.Close()
	for i := 0; i < 10; i++ {
		publish(t, b, "t", bus.Message{Key: []byte(fmt.Sprint(i))})
	}
	sub, err := b.Subscribe(context.Background(), "t", bus.SubscribeOptions{Group: "g"})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 10; i++ {
		d, err := sub.Receive(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		d.Ack()
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		g := b.topics["t"].group("g")
		// Read what is on disk, as a restarted process would.
		t2 := &topic{b: b, name: "t", dir: b.topics["t"].dir, parts: b.topics["t"].parts, groups: map[string]*group{}}
		if err := t2.loadGroups(); err != nil {
			t.Fatal(err)
		}
		var sum int64
		if dg := t2.groups["g"]; dg != nil {
			for _, off := range dg.committed {
				sum += off
			}
		}
		if sum == 10 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("committed offsets on disk add up to %d after 5s, want 10 (group %p)", sum, g)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Without a group: Offsets replays from an offset, an offset below the
// oldest retained record starts at the oldest, StartLatest skips the past.
func TestReaderStartPositions(t *testing.T) {
	b := mustOpen(t, Config{Dir: t.TempDir(), Partitions: 1, SegmentBytes: 1024, RetentionBytes: 3000}, nil)
	defer b.Close()
	for i := 0; i < 100; i++ {
		publish(t, b, "t", bus.Message{Value: []byte(fmt.Sprintf("%03d-%s", i, make([]byte, 100)))})
	}
	oldest := b.topics["t"].parts[0].oldest()
	if oldest == 0 {
		t.Fatal("retention deleted nothing")
	}
	got := readAll(t, b, "t", bus.SubscribeOptions{Offsets: map[int]int64{0: 90}}, 10)
	if got[0].Offset != 90 || got[9].Offset != 99 {
		t.Fatalf("replay from 90 read %s..%s", got[0], got[9])
	}
	got = readAll(t, b, "t", bus.SubscribeOptions{Offsets: map[int]int64{0: 0}}, int(100-oldest))
	if got[0].Offset != oldest {
		t.Fatalf("replay from 0 began at %s, want the oldest retained offset %d", got[0], oldest)
	}
	if _, err := b.Subscribe(context.Background(), "t", bus.SubscribeOptions{Offsets: map[int]int64{1: 0}}); err == nil {
		t.Fatal("replay offset for a partition the topic does not have was accepted")
	}
	sub, err := b.Subscribe(context.Background(), "t", bus.SubscribeOptions{Start: bus.StartLatest})
	if err != nil {
		t.Fatal(err)
	}
	publish(t, b, "t", bus.Message{Value: []byte("new")})
	d, err := sub.Receive(context.Background())
	if err != nil || string(d.Value) != "new" || d.Offset != 100 {
		t.Fatalf("StartLatest read %v %v", d, err)
	}
}

// Retention by size deletes whole old segments, never the active one, and
// a reader whose segment was deleted under it jumps to the oldest retained
// record.
func TestRetentionBytes(t *testing.T) {
	dir := t.TempDir()
	b := mustOpen(t, Config{Dir: dir, Partitions: 1, SegmentBytes: 4096, RetentionBytes: 10000}, nil)
	defer b.Close()
	value := make([]byte, 500)
	publish(t, b, "t", bus.Message{Value: value})
	slow, err := b.Subscribe(context.Background(), "t", bus.SubscribeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if d, err := slow.Receive(context.Background()); err != nil || d.Offset != 0 {
		t.Fatalf("first read: %v %v", d, err)
	}
	for i := 1; i < 200; i++ {
		publish(t, b, "t", bus.Message{Value: value})
	}
	p := b.topics["t"].parts[0]
	files := segFiles(t, dir, "t", 0)
	var total int64
	for _, f := range files {
		st, _ := os.Stat(f)
		total += st.Size()
	}
	// At most RetentionBytes plus the active segment's allocation.
	if total > 10000+4096 {
		t.Errorf("%d segment files hold %d bytes, retention is 10000", len(files), total)
	}
	oldest := p.oldest()
	if oldest == 0 || len(files) < 2 {
		t.Fatalf("oldest offset %d in %d files: nothing deleted", oldest, len(files))
	}
	if base, _ := parseSegmentName(filepath.Base(files[0])); base != oldest {
		t.Errorf("oldest file %s, oldest offset %d", files[0], oldest)
	}
	// The tail cache is trimmed with the files: it never serves a record
	// whose segment is gone.
	if n, _, first := p.tail.stats(); first != oldest || first+int64(n) != 200 {
		t.Fatalf("tail cache holds %d records from %d; the oldest retained is %d, the end 200", n, first, oldest)
	}
	d, err := slow.Receive(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if d.Offset != oldest {
		t.Fatalf("reader behind retention read offset %d, want the oldest retained %d", d.Offset, oldest)
	}
	// A restart sees the same oldest offset and reads on to the end.
	b.Close()
	b = mustOpen(t, Config{Dir: dir, Partitions: 1, SegmentBytes: 4096, RetentionBytes: 10000}, nil)
	got := readAll(t, b, "t", bus.SubscribeOptions{}, int(200-oldest))
	if got[0].Offset != oldest || got[len(got)-1].Offset != 199 {
		t.Fatalf("after restart read %s..%s", got[0], got[len(got)-1])
	}
}

// Retention by age deletes segments whose newest record is older than
// RetentionAge, in the background, but never the active segment.
func TestRetentionAge(t *testing.T) {
	dir := t.TempDir()
	b := mustOpen(t, Config{Dir: dir, Partitions: 1, SegmentBytes: 2048, RetentionAge: 300 * time.Millisecond, CommitInterval: 10 * time.Millisecond}, nil)
	defer b.Close()
	for i := 0; i < 40; i++ {
		publish(t, b, "t", bus.Message{Value: make([]byte, 200)})
	}
	if n := len(segFiles(t, dir, "t", 0)); n < 3 {
		t.Fatalf("%d segments", n)
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(segFiles(t, dir, "t", 0)) > 1 {
		if time.Now().After(deadline) {
			t.Fatalf("old segments still there after 10s: %v", segFiles(t, dir, "t", 0))
		}
		time.Sleep(20 * time.Millisecond)
	}
	p := b.topics["t"].parts[0]
	if p.end.Load() != 40 {
		t.Fatalf("written end %d", p.end.Load())
	}
	// The active segment stays, and publishing goes on.
	publish(t, b, "t", bus.Message{Value: []byte("x")})
	got := readAll(t, b, "t", bus.SubscribeOptions{}, int(41-p.oldest()))
	if string(got[len(got)-1].Value) != "x" {
		t.Fatal("last record is not the new one")
	}
}

// A crash of the machine can take records that a group had read (and
// committed) before they were synced: at Open the group's committed offset
// is past the log's end. The group resumes at the end and gets the records
// published next, which take those offsets, instead of waiting past them.
func TestGroupOffsetPastEndResumesAtEnd(t *testing.T) {
	dir := t.TempDir()
	b := mustOpen(t, Config{Dir: dir, Partitions: 1}, nil)
	for i := range 5 {
		publish(t, b, "t", bus.Message{Value: []byte(fmt.Sprint(i))})
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	gf := filepath.Join(dir, "topics", "t", "groups", "g.json")
	if err := os.MkdirAll(filepath.Dir(gf), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(gf, []byte(`{"group":"g","offsets":{"0":9}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	b = mustOpen(t, Config{Dir: dir, Partitions: 1}, slog.New(slog.NewTextHandler(&logs, nil)))
	defer b.Close()
	if l := logs.String(); !strings.Contains(l, "committed offset past the end of the log") || !strings.Contains(l, "committed=9") || !strings.Contains(l, "end=5") {
		t.Errorf("no warning naming the committed offset and the end: %q", l)
	}
	publish(t, b, "t", bus.Message{Value: []byte("after")})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := b.Subscribe(ctx, "t", bus.SubscribeOptions{Group: "g"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	d, err := s.Receive(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if d.Offset != 5 || string(d.Value) != "after" {
		t.Fatalf("the group got %s %q, want offset 5 \"after\"", d, d.Value)
	}
}
