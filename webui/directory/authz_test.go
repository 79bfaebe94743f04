package directory

import (
	"fmt"
	"strings"
	"testing"
)

// TestAuthorizationMatrix sends every endpoint as every role, against the
// caller's own tenant and another one, and checks the status; and that no
// answer to a non-operator carries the other tenant's data.
func TestAuthorizationMatrix(t *testing.T) {
	e := startEnv(t, openBus(t))
	op := e.bootstrap()
	op.mustCreateTenant("acme", "en")
	op.mustCreateTenant("globex", "de")
	ctx := ctxT(t)
	// In every tenant: a skill, a chat queue and a target agent account.
	targets := map[string]string{}
	for _, tenant := range []string{"demo", "acme", "globex"} {
		targets[tenant] = op.mustCreateAccount(tenant, "target-"+tenant, "Target "+tenant, "agent").ID
		if _, err := e.s.SaveSkill(ctx, tenant, "", Skill{ID: "sk", Name: "Secret skill " + tenant}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.s.SaveQueue(ctx, tenant, "", Queue{ID: "q", Name: "Secret queue " + tenant, Channels: []string{"chat"}}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.s.SaveCannedAnswer(ctx, tenant, "", Answer{ID: "a", Kind: "answer", Title: "Secret " + tenant, Text: "x"}); err != nil {
			t.Fatal(err)
		}
	}
	actors := map[string]*client{"operator": op}
	for _, role := range []string{"agent", "supervisor", "analyst", "admin"} {
		op.mustCreateAccount("acme", role+"@acme.example", "The "+role, role)
		actors[role] = e.login("acme", role+"@acme.example", testPassword)
	}
	own := map[string]string{"operator": "demo", "agent": "acme", "supervisor": "acme", "analyst": "acme", "admin": "acme"}

	type want map[string]int // actor -> status
	all := func(s int) want {
		return want{"agent": s, "supervisor": s, "analyst": s, "admin": s, "operator": s}
	}
	adminOnly := func(s int) want {
		return want{"agent": 403, "supervisor": 403, "analyst": 403, "admin": s, "operator": s}
	}
	editors := func(s int) want {
		return want{"agent": 403, "supervisor": s, "analyst": 403, "admin": s, "operator": s}
	}
	opOnly := func(s int) want {
		return want{"agent": 404, "supervisor": 404, "analyst": 404, "admin": 404, "operator": s}
	}
	n := 0
	uniq := func() string { n++; return fmt.Sprint("x", n) }
	// setup prepares what one request needs in tenant and returns the
	// path under /api/v1/tenants/{tenant}/.
	type setup func(t *testing.T, tenant string) string
	fixed := func(p string) setup { return func(*testing.T, string) string { return p } }
	fresh := func(prefix string) setup {
		return func(*testing.T, string) string { return prefix + uniq() }
	}
	existingQueue := func(t *testing.T, tenant string) string {
		id := uniq()
		if _, err := e.s.SaveQueue(ctx, tenant, "", Queue{ID: id, Name: "Q", Channels: []string{"sms"}}); err != nil {
			t.Fatal(err)
		}
		return "queues/" + id
	}
	existingSkill := func(t *testing.T, tenant string) string {
		id := uniq()
		if _, err := e.s.SaveSkill(ctx, tenant, "", Skill{ID: id, Name: "S"}); err != nil {
			t.Fatal(err)
		}
		return "skills/" + id
	}
	existingAnswer := func(t *testing.T, tenant string) string {
		id := uniq()
		if _, err := e.s.SaveCannedAnswer(ctx, tenant, "", Answer{ID: id, Kind: "script", Title: "T", Text: "x"}); err != nil {
			t.Fatal(err)
		}
		return "canned-answers/" + id
	}
	withProfile := func(t *testing.T, tenant string) string {
		if err := e.s.SetProfile(ctx, tenant, "", targets[tenant], Profile{Capacity: Capacity{Chat: 1}}); err != nil {
			t.Fatal(err)
		}
		return "agents/" + targets[tenant] + "/profile"
	}
	profilePath := func(_ *testing.T, tenant string) string { return "agents/" + targets[tenant] + "/profile" }

	tests := []struct {
		name   string
		method string
		path   setup
		body   any
		own    want
		other  want
	}{
		{"list queues", "GET", fixed("queues"), nil, all(200), opOnly(200)},
		{"list skills", "GET", fixed("skills"), nil, all(200), opOnly(200)},
		{"list canned answers", "GET", fixed("canned-answers"), nil, all(200), opOnly(200)},
		{"get widget", "GET", fixed("widget"), nil, all(200), opOnly(200)},
		{"list agents", "GET", fixed("agents"), nil, all(200), opOnly(200)},
		{"put queue", "PUT", fresh("queues/"), map[string]any{"name": "New", "channels": []string{"chat"}, "skills": []string{"sk"}},
			adminOnly(201), opOnly(201)},
		{"delete queue", "DELETE", existingQueue, nil, adminOnly(204), opOnly(204)},
		{"put skill", "PUT", fresh("skills/"), map[string]any{"name": "New"}, adminOnly(201), opOnly(201)},
		{"delete skill", "DELETE", existingSkill, nil, adminOnly(204), opOnly(204)},
		{"put profile", "PUT", profilePath, map[string]any{"skills": []string{"sk"}, "capacity": map[string]int{"chat": 2}},
			adminOnly(200), opOnly(200)},
		{"delete profile", "DELETE", withProfile, nil, adminOnly(204), opOnly(204)},
		{"put canned answer", "PUT", fresh("canned-answers/"), map[string]any{"kind": "answer", "title": "T", "text": "x"},
			editors(201), opOnly(201)},
		{"delete canned answer", "DELETE", existingAnswer, nil, editors(204), opOnly(204)},
		{"put widget", "PUT", fixed("widget"), map[string]any{"allowed_origins": []string{"https://shop.example"}, "default_queue": "q"},
			adminOnly(200), opOnly(200)},
	}
	leaks := []string{"globex", "Secret skill globex", "Secret queue globex", "Secret globex", targets["globex"]}
	for _, tt := range tests {
		for _, actor := range []string{"agent", "supervisor", "analyst", "admin", "operator"} {
			for _, side := range []string{"own", "other"} {
				w, tenant := tt.own, own[actor]
				if side == "other" {
					w, tenant = tt.other, "globex"
				}
				t.Run(tt.name+"/"+actor+"/"+side, func(t *testing.T) {
					path := "/api/v1/tenants/" + tenant + "/" + tt.path(t, tenant)
					res := actors[actor].Request(tt.method, path, tt.body)
					if res.Status != w[actor] {
						t.Fatalf("%s %s as %s: %d %s, want %d", tt.method, path, actor, res.Status, res.Body, w[actor])
					}
					if actor != "operator" {
						for _, leak := range leaks {
							if strings.Contains(string(res.Body), leak) {
								t.Errorf("answer to %s names the other tenant's %q: %s", actor, leak, res.Body)
							}
						}
					}
				})
			}
		}
	}
	// The refused writes changed nothing: in acme, one queue and one skill
	// by its admin, two answers by its supervisor and admin.
	count := func(n int, match func() int, what string) {
		if got := match(); got != n {
			t.Errorf("acme has %d %s, want %d", got, what, n)
		}
	}
	count(1, func() (n int) {
		for _, q := range e.s.Queues("acme") {
			if q.Name == "New" {
				n++
			}
		}
		return n
	}, "new queues")
	count(1, func() (n int) {
		for _, s := range e.s.Skills("acme") {
			if s.Name == "New" {
				n++
			}
		}
		return n
	}, "new skills")
	count(2, func() (n int) {
		for _, a := range e.s.CannedAnswers("acme") {
			if a.Kind == "answer" && a.Title == "T" {
				n++
			}
		}
		return n
	}, "new answers")
	// Without a session, everything is 401.
	anon := e.anonymous()
	for _, tt := range tests {
		if res := anon.Request(tt.method, "/api/v1/tenants/acme/"+tt.path(t, "acme"), tt.body); res.Status != 401 {
			t.Errorf("anonymous %s %s: %d", tt.method, tt.name, res.Status)
		}
	}
}
