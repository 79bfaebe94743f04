package searchapi

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/hotline-hub/hotline/search"
)

// TestAuthorizationMatrix sends every endpoint as every role (and as an
// agent serving the contact), against the caller's own tenant and another
// one, and checks the status; and that no answer to anyone carries the
// other tenant's data.
func TestAuthorizationMatrix(t *testing.T) {
	e := startEnv(t)
	for _, tenant := range []string{"demo", "acme", "globex"} {
		fixture(e, tenant)
	}
	// A second agent of acme, serving k1 there.
	res := e.op.Must(201, "POST", base("acme")+"accounts",
		map[string]any{"login": "serving@acme.example", "display_name": "Serving", "role": "agent", "password": testPassword})
	var acc struct {
		ID string `json:"id"`
	}
	res.Decode(t, &acc)
	e.serving.serve("acme", acc.ID, "k1", true)
	actors := map[string]*client{"operator": e.op, "serving-agent": e.login("acme", "serving@acme.example", testPassword)}
	for _, role := range roles {
		actors[role] = e.as["acme"][role]
	}
	own := map[string]string{"operator": "demo", "serving-agent": "acme"}
	for _, role := range roles {
		own[role] = "acme"
	}
	// Unmerge needs k2 merged into k1 everywhere.
	for _, tenant := range []string{"demo", "acme", "globex"} {
		e.merges.merge(tenant, "k1", "k2")
	}

	type want map[string]int // actor -> status
	readers := func(s int) want {
		return want{"agent": 403, "serving-agent": 403, "supervisor": s, "analyst": s, "admin": s, "operator": s}
	}
	perContact := func(s int) want {
		return want{"agent": 403, "serving-agent": s, "supervisor": s, "analyst": s, "admin": s, "operator": s}
	}
	writers := func(s int) want {
		return want{"agent": 403, "serving-agent": s, "supervisor": s, "analyst": 403, "admin": s, "operator": s}
	}
	all := func(s int) want {
		return want{"agent": s, "serving-agent": s, "supervisor": s, "analyst": s, "admin": s, "operator": s}
	}
	// Another tenant is absent for everyone, operators included.
	nobody := all(404)

	tests := []struct {
		name   string
		method string
		path   string
		body   any
		own    want
	}{
		{"search", "GET", "search?q=refund&facets=1", nil, readers(200)},
		{"search bad query", "GET", "search?q=%22x", nil, readers(400)},
		{"conversation", "GET", "search/conversations/c1", nil, perContact(200)},
		{"merged contact's conversation", "GET", "search/conversations/c3?contact=k1", nil, perContact(200)},
		{"other contact's conversation", "GET", "search/conversations/c4", nil, readers(200)},
		{"absent conversation", "GET", "search/conversations/none", nil,
			all(404)},
		{"dossier", "GET", "contacts/k1/dossier", nil, perContact(200)},
		{"other dossier", "GET", "contacts/k3/dossier", nil, readers(200)},
		{"contacts by name", "GET", "contacts?name=alice", nil, all(200)},
		{"contacts by phone", "GET", "contacts?phone=%2B33123456789", nil, all(200)},
		{"merge", "POST", "contacts/k1/merge", map[string]any{"merge_ids": []string{"k2"}}, writers(202)},
		{"merge other contact", "POST", "contacts/k3/merge", map[string]any{"merge_ids": []string{"k2"}},
			want{"agent": 403, "serving-agent": 403, "supervisor": 202, "analyst": 403, "admin": 202, "operator": 202}},
		{"unmerge", "POST", "contacts/k1/unmerge", map[string]any{"ids": []string{"k2"}}, writers(202)},
	}
	for _, tt := range tests {
		for actor := range actors {
			for _, side := range []string{"own", "other"} {
				w, tenant := tt.own, own[actor]
				if side == "other" {
					w, tenant = nobody, "globex"
				}
				t.Run(tt.name+"/"+actor+"/"+side, func(t *testing.T) {
					path := base(tenant) + tt.path
					res := actors[actor].Request(tt.method, path, tt.body)
					if res.Status != w[actor] {
						t.Fatalf("%s %s as %s: %d %s, want %d", tt.method, path, actor, res.Status, res.Body, w[actor])
					}
					if strings.Contains(string(res.Body), "markerglobex") {
						t.Errorf("answer to %s names the other tenant's data: %s", actor, res.Body)
					}
					if res.Status >= 400 {
						if eb := res.ErrBody(); eb.Error.Code == "" {
							t.Errorf("error without a code: %s", res.Body)
						}
					}
				})
			}
		}
	}
	// Without a session, everything is 401.
	anon := e.anonymous()
	for _, tt := range tests {
		if res := anon.Request(tt.method, base("acme")+tt.path, tt.body); res.Status != 401 {
			t.Errorf("anonymous %s: %d", tt.name, res.Status)
		}
	}
	// Refused writes published nothing: the accepted ones are the
	// serving agent's, supervisor's, admin's and operator's merges of k1 and
	// unmerges, and the supervisor's, admin's and operator's merges of k3.
	if n := countEvents(t, e); n != 4+4+3 {
		t.Errorf("%d contacts events, want 11", n)
	}
}

// TestTenantIsolation asks acme's index every way the API allows, with ids
// and words that exist in globex too, and checks nothing of globex comes
// back: every conversation and contact is acme's, and globex's marker
// word never appears.
func TestTenantIsolation(t *testing.T) {
	e := startEnv(t)
	fixture(e, "acme")
	fixture(e, "globex")
	// Conversations and contacts only globex has.
	only := conv("globex", "g-only", "g-contact", "chat", "refund markerglobex secret", day(5))
	e.write(search.Batch{Conversations: []search.Conversation{only},
		Contacts: []search.Contact{{Tenant: "globex", ID: "g-contact", Name: "Alice Globex markerglobex", Phones: []string{"+4930123456"}}}})
	// Even a merge set naming globex's contact (a confused fold) only
	// reaches acme's documents.
	e.merges.merge("acme", "k1", "g-contact")
	sup := e.as["acme"]["supervisor"]
	check := func(path string, wantStatus int) []byte {
		t.Helper()
		res := sup.Request("GET", path, nil)
		if res.Status != wantStatus {
			t.Fatalf("GET %s: %d %s, want %d", path, res.Status, res.Body, wantStatus)
		}
		if strings.Contains(string(res.Body), "markerglobex") || strings.Contains(string(res.Body), "g-only") ||
			strings.Contains(string(res.Body), `"tenant":"globex"`) {
			t.Fatalf("GET %s leaks globex: %s", path, res.Body)
		}
		return res.Body
	}
	queries := []url.Values{
		{},
		{"q": {"refund"}},
		{"q": {"markerglobex"}},
		{"q": {"secret"}},
		{"q": {"refund OR invoice OR router OR markerglobex"}},
		{"q": {`"refund markerglobex"`}},
		{"q": {"-nothing"}},
		{"channel": {"chat"}, "facets": {"1"}},
		{"q": {"refund"}, "facets": {"1"}},
		{"from": {day(4).Format("2006-01-02T15:04:05Z")}},
	}
	for _, v := range queries {
		var r search.Result
		if err := json.Unmarshal(check(searchPath("acme", v), 200), &r); err != nil {
			t.Fatal(err)
		}
		for _, h := range r.Hits {
			if h.Conversation.Tenant != "acme" {
				t.Fatalf("%v: hit %s of tenant %s", v, h.Conversation.ID, h.Conversation.Tenant)
			}
		}
		if r.Facets != nil {
			n := 0
			for _, c := range r.Facets.Channels {
				n += c
			}
			if n != r.Total {
				t.Fatalf("%v: facets count %d conversations, total %d", v, n, r.Total)
			}
		}
	}
	// Everything acme can page through is acme's four conversations.
	var all search.Result
	if err := json.Unmarshal(check(searchPath("acme", url.Values{"size": {"100"}}), 200), &all); err != nil {
		t.Fatal(err)
	}
	if all.Total != 4 || !sameSet(hitIDs(all), []string{"c1", "c2", "c3", "c4"}) {
		t.Fatalf("acme sees %v (total %d)", hitIDs(all), all.Total)
	}
	check(base("acme")+"search/conversations/g-only", 404)
	var d dossierView
	if err := json.Unmarshal(check(base("acme")+"contacts/g-contact/dossier", 200), &d); err != nil {
		t.Fatal(err)
	}
	if d.Total != 0 {
		t.Fatalf("globex's contact's dossier from acme: %+v", d)
	}
	if err := json.Unmarshal(check(base("acme")+"contacts/k1/dossier", 200), &d); err != nil {
		t.Fatal(err)
	}
	if d.Total != 2 {
		t.Fatalf("k1's dossier with globex's contact in its set: %+v", d)
	}
	for _, q := range []string{"name=alice", "name=globex", "phone=%2B4930123456", "phone=%2B33123456789", "email=alice%40example.com"} {
		var v struct {
			Contacts []search.Contact `json:"contacts"`
		}
		if err := json.Unmarshal(check(base("acme")+"contacts?"+q, 200), &v); err != nil {
			t.Fatal(err)
		}
		for _, c := range v.Contacts {
			if c.Tenant != "acme" {
				t.Fatalf("contacts?%s: %+v", q, c)
			}
		}
	}
}
