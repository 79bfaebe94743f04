package auth

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/hotline-hub/hotline/bus"
	"github.com/hotline-hub/hotline/bus/embedded"
	"github.com/hotline-hub/hotline/webui/api"
)

// testHash is argon2id at its cheapest accepted cost, so tests stay quick.
var testHash = HashParams{Memory: 8 * 1024, Time: 1, Threads: 1}

// fakeClock is a clock tests move by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// openBus opens an embedded bus in a temporary directory, closed at the
// end of the test.
func openBus(t testing.TB) bus.Bus {
	t.Helper()
	b, err := embedded.Open(embedded.Config{Dir: t.TempDir()}, nil)
	if err != nil {
		t.Fatalf("open bus: %v", err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

// env is one running Auth (one web instance) with its HTTP routes.
type env struct {
	t     testing.TB
	a     *Auth
	mux   *http.ServeMux
	clock *fakeClock
}

// startAuth builds and runs an Auth on b until the test ends.
func startAuth(t testing.TB, b bus.Bus, clock *fakeClock, cfg Config) *env {
	t.Helper()
	if cfg.Hash == (HashParams{}) {
		cfg.Hash = testHash
	}
	a, err := New(cfg, b, nil, WithClock(clock.Now))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, bus.ErrClosed) {
			t.Errorf("Run: %v", err)
		}
	})
	mux := http.NewServeMux()
	a.Routes(mux)
	return &env{t: t, a: a, mux: mux, clock: clock}
}

// bootstrap runs EnsureBootstrap and logs the admin in.
func (e *env) bootstrap() (*client, Bootstrap) {
	e.t.Helper()
	boot, created, err := e.a.EnsureBootstrap(context.Background())
	if err != nil || !created {
		e.t.Fatalf("EnsureBootstrap = %v, %v", created, err)
	}
	return e.login(boot.Tenant, boot.Login, boot.Password), boot
}

// client is one browser: its cookie and CSRF token.
type client struct {
	e      *env
	cookie *http.Cookie
	csrf   string
	ip     string
}

type response struct {
	status int
	body   []byte
	header http.Header
	cookie *http.Cookie
}

func (r response) errCode() string {
	var b api.ErrorBody
	_ = json.Unmarshal(r.body, &b)
	return b.Error.Code
}

func (r response) errField() string {
	var b api.ErrorBody
	_ = json.Unmarshal(r.body, &b)
	return b.Error.Field
}

func (r response) decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

// request sends one request through the mux as the client, with its CSRF
// token on unsafe methods.
func (c *client) request(method, path string, body any, mods ...func(*http.Request)) response {
	c.e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = bytes.NewBufferString(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			c.e.t.Fatalf("marshal: %v", err)
		}
		rd = bytes.NewReader(raw)
	}
	req := httptest.NewRequest(method, path, rd)
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.ip != "" {
		req.RemoteAddr = c.ip + ":5555"
	}
	if c.cookie != nil {
		req.AddCookie(c.cookie)
	}
	if c.csrf != "" && !safeMethod(method) {
		req.Header.Set("X-CSRF-Token", c.csrf)
	}
	for _, m := range mods {
		m(req)
	}
	rec := httptest.NewRecorder()
	c.e.mux.ServeHTTP(rec, req)
	res := rec.Result()
	out := response{status: res.StatusCode, body: rec.Body.Bytes(), header: res.Header}
	for _, ck := range res.Cookies() {
		if ck.Name == CookieName {
			out.cookie = ck
		}
	}
	return out
}

// tryLogin posts a login from a fresh client.
func (e *env) tryLogin(tenant, login, password string, mods ...func(*http.Request)) (response, *client) {
	e.t.Helper()
	c := &client{e: e}
	res := c.request("POST", "/api/v1/auth/login", map[string]string{"tenant": tenant, "login": login, "password": password}, mods...)
	if res.status == http.StatusOK {
		var v sessionView
		res.decode(e.t, &v)
		c.cookie = &http.Cookie{Name: CookieName, Value: res.cookie.Value}
		c.csrf = v.CSRFToken
	}
	return res, c
}

// login logs in and fails the test unless it works.
func (e *env) login(tenant, login, password string) *client {
	e.t.Helper()
	res, c := e.tryLogin(tenant, login, password)
	if res.status != http.StatusOK {
		e.t.Fatalf("login %s/%s: %d %s", tenant, login, res.status, res.body)
	}
	return c
}

// mustCreateAccount creates an account through the API as c.
func (c *client) mustCreateAccount(tenant, login, role, password string) Account {
	c.e.t.Helper()
	res := c.request("POST", "/api/v1/tenants/"+tenant+"/accounts",
		map[string]any{"login": login, "display_name": "User " + login, "role": role, "password": password})
	if res.status != http.StatusCreated {
		c.e.t.Fatalf("create account %s/%s: %d %s", tenant, login, res.status, res.body)
	}
	var acc Account
	res.decode(c.e.t, &acc)
	return acc
}

// mustCreateTenant creates a tenant through the API as c (an operator).
func (c *client) mustCreateTenant(id string) {
	c.e.t.Helper()
	res := c.request("POST", "/api/v1/tenants", map[string]any{"id": id, "name": "Tenant " + id, "language": "fr", "time_zone": "Europe/Paris"})
	if res.status != http.StatusCreated {
		c.e.t.Fatalf("create tenant %s: %d %s", id, res.status, res.body)
	}
}

func withTLS(r *http.Request) { r.TLS = &tls.ConnectionState{} }

func withHeader(k, v string) func(*http.Request) {
	return func(r *http.Request) { r.Header.Set(k, v) }
}
