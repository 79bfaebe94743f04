package auth

import (
	"net/http"
	"strings"
	"testing"
)

func TestAdminEditsApply(t *testing.T) {
	b := openBus(t)
	e := startAuth(t, b, newFakeClock(), Config{})
	op, _ := e.bootstrap()
	op.mustCreateTenant("acme")
	admin := op.mustCreateAccount("acme", "boss@acme.example", "admin", "the boss password")
	_ = admin
	boss := e.login("acme", "boss@acme.example", "the boss password")

	// Tenant settings.
	res := boss.request("PATCH", "/api/v1/tenants/acme", map[string]any{"language": "de", "time_zone": "Europe/Berlin"})
	var tn Tenant
	res.decode(t, &tn)
	if res.status != http.StatusOK || tn.Language != "de" || tn.TimeZone != "Europe/Berlin" || tn.Name != "Tenant acme" {
		t.Fatalf("patch tenant: %d %s", res.status, res.body)
	}
	if res := boss.request("PATCH", "/api/v1/tenants/acme", map[string]any{"id": "other"}); res.status != 400 || res.errField() != "id" {
		t.Errorf("renaming the tenant id: %d %s", res.status, res.body)
	}

	// Accounts: create, rename the login, change role, reset the password.
	ag := boss.mustCreateAccount("acme", "kim", "agent", "kim's first password")
	kim := e.login("acme", "kim", "kim's first password")
	res = boss.request("PATCH", "/api/v1/tenants/acme/accounts/"+ag.ID,
		map[string]any{"login": "kim@acme.example", "display_name": "Kim Lee", "role": "analyst", "password": "kim's reset password"})
	var acc Account
	res.decode(t, &acc)
	if res.status != http.StatusOK || acc.Login != "kim@acme.example" || acc.DisplayName != "Kim Lee" || acc.Role != "analyst" {
		t.Fatalf("patch account: %d %s", res.status, res.body)
	}
	if res := kim.request("GET", "/api/v1/auth/me", nil); res.status != http.StatusUnauthorized {
		t.Errorf("session after an admin password reset: %d, want ended", res.status)
	}
	if res, _ := e.tryLogin("acme", "kim", "kim's reset password"); res.status != http.StatusUnauthorized {
		t.Errorf("old login still works: %d", res.status)
	}
	e.login("acme", "KIM@acme.example", "kim's reset password")
	if res := boss.request("PATCH", "/api/v1/tenants/acme/accounts/"+ag.ID, map[string]any{"login": "boss@acme.example"}); res.status != http.StatusConflict {
		t.Errorf("taking another account's login: %d %s", res.status, res.body)
	}
	if res := boss.request("PATCH", "/api/v1/tenants/acme/accounts/"+ag.ID, map[string]any{"password": "kim@acme.example"}); res.status != 400 || res.errField() != "password" {
		t.Errorf("login as password: %d %s", res.status, res.body)
	}

	// Lists carry no secrets and only the tenant's accounts.
	res = boss.request("GET", "/api/v1/tenants/acme/accounts", nil)
	var list struct{ Accounts []Account }
	res.decode(t, &list)
	if len(list.Accounts) != 2 || list.Accounts[0].Login != "boss@acme.example" || list.Accounts[1].Login != "kim@acme.example" {
		t.Errorf("accounts = %s", res.body)
	}
	if strings.Contains(string(res.body), "argon2") || strings.Contains(string(res.body), `"password`) {
		t.Errorf("account list leaks a password field: %s", res.body)
	}
	res = op.request("GET", "/api/v1/tenants", nil)
	var tl struct{ Tenants []Tenant }
	res.decode(t, &tl)
	if len(tl.Tenants) != 2 || tl.Tenants[0].ID != "acme" || tl.Tenants[1].ID != "demo" {
		t.Errorf("tenants = %s", res.body)
	}
}

func TestTwoInstancesShareFacts(t *testing.T) {
	b := openBus(t)
	clock := newFakeClock()
	a := startAuth(t, b, clock, Config{})
	other := startAuth(t, b, clock, Config{})
	admin, boot := a.bootstrap()
	acc := admin.mustCreateAccount("demo", "lea", "agent", "lea's good password")

	// A session started on one instance works on the other once folded
	// there; the other instance catches up with the tenant on first use.
	c := a.login("demo", "lea", "lea's good password")
	c.e = other
	if res := c.request("GET", "/api/v1/auth/me", nil); res.status != http.StatusOK {
		t.Fatalf("session on the other instance: %d %s", res.status, res.body)
	}
	// A lock taken on one instance holds on the other.
	for range 5 {
		a.tryLogin("demo", "lea", "wrong wrong wrong")
	}
	if err := other.a.store.publish(t.Context(), "demo", &eventMarker); err != nil {
		t.Fatal(err)
	}
	if res, _ := other.tryLogin("demo", "lea", "lea's good password"); res.status != http.StatusLocked {
		t.Fatalf("lock on the other instance: %d %s", res.status, res.body)
	}
	// Disabling on one instance ends the session on the other.
	adminOther := other.login("demo", "admin", boot.Password)
	if res := adminOther.request("PATCH", "/api/v1/tenants/demo/accounts/"+acc.ID, map[string]any{"disabled": true}); res.status != http.StatusOK {
		t.Fatalf("disable: %d", res.status)
	}
	if err := a.a.store.publish(t.Context(), "demo", &eventMarker); err != nil {
		t.Fatal(err)
	}
	c.e = a
	if res := c.request("GET", "/api/v1/auth/me", nil); res.status != http.StatusUnauthorized {
		t.Fatalf("disabled account's session on the first instance: %d", res.status)
	}
}
