package inbox

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/hotline-hub/hotline/bus"
	"github.com/hotline-hub/hotline/bus/embedded"
	"github.com/hotline-hub/hotline/bus/event"
	"github.com/hotline-hub/hotline/routing"
	"github.com/hotline-hub/hotline/webui/auth"
)

// startDirectoryEnv builds the hub with no static routing configuration
// at all, as serve starts: tenant dyn (agent d1, supervisor dsup) gets its
// queues and agents from the directory topic only.
func startDirectoryEnv(t *testing.T) (*env, map[string]*user, *routing.Router) {
	t.Helper()
	b, err := embedded.Open(embedded.Config{Dir: t.TempDir()}, nil)
	if err != nil {
		t.Fatalf("open bus: %v", err)
	}
	t.Cleanup(func() { _ = b.Close() })
	a, err := auth.New(auth.Config{Hash: auth.HashParams{Memory: 8 * 1024, Time: 1, Threads: 1}}, b, nil)
	if err != nil {
		t.Fatalf("auth.New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	run := func(name string, f func(context.Context) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f(ctx); err != nil && !errors.Is(err, bus.ErrClosed) {
				t.Errorf("%s Run: %v", name, err)
			}
		}()
	}
	t.Cleanup(func() { cancel(); wg.Wait() })
	run("auth", a.Run)
	mux := http.NewServeMux()
	a.Routes(mux)
	e := &env{t: t, bus: b, bodies: &bodies{}}
	e.srv = httptest.NewServer(mux)
	t.Cleanup(e.srv.Close)

	boot, created, err := a.EnsureBootstrap(ctx)
	if err != nil || !created {
		t.Fatalf("EnsureBootstrap = %v, %v", created, err)
	}
	op := e.login(boot.Tenant, boot.Login, boot.Password)
	op.must(201, "POST", "/api/v1/tenants", map[string]any{"id": "dyn", "name": "dyn", "language": "en", "time_zone": "UTC"})
	users := map[string]*user{}
	for _, ac := range []struct{ login, role string }{{"d1", "agent"}, {"dsup", "supervisor"}} {
		op.must(201, "POST", "/api/v1/tenants/dyn/accounts", map[string]any{"login": ac.login, "role": ac.role, "password": testPassword})
		users[ac.login] = e.login("dyn", ac.login, testPassword)
	}
	rcfg := routing.Config{RouterID: "test-router"}
	r, err := routing.New(rcfg, b, slogDiscard())
	if err != nil {
		t.Fatalf("routing.New: %v", err)
	}
	run("router", r.Run)
	in, err := New(Config{Routing: rcfg, ReaderID: "test"}, b, a, nil)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	e.inbox = in
	run("inbox", in.Run)
	in.Routes(mux)
	return e, users, r
}

// publishDirectory writes directory facts of tenant where the admin API
// does.
func (e *env) publishDirectory(tenant string, ps ...event.Payload) {
	e.t.Helper()
	for _, p := range ps {
		ev, err := event.New(p.EventType(), tenant, p, event.WithSource("/webui/admin"))
		if err != nil {
			e.t.Fatal(err)
		}
		m, err := event.ToMessage(ev)
		if err != nil {
			e.t.Fatal(err)
		}
		if err := e.bus.Publish(context.Background(), event.TopicDirectory, m); err != nil {
			e.t.Fatal(err)
		}
	}
}

// TestDirectoryTenantServed starts the inbox with no static routing
// configuration. A tenant's inbox is absent (404) until the directory
// gives it a queue and an agent; then it is served, and its conversations
// are routed to that agent.
func TestDirectoryTenantServed(t *testing.T) {
	e, u, r := startDirectoryEnv(t)
	d1, sup := u["d1"], u["dsup"]
	conversations := d1.path("conversations")

	if res := sup.do("GET", conversations, nil); res.status != http.StatusNotFound || res.code() != "not_found" {
		t.Fatalf("GET %s before any directory fact: %d %s, want 404 not_found", conversations, res.status, res.body)
	}
	// Something on the bus before the directory speaks: still no inbox.
	e.queueChat("dyn", "c-early", "support", "visitor@example.com", "Early", "anyone there?")
	waitFor(t, "the early conversation folded", func() bool {
		e.inbox.mu.Lock()
		defer e.inbox.mu.Unlock()
		v := e.inbox.tenants["dyn"]
		return v != nil && v.convs["c-early"] != nil
	})
	if res := sup.do("GET", conversations, nil); res.status != http.StatusNotFound {
		t.Fatalf("GET %s with no queue nor agent: %d %s, want 404", conversations, res.status, res.body)
	}

	e.publishDirectory("dyn",
		&event.QueueSavedData{QueueID: "support", Name: "Support", Channels: []string{event.ChannelChat}},
		&event.AgentProfileSetData{AgentID: d1.id, Capacity: map[string]int{event.ChannelChat: 2}},
	)
	waitFor(t, "the dyn inbox served", func() bool {
		return sup.do("GET", conversations, nil).status == http.StatusOK
	})
	waitFor(t, "the router synced with dyn", func() bool { return r.Synced("dyn") })
	if !e.inbox.Synced("dyn") {
		t.Fatal("served before caught up")
	}
	waitFor(t, "d1 a routing agent of dyn with chat capacity 2", func() bool {
		var me meView
		if err := json.Unmarshal(d1.must(200, "GET", d1.path("me"), nil).body, &me); err != nil {
			t.Fatal(err)
		}
		return me.Agent && me.Capacity[event.ChannelChat].Capacity == 2
	})

	// The agent goes available: the conversation that waited is offered,
	// and a new one too (capacity 2).
	d1.must(200, "PUT", d1.path("me/presence"), map[string]any{"presence": "available"})
	e.queueChat("dyn", "c-late", "support", "later@example.com", "Late", "hello")
	for _, id := range []string{"c-early", "c-late"} {
		if got := offeredTo(t, id, d1); got != d1 {
			t.Fatalf("%s offered to %v", id, got)
		}
	}

	// The profile removed: the agent keeps nothing offered, and the
	// tenant, still with its queue, stays served.
	e.publishDirectory("dyn", &event.AgentProfileRemovedData{AgentID: d1.id})
	waitFor(t, "the offers withdrawn", func() bool {
		for _, s := range sup.list("") {
			if s.Status != StatusWaiting {
				return false
			}
		}
		return true
	})
	// And the queue removed too: nothing left to route with, no inbox.
	e.publishDirectory("dyn", &event.QueueRemovedData{QueueID: "support"})
	waitFor(t, "the dyn inbox gone", func() bool {
		return sup.do("GET", conversations, nil).status == http.StatusNotFound
	})
}
