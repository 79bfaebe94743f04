package chatbench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"time"

	"github.com/hotline-hub/hotline/bus"
	"github.com/hotline-hub/hotline/bus/embedded"
	"github.com/hotline-hub/hotline/channels/chat"
	"github.com/hotline-hub/hotline/cmd/hotline/internal/config"
	"github.com/hotline-hub/hotline/routing"
	"github.com/hotline-hub/hotline/webui/auth"
	"github.com/hotline-hub/hotline/webui/inbox"
)

// The bench hub's tenant, queue and the password of every agent account.
const (
	benchTenant   = "bench"
	benchQueue    = "chat"
	agentPassword = "bench-agent-password-2026"
)

// BenchHashParams are the argon2id parameters of the bench hub's accounts:
// the cheapest auth accepts, so that creating and logging in a thousand
// agents takes seconds, not minutes. The hub's own defaults
// (auth.DefaultHashParams) are not changed; logins are not measured.
var BenchHashParams = auth.HashParams{Memory: 8 * 1024, Time: 1, Threads: 1}

// unlimited is a rate limit the bench never reaches: every client of the
// bench comes from 127.0.0.1, which the hub's per-IP limits would treat as
// one abusive visitor.
const unlimited = 1 << 30

// hub is the in-process Hotline the bench drives: the real bus, auth,
// router, inbox and chat channel on one HTTP server, as serve assembles
// them.
type hub struct {
	url      string
	bus      *embedded.Bus
	srv      *http.Server
	capacity int

	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex
	errs   []error
}

// startHub opens the bus in dir, creates the bench tenant and its agent
// accounts through the admin API, and starts the router, the inbox and the
// chat channel with a static routing configuration for them.
func startHub(ctx context.Context, cfg config.Config, dir string, agents, capacity int, log *slog.Logger, progress func(string, ...any)) (_ *hub, err error) {
	cfg.DataDir = dir
	cfg.Bus.Embedded.Dir = filepath.Join(dir, "bus")
	if cfg.Bus.Driver != config.DriverEmbedded {
		return nil, fmt.Errorf("chatbench: the bench hub runs on the embedded bus only, not %q", cfg.Bus.Driver)
	}
	b, err := embedded.Open(cfg.EmbeddedConfig(), log.With("component", "bus"))
	if err != nil {
		return nil, fmt.Errorf("chatbench: open the embedded bus in %s: %w", cfg.EmbeddedDir(), err)
	}
	rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	h := &hub{bus: b, cancel: cancel, capacity: capacity}
	defer func() {
		if err != nil {
			_ = h.stop()
		}
	}()
	a, err := auth.New(auth.Config{
		DefaultTenant:      benchTenant,
		Hash:               BenchHashParams,
		LoginRatePerMinute: unlimited,
		LoginBurst:         unlimited,
	}, b, log.With("component", "auth"))
	if err != nil {
		return h, fmt.Errorf("chatbench: auth: %w", err)
	}
	h.run(rctx, "auth", a.Run)
	mux := http.NewServeMux()
	a.Routes(mux)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return h, fmt.Errorf("chatbench: listen: %w", err)
	}
	h.url = "http://" + ln.Addr().String()
	h.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	go func() { _ = h.srv.Serve(ln) }()

	boot, created, err := a.EnsureBootstrap(ctx)
	if err != nil {
		return h, fmt.Errorf("chatbench: bootstrap the bench tenant: %w", err)
	}
	if !created {
		return h, fmt.Errorf("chatbench: %s already holds accounts; give an empty --data-dir", dir)
	}
	ids, err := h.createAgents(ctx, boot, agents)
	if err != nil {
		return h, err
	}
	progress("%d agent accounts created", len(ids))

	rcfg := routing.Config{RouterID: "chatbench", Tenants: []routing.TenantConfig{{
		ID:     benchTenant,
		Queues: []routing.QueueConfig{{ID: benchQueue, Name: "Bench chat"}},
	}}}
	for n, id := range ids {
		rcfg.Tenants[0].Agents = append(rcfg.Tenants[0].Agents, routing.AgentConfig{
			ID: id, Name: agentLogin(n), Capacity: map[string]int{"chat": capacity}})
	}
	router, err := routing.New(rcfg, b, log)
	if err != nil {
		return h, fmt.Errorf("chatbench: router: %w", err)
	}
	in, err := inbox.New(inbox.Config{Routing: rcfg, ReaderID: "chatbench"}, b, a, log)
	if err != nil {
		return h, fmt.Errorf("chatbench: inbox: %w", err)
	}
	ch, err := chat.New(chat.Config{
		SecretFile: filepath.Join(dir, "chat.secret"),
		Tenants: []chat.TenantConfig{{ID: benchTenant, AllowedOrigins: []string{"*"},
			Queues: []chat.QueueConfig{{Name: benchQueue}}}},
		MessageRate: unlimited, MessageBurst: unlimited,
		IPMessageRate: unlimited, IPMessageBurst: unlimited,
		ConnectRate: unlimited, ConnectBurst: unlimited,
	}, b, log.With("component", "chat"))
	if err != nil {
		return h, fmt.Errorf("chatbench: chat channel: %w", err)
	}
	h.run(rctx, "router", router.Run)
	h.run(rctx, "inbox", in.Run)
	h.run(rctx, "chat", ch.Run)
	deadline := time.NewTimer(2 * time.Minute)
	defer deadline.Stop()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !router.Synced(benchTenant) || !in.Synced(benchTenant) || !isClosed(ch.Ready()) {
		select {
		case <-tick.C:
		case <-deadline.C:
			return h, errors.New("chatbench: the router, inbox and chat did not catch up with the bus within 2m")
		case <-ctx.Done():
			return h, ctx.Err()
		}
		if err := h.err(); err != nil {
			return h, err
		}
	}
	in.Routes(mux)
	ch.Routes(mux)
	return h, nil
}

func isClosed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

func (h *hub) run(ctx context.Context, name string, f func(context.Context) error) {
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		if err := f(ctx); err != nil && ctx.Err() == nil {
			h.mu.Lock()
			h.errs = append(h.errs, fmt.Errorf("chatbench: hub %s: %w", name, err))
			h.mu.Unlock()
		}
	}()
}

// err is the first failure of a hub component, if any.
func (h *hub) err() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return errors.Join(h.errs...)
}

// createAgents logs in as the bootstrap admin and creates n agents through
// the admin API (auth has no Go API for accounts besides the bootstrap).
func (h *hub) createAgents(ctx context.Context, boot auth.Bootstrap, n int) ([]string, error) {
	c := &http.Client{Timeout: time.Minute}
	defer c.CloseIdleConnections()
	do := func(method, path, cookie, csrf string, body, out any) (*http.Response, error) {
		raw, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		req, err := http.NewRequestWithContext(ctx, method, h.url+path, bytes.NewReader(raw))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Content-Type", "application/json")
		if cookie != "" {
			req.AddCookie(&http.Cookie{Name: auth.CookieName, Value: cookie})
			req.Header.Set("X-CSRF-Token", csrf)
		}
		res, err := c.Do(req)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", method, path, err)
		}
		defer res.Body.Close()
		data, _ := io.ReadAll(res.Body)
		if res.StatusCode/100 != 2 {
			return nil, fmt.Errorf("%s %s: %d %s", method, path, res.StatusCode, bytes.TrimSpace(data))
		}
		return res, json.Unmarshal(data, out)
	}
	var login struct {
		CSRFToken string `json:"csrf_token"`
	}
	res, err := do(http.MethodPost, "/api/v1/auth/login", "", "",
		map[string]string{"tenant": boot.Tenant, "login": boot.Login, "password": boot.Password}, &login)
	if err != nil {
		return nil, fmt.Errorf("chatbench: admin login: %w", err)
	}
	var cookie string
	for _, c := range res.Cookies() {
		if c.Name == auth.CookieName {
			cookie = c.Value
		}
	}
	ids := make([]string, n)
	err = parallel(ctx, n, 8, func(ctx context.Context, i int) error {
		var acc auth.Account
		if _, err := do(http.MethodPost, "/api/v1/tenants/"+benchTenant+"/accounts", cookie, login.CSRFToken,
			map[string]string{"login": agentLogin(i), "role": "agent", "password": agentPassword}, &acc); err != nil {
			return fmt.Errorf("chatbench: create agent %d: %w", i, err)
		}
		ids[i] = acc.ID
		return nil
	})
	return ids, err
}

// stop ends the components, the HTTP server and the bus.
func (h *hub) stop() error {
	if h.srv != nil {
		_ = h.srv.Close()
	}
	h.cancel()
	h.wg.Wait()
	errs := []error{h.err()}
	if err := h.bus.Close(); err != nil && !errors.Is(err, bus.ErrClosed) {
		errs = append(errs, fmt.Errorf("chatbench: close bus: %w", err))
	}
	return errors.Join(errs...)
}
