package chat

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/hotline-hub/hotline/bus"
	"github.com/hotline-hub/hotline/bus/event"
)

func TestShardOfKey(t *testing.T) {
	// The tenant and the id are kept apart: moving a byte across them
	// is another key, which (for these) lands elsewhere.
	seen := map[uint32]bool{}
	for i := range 2000 {
		k := tkey{"demo", fmt.Sprintf("visitor-%d", i)}
		s := k.shard()
		if s >= shardCount {
			t.Fatalf("shard %d of %v is out of range", s, k)
		}
		if s != k.shard() {
			t.Fatalf("shard of %v is not stable", k)
		}
		seen[s] = true
	}
	if len(seen) != shardCount {
		t.Errorf("2,000 keys used %d of %d shards", len(seen), shardCount)
	}
	if (tkey{"ab", "c"}).shard() == (tkey{"a", "bc"}).shard() && (tkey{"x", "yz"}).shard() == (tkey{"xy", "z"}).shard() {
		t.Error("keys differing only in where tenant ends hash alike")
	}
}

// TestManyVisitorsAtOnce has visitors write, reconnect halfway and get
// agent replies, all at the same time: every message is acknowledged once,
// in one conversation per visitor, and every reply reaches its visitor,
// live or replayed on the reconnect.
func TestManyVisitorsAtOnce(t *testing.T) {
	const visitors, perVisitor = 24, 8
	b := newBus(t)
	cfg := baseConfig(t, t.TempDir())
	// Every visitor comes from 127.0.0.1: the address's limits are the
	// visitors' together.
	cfg.IPMessageRate, cfg.IPMessageBurst = 1000, visitors*perVisitor
	cfg.ConnectRate, cfg.ConnectBurst = 1000, 2*visitors
	h := startHub(t, b, cfg)
	u := "ws" + strings.TrimPrefix(h.srv.URL, "http") + "/chat/ws"

	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	// An agent answers each acknowledged message at once.
	type ask struct{ convID, replyID string }
	asks := make(chan ask, visitors*perVisitor)
	replied := make(chan error, 1)
	go func() {
		for a := range asks {
			e, err := event.New(event.MessageSent, "demo", &event.MessageSentData{
				MessageID: a.replyID, AgentID: "a1", From: event.Address{Address: "agent-a1", Name: "Alice"},
				To: []event.Address{{Address: "visitor"}}, Text: "answer " + a.replyID,
			}, event.WithConversation(a.convID), event.WithChannel(event.ChannelChat), event.WithID("sent-"+a.replyID))
			if err == nil {
				var m bus.Message
				if m, err = event.ToMessage(e); err == nil {
					err = b.Publish(ctx, event.TopicOutbox, m)
				}
			}
			if err != nil {
				replied <- err
				return
			}
		}
		replied <- nil
	}()

	visit := func(n int) error {
		dial := func(hello map[string]any) (*websocket.Conn, frame, error) {
			ws, _, err := websocket.DefaultDialer.DialContext(ctx, u, nil)
			if err != nil {
				return nil, frame{}, err
			}
			ws.SetReadDeadline(time.Now().Add(waitLimit))
			if err := ws.WriteJSON(hello); err != nil {
				ws.Close()
				return nil, frame{}, err
			}
			var f frame
			if err := ws.ReadJSON(&f); err != nil || f.Type != "welcome" {
				ws.Close()
				return nil, f, fmt.Errorf("no welcome (%+v): %v", f, err)
			}
			return ws, f, nil
		}
		ws, w, err := dial(map[string]any{"type": "hello", "tenant": "demo", "queue": "support"})
		if err != nil {
			return err
		}
		defer func() { ws.Close() }()
		replies := map[string]bool{}
		var convID string
		// next reads until the ack of cid, noting the replies on the way.
		next := func(cid string) error {
			for {
				var f frame
				if err := ws.ReadJSON(&f); err != nil {
					return fmt.Errorf("waiting for the ack of %s: %w", cid, err)
				}
				switch {
				case f.Type == "message" && f.From == "agent":
					replies[f.MessageID] = true
				case f.Type == "ack" && f.ClientID == cid:
					if convID == "" {
						convID = f.ConversationID
					} else if f.ConversationID != convID {
						return fmt.Errorf("%s went to conversation %s, the others to %s", cid, f.ConversationID, convID)
					}
					asks <- ask{f.ConversationID, fmt.Sprintf("r%d-%s", n, cid)}
					return nil
				case f.Type == "error":
					return fmt.Errorf("error frame %+v", f)
				}
			}
		}
		for j := range perVisitor {
			if j == perVisitor/2 {
				ws.Close()
				var again frame
				if ws, again, err = dial(map[string]any{"type": "hello", "tenant": "demo", "queue": "support", "token": w.Token}); err != nil {
					return err
				}
				if again.ConversationID != convID {
					return fmt.Errorf("welcome back in conversation %q, want %q", again.ConversationID, convID)
				}
			}
			cid := fmt.Sprintf("m%d", j)
			if err := ws.WriteJSON(map[string]any{"type": "message", "client_id": cid, "text": "question " + cid}); err != nil {
				return err
			}
			if err := next(cid); err != nil {
				return err
			}
		}
		// The replies to the first half came live or with the history on
		// the reconnect; the rest come live.
		for len(replies) < perVisitor {
			var f frame
			if err := ws.ReadJSON(&f); err != nil {
				return fmt.Errorf("%d of %d replies, then %w", len(replies), perVisitor, err)
			}
			if f.Type == "message" && f.From == "agent" {
				if !strings.HasPrefix(f.MessageID, fmt.Sprintf("r%d-", n)) {
					return fmt.Errorf("got another visitor's reply %s", f.MessageID)
				}
				replies[f.MessageID] = true
			}
		}
		return nil
	}
	var wg sync.WaitGroup
	errs := make(chan error, visitors)
	for n := range visitors {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := visit(n); err != nil {
				errs <- fmt.Errorf("visitor %d: %w", n, err)
			}
		}()
	}
	wg.Wait()
	close(asks)
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if err := <-replied; err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, e := range ofType(drain(t, b, event.TopicConversations), event.MessageReceived) {
		var d event.MessageReceivedData
		if err := json.Unmarshal(e.Data, &d); err != nil {
			t.Fatal(err)
		}
		got[d.MessageID]++
	}
	if len(got) != visitors*perVisitor {
		t.Errorf("%d distinct messages on the bus, want %d", len(got), visitors*perVisitor)
	}
	for id, n := range got {
		if n != 1 {
			t.Errorf("message %s stored %d times", id, n)
		}
	}
	if v, cv := h.ch.counts(); v != visitors || cv != visitors {
		t.Errorf("the channel holds %d visitors and %d conversations, want %d of each", v, cv, visitors)
	}
}

// TestDerivedIDStable pins derivedID's output: ids already on the bus were
// made by it, and a resend or a replay must derive the same ones. The
// values were made by the first form, which hashed through sha256.New.
func TestDerivedIDStable(t *testing.T) {
	for _, tc := range []struct {
		kind  string
		parts []string
		want  string
	}{
		{"msg", []string{"acme", "v-1", "c-1"}, "chat-msg-37f3a60eae559e3c77e75814cd278ea7"},
		{"conv", nil, "chat-conv-2ec3e47dcf05a139d895b271f899f0da"},
		{"dlv", []string{"acme", "", "Привет"}, "chat-dlv-22ead0c9e4848fece4ba52fe307c7957"},
		// Longer than the stack buffer.
		{"queued", []string{"acme", strings.Repeat("x", 300), "c"}, "chat-queued-1c02b37bea47b110deffdc95f6d3ab11"},
	} {
		if got := derivedID(tc.kind, tc.parts...); got != tc.want {
			t.Errorf("derivedID(%q, %q) = %s, want %s", tc.kind, tc.parts, got, tc.want)
		}
	}
	if n := testing.AllocsPerRun(100, func() { derivedID("msg", "acme", "v-1", "c-1") }); n != 1 {
		t.Errorf("derivedID allocates %v times, want once (the id)", n)
	}
}
