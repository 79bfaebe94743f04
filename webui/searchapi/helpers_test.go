package searchapi

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hotline-hub/hotline/bus"
	busembedded "github.com/hotline-hub/hotline/bus/embedded"
	"github.com/hotline-hub/hotline/bus/event"
	"github.com/hotline-hub/hotline/search"
	searchembedded "github.com/hotline-hub/hotline/search/embedded"
	"github.com/hotline-hub/hotline/webui/auth"
	"github.com/hotline-hub/hotline/webui/webtest"
)

// waitLimit is a safety net against a hang, never a measured assertion.
const waitLimit = 30 * time.Second

// testPassword passes the password policy.
const testPassword = "a long enough password"

// merges is a MergeSets the tests set by hand (the indexer folds it for
// real).
type merges struct {
	mu   sync.Mutex
	into map[[2]string][]string // tenant, root -> merged ids
}

func (m *merges) Set(tenant, id string) []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string{id}, m.into[[2]string{tenant, id}]...)
}

func (m *merges) merge(tenant, into string, ids ...string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.into == nil {
		m.into = map[[2]string][]string{}
	}
	k := [2]string{tenant, into}
	m.into[k] = append(m.into[k], ids...)
}

// serving is a Serving the tests set by hand (the inbox knows it for real).
type serving struct {
	mu sync.Mutex
	m  map[[3]string]bool // tenant, agent, contact
}

func (s *serving) ServesContact(tenant, agent, contact string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m[[3]string{tenant, agent, contact}]
}

func (s *serving) serve(tenant, agent, contact string, on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[[3]string]bool{}
	}
	s.m[[3]string{tenant, agent, contact}] = on
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

// env is one web instance: auth and the search API on one mux, over a
// real embedded index and bus.
type env struct {
	t       testing.TB
	b       bus.Bus
	a       *auth.Auth
	idx     *searchembedded.Index
	merges  *merges
	serving *serving
	mux     *http.ServeMux
	op      *client
	// accounts by tenant and role: the account id.
	ids map[string]map[string]string
	// as by tenant and role: a signed-in client.
	as map[string]map[string]*client
}

var roles = []string{"agent", "supervisor", "analyst", "admin"}

// startEnv starts the hub parts, creates the tenants acme and globex with
// one account of each role, and signs them in.
func startEnv(t testing.TB) *env {
	t.Helper()
	b, err := busembedded.Open(busembedded.Config{Dir: t.TempDir()}, nil)
	if err != nil {
		t.Fatalf("open bus: %v", err)
	}
	t.Cleanup(func() { _ = b.Close() })
	idx, err := searchembedded.Open(t.TempDir())
	if err != nil {
		t.Fatalf("open index: %v", err)
	}
	t.Cleanup(func() { _ = idx.Close() })
	a, err := auth.New(auth.Config{Hash: auth.HashParams{Memory: 8 * 1024, Time: 1, Threads: 1},
		LoginBurst: 1000, LoginRatePerMinute: 1000}, b, nil)
	if err != nil {
		t.Fatalf("auth.New: %v", err)
	}
	run(t, "auth", a.Run)
	e := &env{t: t, b: b, a: a, idx: idx, merges: &merges{}, serving: &serving{}, mux: http.NewServeMux(),
		ids: map[string]map[string]string{}, as: map[string]map[string]*client{}}
	x, err := New(Config{}, idx, e.merges, e.serving, b, a, nil)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	a.Routes(e.mux)
	x.Routes(e.mux)
	boot, created, err := a.EnsureBootstrap(ctxT(t))
	if err != nil || !created {
		t.Fatalf("EnsureBootstrap = %v, %v", created, err)
	}
	e.op = e.login(boot.Tenant, boot.Login, boot.Password)
	for _, tenant := range []string{"acme", "globex"} {
		e.op.Must(201, "POST", "/api/v1/tenants", map[string]any{"id": tenant, "name": "Tenant " + tenant, "language": "en"})
		e.ids[tenant], e.as[tenant] = map[string]string{}, map[string]*client{}
		for _, role := range roles {
			login := role + "@" + tenant + ".example"
			res := e.op.Must(201, "POST", "/api/v1/tenants/"+tenant+"/accounts",
				map[string]any{"login": login, "display_name": "The " + role, "role": role, "password": testPassword})
			var acc auth.Account
			res.Decode(t, &acc)
			e.ids[tenant][role] = acc.ID
			e.as[tenant][role] = e.login(tenant, login, testPassword)
		}
	}
	return e
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

// write stores documents in the index.
func (e *env) write(b search.Batch) {
	e.t.Helper()
	if err := e.idx.Write(ctxT(e.t), b); err != nil {
		e.t.Fatalf("index write: %v", err)
	}
}

// base is the path prefix of tenant's endpoints.
func base(tenant string) string { return "/api/v1/tenants/" + tenant + "/" }

// searchPath builds a search URL from parameters.
func searchPath(tenant string, v url.Values) string {
	return base(tenant) + "search?" + v.Encode()
}

// day is a fixed instant plus n days, so tests do not depend on the clock.
func day(n int) time.Time {
	return time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC).AddDate(0, 0, n)
}

// conv is a resolved conversation of tenant with one inbound message.
func conv(tenant, id, contact, channel, text string, at time.Time) search.Conversation {
	return search.Conversation{Tenant: tenant, ID: id, ContactID: contact, Channel: channel, Status: search.StatusResolved,
		Language: "en", Started: at, LastActivity: at.Add(time.Minute),
		Entries: []search.Entry{{ID: id + "-m1", Kind: search.KindMessage, Direction: search.DirectionIn, Text: text, Time: at}}}
}

// hitIDs are the conversation ids of a search answer.
func hitIDs(r search.Result) []string {
	out := []string{}
	for _, h := range r.Hits {
		out = append(out, h.Conversation.ID)
	}
	return out
}

// received reads the contacts events published so far.
func (e *env) received(n int) []*event.Envelope {
	e.t.Helper()
	ctx := ctxT(e.t)
	sub, err := e.b.Subscribe(ctx, event.TopicContacts, bus.SubscribeOptions{Start: bus.StartEarliest})
	if err != nil {
		e.t.Fatalf("subscribe: %v", err)
	}
	defer sub.Close()
	var out []*event.Envelope
	for len(out) < n {
		d, err := sub.Receive(ctx)
		if err != nil {
			e.t.Fatalf("receive %d of %d contacts events: %v", len(out)+1, n, err)
		}
		ev, err := event.FromMessage(&d.Message)
		if err != nil {
			e.t.Fatalf("decode: %v", err)
		}
		out = append(out, ev)
	}
	return out
}

// sameSet reports whether a and b hold the same strings.
func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}
