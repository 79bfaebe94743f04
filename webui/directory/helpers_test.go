package directory

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/hotline-hub/hotline/bus"
	"github.com/hotline-hub/hotline/bus/embedded"
	"github.com/hotline-hub/hotline/webui/auth"
	"github.com/hotline-hub/hotline/webui/webtest"
)

// waitLimit is a safety net against a hang, never a measured assertion.
const waitLimit = 30 * time.Second

// testPassword passes the password policy.
const testPassword = "a long enough password"

// openBus opens an embedded bus in a temporary directory, closed at the
// end of the test.
func openBus(t testing.TB) bus.Bus {
	t.Helper()
	return openBusAt(t, t.TempDir())
}

// openBusAt opens an embedded bus in dir, closed at the end of the test.
func openBusAt(t testing.TB, dir string) bus.Bus {
	t.Helper()
	b, err := embedded.Open(embedded.Config{Dir: dir}, nil)
	if err != nil {
		t.Fatalf("open bus: %v", err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

// reopen closes b (what runs on it stops) and opens its directory again,
// as a restarted process does.
func reopen(t testing.TB, b bus.Bus, dir string) bus.Bus {
	t.Helper()
	if err := b.Close(); err != nil {
		t.Fatalf("close bus: %v", err)
	}
	return openBusAt(t, dir)
}

// runStore builds a Store on b and runs it until the test ends.
func runStore(t testing.TB, b bus.Bus, readerID string) *Store {
	t.Helper()
	s, err := New(Config{ReaderID: readerID}, b, nil)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	run(t, "directory", s.Run)
	return s
}

// run runs f until the test ends and checks it returns cleanly.
func run(t testing.TB, name string, f func(context.Context) error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, bus.ErrClosed) {
			t.Errorf("%s Run: %v", name, err)
		}
	})
}

// ctxT is a context bounded by waitLimit.
func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	t.Cleanup(cancel)
	return ctx
}

// env is one web instance: auth and the directory on one mux.
type env struct {
	t   testing.TB
	a   *auth.Auth
	s   *Store
	mux *http.ServeMux
}

func startEnv(t testing.TB, b bus.Bus) *env {
	t.Helper()
	a, err := auth.New(auth.Config{Hash: auth.HashParams{Memory: 8 * 1024, Time: 1, Threads: 1},
		LoginBurst: 1000, LoginRatePerMinute: 1000}, b, nil)
	if err != nil {
		t.Fatalf("auth.New: %v", err)
	}
	run(t, "auth", a.Run)
	s := runStore(t, b, "test")
	mux := http.NewServeMux()
	a.Routes(mux)
	s.Routes(mux, a)
	return &env{t: t, a: a, s: s, mux: mux}
}

// bootstrap creates the demo tenant and its operator admin and logs in.
func (e *env) bootstrap() *client {
	e.t.Helper()
	boot, created, err := e.a.EnsureBootstrap(ctxT(e.t))
	if err != nil || !created {
		e.t.Fatalf("EnsureBootstrap = %v, %v", created, err)
	}
	return e.login(boot.Tenant, boot.Login, boot.Password)
}

// client is one browser of the tests (webtest.Client) on this env's mux.
type client struct {
	*webtest.Client
	e *env
}

type response = webtest.Response

// login logs in through the auth API and fails the test unless it works.
func (e *env) login(tenant, login, password string) *client {
	e.t.Helper()
	return &client{Client: webtest.Login(e.t, e.mux, tenant, login, password), e: e}
}

// anonymous is a browser with no session.
func (e *env) anonymous() *client {
	return &client{Client: &webtest.Client{T: e.t, Handler: e.mux}, e: e}
}

// mustCreateTenant creates a tenant through the auth API as c, an operator.
func (c *client) mustCreateTenant(id, language string) {
	c.e.t.Helper()
	c.Must(201, "POST", "/api/v1/tenants", map[string]any{"id": id, "name": "Tenant " + id, "language": language})
}

// mustCreateAccount creates an account through the auth API as c.
func (c *client) mustCreateAccount(tenant, login, display, role string) auth.Account {
	c.e.t.Helper()
	res := c.Must(201, "POST", "/api/v1/tenants/"+tenant+"/accounts",
		map[string]any{"login": login, "display_name": display, "role": role, "password": testPassword})
	var acc auth.Account
	res.Decode(c.e.t, &acc)
	return acc
}
