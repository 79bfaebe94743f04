package search

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/hotline-hub/hotline/bus/embedded"
	"github.com/hotline-hub/hotline/bus/event"
)

// op is one merge ("m", into, ids...) or unmerge ("u", contact, ids...).
type op struct {
	kind   string
	tenant string
	id     string
	ids    []string
}

func merge(into string, ids ...string) op   { return op{"m", "t1", into, ids} }
func unmerge(from string, ids ...string) op { return op{"u", "t1", from, ids} }

func (o op) envelope(t *testing.T) *event.Envelope {
	t.Helper()
	var p event.Payload
	typ := event.ContactsMerged
	if o.kind == "m" {
		p = &event.ContactsMergedData{IntoID: o.id, MergedIDs: o.ids}
	} else {
		typ = event.ContactsUnmerged
		p = &event.ContactsUnmergedData{ContactID: o.id, RestoredIDs: o.ids}
	}
	e, err := event.New(typ, o.tenant, p)
	if err != nil {
		t.Fatalf("event.New(%s): %v", typ, err)
	}
	return e
}

func TestMerges(t *testing.T) {
	tests := []struct {
		name  string
		ops   []op
		sets  map[string][]string // contact -> Set
		roots map[string]string   // contact -> Root
	}{
		{
			name:  "nothing merged",
			sets:  map[string][]string{"a": {"a"}},
			roots: map[string]string{"a": "a"},
		},
		{
			name:  "one merge",
			ops:   []op{merge("a", "b", "c")},
			sets:  map[string][]string{"a": {"a", "b", "c"}, "b": {"b"}},
			roots: map[string]string{"b": "a", "c": "a", "a": "a"},
		},
		{
			name:  "chain",
			ops:   []op{merge("b", "c"), merge("a", "b")},
			sets:  map[string][]string{"a": {"a", "b", "c"}, "b": {"b", "c"}, "c": {"c"}},
			roots: map[string]string{"c": "a", "b": "a"},
		},
		{
			name:  "unmerge restores",
			ops:   []op{merge("a", "b", "c"), unmerge("a", "b")},
			sets:  map[string][]string{"a": {"a", "c"}, "b": {"b"}},
			roots: map[string]string{"b": "b", "c": "a"},
		},
		{
			name:  "unmerge of a middle link keeps its own merges",
			ops:   []op{merge("b", "c"), merge("a", "b")},
			sets:  map[string][]string{"a": {"a", "b", "c"}},
			roots: map[string]string{"c": "a"},
		},
		{
			name:  "unmerge of a middle link",
			ops:   []op{merge("b", "c"), merge("a", "b"), unmerge("a", "b")},
			sets:  map[string][]string{"a": {"a"}, "b": {"b", "c"}},
			roots: map[string]string{"b": "b", "c": "b"},
		},
		{
			name:  "unmerge from an ancestor",
			ops:   []op{merge("b", "c"), merge("a", "b"), unmerge("a", "c")},
			sets:  map[string][]string{"a": {"a", "b"}, "c": {"c"}},
			roots: map[string]string{"c": "c", "b": "a"},
		},
		{
			name:  "unmerge from a contact it is not merged into changes nothing",
			ops:   []op{merge("a", "b"), unmerge("x", "b")},
			sets:  map[string][]string{"a": {"a", "b"}},
			roots: map[string]string{"b": "a"},
		},
		{
			name:  "remerge elsewhere moves the contact",
			ops:   []op{merge("a", "b"), merge("x", "b")},
			sets:  map[string][]string{"a": {"a"}, "x": {"b", "x"}},
			roots: map[string]string{"b": "x"},
		},
		{
			name:  "merge making a cycle is ignored",
			ops:   []op{merge("a", "b"), merge("b", "a")},
			sets:  map[string][]string{"a": {"a", "b"}, "b": {"b"}},
			roots: map[string]string{"a": "a", "b": "a"},
		},
		{
			name:  "merge and unmerge again",
			ops:   []op{merge("a", "b"), unmerge("a", "b"), merge("a", "b")},
			sets:  map[string][]string{"a": {"a", "b"}},
			roots: map[string]string{"b": "a"},
		},
		{
			name:  "tenants are apart",
			ops:   []op{{"m", "t2", "a", []string{"b"}}},
			sets:  map[string][]string{"a": {"a"}},
			roots: map[string]string{"b": "b"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := NewMerges()
			for _, o := range tt.ops {
				if err := m.Apply(o.envelope(t)); err != nil {
					t.Fatalf("Apply: %v", err)
				}
			}
			for id, want := range tt.sets {
				got := m.Set("t1", id)
				// Set puts the contact first, the rest sorted.
				if !slices.Equal(got[:1], []string{id}) {
					t.Errorf("Set(%s) = %v, want %s first", id, got, id)
				}
				slices.Sort(got)
				if !slices.Equal(got, want) {
					t.Errorf("Set(%s) = %v, want %v", id, got, want)
				}
			}
			for id, want := range tt.roots {
				if got := m.Root("t1", id); got != want {
					t.Errorf("Root(%s) = %q, want %q", id, got, want)
				}
			}
		})
	}
}

func TestMergesRun(t *testing.T) {
	b, err := embedded.Open(embedded.Config{Dir: t.TempDir(), Partitions: 2}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	publish := func(o op) {
		msg, err := event.ToMessage(o.envelope(t))
		if err != nil {
			t.Fatal(err)
		}
		if err := b.Publish(ctx, event.TopicContacts, msg); err != nil {
			t.Fatal(err)
		}
	}
	publish(merge("b", "c"))
	publish(merge("a", "b"))
	m := NewMerges()
	done := make(chan error, 1)
	runCtx, stop := context.WithCancel(ctx)
	go func() { done <- m.Run(runCtx, b) }()
	waitFor(t, ctx, func() bool { return len(m.Set("t1", "a")) == 3 })
	publish(unmerge("a", "b")) // published while Run follows the topic
	waitFor(t, ctx, func() bool { return m.Root("t1", "c") == "b" })
	if got := m.Set("t1", "a"); !slices.Equal(got, []string{"a"}) {
		t.Errorf("Set(a) after unmerge = %v, want [a]", got)
	}
	stop()
	if err := <-done; err != nil {
		t.Errorf("Run = %v, want nil after cancel", err)
	}
}

func waitFor(t *testing.T, ctx context.Context, cond func() bool) {
	t.Helper()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatal("condition not met before the deadline")
		case <-time.After(10 * time.Millisecond):
		}
	}
}
