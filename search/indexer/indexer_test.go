package indexer

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hotline-hub/hotline/bus/event"
	"github.com/hotline-hub/hotline/routing"
	"github.com/hotline-hub/hotline/search"
)

// chatConversation is a chat as channels/chat, the inbox and routing write
// it: queued, received, sent, a note, assigned, resolved.
func chatConversation(t testing.TB, conv string, sec int) []*event.Envelope {
	chat := []event.Option{event.WithChannel(event.ChannelChat), event.WithContact("visitor-" + conv)}
	received := ev(t, event.MessageReceived, conv, sec+1, &event.MessageReceivedData{
		MessageID: "m1-" + conv, From: event.Address{Address: "visitor-" + conv, Name: "Zoé Martin"},
		To: []event.Address{{Address: "support"}}, Text: "Mon colis n'est toujours pas arrivé", Language: "fr",
	}, chat...)
	if err := received.SetExtension("visitoremail", "Zoe.Martin@Example.com"); err != nil {
		t.Fatal(err)
	}
	return []*event.Envelope{
		ev(t, event.ConversationQueued, conv, sec, &event.ConversationQueuedData{Queue: "support", Language: "fr"}, chat...),
		received,
		ev(t, event.ConversationAssigned, conv, sec+2, &event.ConversationAssignedData{AgentID: "a1", Queue: "support"}, chat...),
		ev(t, event.MessageSent, conv, sec+3, &event.MessageSentData{
			MessageID: "m2-" + conv, AgentID: "a1", From: event.Address{Address: "support"},
			To: []event.Address{{Address: "visitor-" + conv}}, Text: "Nous vérifions votre livraison", Language: "fr",
		}, chat...),
		ev(t, event.NoteAdded, conv, sec+4, &event.NoteAddedData{NoteID: "n1-" + conv, AgentID: "a1", Text: "transporteur prévenu"}, chat...),
		ev(t, event.ConversationResolved, conv, sec+5, &event.ConversationResolvedData{AgentID: "a1", Resolution: "solved"}, chat...),
	}
}

func TestChatConversationIsOneDocument(t *testing.T) {
	b, idx := openBus(t), openIndex(t)
	r := start(t, Config{}, b, idx)
	// The reply goes out on the outbox before the customer's message is
	// on the conversations topic: entries still come out in time order.
	evs := chatConversation(t, "c1", 0)
	publish(t, b, evs[3])
	publish(t, b, evs[0], evs[1], evs[2], evs[4], evs[5])

	eventually(t, "c1 resolved with its entries", func() (bool, string) {
		c, ok := stored(t, idx, "c1")
		return ok && c.Status == search.StatusResolved && len(c.Entries) == 3, fmt.Sprintf("%+v", c)
	})
	c, _ := stored(t, idx, "c1")
	if c.AgentID != "a1" || c.Channel != event.ChannelChat || c.Queue != "support" || c.ContactID != "visitor-c1" {
		t.Errorf("attributes = agent %q channel %q queue %q contact %q, want a1 chat support visitor-c1", c.AgentID, c.Channel, c.Queue, c.ContactID)
	}
	if c.CustomerName != "Zoé Martin" || c.Language != "fr" {
		t.Errorf("customer name %q language %q, want Zoé Martin, fr", c.CustomerName, c.Language)
	}
	if !c.Started.Equal(t0) || !c.LastActivity.Equal(t0.Add(5*time.Second)) {
		t.Errorf("started %s last activity %s, want %s and +5s", c.Started, c.LastActivity, t0)
	}
	var got []string
	for _, e := range c.Entries {
		got = append(got, e.Kind+"/"+e.Direction+"/"+e.ID)
	}
	want := []string{"message/in/m1-c1", "message/out/m2-c1", "note//n1-c1"}
	if !slices.Equal(got, want) {
		t.Errorf("entries = %v, want %v", got, want)
	}
	if c.Entries[1].AgentID != "a1" {
		t.Errorf("reply agent = %q, want a1", c.Entries[1].AgentID)
	}

	ctx := context.Background()
	eventually(t, "c1 searchable", func() (bool, string) {
		res, err := idx.Search(ctx, search.Query{Tenant: tenant, Text: "livraison", Statuses: []string{search.StatusResolved}, Agents: []string{"a1"}})
		if err != nil {
			t.Fatalf("Search: %v", err)
		}
		return res.Total == 1 && res.Hits[0].Conversation.ID == "c1", fmt.Sprintf("%+v", res)
	})
	cs, err := idx.Contacts(ctx, search.ContactQuery{Tenant: tenant, Email: "zoe.martin@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 1 || cs[0].ID != "visitor-c1" || cs[0].Name != "Zoé Martin" {
		t.Errorf("Contacts by visitor email = %+v, want visitor-c1 named Zoé Martin", cs)
	}
	if err := r.stop(); err != nil {
		t.Errorf("Run = %v", err)
	}
}

func TestVoidAssignmentIsNeverShown(t *testing.T) {
	b, idx := openBus(t), openIndex(t)
	rec := newRecorder(idx)
	start(t, Config{}, b, rec)
	chat := event.WithChannel(event.ChannelChat)
	publish(t, b,
		ev(t, event.ConversationQueued, "c2", 0, &event.ConversationQueuedData{Queue: "support"}, chat),
		ev(t, event.MessageReceived, "c2", 1, &event.MessageReceivedData{MessageID: "m1", From: event.Address{Address: "v2"},
			To: []event.Address{{Address: "support"}}, Text: "bonjour"}, chat),
		// ghost is not a configured agent: routing finds this void.
		ev(t, event.ConversationAssigned, "c2", 2, &event.ConversationAssignedData{AgentID: "ghost"}, chat),
		// a1 takes it; then a second agent's grab of it is void too.
		ev(t, event.ConversationAssigned, "c2", 3, &event.ConversationAssignedData{AgentID: "a1"}, chat),
		ev(t, event.ConversationAssigned, "c2", 4, &event.ConversationAssignedData{AgentID: "ghost"}, chat),
		// A marker after them in the routing log.
		ev(t, event.ConversationQueued, "c3", 5, &event.ConversationQueuedData{Queue: "support"}, chat),
	)
	eventually(t, "marker indexed", func() (bool, string) {
		_, ok := stored(t, idx, "c3")
		return ok, "c3 not stored"
	})
	eventually(t, "c2 assigned to a1", func() (bool, string) {
		c, _ := stored(t, idx, "c2")
		return c.Status == search.StatusAssigned && c.AgentID == "a1" && len(c.Entries) == 1, fmt.Sprintf("%+v", c)
	})
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if slices.Contains(rec.agents["c2"], "ghost") {
		t.Errorf("a void assignment was written: agents of c2's writes %q", rec.agents["c2"])
	}
}

// conversations returns n conversations of msgs messages each, in and out.
func conversations(t testing.TB, prefix string, n, msgs int) [][]*event.Envelope {
	var out [][]*event.Envelope
	for i := range n {
		conv := fmt.Sprintf("%s%03d", prefix, i)
		sms := []event.Option{event.WithChannel(event.ChannelSMS), event.WithContact("k-" + conv)}
		evs := []*event.Envelope{ev(t, event.ConversationQueued, conv, 0, &event.ConversationQueuedData{Queue: "support"}, sms...)}
		for j := range msgs {
			id := fmt.Sprintf("%s-m%d", conv, j)
			if j%2 == 0 {
				evs = append(evs, ev(t, event.MessageReceived, conv, j+1, &event.MessageReceivedData{MessageID: id,
					From: event.Address{Address: "+33612345678"}, To: []event.Address{{Address: "+33100000000"}},
					Text: fmt.Sprintf("question %d of %s", j, conv)}, sms...))
			} else {
				evs = append(evs, ev(t, event.MessageSent, conv, j+1, &event.MessageSentData{MessageID: id, AgentID: "a1",
					From: event.Address{Address: "+33100000000"}, To: []event.Address{{Address: "+33612345678"}},
					Text: fmt.Sprintf("answer %d to %s", j, conv)}, sms...))
			}
			if j == 1 {
				evs = append(evs, ev(t, event.ConversationAssigned, conv, j+1, &event.ConversationAssignedData{AgentID: "a1"}, sms...))
			}
		}
		out = append(out, evs)
	}
	return out
}

// complete waits until every conversation of convs has all its messages.
func complete(t testing.TB, idx search.Index, convs [][]*event.Envelope, msgs int) map[string]search.Conversation {
	t.Helper()
	out := map[string]search.Conversation{}
	for _, evs := range convs {
		id := evs[0].ConversationID
		eventually(t, id+" complete", func() (bool, string) {
			c, _ := stored(t, idx, id)
			out[id] = c
			return len(c.Entries) == msgs && c.Status == search.StatusAssigned, fmt.Sprintf("%d entries, status %q", len(c.Entries), c.Status)
		})
	}
	return out
}

func checkEntries(t *testing.T, docs map[string]search.Conversation) {
	t.Helper()
	for id, c := range docs {
		seen := map[string]bool{}
		for i, e := range c.Entries {
			if seen[e.ID] {
				t.Errorf("%s: entry %s twice", id, e.ID)
			}
			seen[e.ID] = true
			if i > 0 && e.Time.Before(c.Entries[i-1].Time) {
				t.Errorf("%s: entries out of time order at %d", id, i)
			}
		}
	}
}

func TestRedeliveryChangesNothing(t *testing.T) {
	const n, msgs = 12, 6
	b, idx := openBus(t), openIndex(t)
	convs := conversations(t, "r", n, msgs)
	// Restart mid-stream: half the events, a stop, the rest (with the
	// first half published again), a second indexer.
	r := start(t, Config{BatchSize: 7}, b, idx)
	for _, evs := range convs {
		publish(t, b, evs[:len(evs)/2]...)
	}
	eventually(t, "first half applied", func() (bool, string) {
		return r.ix.Stats().Events > 0, "nothing written yet"
	})
	if err := r.stop(); err != nil {
		t.Fatalf("Run = %v", err)
	}
	for _, evs := range convs {
		publish(t, b, evs...)
	}
	r = start(t, Config{BatchSize: 7}, b, idx)
	first := complete(t, idx, convs, msgs)
	checkEntries(t, first)
	if err := r.stop(); err != nil {
		t.Fatalf("Run = %v", err)
	}

	// Everything once more, to a third indexer: nothing changes.
	for _, evs := range convs {
		publish(t, b, evs...)
	}
	rec := newRecorder(idx)
	r = start(t, Config{}, b, rec)
	total := 0
	for _, evs := range convs {
		total += len(evs)
	}
	// The group's backlog is exactly the republished events; the routing
	// log is replayed on top.
	eventually(t, "republished events applied and routing log replayed", func() (bool, string) {
		s := r.ix.Stats()
		return s.Events == int64(total) && s.Replaying == 0 && s.InFlight == 0, fmt.Sprintf("%+v, want %d events", s, total)
	})
	second := complete(t, idx, convs, msgs)
	if !reflect.DeepEqual(first, second) {
		t.Errorf("documents changed by redelivery")
		for id := range first {
			if !reflect.DeepEqual(first[id], second[id]) {
				t.Errorf("%s:\n was %+v\n now %+v", id, first[id], second[id])
			}
		}
	}
	if w := rec.written1(); len(w) != 0 {
		t.Errorf("redelivered events rewrote conversations %v; applying an event twice must change nothing", w)
	}
}

func TestIndexDownIsRetried(t *testing.T) {
	const n, msgs = 8, 4
	b, idx := openBus(t), openIndex(t)
	rec := newRecorder(idx)
	rec.failures.Store(6)
	r := start(t, Config{BatchSize: 5}, b, rec)
	convs := conversations(t, "d", n, msgs)
	for _, evs := range convs {
		publish(t, b, evs...)
	}
	docs := complete(t, idx, convs, msgs)
	checkEntries(t, docs)
	if got := rec.failed.Load(); got != 6 {
		t.Errorf("failed writes = %d, want 6", got)
	}
	s := r.ix.Stats()
	if s.Retries < 6 || s.Down {
		t.Errorf("stats = %+v, want at least 6 retries and not down", s)
	}
	if s.LastWrite.IsZero() || s.Writes == 0 {
		t.Errorf("stats = %+v, want writes and a last write time", s)
	}
}

func TestSlowIndexHoldsBackReceiving(t *testing.T) {
	b, idx := openBus(t), openIndex(t)
	rec := newRecorder(idx)
	rec.failures.Store(1 << 40) // down until told otherwise
	r := start(t, Config{MaxInFlight: 10, BatchSize: 1000}, b, rec)
	convs := conversations(t, "s", 10, 6)
	for _, evs := range convs {
		publish(t, b, evs...)
	}
	eventually(t, "writes failing", func() (bool, string) {
		s := r.ix.Stats()
		return s.Down && s.Retries > 3, fmt.Sprintf("%+v", s)
	})
	if s := r.ix.Stats(); s.InFlight > 10 || s.Events != 0 {
		t.Errorf("while the index is down: %+v, want at most 10 in flight and nothing acknowledged", s)
	}
	rec.failures.Store(0)
	checkEntries(t, complete(t, idx, convs, 6))
}

func TestContactsByEmailAndPhone(t *testing.T) {
	b, idx := openBus(t), openIndex(t)
	start(t, Config{PhoneRegion: "FR"}, b, idx)
	voice := event.WithChannel(event.ChannelVoice)
	publish(t, b,
		ev(t, event.ContactIdentified, "e1", 0, &event.ContactIdentifiedData{ContactID: "k1", Address: "Jean.Dupont@Example.COM", Method: event.IdentifiedAuto},
			event.WithChannel(event.ChannelEmail)),
		ev(t, event.CallStarted, "v1", 0, &event.CallStartedData{CallID: "call-1", Direction: event.DirectionInbound, From: "+33612345678", To: "+33100000000"},
			voice, event.WithContact("k2")),
		ev(t, event.CallAnswered, "v1", 20, &event.CallAnsweredData{CallID: "call-1", AgentID: "a1", WaitMs: 20000}, voice),
		ev(t, event.CallEnded, "v1", 200, &event.CallEndedData{CallID: "call-1", Reason: event.EndCallerHangup, DurationMs: 200000, WaitMs: 20000, TalkMs: 180000, AgentID: "a1"}, voice),
		ev(t, event.ContactIdentified, "v1", 30, &event.ContactIdentifiedData{ContactID: "k2", Address: "06 12 34 56 78", Method: event.IdentifiedAgent, AgentID: "a1"}, voice),
		ev(t, event.ContactsMerged, "", 300, &event.ContactsMergedData{IntoID: "k1", MergedIDs: []string{"k2"}}),
	)
	ctx := context.Background()
	eventually(t, "k2 merged into k1", func() (bool, string) {
		c, ok, err := idx.Contact(ctx, tenant, "k2")
		return err == nil && ok && c.MergedInto == "k1", fmt.Sprintf("%+v %v", c, err)
	})
	byEmail, err := idx.Contacts(ctx, search.ContactQuery{Tenant: tenant, Email: "jean.dupont@example.com"})
	if err != nil || len(byEmail) != 1 || byEmail[0].ID != "k1" || !slices.Equal(byEmail[0].Emails, []string{"jean.dupont@example.com"}) {
		t.Errorf("Contacts by email = %+v, %v; want k1 with the lower-cased address", byEmail, err)
	}
	byPhone, err := idx.Contacts(ctx, search.ContactQuery{Tenant: tenant, Phone: "+33 6 12 34 56 78"})
	if err != nil || len(byPhone) != 1 || byPhone[0].ID != "k2" || !slices.Equal(byPhone[0].Phones, []string{"+33612345678"}) {
		t.Errorf("Contacts by phone = %+v, %v; want k2 with +33612345678 once", byPhone, err)
	}
	eventually(t, "call record", func() (bool, string) {
		c, _ := stored(t, idx, "v1")
		return len(c.Entries) == 1 && strings.Contains(c.Entries[0].Text, "Ended"), fmt.Sprintf("%+v", c)
	})
	c, _ := stored(t, idx, "v1")
	e := c.Entries[0]
	if e.Kind != search.KindCall || e.AgentID != "a1" || !e.Time.Equal(t0) || c.ContactID != "k2" || c.Channel != event.ChannelVoice || c.CustomerAddress != "+33612345678" {
		t.Errorf("call conversation = %+v", c)
	}
	for _, want := range []string{"inbound from +33612345678", "by a1 after waiting 20s", "caller_hangup, duration 3m20s", "talk 3m0s"} {
		if !strings.Contains(e.Text, want) {
			t.Errorf("call record %q lacks %q", e.Text, want)
		}
	}
	// Unmerge restores.
	publish(t, b, ev(t, event.ContactsUnmerged, "", 400, &event.ContactsUnmergedData{ContactID: "k1", RestoredIDs: []string{"k2"}}))
	eventually(t, "k2 unmerged", func() (bool, string) {
		c, _, err := idx.Contact(ctx, tenant, "k2")
		return err == nil && c.MergedInto == "", fmt.Sprintf("%+v %v", c, err)
	})
}

func TestRestartResumesFromCommittedOffset(t *testing.T) {
	b, idx := openBus(t), openIndex(t)
	convs := conversations(t, "o", 10, 4)
	for _, evs := range convs {
		publish(t, b, evs...)
	}
	r := start(t, Config{}, b, idx)
	complete(t, idx, convs, 4)
	if err := r.stop(); err != nil {
		t.Fatalf("Run = %v", err)
	}

	rec := newRecorder(idx)
	r = start(t, Config{}, b, rec)
	sms := []event.Option{event.WithChannel(event.ChannelSMS)}
	publish(t, b,
		ev(t, event.MessageReceived, "o003", 60, &event.MessageReceivedData{MessageID: "late", From: event.Address{Address: "+33612345678"},
			To: []event.Address{{Address: "+33100000000"}}, Text: "one more thing"}, sms...),
		// After the routing log's replay, a new conversation.
		ev(t, event.ConversationQueued, "o999", 61, &event.ConversationQueuedData{Queue: "support"}, sms...),
	)
	eventually(t, "new events indexed", func() (bool, string) {
		c, _ := stored(t, idx, "o003")
		_, ok := stored(t, idx, "o999")
		return ok && len(c.Entries) == 5, fmt.Sprintf("o003 has %d entries, o999 stored %v", len(c.Entries), ok)
	})
	eventually(t, "routing log replayed", func() (bool, string) {
		s := r.ix.Stats()
		return s.Replaying == 0 && s.InFlight == 0, fmt.Sprintf("%+v", s)
	})
	if err := r.stop(); err != nil {
		t.Fatalf("Run = %v", err)
	}
	w := rec.written1()
	delete(w, "o003")
	delete(w, "o999")
	if len(w) != 0 {
		t.Errorf("after a restart the indexer rewrote %v: it did not resume from the committed offset", w)
	}
	if s := r.ix.Stats(); s.Events != 2 {
		t.Errorf("stats after restart = %+v, want 2 events of the group (the new ones)", s)
	}
}

func TestConfig(t *testing.T) {
	b, idx := openBus(t), openIndex(t)
	tests := []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"defaults", Config{}, true},
		{"region", Config{PhoneRegion: "FR"}, true},
		{"bad region", Config{PhoneRegion: "France"}, false},
		{"negative batch", Config{BatchSize: -1}, false},
		{"negative in flight", Config{MaxInFlight: -1}, false},
		{"negative interval", Config{FlushInterval: -time.Second}, false},
		{"retry bounds", Config{RetryMin: time.Second, RetryMax: time.Millisecond}, false},
		{"routing config checked", Config{Routing: routing.Config{Tenants: []routing.TenantConfig{{ID: ""}}}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ix, err := New(tt.cfg, b, idx, nil)
			if (err == nil) != tt.ok {
				t.Fatalf("New = %v, want ok %v", err, tt.ok)
			}
			if err == nil && (ix.cfg.Group != DefaultGroup || ix.cfg.BatchSize <= 0 || ix.cfg.MaxInFlight <= 0) {
				t.Errorf("defaults not applied: %+v", ix.cfg)
			}
		})
	}
	if _, err := New(Config{}, nil, idx, nil); err == nil {
		t.Error("New without a bus succeeded")
	}
}

// An indexer stopped while the index is down acknowledges nothing, so the
// next one indexes everything.
func TestStopWhileDownLosesNothing(t *testing.T) {
	b, idx := openBus(t), openIndex(t)
	rec := newRecorder(idx)
	rec.failures.Store(1 << 40)
	r := start(t, Config{CloseTimeout: 50 * time.Millisecond}, b, rec)
	convs := conversations(t, "x", 5, 4)
	for _, evs := range convs {
		publish(t, b, evs...)
	}
	eventually(t, "writes failing", func() (bool, string) {
		s := r.ix.Stats()
		return s.Down && s.InFlight > 0, fmt.Sprintf("%+v", s)
	})
	if err := r.stop(); err != nil {
		t.Fatalf("Run = %v", err)
	}
	if s := r.ix.Stats(); s.Events != 0 || s.Writes != 0 {
		t.Fatalf("stats of the stopped indexer = %+v, want nothing written or acknowledged", s)
	}
	start(t, Config{}, b, idx)
	checkEntries(t, complete(t, idx, convs, 4))
}

// An event no index can store is skipped; the ones after it are indexed.
func TestUnstorableEventIsSkipped(t *testing.T) {
	b, idx := openBus(t), openIndex(t)
	r := start(t, Config{}, b, idx)
	sms := event.WithChannel(event.ChannelSMS)
	msg := func(id string, at time.Time) *event.Envelope {
		return ev(t, event.MessageReceived, "u1", 0, &event.MessageReceivedData{MessageID: id, From: event.Address{Address: "+33612345678"},
			To: []event.Address{{Address: "+33100000000"}}, Text: "texte " + id}, sms, event.WithTime(at))
	}
	publish(t, b, msg("far", time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC)), msg("now", t0))
	eventually(t, "u1 indexed", func() (bool, string) {
		c, _ := stored(t, idx, "u1")
		return len(c.Entries) == 1 && c.Entries[0].ID == "now", fmt.Sprintf("%+v", c)
	})
	if s := r.ix.Stats(); s.Retries != 0 {
		t.Errorf("stats = %+v, want no failed writes", s)
	}
}
