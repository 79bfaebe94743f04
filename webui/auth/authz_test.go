package auth

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestAuthorizationMatrix sends every endpoint as every role, against the
// caller's own tenant and another one, and checks the status; and that no
// answer to a non-operator carries the other tenant's data.
func TestAuthorizationMatrix(t *testing.T) {
	b := openBus(t)
	e := startAuth(t, b, newFakeClock(), Config{LoginBurst: 1000, LoginRatePerMinute: 1000})
	op, boot := e.bootstrap()
	op.mustCreateTenant("acme")
	op.mustCreateTenant("globex")
	const pw = "a long enough password"
	// A target account in every tenant, for the account endpoints.
	targets := map[string]Account{
		"demo":   op.mustCreateAccount("demo", "target-demo", "agent", pw),
		"acme":   op.mustCreateAccount("acme", "target-acme", "agent", pw),
		"globex": op.mustCreateAccount("globex", "secret-globex-login", "agent", pw),
	}
	actors := map[string]*client{"operator": op}
	for _, role := range []string{"agent", "supervisor", "analyst", "admin"} {
		op.mustCreateAccount("acme", role+"@acme.example", role, pw)
		actors[role] = e.login("acme", role+"@acme.example", pw)
	}
	own := map[string]string{"operator": "demo", "agent": "acme", "supervisor": "acme", "analyst": "acme", "admin": "acme"}
	_ = boot

	type want map[string]int // actor -> status
	all := func(s int) want {
		return want{"agent": s, "supervisor": s, "analyst": s, "admin": s, "operator": s}
	}
	n := 0
	uniq := func() string { n++; return fmt.Sprint(n) }
	tests := []struct {
		name   string
		method string
		path   func(tenant string) string
		body   func() any
		own    want
		other  want
	}{
		{"me", "GET", func(string) string { return "/api/v1/auth/me" }, nil, all(200), nil},
		{"list tenants", "GET", func(string) string { return "/api/v1/tenants" }, nil,
			want{"agent": 403, "supervisor": 403, "analyst": 403, "admin": 403, "operator": 200}, nil},
		{"create tenant", "POST", func(string) string { return "/api/v1/tenants" },
			func() any { return map[string]any{"id": "t" + uniq(), "name": "New"} },
			want{"agent": 403, "supervisor": 403, "analyst": 403, "admin": 403, "operator": 201}, nil},
		{"get tenant", "GET", func(t string) string { return "/api/v1/tenants/" + t }, nil,
			all(200), want{"agent": 404, "supervisor": 404, "analyst": 404, "admin": 404, "operator": 200}},
		{"patch tenant", "PATCH", func(t string) string { return "/api/v1/tenants/" + t },
			func() any { return map[string]any{"name": "Renamed " + uniq()} },
			want{"agent": 403, "supervisor": 403, "analyst": 403, "admin": 200, "operator": 200},
			want{"agent": 404, "supervisor": 404, "analyst": 404, "admin": 404, "operator": 200}},
		{"list accounts", "GET", func(t string) string { return "/api/v1/tenants/" + t + "/accounts" }, nil,
			want{"agent": 403, "supervisor": 200, "analyst": 403, "admin": 200, "operator": 200},
			want{"agent": 404, "supervisor": 404, "analyst": 404, "admin": 404, "operator": 200}},
		{"create account", "POST", func(t string) string { return "/api/v1/tenants/" + t + "/accounts" },
			func() any { return map[string]any{"login": "new" + uniq(), "role": "agent", "password": pw} },
			want{"agent": 403, "supervisor": 403, "analyst": 403, "admin": 201, "operator": 201},
			want{"agent": 404, "supervisor": 404, "analyst": 404, "admin": 404, "operator": 201}},
		{"get account", "GET", func(t string) string { return "/api/v1/tenants/" + t + "/accounts/" + targets[t].ID }, nil,
			want{"agent": 403, "supervisor": 200, "analyst": 403, "admin": 200, "operator": 200},
			want{"agent": 404, "supervisor": 404, "analyst": 404, "admin": 404, "operator": 200}},
		{"patch account", "PATCH", func(t string) string { return "/api/v1/tenants/" + t + "/accounts/" + targets[t].ID },
			func() any { return map[string]any{"display_name": "Renamed " + uniq()} },
			want{"agent": 403, "supervisor": 403, "analyst": 403, "admin": 200, "operator": 200},
			want{"agent": 404, "supervisor": 404, "analyst": 404, "admin": 404, "operator": 200}},
		{"reset password", "PATCH", func(t string) string { return "/api/v1/tenants/" + t + "/accounts/" + targets[t].ID },
			func() any { return map[string]any{"password": "reset password " + uniq()} },
			want{"agent": 403, "supervisor": 403, "analyst": 403, "admin": 200, "operator": 200},
			want{"agent": 404, "supervisor": 404, "analyst": 404, "admin": 404, "operator": 200}},
	}
	for _, tt := range tests {
		for _, actor := range []string{"agent", "supervisor", "analyst", "admin", "operator"} {
			for _, side := range []string{"own", "other"} {
				w := tt.own
				tenant := own[actor]
				if side == "other" {
					if tt.other == nil {
						continue
					}
					w, tenant = tt.other, "globex"
				}
				t.Run(tt.name+"/"+actor+"/"+side, func(t *testing.T) {
					var body any
					if tt.body != nil {
						body = tt.body()
					}
					res := actors[actor].request(tt.method, tt.path(tenant), body)
					if res.status != w[actor] {
						t.Fatalf("%s %s as %s: %d %s, want %d", tt.method, tt.path(tenant), actor, res.status, res.body, w[actor])
					}
					if actor != "operator" {
						for _, leak := range []string{"globex", "secret-globex-login", targets["globex"].ID} {
							if strings.Contains(string(res.body), leak) {
								t.Errorf("answer to %s names the other tenant's %q: %s", actor, leak, res.body)
							}
						}
					}
				})
			}
		}
	}

	// Tenant admins cannot raise anyone to operator; operators can.
	admin := actors["admin"]
	if res := admin.request("POST", "/api/v1/tenants/acme/accounts", map[string]any{"login": "sneaky", "role": "admin", "operator": true, "password": pw}); res.status != http.StatusForbidden {
		t.Errorf("admin creating an operator: %d %s", res.status, res.body)
	}
	if res := admin.request("PATCH", "/api/v1/tenants/acme/accounts/"+targets["acme"].ID, map[string]any{"operator": true}); res.status != http.StatusForbidden {
		t.Errorf("admin making an operator: %d %s", res.status, res.body)
	}
	// A demo admin who is not an operator cannot take over the operator's
	// account (resetting its password would make them one).
	demoAdmin := op.mustCreateAccount("demo", "demo-admin", "admin", pw)
	_ = demoAdmin
	da := e.login("demo", "demo-admin", pw)
	var opMe sessionView
	op.request("GET", "/api/v1/auth/me", nil).decode(t, &opMe)
	for _, body := range []map[string]any{{"password": "taken over password"}, {"disabled": true}, {"role": "agent"}} {
		if res := da.request("PATCH", "/api/v1/tenants/demo/accounts/"+opMe.Account.ID, body); res.status != http.StatusForbidden {
			t.Errorf("tenant admin changing the operator's account with %v: %d %s", body, res.status, res.body)
		}
	}
	// Nobody can read another tenant's account through their own tenant's path.
	if res := admin.request("GET", "/api/v1/tenants/acme/accounts/"+targets["globex"].ID, nil); res.status != http.StatusNotFound {
		t.Errorf("other tenant's account id under own tenant: %d %s", res.status, res.body)
	}
	// A role change applies to the next request of an existing session.
	agent := actors["agent"]
	var me sessionView
	agent.request("GET", "/api/v1/auth/me", nil).decode(t, &me)
	if res := admin.request("PATCH", "/api/v1/tenants/acme/accounts/"+me.Account.ID, map[string]any{"role": "supervisor"}); res.status != http.StatusOK {
		t.Fatalf("promote: %d %s", res.status, res.body)
	}
	if res := agent.request("GET", "/api/v1/tenants/acme/accounts", nil); res.status != http.StatusOK {
		t.Errorf("promoted agent listing accounts: %d", res.status)
	}
	// Without a session, everything but login is 401.
	anon := &client{e: e}
	for _, path := range []string{"/api/v1/auth/me", "/api/v1/tenants", "/api/v1/tenants/acme", "/api/v1/tenants/acme/accounts"} {
		if res := anon.request("GET", path, nil); res.status != http.StatusUnauthorized {
			t.Errorf("anonymous GET %s: %d", path, res.status)
		}
	}
}

func TestRequireAndPrincipal(t *testing.T) {
	h := Require("supervisor", Operator)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := PrincipalFrom(r.Context())
		fmt.Fprint(w, p.AccountID)
	}))
	tests := []struct {
		name string
		p    *Principal
		want int
	}{
		{"none", nil, 401},
		{"agent", &Principal{AccountID: "a", Tenant: "acme", Role: "agent"}, 403},
		{"supervisor", &Principal{AccountID: "a", Tenant: "acme", Role: "supervisor"}, 200},
		{"operator", &Principal{AccountID: "a", Tenant: "demo", Role: "admin", Operator: true}, 200},
	}
	for _, tt := range tests {
		r, _ := http.NewRequest("GET", "/", nil)
		if tt.p != nil {
			r = r.WithContext(WithPrincipal(r.Context(), *tt.p))
		}
		rec := newRecorder()
		h.ServeHTTP(rec, r)
		if rec.Code != tt.want {
			t.Errorf("%s: %d, want %d", tt.name, rec.Code, tt.want)
		}
	}
	op := Principal{AccountID: "o", Tenant: "demo", Role: "admin", Operator: true}
	if SameTenant(op, "acme") || !SameTenant(op, "demo") || SameTenant(Principal{}, "") {
		t.Error("SameTenant lets an operator into another tenant's working data, or an empty principal anywhere")
	}
	if !CanAdminister(op, "acme") || CanAdminister(Principal{AccountID: "x", Tenant: "acme", Role: "supervisor"}, "acme") ||
		CanAdminister(Principal{AccountID: "x", Tenant: "acme", Role: "admin"}, "globex") {
		t.Error("CanAdminister")
	}
}

func newRecorder() *httptest.ResponseRecorder { return httptest.NewRecorder() }
