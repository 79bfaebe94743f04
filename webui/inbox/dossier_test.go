package inbox

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/hotline-hub/hotline/bus"
	"github.com/hotline-hub/hotline/bus/event"
)

// queueContactChat is queueChat for an identified contact: both events
// carry the contact id, as a channel sends them once it knows the customer.
func (e *env) queueContactChat(tenant, convID, queue, contact, text string) {
	e.t.Helper()
	opts := []event.Option{event.WithConversation(convID), event.WithChannel(event.ChannelChat),
		event.WithSource("/channels/chat"), event.WithSubject("visitor-" + convID), event.WithContact(contact)}
	qe, err := event.New(event.ConversationQueued, tenant, &event.ConversationQueuedData{Queue: queue}, opts...)
	if err != nil {
		e.t.Fatal(err)
	}
	re, err := event.New(event.MessageReceived, tenant, &event.MessageReceivedData{
		MessageID: "msg-" + convID, From: event.Address{Address: "visitor-" + convID, Name: "Ada"},
		To: []event.Address{{Address: queue}}, Text: text}, opts...)
	if err != nil {
		e.t.Fatal(err)
	}
	var msgs []bus.Message
	for _, ev := range []*event.Envelope{qe, re} {
		m, err := event.ToMessage(ev)
		if err != nil {
			e.t.Fatal(err)
		}
		msgs = append(msgs, m)
	}
	if err := e.bus.Publish(context.Background(), event.TopicConversations, msgs...); err != nil {
		e.t.Fatal(err)
	}
}

func ids(ss []Summary) []string {
	out := make([]string, len(ss))
	for n, s := range ss {
		out[n] = s.ID
	}
	return out
}

// serveAndResolve has a (the only available agent) take and resolve id.
func serveAndResolve(t *testing.T, a *user, id string) {
	t.Helper()
	offeredTo(t, id, a)
	a.must(200, "POST", a.path("conversations/"+id+"/accept"), nil)
	if d := a.must(200, "POST", a.path("conversations/"+id+"/resolve"), nil).detail(t); d.Status != StatusResolved {
		t.Fatalf("%s after resolve: %+v", id, d.Summary)
	}
}

// TestDossier checks view=contact and the read-only access it gives an
// agent to a contact's earlier conversations: who may list, what is
// listed and in which order, and that the access ends with the service
// and never extends to writes.
func TestDossier(t *testing.T) {
	e, u := startEnv(t)
	a1, a2, sup, analyst, admin, o1 := u["agent1"], u["agent2"], u["super"], u["analyst"], u["admin"], u["o1"]

	// agent2 serves the contact's first conversation and another
	// contact's, then leaves.
	a2.must(200, "PUT", a2.path("me/presence"), map[string]any{"presence": "available"})
	e.queueContactChat("acme", "old-1", "support", "contact-k", "my parcel is late")
	serveAndResolve(t, a2, "old-1")
	e.queueContactChat("acme", "other-1", "billing", "contact-l", "invoice question")
	serveAndResolve(t, a2, "other-1")
	a2.must(200, "PUT", a2.path("me/presence"), map[string]any{"presence": "offline"})

	const dossierK = "conversations?view=contact&contact=contact-k"
	// Nobody serves contact-k now: agents may not look, whoever had it.
	for _, a := range []*user{a1, a2} {
		if r := a.do("GET", a.path(dossierK), nil); r.status != 403 || r.code() != "forbidden" {
			t.Fatalf("%s lists contact-k while serving nobody: %d %s", a.login, r.status, r.body)
		}
	}
	if r := a1.do("GET", a1.path("conversations/old-1"), nil); r.status != 403 {
		t.Fatalf("agent1 reads old-1 while serving nobody: %d %s", r.status, r.body)
	}

	// The contact comes back; agent1 is offered the new conversation.
	a1.must(200, "PUT", a1.path("me/presence"), map[string]any{"presence": "available"})
	e.queueContactChat("acme", "new-1", "support", "contact-k", "still no parcel")
	offeredTo(t, "new-1", a1)

	check := func(who *user, phase string) {
		t.Helper()
		got := who.list("view=contact&contact=contact-k")
		if want := []string{"new-1", "old-1"}; !slices.Equal(ids(got), want) {
			t.Fatalf("%s: %s's dossier of contact-k = %v, want %v (newest first)", phase, who.login, ids(got), want)
		}
		for _, s := range got {
			if s.ContactID != "contact-k" {
				t.Fatalf("%s: dossier entry %s has contact %q", phase, s.ID, s.ContactID)
			}
		}
	}
	check(a1, "offered")
	// The same rule, as the search dossier asks it.
	for _, c := range []struct {
		who     *user
		contact string
		want    bool
	}{{a1, "contact-k", true}, {a1, "contact-l", false}, {a2, "contact-k", false}, {a1, "", false}} {
		if got := e.inbox.ServesContact("acme", c.who.id, c.contact); got != c.want {
			t.Fatalf("ServesContact(%s, %q) = %v, want %v", c.who.login, c.contact, got, c.want)
		}
	}
	if e.inbox.ServesContact("globex", a1.id, "contact-k") {
		t.Fatal("ServesContact answers for another tenant")
	}
	d := a1.conv("old-1")
	if d.Status != StatusResolved || len(d.Thread) != 1 || d.Thread[0].Text != "my parcel is late" {
		t.Fatalf("agent1 reads old-1 as %+v", d)
	}
	// The dossier is only the served contact's.
	if r := a1.do("GET", a1.path("conversations?view=contact&contact=contact-l"), nil); r.status != 403 {
		t.Fatalf("agent1 lists contact-l: %d %s", r.status, r.body)
	}
	if r := a1.do("GET", a1.path("conversations/other-1"), nil); r.status != 403 {
		t.Fatalf("agent1 reads other-1 of contact-l: %d %s", r.status, r.body)
	}
	// Reading is all it gives: no reopen, note, reply, transfer or resolve.
	for _, w := range []struct {
		path string
		body any
	}{
		{"reopen", nil},
		{"notes", map[string]any{"client_id": "n1", "text": "peek"}},
		{"messages", map[string]any{"client_id": "m1", "text": "hello"}},
		{"transfer", map[string]any{"to_queue": "billing"}},
		{"resolve", nil},
	} {
		if r := a1.do("POST", a1.path("conversations/old-1/"+w.path), w.body); r.status != 403 {
			t.Fatalf("agent1 %s on old-1 through the dossier: %d %s", w.path, r.status, r.body)
		}
	}
	if d := sup.conv("old-1"); d.Status != StatusResolved || len(d.Notes) != 0 {
		t.Fatalf("old-1 changed by refused writes: %+v", d)
	}
	// agent2, who handled old-1, serves no one of contact-k now.
	if r := a2.do("GET", a2.path(dossierK), nil); r.status != 403 {
		t.Fatalf("agent2 lists contact-k: %d %s", r.status, r.body)
	}

	a1.must(200, "POST", a1.path("conversations/new-1/accept"), nil)
	check(a1, "assigned")
	for _, p := range []*user{sup, analyst, admin} {
		check(p, "assigned")
		if got := p.list("view=contact&contact=contact-l"); !slices.Equal(ids(got), []string{"other-1"}) {
			t.Fatalf("%s's dossier of contact-l = %v", p.login, ids(got))
		}
	}
	// Each entry carries its first line; other views do not.
	var firsts struct {
		Conversations []listItem `json:"conversations"`
	}
	if err := json.Unmarshal(sup.must(200, "GET", sup.path(dossierK), nil).body, &firsts); err != nil {
		t.Fatal(err)
	}
	if n := len(firsts.Conversations); n != 2 || firsts.Conversations[0].FirstLine != "still no parcel" ||
		firsts.Conversations[1].FirstLine != "my parcel is late" {
		t.Fatalf("dossier first lines: %+v", firsts.Conversations)
	}
	if r := sup.must(200, "GET", sup.path("conversations?view=all"), nil); strings.Contains(string(r.body), "first_line") {
		t.Fatalf("view=all has first lines: %s", r.body)
	}
	if got := sup.list("view=contact&contact=contact-k&status=resolved"); !slices.Equal(ids(got), []string{"old-1"}) {
		t.Fatalf("resolved conversations of contact-k = %v", ids(got))
	}
	if got := sup.list("view=contact&contact=nobody"); len(got) != 0 {
		t.Fatalf("an unknown contact's dossier = %v", ids(got))
	}

	// Once the service ends, so does the access.
	a1.must(200, "POST", a1.path("conversations/new-1/resolve"), nil)
	if r := a1.do("GET", a1.path(dossierK), nil); r.status != 403 {
		t.Fatalf("agent1 lists contact-k after resolving: %d %s", r.status, r.body)
	}
	if r := a1.do("GET", a1.path("conversations/old-1"), nil); r.status != 403 {
		t.Fatalf("agent1 reads old-1 after resolving: %d %s", r.status, r.body)
	}
	a1.conv("new-1") // still theirs to read, as the last agent

	// Bad queries and other tenants.
	for _, q := range []struct{ query, field string }{
		{"view=contact", "contact"},
		{"view=contact&contact=", "contact"},
		{"view=mine&contact=contact-k", "contact"},
		{"view=contacts&contact=contact-k", "view"},
	} {
		r := sup.do("GET", sup.path("conversations?"+q.query), nil)
		if r.status != 400 || r.code() != "invalid_field" || !strings.Contains(string(r.body), `"field":"`+q.field+`"`) {
			t.Fatalf("%s: %d %s, want 400 invalid_field on %s", q.query, r.status, r.body, q.field)
		}
	}
	if r := o1.do("GET", "/api/v1/tenants/acme/"+dossierK, nil); r.status != 404 {
		t.Fatalf("another tenant's agent lists acme's dossier: %d %s", r.status, r.body)
	}
	if r := o1.do("GET", o1.path(dossierK), nil); r.status != 403 {
		t.Fatalf("another tenant's agent lists contact-k in its own tenant: %d %s", r.status, r.body)
	}
}

func TestFirstLine(t *testing.T) {
	long := strings.Repeat("é", maxFirstLine+5)
	for _, c := range []struct {
		thread []Entry
		want   string
	}{
		{nil, ""},
		{[]Entry{{Text: "\n  \n  Hello there \nsecond line"}, {Text: "later"}}, "Hello there"},
		{[]Entry{{Text: "   "}}, ""},
		{[]Entry{{Text: long}}, strings.Repeat("é", maxFirstLine) + "…"},
	} {
		var th thread
		for n, en := range c.thread {
			en.MessageID = fmt.Sprint("m", n)
			th.add(&en, 10)
		}
		if got := firstLine(&th); got != c.want {
			t.Errorf("firstLine(%+v) = %q, want %q", c.thread, got, c.want)
		}
	}
}
