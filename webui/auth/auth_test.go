package auth

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestNewRejectsBadConfig(t *testing.T) {
	b := openBus(t)
	for _, cfg := range []Config{
		{DefaultTenant: "Not A Slug"},
		{SessionIdle: 24 * time.Hour, SessionLifetime: time.Hour},
		{Hash: HashParams{Memory: 10, Time: 1, Threads: 1}},
		{MaxBodyBytes: 10},
		{LockoutThreshold: -1},
	} {
		if _, err := New(cfg, b, nil); err == nil {
			t.Errorf("New(%+v) accepted", cfg)
		}
	}
	if _, err := New(Config{}, nil, nil); err == nil {
		t.Error("New with a nil bus accepted")
	}
}

func TestBootstrapHappensOnce(t *testing.T) {
	b := openBus(t)
	clock := newFakeClock()
	e := startAuth(t, b, clock, Config{})
	admin, boot := e.bootstrap()
	if boot.Tenant != "demo" || boot.Login != "admin" || len(boot.Password) < MinPasswordLength {
		t.Fatalf("bootstrap = %+v", boot)
	}
	var me sessionView
	res := admin.request("GET", "/api/v1/auth/me", nil)
	res.decode(t, &me)
	if res.status != http.StatusOK || me.Account.Role != "admin" || !me.Account.Operator || me.Account.Tenant != "demo" {
		t.Fatalf("me = %d %s", res.status, res.body)
	}
	if strings.Contains(string(res.body), boot.Password) || strings.Contains(string(res.body), "argon2") {
		t.Fatal("me shows the password or its hash")
	}
	if _, created, err := e.a.EnsureBootstrap(context.Background()); err != nil || created {
		t.Fatalf("second EnsureBootstrap on the same instance = %v, %v", created, err)
	}
	// A second start (a store rebuilt from the bus) does not bootstrap again.
	e2 := startAuth(t, b, clock, Config{})
	if _, created, err := e2.a.EnsureBootstrap(context.Background()); err != nil || created {
		t.Fatalf("EnsureBootstrap after restart = %v, %v", created, err)
	}
	if n := e2.a.Store().AccountCount(); n != 1 {
		t.Errorf("accounts after restart = %d, want 1", n)
	}
	e2.login("demo", "admin", boot.Password)
}

func TestConcurrentBootstrapCreatesOneAdmin(t *testing.T) {
	b := openBus(t)
	clock := newFakeClock()
	e1 := startAuth(t, b, clock, Config{})
	e2 := startAuth(t, b, clock, Config{})
	type result struct {
		boot    Bootstrap
		created bool
		err     error
	}
	ch := make(chan result, 2)
	for _, e := range []*env{e1, e2} {
		go func() {
			boot, created, err := e.a.EnsureBootstrap(context.Background())
			ch <- result{boot, created, err}
		}()
	}
	r1, r2 := <-ch, <-ch
	if r1.err != nil || r2.err != nil {
		t.Fatalf("errors: %v, %v", r1.err, r2.err)
	}
	if r1.created == r2.created {
		t.Fatalf("created = %v and %v, want exactly one", r1.created, r2.created)
	}
	won := r1
	if r2.created {
		won = r2
	}
	// Both instances agree on the one admin.
	for _, e := range []*env{e1, e2} {
		if err := e.a.Store().Sync(context.Background(), "demo"); err != nil {
			t.Fatal(err)
		}
		if n := e.a.Store().AccountCount(); n != 1 {
			t.Errorf("accounts = %d, want 1", n)
		}
		e.login("demo", "admin", won.boot.Password)
	}
}

func TestLoginRightAfterAccountCreation(t *testing.T) {
	b := openBus(t)
	e := startAuth(t, b, newFakeClock(), Config{})
	admin, _ := e.bootstrap()
	for i := range 5 {
		login := "agent" + string(rune('a'+i)) + "@demo.example"
		admin.mustCreateAccount("demo", login, "agent", "long enough password")
		e.login("demo", login, "long enough password")
	}
}

func TestLoginFailuresDoNotEnumerate(t *testing.T) {
	b := openBus(t)
	e := startAuth(t, b, newFakeClock(), Config{LoginBurst: 100})
	admin, _ := e.bootstrap()
	gone := admin.mustCreateAccount("demo", "gone", "agent", "long enough password")
	if res := admin.request("PATCH", "/api/v1/tenants/demo/accounts/"+gone.ID, map[string]any{"disabled": true}); res.status != http.StatusOK {
		t.Fatalf("disable: %d %s", res.status, res.body)
	}
	var want string
	for _, tc := range []struct{ tenant, login, password string }{
		{"demo", "admin", "wrong password!"},
		{"demo", "nobody", "wrong password!"},
		{"nowhere", "admin", "wrong password!"},
		{"demo", "gone", "long enough password"},
	} {
		res, _ := e.tryLogin(tc.tenant, tc.login, tc.password)
		if res.status != http.StatusUnauthorized || res.errCode() != "invalid_credentials" {
			t.Errorf("%+v: %d %s", tc, res.status, res.body)
		}
		if want == "" {
			want = string(res.body)
		} else if string(res.body) != want {
			t.Errorf("%+v answers %s, others %s", tc, res.body, want)
		}
	}
}

func TestLockout(t *testing.T) {
	b := openBus(t)
	clock := newFakeClock()
	e := startAuth(t, b, clock, Config{LoginBurst: 100})
	admin, _ := e.bootstrap()
	acc := admin.mustCreateAccount("demo", "jane", "agent", "jane's good password")

	// Failures outside the window do not add up.
	for range 4 {
		if res, _ := e.tryLogin("demo", "jane", "bad password 1"); res.status != http.StatusUnauthorized {
			t.Fatalf("failed login: %d %s", res.status, res.body)
		}
	}
	clock.Advance(16 * time.Minute)
	if res, _ := e.tryLogin("demo", "jane", "bad password 1"); res.status != http.StatusUnauthorized {
		t.Fatalf("failed login: %d", res.status)
	}
	if _, c := e.tryLogin("demo", "jane", "jane's good password"); c.cookie == nil {
		t.Fatal("locked after failures spread over more than the window")
	}
	// Five failures within 15 minutes lock.
	for i := range 5 {
		clock.Advance(time.Minute)
		res, _ := e.tryLogin("demo", "jane", "bad password 2")
		if res.status != http.StatusUnauthorized || res.errCode() != "invalid_credentials" {
			t.Fatalf("failure %d: %d %s", i+1, res.status, res.body)
		}
	}
	res, _ := e.tryLogin("demo", "jane", "jane's good password")
	if res.status != http.StatusLocked || res.errCode() != "account_locked" {
		t.Fatalf("right password on a locked account: %d %s", res.status, res.body)
	}
	// A wrong password on a locked account says nothing about the lock.
	if res, _ := e.tryLogin("demo", "jane", "bad password 3"); res.status != http.StatusUnauthorized {
		t.Fatalf("wrong password on a locked account: %d %s", res.status, res.body)
	}

	// The lock is a fact on the bus: a store rebuilt from it still refuses.
	e2 := startAuth(t, b, clock, Config{LoginBurst: 100})
	if res, _ := e2.tryLogin("demo", "jane", "jane's good password"); res.status != http.StatusLocked {
		t.Fatalf("after rebuild: %d %s", res.status, res.body)
	}
	got, _ := e2.a.Store().Account("demo", acc.ID)
	if !got.LockedUntil.After(clock.Now()) {
		t.Fatalf("rebuilt account = %+v", got)
	}
	// The lock lapses after 15 minutes.
	clock.Advance(14 * time.Minute)
	if res, _ := e2.tryLogin("demo", "jane", "jane's good password"); res.status != http.StatusLocked {
		t.Fatalf("before the lock lapses: %d", res.status)
	}
	clock.Advance(2 * time.Minute)
	e2.login("demo", "jane", "jane's good password")

	// An admin can unlock early.
	for range 5 {
		e.tryLogin("demo", "jane", "bad password 4")
	}
	if res, _ := e.tryLogin("demo", "jane", "jane's good password"); res.status != http.StatusLocked {
		t.Fatalf("relock: %d", res.status)
	}
	if res := admin.request("PATCH", "/api/v1/tenants/demo/accounts/"+acc.ID, map[string]any{"unlocked": true}); res.status != http.StatusOK {
		t.Fatalf("unlock: %d %s", res.status, res.body)
	}
	e.login("demo", "jane", "jane's good password")
}

func TestLoginRateLimitPerIP(t *testing.T) {
	b := openBus(t)
	clock := newFakeClock()
	e := startAuth(t, b, clock, Config{LoginBurst: 3, LoginRatePerMinute: 1})
	_, boot := e.bootstrap() // one attempt used
	try := func(ip string) int {
		c := &client{e: e, ip: ip}
		return c.request("POST", "/api/v1/auth/login", map[string]string{"login": "nobody", "password": "whatever123"}).status
	}
	for i := range 3 {
		if got := try("198.51.100.7"); got != http.StatusUnauthorized {
			t.Fatalf("attempt %d: %d", i+1, got)
		}
	}
	if got := try("198.51.100.7"); got != http.StatusTooManyRequests {
		t.Fatalf("attempt over the burst: %d, want 429", got)
	}
	// The limit holds even for the right password.
	c := &client{e: e, ip: "198.51.100.7"}
	if got := c.request("POST", "/api/v1/auth/login", map[string]string{"login": "admin", "password": boot.Password}).status; got != http.StatusTooManyRequests {
		t.Fatalf("right password over the burst: %d, want 429", got)
	}
	// Other addresses are not affected, and the bucket refills.
	if got := try("198.51.100.9"); got != http.StatusUnauthorized {
		t.Fatalf("other address: %d", got)
	}
	clock.Advance(time.Minute)
	if got := try("198.51.100.7"); got != http.StatusUnauthorized {
		t.Fatalf("after refill: %d", got)
	}
}

func TestSessionCookie(t *testing.T) {
	b := openBus(t)
	clock := newFakeClock()
	e := startAuth(t, b, clock, Config{SessionIdle: 30 * time.Minute, SessionLifetime: 2 * time.Hour})
	_, boot := e.bootstrap()

	tests := []struct {
		name       string
		mods       []func(*http.Request)
		secureConf bool
		wantSecure bool
	}{
		{"plain HTTP", nil, false, false},
		{"TLS", []func(*http.Request){withTLS}, false, true},
		{"config flag", nil, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := e
			if tt.secureConf {
				e = startAuth(t, b, clock, Config{SecureCookies: true})
			}
			res, _ := e.tryLogin("demo", "admin", boot.Password, tt.mods...)
			ck := res.cookie
			if res.status != http.StatusOK || ck == nil {
				t.Fatalf("login: %d %s", res.status, res.body)
			}
			if !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Path != "/" || ck.Secure != tt.wantSecure {
				t.Errorf("cookie = %+v, want HttpOnly, SameSite=Lax, Path=/, Secure=%v", ck, tt.wantSecure)
			}
			tenant, secret, ok := splitToken(ck.Value)
			if !ok || tenant != "demo" || len(secret) != 43 {
				t.Errorf("cookie value %q is not demo.<256-bit token>", ck.Value)
			}
		})
	}

	t.Run("idle timeout", func(t *testing.T) {
		c := e.login("demo", "admin", boot.Password)
		clock.Advance(29 * time.Minute)
		if res := c.request("GET", "/api/v1/auth/me", nil); res.status != http.StatusOK {
			t.Fatalf("within idle: %d", res.status)
		}
		clock.Advance(31 * time.Minute)
		if res := c.request("GET", "/api/v1/auth/me", nil); res.status != http.StatusUnauthorized {
			t.Fatalf("after idle: %d", res.status)
		}
	})
	t.Run("absolute lifetime", func(t *testing.T) {
		c := e.login("demo", "admin", boot.Password)
		for range 4 {
			clock.Advance(25 * time.Minute)
			if res := c.request("GET", "/api/v1/auth/me", nil); res.status != http.StatusOK {
				t.Fatalf("active session before its lifetime: %d", res.status)
			}
		}
		clock.Advance(25 * time.Minute) // 125 minutes after login
		if res := c.request("GET", "/api/v1/auth/me", nil); res.status != http.StatusUnauthorized {
			t.Fatalf("after lifetime: %d", res.status)
		}
	})
	t.Run("logout", func(t *testing.T) {
		c := e.login("demo", "admin", boot.Password)
		other := e.login("demo", "admin", boot.Password)
		res := c.request("POST", "/api/v1/auth/logout", nil)
		if res.status != http.StatusNoContent || res.cookie == nil || res.cookie.MaxAge >= 0 {
			t.Fatalf("logout: %d %+v", res.status, res.cookie)
		}
		if res := c.request("GET", "/api/v1/auth/me", nil); res.status != http.StatusUnauthorized {
			t.Fatalf("after logout: %d", res.status)
		}
		// The end is a fact: a rebuilt store does not revive the session,
		// and keeps the other one.
		e2 := startAuth(t, b, clock, Config{})
		c.e, other.e = e2, e2
		if res := c.request("GET", "/api/v1/auth/me", nil); res.status != http.StatusUnauthorized {
			t.Fatalf("logged-out session after rebuild: %d", res.status)
		}
		if res := other.request("GET", "/api/v1/auth/me", nil); res.status != http.StatusOK {
			t.Fatalf("other session after rebuild: %d %s", res.status, res.body)
		}
	})
	t.Run("forged cookies", func(t *testing.T) {
		for _, v := range []string{"", "demo", "demo.short", "Demo.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
			"demo.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"} {
			c := &client{e: e, cookie: &http.Cookie{Name: CookieName, Value: v}}
			if res := c.request("GET", "/api/v1/auth/me", nil); res.status != http.StatusUnauthorized {
				t.Errorf("cookie %q: %d", v, res.status)
			}
		}
	})
}

func TestDisabledAccountLosesSessions(t *testing.T) {
	b := openBus(t)
	e := startAuth(t, b, newFakeClock(), Config{})
	admin, _ := e.bootstrap()
	acc := admin.mustCreateAccount("demo", "max", "agent", "max's good password")
	c := e.login("demo", "max", "max's good password")
	if res := c.request("GET", "/api/v1/auth/me", nil); res.status != http.StatusOK {
		t.Fatalf("me: %d", res.status)
	}
	if res := admin.request("PATCH", "/api/v1/tenants/demo/accounts/"+acc.ID, map[string]any{"disabled": true}); res.status != http.StatusOK {
		t.Fatalf("disable: %d %s", res.status, res.body)
	}
	if res := c.request("GET", "/api/v1/auth/me", nil); res.status != http.StatusUnauthorized {
		t.Fatalf("disabled account's session: %d", res.status)
	}
	if res, _ := e.tryLogin("demo", "max", "max's good password"); res.status != http.StatusUnauthorized {
		t.Fatalf("disabled account's login: %d", res.status)
	}
	// An admin cannot disable themselves.
	me := admin.request("GET", "/api/v1/auth/me", nil)
	var v sessionView
	me.decode(t, &v)
	if res := admin.request("PATCH", "/api/v1/tenants/demo/accounts/"+v.Account.ID, map[string]any{"disabled": true}); res.status != http.StatusBadRequest || res.errField() != "disabled" {
		t.Fatalf("self-disable: %d %s", res.status, res.body)
	}
}

func TestChangeOwnPassword(t *testing.T) {
	b := openBus(t)
	e := startAuth(t, b, newFakeClock(), Config{})
	admin, _ := e.bootstrap()
	admin.mustCreateAccount("demo", "ana", "analyst", "ana's first password")
	c := e.login("demo", "ana", "ana's first password")
	elsewhere := e.login("demo", "ana", "ana's first password")

	tests := []struct {
		name      string
		body      map[string]string
		status    int
		wantField string
	}{
		{"wrong current", map[string]string{"current_password": "not it at all", "new_password": "ana's second password"}, http.StatusForbidden, "current_password"},
		{"too short", map[string]string{"current_password": "ana's first password", "new_password": "short"}, http.StatusBadRequest, "new_password"},
		{"the login", map[string]string{"current_password": "ana's first password", "new_password": "ana"}, http.StatusBadRequest, "new_password"},
		{"ok", map[string]string{"current_password": "ana's first password", "new_password": "ana's second password"}, http.StatusNoContent, ""},
	}
	for _, tt := range tests {
		res := c.request("POST", "/api/v1/auth/password", tt.body)
		if res.status != tt.status || res.errField() != tt.wantField {
			t.Errorf("%s: %d %s", tt.name, res.status, res.body)
		}
	}
	if res, _ := e.tryLogin("demo", "ana", "ana's first password"); res.status != http.StatusUnauthorized {
		t.Errorf("old password: %d", res.status)
	}
	e.login("demo", "ana", "ana's second password")
	if res := c.request("GET", "/api/v1/auth/me", nil); res.status != http.StatusOK {
		t.Errorf("the session that changed the password: %d", res.status)
	}
	if res := elsewhere.request("GET", "/api/v1/auth/me", nil); res.status != http.StatusUnauthorized {
		t.Errorf("another session of the account: %d, want it ended", res.status)
	}
}

func TestCSRF(t *testing.T) {
	b := openBus(t)
	e := startAuth(t, b, newFakeClock(), Config{})
	_, boot := e.bootstrap()
	c := e.login("demo", "admin", boot.Password)
	good := c.csrf
	body := map[string]any{"name": "Demo renamed"}
	tests := []struct {
		name   string
		method string
		token  string
		mods   []func(*http.Request)
		status int
	}{
		{"no token", "PATCH", "", nil, http.StatusForbidden},
		{"wrong token", "PATCH", good[:len(good)-2] + "xx", nil, http.StatusForbidden},
		{"another session's token", "PATCH", csrfToken("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"), nil, http.StatusForbidden},
		{"foreign origin", "PATCH", good, []func(*http.Request){withHeader("Origin", "https://evil.example")}, http.StatusForbidden},
		{"foreign referer", "PATCH", good, []func(*http.Request){withHeader("Referer", "https://evil.example/page")}, http.StatusForbidden},
		{"null origin", "PATCH", good, []func(*http.Request){withHeader("Origin", "null")}, http.StatusForbidden},
		{"same origin", "PATCH", good, []func(*http.Request){withHeader("Origin", "http://example.com")}, http.StatusOK},
		{"no origin", "PATCH", good, nil, http.StatusOK},
		{"GET needs none", "GET", "", nil, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cc := *c
			cc.csrf = ""
			mods := tt.mods
			if tt.token != "" {
				mods = append(mods, withHeader("X-CSRF-Token", tt.token))
			}
			var bd any
			if tt.method != "GET" {
				bd = body
			}
			res := cc.request(tt.method, "/api/v1/tenants/demo", bd, mods...)
			if res.status != tt.status {
				t.Fatalf("%d %s, want %d", res.status, res.body, tt.status)
			}
			if tt.status == http.StatusForbidden && res.errCode() != "csrf_failed" {
				t.Errorf("code %s", res.errCode())
			}
		})
	}
	// The token comes from /auth/me and is stable for the session.
	var me sessionView
	c.request("GET", "/api/v1/auth/me", nil).decode(t, &me)
	if me.CSRFToken != good {
		t.Errorf("me's CSRF token %q differs from login's %q", me.CSRFToken, good)
	}
	// Logins from another origin are refused too (login CSRF).
	if res, _ := e.tryLogin("demo", "admin", boot.Password, withHeader("Origin", "https://evil.example")); res.status != http.StatusForbidden {
		t.Errorf("cross-origin login: %d", res.status)
	}
	// Logout needs the token as well.
	cc := *c
	cc.csrf = ""
	if res := cc.request("POST", "/api/v1/auth/logout", nil); res.status != http.StatusForbidden {
		t.Errorf("logout without token: %d", res.status)
	}
}

func TestBadInput(t *testing.T) {
	b := openBus(t)
	e := startAuth(t, b, newFakeClock(), Config{})
	admin, _ := e.bootstrap()
	huge := `{"login": "` + strings.Repeat("a", 70<<10) + `", "role": "agent"}`
	tests := []struct {
		name    string
		body    string
		mods    []func(*http.Request)
		status  int
		code    string
		field   string
		msgPart string
	}{
		{"malformed", `{"login": "x",`, nil, 400, "invalid_json", "", "malformed JSON"},
		{"not an object", `[1,2]`, nil, 400, "invalid_json", "", "JSON object"},
		{"empty", ``, nil, 400, "invalid_json", "", "empty"},
		{"unknown field", `{"login": "bob", "rolle": "agent"}`, nil, 400, "unknown_field", "rolle", `"rolle"`},
		{"wrong type", `{"login": 42}`, nil, 400, "invalid_field", "login", "login"},
		{"trailing data", `{"login": "bob"} {}`, nil, 400, "invalid_json", "", "after"},
		{"huge", huge, nil, 413, "body_too_large", "", "65536"},
		{"not JSON", `login=bob`, []func(*http.Request){withHeader("Content-Type", "application/x-www-form-urlencoded")}, 415, "unsupported_media_type", "", ""},
		{"bad role", `{"login": "bob", "role": "boss", "password": "long enough password"}`, nil, 400, "invalid_field", "role", "boss"},
		{"bad login", `{"login": "bob smith", "role": "agent", "password": "long enough password"}`, nil, 400, "invalid_field", "login", "login"},
		{"no password", `{"login": "bob", "role": "agent"}`, nil, 400, "invalid_field", "password", "password"},
		{"weak password", `{"login": "bob", "role": "agent", "password": "bob"}`, nil, 400, "invalid_field", "password", "shorter"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := admin.request("POST", "/api/v1/tenants/demo/accounts", tt.body, tt.mods...)
			if res.status != tt.status || res.errCode() != tt.code || res.errField() != tt.field || !strings.Contains(string(res.body), tt.msgPart) {
				t.Fatalf("%d %s, want %d %s field %q containing %q", res.status, res.body, tt.status, tt.code, tt.field, tt.msgPart)
			}
		})
	}
	// Tenants: bad slug, bad language, bad zone, existing.
	for _, tc := range []struct {
		body   map[string]any
		status int
		field  string
	}{
		{map[string]any{"id": "Bad Slug", "name": "X"}, 400, "id"},
		{map[string]any{"id": "acme", "name": "Acme", "language": "es"}, 400, "language"},
		{map[string]any{"id": "acme", "name": "Acme", "time_zone": "Mars/Olympus"}, 400, "time_zone"},
		{map[string]any{"id": "acme", "name": ""}, 400, "name"},
		{map[string]any{"id": "demo", "name": "Again"}, 409, "id"},
	} {
		if res := admin.request("POST", "/api/v1/tenants", tc.body); res.status != tc.status || res.errField() != tc.field {
			t.Errorf("%v: %d %s", tc.body, res.status, res.body)
		}
	}
	// Login input.
	c := &client{e: e}
	if res := c.request("POST", "/api/v1/auth/login", `{"login": "admin"}`); res.status != 400 || res.errField() != "password" {
		t.Errorf("login without password: %d %s", res.status, res.body)
	}
	if res := c.request("POST", "/api/v1/auth/login", `{"login": "admin", "password": "x", "remember": true}`); res.status != 400 || res.errCode() != "unknown_field" {
		t.Errorf("login with unknown field: %d %s", res.status, res.body)
	}
	// Duplicate login.
	admin.mustCreateAccount("demo", "Bob", "agent", "long enough password")
	if res := admin.request("POST", "/api/v1/tenants/demo/accounts", map[string]any{"login": "bob", "role": "agent", "password": "long enough password"}); res.status != 409 {
		t.Errorf("duplicate login: %d %s", res.status, res.body)
	}
}
