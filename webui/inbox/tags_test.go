package inbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hotline-hub/hotline/bus"
	"github.com/hotline-hub/hotline/bus/event"
	"github.com/hotline-hub/hotline/webui/api"
)

// taggedEvents reads the conversations topic from its start, up to a
// sentinel published after what is there, and returns the
// conversation.tagged events of convID.
func taggedEvents(t *testing.T, e *env, tenant, convID string) []*event.ConversationTaggedData {
	t.Helper()
	// Unique, so that a later call does not stop at an earlier sentinel.
	sentinel := []byte(fmt.Sprintf("sentinel-tags-%s-%d", convID, time.Now().UnixNano()))
	if err := e.bus.Publish(context.Background(), event.TopicConversations,
		bus.Message{Key: []byte(tenant + "/" + convID), Value: sentinel}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	sub, err := e.bus.Subscribe(ctx, event.TopicConversations, bus.SubscribeOptions{Start: bus.StartEarliest})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	var out []*event.ConversationTaggedData
	for {
		d, err := sub.Receive(ctx)
		if err != nil {
			t.Fatalf("read conversations: %v", err)
		}
		if string(d.Value) == string(sentinel) {
			return out
		}
		ev, err := event.FromMessage(&d.Message)
		if err != nil || ev.Type != event.ConversationTagged || ev.ConversationID != convID || ev.Tenant != tenant {
			continue
		}
		p, err := ev.Decode()
		if err != nil {
			t.Fatalf("decode %s: %v", ev.Type, err)
		}
		out = append(out, p.(*event.ConversationTaggedData))
	}
}

func TestTags(t *testing.T) {
	e, u := startEnv(t)
	a1, sup := u["agent1"], u["super"]
	a1.must(200, "PUT", a1.path("me/presence"), map[string]any{"presence": "available"})
	e.queueChat("acme", "conv-tag", "support", "visitor-tag", "Tom", "Where is my parcel?")
	offeredTo(t, "conv-tag", a1)
	// Offered, not yet taken: not the agent's to tag.
	if r := a1.do("PUT", a1.path("conversations/conv-tag/tags"), map[string]any{"tags": []string{"vip"}}); r.status != 409 {
		t.Fatalf("tags on an offered conversation: %d %s, want 409", r.status, r.body)
	}
	a1.must(200, "POST", a1.path("conversations/conv-tag/accept"), nil)
	if d := a1.conv("conv-tag"); d.Tags == nil || len(d.Tags) != 0 {
		t.Fatalf("tags of an untagged conversation = %#v, want []", d.Tags)
	}
	ws := a1.dial()

	d := a1.must(200, "PUT", a1.path("conversations/conv-tag/tags"), map[string]any{"tags": []string{" VIP ", "Réclamation", "доставка"}}).detail(t)
	want := []string{"vip", "réclamation", "доставка"}
	if !slices.Equal(d.Tags, want) || d.Status != StatusAssigned || len(d.Thread) != 1 {
		t.Fatalf("after tagging: tags %q status %s thread %d, want %q assigned 1", d.Tags, d.Status, len(d.Thread), want)
	}
	ws.await(t, "the tags on the socket", func(f map[string]any) bool {
		c, _ := f["conversation"].(map[string]any)
		tags, _ := c["tags"].([]any)
		return f["type"] == "conversation" && c["id"] == "conv-tag" && len(tags) == 3 && tags[0] == "vip"
	})
	if got := a1.list("view=mine"); len(got) != 1 || !slices.Equal(got[0].Tags, want) {
		t.Fatalf("mine = %+v, want conv-tag tagged %q", got, want)
	}
	// The same set again publishes nothing; a supervisor may change it.
	a1.must(200, "PUT", a1.path("conversations/conv-tag/tags"), map[string]any{"tags": []string{"vip", "RÉCLAMATION", "доставка"}})
	d = sup.must(200, "PUT", sup.path("conversations/conv-tag/tags"), map[string]any{"tags": []string{"vip"}}).detail(t)
	if !slices.Equal(d.Tags, []string{"vip"}) {
		t.Fatalf("after the supervisor's change: %q", d.Tags)
	}
	evs := taggedEvents(t, e, "acme", "conv-tag")
	if len(evs) != 2 || !slices.Equal(evs[0].Tags, want) || evs[0].By != a1.id || !slices.Equal(evs[1].Tags, []string{"vip"}) || evs[1].By != sup.id {
		t.Fatalf("conversation.tagged events = %+v, want 2: agent1's %q then super's [vip]", evs, want)
	}

	// Bad input: 400 naming the field, nothing published.
	bad := []struct{ name, body, msg string }{
		{"missing", `{}`, "required"},
		{"null", `{"tags":null}`, "required"},
		{"not a list", `{"tags":"vip"}`, ""},
		{"empty tag", `{"tags":["vip","  "]}`, "is not 1 to 40"},
		{"space inside", `{"tags":["very important"]}`, "is not 1 to 40"},
		{"leading dash", `{"tags":["-vip"]}`, "is not 1 to 40"},
		{"too long", `{"tags":["` + strings.Repeat("x", 41) + `"]}`, "is not 1 to 40"},
		{"repeat after lowercasing", `{"tags":["vip","VIP"]}`, "repeats"},
		{"too many", `{"tags":[` + strings.TrimSuffix(strings.Repeat(`"x",`, 21), ",") + `]}`, "at most 20"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			r := a1.do("PUT", a1.path("conversations/conv-tag/tags"), tc.body)
			var b api.ErrorBody
			_ = json.Unmarshal(r.body, &b)
			if r.status != 400 || b.Error.Field != "tags" || !strings.Contains(b.Error.Message, tc.msg) {
				t.Fatalf("%d %s, want 400 on field tags saying %q", r.status, r.body, tc.msg)
			}
		})
	}
	// Twenty is the limit, not past it; [] clears.
	twenty := make([]string, event.MaxTags)
	for n := range twenty {
		twenty[n] = fmt.Sprintf("t%02d", n)
	}
	if d = a1.must(200, "PUT", a1.path("conversations/conv-tag/tags"), map[string]any{"tags": twenty}).detail(t); !slices.Equal(d.Tags, twenty) {
		t.Fatalf("twenty tags = %q", d.Tags)
	}
	if d = a1.must(200, "PUT", a1.path("conversations/conv-tag/tags"), map[string]any{"tags": []string{}}).detail(t); d.Tags == nil || len(d.Tags) != 0 {
		t.Fatalf("after clearing: %#v, want []", d.Tags)
	}
	a1.must(200, "PUT", a1.path("conversations/conv-tag/tags"), map[string]any{"tags": []string{"colis", "vip"}})
	if evs := taggedEvents(t, e, "acme", "conv-tag"); len(evs) != 5 {
		t.Fatalf("%d conversation.tagged events, want 5 (no event for a rejected request)", len(evs))
	}

	// Once resolved, the agent may no longer change them; a supervisor may.
	a1.must(200, "POST", a1.path("conversations/conv-tag/resolve"), nil)
	if r := a1.do("PUT", a1.path("conversations/conv-tag/tags"), map[string]any{"tags": []string{"done"}}); r.status != 409 {
		t.Fatalf("tags by the last agent of a resolved conversation: %d %s, want 409", r.status, r.body)
	}
	if d = a1.conv("conv-tag"); !slices.Equal(d.Tags, []string{"colis", "vip"}) || d.Status != StatusResolved {
		t.Fatalf("resolved conversation: tags %q status %s", d.Tags, d.Status)
	}

	// A second inbox replaying the log ends with the same tags.
	in2, err := New(Config{Routing: e.rcfg, ReaderID: "test-replay"}, e.bus, e.auth, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- in2.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, bus.ErrClosed) {
			t.Errorf("replaying inbox Run: %v", err)
		}
	})
	waitFor(t, "the second inbox caught up", func() bool { return in2.Synced("acme") })
	waitFor(t, "the replayed tags", func() bool {
		in2.mu.Lock()
		defer in2.mu.Unlock()
		c := in2.tenants["acme"].convs["conv-tag"]
		return c != nil && slices.Equal(c.summary().Tags, []string{"colis", "vip"}) && c.Status == StatusResolved
	})
}
