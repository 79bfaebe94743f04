package searchapi

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/hotline-hub/hotline/bus"
	"github.com/hotline-hub/hotline/bus/event"
	"github.com/hotline-hub/hotline/search"
)

// fixture writes the same ids in every tenant, with texts naming the
// tenant, so that a leak shows:
//
//	k1 Alice Martin (+33123456789, alice@example.com): c1 chat "refund", c2 email "invoice"
//	k2 Alice Dupont: c3 sms "refund", assigned (an open case)
//	k3 Bob: c4 voice, a call with a note
func fixture(e *env, tenant string) {
	e.t.Helper()
	mark := "marker" + tenant
	c1 := conv(tenant, "c1", "k1", "chat", "The refund was not received, "+mark+" Überweisung", day(0))
	c2 := conv(tenant, "c2", "k1", "email", "The invoice is missing "+mark, day(1))
	c3 := conv(tenant, "c3", "k2", "sms", "Where is my refund "+mark, day(2))
	c3.Status, c3.AgentID, c3.Queue, c3.Tags = search.StatusAssigned, "someone", "billing", []string{"vip"}
	c4 := conv(tenant, "c4", "k3", "voice", "Called about the router "+mark, day(3))
	c4.Entries = append(c4.Entries, search.Entry{ID: "c4-n", Kind: search.KindNote, AgentID: "someone", Text: "call back tomorrow " + mark, Time: day(3)})
	e.write(search.Batch{
		Conversations: []search.Conversation{c1, c2, c3, c4},
		Contacts: []search.Contact{
			{Tenant: tenant, ID: "k1", Name: "Alice Martin " + mark, Phones: []string{"+33123456789"}, Emails: []string{"alice@example.com"}},
			{Tenant: tenant, ID: "k2", Name: "Alice Dupont " + mark, Emails: []string{"dupont@example.com"}},
			{Tenant: tenant, ID: "k3", Name: "Bob " + mark},
		},
	})
}

func TestSearch(t *testing.T) {
	e := startEnv(t)
	fixture(e, "acme")
	fixture(e, "globex")
	an := e.as["acme"]["analyst"]
	get := func(v url.Values) search.Result {
		t.Helper()
		var r search.Result
		an.Must(200, "GET", searchPath("acme", v), nil).Decode(t, &r)
		return r
	}

	r := get(url.Values{"q": {"refund"}, "facets": {"1"}})
	if !sameSet(hitIDs(r), []string{"c1", "c3"}) || r.Total != 2 {
		t.Fatalf("refund: %v (total %d), want c1 and c3", hitIDs(r), r.Total)
	}
	if r.Facets == nil || r.Facets.Channels["chat"] != 1 || r.Facets.Channels["sms"] != 1 || len(r.Facets.Days) != 2 {
		t.Fatalf("facets: %+v", r.Facets)
	}
	for _, h := range r.Hits {
		if h.Conversation.Tenant != "acme" {
			t.Fatalf("hit of tenant %q", h.Conversation.Tenant)
		}
		if len(h.Highlights) == 0 || len(h.Highlights[0].Marks) == 0 {
			t.Fatalf("hit %s has no highlight: %+v", h.Conversation.ID, h.Highlights)
		}
		hl := h.Highlights[0]
		if m := hl.Marks[0]; !strings.EqualFold(hl.Fragment[m[0]:m[1]], "refund") {
			t.Errorf("hit %s marks %q in %q, want refund", h.Conversation.ID, hl.Fragment[m[0]:m[1]], hl.Fragment)
		}
	}
	// Hits carry no entries, but a first line.
	var raw struct {
		Hits []struct {
			Conversation map[string]any `json:"conversation"`
			FirstLine    string         `json:"first_line"`
		} `json:"hits"`
	}
	an.Must(200, "GET", searchPath("acme", url.Values{"channel": {"voice"}}), nil).Decode(t, &raw)
	if len(raw.Hits) != 1 || raw.Hits[0].Conversation["entries"] != nil || raw.Hits[0].FirstLine != "Called about the router markeracme" {
		t.Fatalf("voice hit: %+v", raw.Hits)
	}
	// No facets unless asked.
	if r := get(url.Values{"q": {"refund"}}); r.Facets != nil {
		t.Errorf("facets without facets=1: %+v", r.Facets)
	}
	// Filters: repeatable, combined.
	if r := get(url.Values{"channel": {"chat", "email"}}); !sameSet(hitIDs(r), []string{"c1", "c2"}) {
		t.Errorf("channel=chat&channel=email: %v", hitIDs(r))
	}
	if r := get(url.Values{"status": {"assigned"}, "queue": {"billing"}, "agent": {"someone"}, "tag": {"vip"}}); !slices.Equal(hitIDs(r), []string{"c3"}) {
		t.Errorf("status, queue, agent, tag: %v", hitIDs(r))
	}
	if r := get(url.Values{"from": {day(1).Format(time.RFC3339)}, "to": {day(3).Format(time.RFC3339)}}); !sameSet(hitIDs(r), []string{"c2", "c3"}) {
		t.Errorf("from day 1 to day 3: %v", hitIDs(r))
	}
	// Syntax: OR, exclusion, phrase; stemming in German.
	if r := get(url.Values{"q": {`(refund OR invoice) -"not received"`}}); !sameSet(hitIDs(r), []string{"c2", "c3"}) {
		t.Errorf("or and exclusion: %v", hitIDs(r))
	}
	// Paging with the cursor: newest first without text.
	var seen []string
	next := ""
	for range 10 {
		v := url.Values{"size": {"3"}}
		if next != "" {
			v.Set("after", next)
		}
		r := get(v)
		if r.Total != 4 {
			t.Fatalf("total %d, want 4", r.Total)
		}
		seen = append(seen, hitIDs(r)...)
		if next = r.Next; next == "" {
			break
		}
	}
	if !slices.Equal(seen, []string{"c4", "c3", "c2", "c1"}) {
		t.Fatalf("pages: %v, want newest first c4 c3 c2 c1", seen)
	}
	// The operator in its own tenant searches too (an admin there).
	e.op.Must(200, "GET", searchPath("demo", url.Values{"q": {"refund"}}), nil)

	bad := []struct {
		name  string
		v     url.Values
		code  string
		field string
		in    string // in the message
	}{
		{"unclosed quote", url.Values{"q": {`refund "not`}}, "invalid_query", "q", "character 8"},
		{"lone minus", url.Values{"q": {"refund -"}}, "invalid_query", "q", "character 8"},
		{"unmatched paren", url.Values{"q": {"a)"}}, "invalid_query", "q", "character 2"},
		{"OR first", url.Values{"q": {"OR refund"}}, "invalid_query", "q", "character 1"},
		{"too long", url.Values{"q": {strings.Repeat("é", search.MaxQueryLength+1)}}, "invalid_query", "q", "longer"},
		{"not utf-8", url.Values{"q": {"\xff"}}, "invalid_query", "q", "UTF-8"},
		{"size not a number", url.Values{"size": {"ten"}}, "invalid_field", "size", "whole number"},
		{"size too big", url.Values{"size": {"1000"}}, "invalid_field", "size", "100"},
		{"size negative", url.Values{"size": {"-1"}}, "invalid_field", "size", ""},
		{"from not a date", url.Values{"from": {"yesterday"}}, "invalid_field", "from", "RFC 3339"},
		{"to date only", url.Values{"to": {"2026-03-01"}}, "invalid_field", "to", "RFC 3339"},
		{"from after to", url.Values{"from": {day(3).Format(time.RFC3339)}, "to": {day(1).Format(time.RFC3339)}}, "invalid_field", "from", "before"},
		{"unknown status", url.Values{"status": {"lost"}}, "invalid_field", "status", "lost"},
		{"empty channel", url.Values{"channel": {""}}, "invalid_field", "channel", "empty"},
		{"facets", url.Values{"facets": {"yes"}}, "invalid_field", "facets", ""},
		{"repeated q", url.Values{"q": {"a", "b"}}, "invalid_field", "q", "once"},
		{"bad cursor", url.Values{"after": {"garbage!"}}, "invalid_field", "after", "cursor"},
	}
	for _, b := range bad {
		res := an.Request("GET", searchPath("acme", b.v), nil)
		eb := res.ErrBody()
		if res.Status != 400 || eb.Error.Code != b.code || eb.Error.Field != b.field || !strings.Contains(eb.Error.Message, b.in) {
			t.Errorf("%s: %d %s, want 400 %s field %s mentioning %q", b.name, res.Status, res.Body, b.code, b.field, b.in)
		}
		// The message names the parameter as the caller wrote it.
		if !strings.HasPrefix(eb.Error.Message, b.field+": ") {
			t.Errorf("%s: message %q does not start with %q", b.name, eb.Error.Message, b.field+": ")
		}
	}
	// A cursor of another tenant's query is refused, not followed.
	gr := search.Result{}
	e.as["globex"]["analyst"].Must(200, "GET", searchPath("globex", url.Values{"size": {"1"}}), nil).Decode(t, &gr)
	if gr.Next == "" {
		t.Fatal("globex: no next page")
	}
	if res := an.Request("GET", searchPath("acme", url.Values{"size": {"1"}, "after": {gr.Next}}), nil); res.Status != 400 || res.ErrBody().Error.Field != "after" {
		t.Errorf("acme following globex's cursor: %d %s", res.Status, res.Body)
	}
}

// TestSearchUnavailable: an index that is down answers 503
// search_unavailable on every read, never 500, and bad input is still 400.
func TestSearchUnavailable(t *testing.T) {
	e := startEnv(t)
	fixture(e, "acme")
	if err := e.idx.Close(); err != nil {
		t.Fatal(err)
	}
	sup := e.as["acme"]["supervisor"]
	for _, p := range []string{
		searchPath("acme", url.Values{"q": {"refund"}}),
		base("acme") + "search/conversations/c1",
		base("acme") + "contacts/k1/dossier",
		base("acme") + "contacts?name=alice",
	} {
		res := sup.Request("GET", p, nil)
		if res.Status != 503 || res.ErrBody().Error.Code != "search_unavailable" {
			t.Errorf("GET %s with the index down: %d %s", p, res.Status, res.Body)
		}
	}
	res := sup.Request("POST", base("acme")+"contacts/k1/merge", map[string]any{"merge_ids": []string{"k2"}})
	if res.Status != 503 || res.ErrBody().Error.Code != "search_unavailable" {
		t.Errorf("merge with the index down: %d %s", res.Status, res.Body)
	}
	if res := sup.Request("GET", searchPath("acme", url.Values{"q": {`"open`}}), nil); res.Status != 400 {
		t.Errorf("a bad query with the index down: %d %s, want 400", res.Status, res.Body)
	}
}

func TestConversation(t *testing.T) {
	e := startEnv(t)
	fixture(e, "acme")
	fixture(e, "globex")
	path := func(id string) string { return base("acme") + "search/conversations/" + id }
	var c search.Conversation
	e.as["acme"]["analyst"].Must(200, "GET", path("c4"), nil).Decode(t, &c)
	if c.Tenant != "acme" || c.ID != "c4" || len(c.Entries) != 2 || c.Entries[1].Kind != search.KindNote {
		t.Fatalf("c4: %+v", c)
	}
	if res := e.as["acme"]["analyst"].Request("GET", path("nope"), nil); res.Status != 404 || res.ErrBody().Error.Code != "not_found" {
		t.Fatalf("unknown conversation: %d %s", res.Status, res.Body)
	}
	ag := e.as["acme"]["agent"]
	agentID := e.ids["acme"]["agent"]
	if res := ag.Request("GET", path("c1"), nil); res.Status != 403 {
		t.Fatalf("agent serving nobody reads c1: %d %s", res.Status, res.Body)
	}
	e.serving.serve("acme", agentID, "k1", true)
	ag.Must(200, "GET", path("c1"), nil)
	if res := ag.Request("GET", path("c3"), nil); res.Status != 403 {
		t.Fatalf("agent serving k1 reads k2's c3 before any merge: %d %s", res.Status, res.Body)
	}
	// k2 merged into k1: its conversations are in k1's dossier, so the
	// agent reads them, whether the client names the dossier or not.
	e.merges.merge("acme", "k1", "k2")
	ag.Must(200, "GET", path("c3")+"?contact=k1", nil)
	if res := ag.Request("GET", path("c3"), nil); res.Status != 403 {
		t.Fatalf("without ?contact and with the index not knowing the merge: %d %s", res.Status, res.Body)
	}
	e.write(search.Batch{Contacts: []search.Contact{{Tenant: "acme", ID: "k2", Name: "Alice Dupont", MergedInto: "k1"}}})
	ag.Must(200, "GET", path("c3"), nil)
	// Naming a dossier the agent does not serve, or one the conversation is
	// not in, gives nothing.
	if res := ag.Request("GET", path("c4")+"?contact=k1", nil); res.Status != 403 {
		t.Fatalf("c4 (k3's) through k1's dossier: %d %s", res.Status, res.Body)
	}
	if res := ag.Request("GET", path("c1")+"?contact=k1&contact=k2", nil); res.Status != 400 {
		t.Fatalf("repeated contact: %d %s", res.Status, res.Body)
	}
	e.serving.serve("acme", agentID, "k1", false)
	if res := ag.Request("GET", path("c1"), nil); res.Status != 403 {
		t.Fatalf("agent no longer serving k1 reads c1: %d %s", res.Status, res.Body)
	}
}

func TestDossier(t *testing.T) {
	e := startEnv(t)
	fixture(e, "acme")
	fixture(e, "globex")
	sup := e.as["acme"]["supervisor"]
	get := func(c *client, q string) dossierView {
		t.Helper()
		var d dossierView
		c.Must(200, "GET", base("acme")+"contacts/k1/dossier"+q, nil).Decode(t, &d)
		return d
	}
	ids := func(d dossierView) []string {
		out := []string{}
		for _, c := range d.Conversations {
			out = append(out, c.ID)
		}
		return out
	}
	d := get(sup, "")
	if !slices.Equal(ids(d), []string{"c2", "c1"}) || d.Total != 2 || d.Open != 0 || d.ByChannel["chat"] != 1 || d.ByChannel["email"] != 1 {
		t.Fatalf("k1's dossier: %v %+v", ids(d), d)
	}
	for _, c := range d.Conversations {
		if len(c.Entries) != 0 {
			t.Errorf("dossier conversation %s carries entries", c.ID)
		}
	}
	e.merges.merge("acme", "k1", "k2")
	d = get(sup, "")
	if !slices.Equal(ids(d), []string{"c3", "c2", "c1"}) || d.Open != 1 || d.ByChannel["sms"] != 1 || !slices.Equal(d.ContactIDs, []string{"k1", "k2"}) {
		t.Fatalf("k1's dossier with k2 merged: %v %+v", ids(d), d)
	}
	// Paging.
	first := get(sup, "?size=2")
	if !slices.Equal(ids(first), []string{"c3", "c2"}) || first.Next == "" || first.Total != 3 {
		t.Fatalf("page 1: %v next %q", ids(first), first.Next)
	}
	second := get(sup, "?size=2&after="+url.QueryEscape(first.Next))
	if !slices.Equal(ids(second), []string{"c1"}) || second.Next != "" {
		t.Fatalf("page 2: %v next %q", ids(second), second.Next)
	}
	// Unknown contact: an empty dossier, not an error.
	var empty dossierView
	sup.Must(200, "GET", base("acme")+"contacts/nobody/dossier", nil).Decode(t, &empty)
	if empty.Total != 0 || empty.Conversations == nil || empty.ByChannel == nil {
		t.Fatalf("unknown contact: %s", sup.Must(200, "GET", base("acme")+"contacts/nobody/dossier", nil).Body)
	}
	for _, q := range []string{"?size=x", "?size=101", "?size=-2", "?after=zzz", "?size=1&size=2"} {
		res := sup.Request("GET", base("acme")+"contacts/k1/dossier"+q, nil)
		if res.Status != 400 || res.ErrBody().Error.Field == "" {
			t.Errorf("dossier%s: %d %s, want 400 naming the parameter", q, res.Status, res.Body)
		}
	}
	// Agents: only while serving k1.
	ag := e.as["acme"]["agent"]
	if res := ag.Request("GET", base("acme")+"contacts/k1/dossier", nil); res.Status != 403 {
		t.Fatalf("agent not serving: %d %s", res.Status, res.Body)
	}
	e.serving.serve("acme", e.ids["acme"]["agent"], "k1", true)
	if d := get(ag, ""); d.Total != 3 {
		t.Fatalf("agent serving k1: %+v", d)
	}
	if res := ag.Request("GET", base("acme")+"contacts/k3/dossier", nil); res.Status != 403 {
		t.Fatalf("agent serving k1 reads k3's dossier: %d %s", res.Status, res.Body)
	}
}

func TestContacts(t *testing.T) {
	e := startEnv(t)
	fixture(e, "acme")
	fixture(e, "globex")
	ag := e.as["acme"]["agent"] // agents identify callers
	look := func(q string) []string {
		t.Helper()
		var v struct {
			Contacts []search.Contact `json:"contacts"`
		}
		ag.Must(200, "GET", base("acme")+"contacts?"+q, nil).Decode(t, &v)
		if v.Contacts == nil {
			t.Fatalf("contacts?%s: null list", q)
		}
		out := []string{}
		for _, c := range v.Contacts {
			if c.Tenant != "acme" {
				t.Fatalf("contacts?%s: a contact of %s", q, c.Tenant)
			}
			out = append(out, c.ID)
		}
		return out
	}
	for q, want := range map[string][]string{
		"phone=" + url.QueryEscape("+33 1 23 45 67 89"): {"k1"},
		"phone=0033123456789":                           {"k1"},
		"phone=" + url.QueryEscape("+44 20 7946 0000"):  {},
		"email=ALICE@Example.com":                       {"k1"},
		"name=alice":                                    {"k1", "k2"},
		"name=" + url.QueryEscape("ALICE martin"):       {"k1"},
		"name=alice&size=1":                             nil, // one of them
	} {
		got := look(q)
		if want == nil {
			if len(got) != 1 {
				t.Errorf("contacts?%s = %v, want one", q, got)
			}
			continue
		}
		if !sameSet(got, want) {
			t.Errorf("contacts?%s = %v, want %v", q, got, want)
		}
	}
	for q, field := range map[string]string{
		"":                             "phone",
		"phone=%2B331&name=alice":      "phone",
		"phone=not-a-number":           "phone",
		"phone=0123456789":             "phone", // national: the region is unknown
		"name=alice&size=500":          "size",
		"name=alice&size=x":            "size",
		"name=" + url.QueryEscape("—"): "name",
		"email=a&email=b":              "email",
	} {
		res := ag.Request("GET", base("acme")+"contacts?"+q, nil)
		if res.Status != 400 || res.ErrBody().Error.Field != field {
			t.Errorf("contacts?%s: %d %s, want 400 field %s", q, res.Status, res.Body, field)
		}
	}
}

func TestMergeAndUnmerge(t *testing.T) {
	e := startEnv(t)
	fixture(e, "acme")
	fixture(e, "globex")
	e.write(search.Batch{Contacts: []search.Contact{
		{Tenant: "acme", ID: "k4", Name: "Merged elsewhere", MergedInto: "k3"},
		{Tenant: "globex", ID: "g1", Name: "Only in globex"},
	}})
	sup := e.as["acme"]["supervisor"]
	mergePath, unmergePath := base("acme")+"contacts/k1/merge", base("acme")+"contacts/k1/unmerge"
	var ok changed
	sup.Must(202, "POST", mergePath, map[string]any{"merge_ids": []string{"k2"}}).Decode(t, &ok)
	if ok.EventID == "" || ok.ContactID != "k1" || !slices.Equal(ok.IDs, []string{"k2"}) {
		t.Fatalf("merge answer: %+v", ok)
	}
	evs := e.received(1)
	ev := evs[0]
	if ev.ID != ok.EventID || ev.Type != event.ContactsMerged || ev.Tenant != "acme" || ev.Source != Source || ev.ContactID != "k1" {
		t.Fatalf("published %+v", ev)
	}
	p, err := ev.Decode()
	if err != nil {
		t.Fatal(err)
	}
	md := p.(*event.ContactsMergedData)
	if md.IntoID != "k1" || !slices.Equal(md.MergedIDs, []string{"k2"}) || md.AgentID != e.ids["acme"]["supervisor"] {
		t.Fatalf("merged data: %+v", md)
	}

	bad := []struct {
		name   string
		path   string
		body   any
		status int
		field  string
	}{
		{"no ids", mergePath, map[string]any{"merge_ids": []string{}}, 422, "merge_ids"},
		{"missing ids", mergePath, map[string]any{}, 422, "merge_ids"},
		{"itself", mergePath, map[string]any{"merge_ids": []string{"k1"}}, 422, "merge_ids"},
		{"twice", mergePath, map[string]any{"merge_ids": []string{"k2", "k2"}}, 422, "merge_ids"},
		{"empty id", mergePath, map[string]any{"merge_ids": []string{" "}}, 422, "merge_ids"},
		{"unknown contact", mergePath, map[string]any{"merge_ids": []string{"nobody"}}, 422, "merge_ids"},
		{"another tenant's contact", mergePath, map[string]any{"merge_ids": []string{"g1"}}, 422, "merge_ids"},
		{"merged elsewhere", mergePath, map[string]any{"merge_ids": []string{"k4"}}, 422, "merge_ids"},
		{"wrong field", mergePath, map[string]any{"ids": []string{"k2"}}, 400, "ids"},
		{"wrong type", mergePath, `{"merge_ids":"k2"}`, 400, "merge_ids"},
		{"malformed", mergePath, `{"merge_ids":[`, 400, ""},
		{"unmerge not merged", unmergePath, map[string]any{"ids": []string{"k3"}}, 422, "ids"},
		{"unmerge itself", unmergePath, map[string]any{"ids": []string{"k1"}}, 422, "ids"},
		{"unmerge none", unmergePath, map[string]any{"ids": []string{}}, 422, "ids"},
	}
	for _, b := range bad {
		res := sup.Request("POST", b.path, b.body)
		if res.Status != b.status || res.ErrBody().Error.Field != b.field {
			t.Errorf("%s: %d %s, want %d field %q", b.name, res.Status, res.Body, b.status, b.field)
		}
	}
	// Not JSON at all.
	res := sup.Request("POST", mergePath, nil)
	if res.Status != 415 {
		t.Errorf("merge without a body: %d %s", res.Status, res.Body)
	}
	// Without the CSRF token.
	noCSRF := *sup.Client
	noCSRF.CSRF = ""
	if res := noCSRF.Request("POST", mergePath, map[string]any{"merge_ids": []string{"k2"}}); res.Status != 403 {
		t.Errorf("merge without CSRF: %d %s", res.Status, res.Body)
	}

	// Once folded (the fake stands for the indexer), k2 can be unmerged.
	e.merges.merge("acme", "k1", "k2")
	sup.Must(202, "POST", unmergePath, map[string]any{"ids": []string{"k2"}}).Decode(t, &ok)
	evs = e.received(2)
	if evs[1].ID != ok.EventID || evs[1].Type != event.ContactsUnmerged {
		t.Fatalf("second event: %+v", evs[1])
	}
	p, err = evs[1].Decode()
	if err != nil {
		t.Fatal(err)
	}
	if ud := p.(*event.ContactsUnmergedData); ud.ContactID != "k1" || !slices.Equal(ud.RestoredIDs, []string{"k2"}) {
		t.Fatalf("unmerged data: %+v", ud)
	}
	// Nothing refused was published: still two events.
	sup.Must(202, "POST", base("acme")+"contacts/k3/merge", map[string]any{"merge_ids": []string{"k4"}}) // already k3's: idempotent
	if evs := e.received(3); evs[2].Type != event.ContactsMerged || evs[2].ContactID != "k3" {
		t.Fatalf("third event: %+v", evs[2])
	}
	if n := countEvents(t, e); n != 3 {
		t.Fatalf("%d contacts events, want 3: refused requests published something", n)
	}
}

// countEvents counts the events on the contacts topic.
func countEvents(t *testing.T, e *env) int {
	t.Helper()
	ctx := ctxT(t)
	n := 0
	sub, err := e.b.Subscribe(ctx, event.TopicContacts, bus.SubscribeOptions{Start: bus.StartEarliest})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	// Publish a marker after everything, then count up to it.
	marker, err := event.New(event.ContactsUnmerged, "acme", &event.ContactsUnmergedData{ContactID: "marker", RestoredIDs: []string{"m"}})
	if err != nil {
		t.Fatal(err)
	}
	msg, err := event.ToMessage(marker)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.b.Publish(ctx, event.TopicContacts, msg); err != nil {
		t.Fatal(err)
	}
	for {
		d, err := sub.Receive(ctx)
		if err != nil {
			t.Fatalf("count: %v", err)
		}
		ev, err := event.FromMessage(&d.Message)
		if err != nil {
			t.Fatal(err)
		}
		if ev.ID == marker.ID {
			return n
		}
		n++
	}
}

// TestHighlightOffsetsAreBytes pins what the UI relies on: marks are byte
// offsets into the fragment, so a fragment with accents and Cyrillic cuts
// at rune boundaries in bytes.
func TestHighlightOffsetsAreBytes(t *testing.T) {
	e := startEnv(t)
	c := conv("acme", "ru1", "k9", "chat", "Здравствуйте, возврат денег не пришёл, возврат", day(0))
	c.Language, c.Entries[0].Language = "ru", "ru"
	e.write(search.Batch{Conversations: []search.Conversation{c}})
	var r search.Result
	e.as["acme"]["analyst"].Must(200, "GET", searchPath("acme", url.Values{"q": {"возврат"}}), nil).Decode(t, &r)
	if len(r.Hits) != 1 || len(r.Hits[0].Highlights) == 0 {
		t.Fatalf("hits: %+v", r.Hits)
	}
	hl := r.Hits[0].Highlights[0]
	if len(hl.Marks) == 0 {
		t.Fatalf("no marks: %+v", hl)
	}
	for _, m := range hl.Marks {
		s := hl.Fragment[m[0]:m[1]]
		if !utf8.ValidString(s) || s != "возврат" {
			t.Errorf("mark %v of %q is %q", m, hl.Fragment, s)
		}
	}
}

func TestTagFilterIsLowercased(t *testing.T) {
	r := httptest.NewRequest(http.MethodGet, "/search?tag=VIP&tag=%20Billing%20", nil)
	q, ok := searchQuery(httptest.NewRecorder(), r, "acme")
	if !ok {
		t.Fatal("query refused")
	}
	if len(q.Tags) != 2 || q.Tags[0] != "vip" || q.Tags[1] != "billing" {
		t.Fatalf("tags %q, want [vip billing]", q.Tags)
	}
}
