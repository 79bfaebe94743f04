// Package app is the all-in-one Hotline process behind `hotline serve`: it
// opens the bus, serves the operational HTTP endpoints, and shuts both down
// in reverse order when its context ends.
//
// It is a package rather than code in main so that tests start the very
// same process in-process, on a free port and a temporary data directory.
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/hotline-hub/hotline/bus"
	"github.com/hotline-hub/hotline/bus/busmetrics"
	"github.com/hotline-hub/hotline/bus/event"
	"github.com/hotline-hub/hotline/channels/chat"
	"github.com/hotline-hub/hotline/channels/voice"
	"github.com/hotline-hub/hotline/cmd/hotline/internal/config"
	"github.com/hotline-hub/hotline/routing"
	"github.com/hotline-hub/hotline/search"
	"github.com/hotline-hub/hotline/search/indexer"
	"github.com/hotline-hub/hotline/webui/api"
	"github.com/hotline-hub/hotline/webui/auth"
	"github.com/hotline-hub/hotline/webui/directory"
	"github.com/hotline-hub/hotline/webui/inbox"
	"github.com/hotline-hub/hotline/webui/searchapi"
	"github.com/hotline-hub/hotline/webui/ui"
)

// App is one running Hotline process.
type App struct {
	cfg config.Config
	log *slog.Logger

	raw Bus // the bus as opened, for health checks
	bus *busmetrics.Bus
	reg *prometheus.Registry
	ln  net.Listener

	auth   *auth.Auth
	dir    *directory.Store
	router *routing.Router
	chat   *chat.Channel
	voice  *voice.Server // nil unless voice.enabled
	inbox  *inbox.Inbox

	index   search.Index
	indexer *indexer.Indexer
	reindex *reindexControl // the reindex job and the control socket
	merges  *search.Merges
	search  *searchapi.API

	// Stdout receives what a person starting the process must see once: the
	// first-start admin login. Default os.Stdout.
	Stdout io.Writer

	components []namedComponent

	closeOnce sync.Once
	closeErr  error
}

// New validates cfg, creates the data directory, opens the bus (checking
// that it answers) and binds the HTTP listener. Nothing is served until Run.
// On error everything opened so far is closed again.
func New(ctx context.Context, cfg config.Config, log *slog.Logger) (*App, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		return nil, errors.New("app: nil logger")
	}
	if cfg.Bus.Driver == config.DriverEmbedded {
		if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
			return nil, fmt.Errorf("data directory %s: %w", cfg.DataDir, err)
		}
	}
	a := &App{cfg: cfg, log: log, reg: prometheus.NewRegistry(), Stdout: os.Stdout}
	a.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	m, err := busmetrics.NewMetrics(a.reg, cfg.Bus.Driver)
	if err != nil {
		return nil, err
	}

	raw, err := OpenBus(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	a.raw = raw
	a.bus = busmetrics.Wrap(raw, m)
	a.bus.Track(event.Topics()...)

	a.auth, err = auth.New(auth.Config{
		DefaultTenant:   cfg.Auth.DefaultTenant,
		SessionIdle:     cfg.Auth.SessionIdle,
		SessionLifetime: cfg.Auth.SessionLifetime,
		SecureCookies:   cfg.Auth.SecureCookies,
	}, a.bus, log.With("component", "auth"))
	if err != nil {
		_ = raw.Close()
		return nil, err
	}

	if err := a.newContactCentre(cfg, log); err != nil {
		a.closeIndex()
		_ = raw.Close()
		return nil, err
	}

	if cfg.Voice.Enabled {
		if a.voice, err = voice.New(cfg.VoiceConfig(), a.bus, log.With("component", "voice")); err != nil {
			a.closeIndex()
			_ = raw.Close()
			return nil, err
		}
	}

	ln, err := net.Listen("tcp", cfg.HTTP.Addr)
	if err != nil {
		a.closeIndex()
		_ = raw.Close()
		return nil, fmt.Errorf("http: listen on %s: %w", cfg.HTTP.Addr, err)
	}
	a.ln = ln
	srv := &http.Server{
		Handler:           a.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	// Components in start order: the folds the others read first, the
	// HTTP server last (and so stopped first).
	a.components = []namedComponent{
		{"auth", a.auth},
		{"directory", a.dir},
		{"directory-sync", componentFunc(a.syncChat)},
		{"routing", a.router},
		{"inbox", a.inbox},
		{"chat", a.chat},
		{"indexer", a.reindex.live}, // the indexer, paused by a reindex for its switch
		{"control", a.reindex},
		{"contact-merges", componentFunc(func(ctx context.Context) error { return a.merges.Run(ctx, a.bus) })},
	}
	if a.voice != nil {
		a.components = append(a.components, namedComponent{"voice", a.voice})
	}
	a.components = append(a.components, namedComponent{"http", httpServer{srv: srv, ln: ln, timeout: cfg.ShutdownTimeout}})
	return a, nil
}

// Addr is the address the HTTP listener is bound to (with the real port
// when the configuration asked for port 0).
func (a *App) Addr() string { return a.ln.Addr().String() }

// Voice is the SIP server, or nil when voice.enabled is off.
func (a *App) Voice() *voice.Server { return a.voice }

// Bus is the process's instrumented bus, the one components publish and
// subscribe through.
func (a *App) Bus() bus.Bus { return a.bus }

// Handler serves the operational endpoints.
func (a *App) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", a.readyz)
	mux.Handle("GET /metrics", promhttp.HandlerFor(a.reg, promhttp.HandlerOpts{Registry: a.reg}))
	a.auth.Routes(mux)
	a.dir.Routes(mux, a.auth)
	a.inbox.Routes(mux)
	a.chat.Routes(mux)
	a.search.Routes(mux)
	mux.Handle("GET /api/v1/openapi.json", api.OpenAPIHandler())
	// The web app: everything that is not an API, the chat gateway or an
	// operational endpoint.
	mux.Handle("/", ui.Handler())
	return mux
}

// readyz answers 200 only while the bus answers its health check, so that a
// load balancer or Kubernetes stops sending work to a process whose Kafka
// brokers are unreachable.
func (a *App) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), a.cfg.HTTP.ReadyTimeout)
	defer cancel()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if err := a.raw.Ping(ctx); err != nil {
		a.log.Warn("not ready", "component", "bus", "err", err)
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = fmt.Fprintf(w, "not ready: bus (%s): %v\n", a.cfg.Bus.Driver, err)
		return
	}
	_, _ = fmt.Fprintln(w, "ready")
}

// bootstrap creates the first tenant and admin account on a hub that has
// no account at all, and prints the admin's password once: the only time it
// is ever shown.
func (a *App) bootstrap(ctx context.Context) error {
	creds, created, err := a.auth.EnsureBootstrap(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil // shutting down before the bootstrap finished
		}
		return fmt.Errorf("first-start admin account: %w", err)
	}
	if created {
		a.log.Info("created the first tenant and its admin account", "tenant", creds.Tenant, "login", creds.Login)
		if err := a.starterDirectory(ctx, creds); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("first-start directory: %w", err)
		}
		_, _ = fmt.Fprintf(a.Stdout, "First start: sign in at http://%s as %q (tenant %q) with password %s\n"+
			"This password is shown only now; change it after signing in.\n", a.Addr(), creds.Login, creds.Tenant, creds.Password)
	}
	return nil
}

// Component is a long-lived part of the process. Run works until ctx ends
// (then stops cleanly and returns nil) or until it fails.
type Component interface {
	Run(ctx context.Context) error
}

// componentFunc makes a function a Component.
type componentFunc func(ctx context.Context) error

func (f componentFunc) Run(ctx context.Context) error { return f(ctx) }

type namedComponent struct {
	name string
	Component
}

// Run starts every component and waits until ctx ends or one of them fails.
// It then stops them in reverse order of start, each only after the ones
// started later have returned (so no request reaches a stopped component),
// and closes the bus last, flushing what was published; all of that within
// the configured shutdown timeout.
func (a *App) Run(ctx context.Context) error {
	type running struct {
		name   string
		cancel context.CancelFunc
		done   chan error
	}
	var (
		started []running
		failed  = make(chan error, len(a.components)+1) // +1: bootstrap
	)
	for _, c := range a.components {
		// Components stop when Run says so, in order, not when ctx ends.
		cctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		r := running{name: c.name, cancel: cancel, done: make(chan error, 1)}
		go func() {
			err := c.Run(cctx)
			if err != nil && cctx.Err() != nil && errors.Is(err, context.Canceled) {
				// Told to stop while still starting (a subscribe cut
				// short, say): a clean stop, whatever the component says.
				err = nil
			}
			if err != nil {
				err = fmt.Errorf("%s: %w", c.name, err)
				failed <- err
			}
			r.done <- err
		}()
		started = append(started, r)
	}
	a.log.Info("serving", "addr", a.Addr(), "bus", a.cfg.Bus.Driver)
	bctx, stopBootstrap := context.WithCancel(ctx)
	bootstrapped := make(chan struct{})
	go func() {
		defer close(bootstrapped)
		if err := a.bootstrap(bctx); err != nil {
			failed <- err
		}
	}()

	var errs []error
	select {
	case <-ctx.Done():
		a.log.Info("shutting down", "reason", context.Cause(ctx))
	case err := <-failed:
		a.log.Error("component failed; shutting down", "err", err)
		errs = append(errs, err)
	}

	// The bootstrap publishes through auth and the bus: it ends first.
	stopBootstrap()
	<-bootstrapped
	sctx, cancel := context.WithTimeout(context.Background(), a.cfg.ShutdownTimeout)
	defer cancel()
	for i := len(started) - 1; i >= 0; i-- {
		r := started[i]
		r.cancel()
		select {
		case err := <-r.done:
			if err != nil && !slices.ContainsFunc(errs, func(e error) bool { return e == err }) {
				errs = append(errs, err)
			}
		case <-sctx.Done():
			errs = append(errs, fmt.Errorf("%s: did not stop within %s", r.name, a.cfg.ShutdownTimeout))
		}
	}
	if err := a.close(sctx); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Close releases what New opened, for an App whose Run was never called
// (Run closes everything itself). Close is idempotent.
func (a *App) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), a.cfg.ShutdownTimeout)
	defer cancel()
	return a.close(ctx)
}

func (a *App) close(ctx context.Context) error {
	a.closeOnce.Do(func() {
		_ = a.ln.Close() // already closed if the HTTP server ran
		a.closeIndex()   // the indexer has stopped: Run stops components first
		if err := closeWithin(ctx, a.bus.Close); err != nil {
			a.closeErr = fmt.Errorf("bus close: %w", err)
			a.log.Error("shutdown incomplete", "err", a.closeErr)
			return
		}
		a.log.Info("stopped")
	})
	return a.closeErr
}

// closeWithin runs closeFn and gives up waiting when ctx ends, so that a
// stuck flush cannot hold the process past its shutdown timeout.
func closeWithin(ctx context.Context, closeFn func() error) error {
	done := make(chan error, 1)
	go func() { done <- closeFn() }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("gave up waiting: %w", ctx.Err())
	}
}

// httpServer is the HTTP listener as a Component.
type httpServer struct {
	srv     *http.Server
	ln      net.Listener
	timeout time.Duration
}

func (h httpServer) Run(ctx context.Context) error {
	serveErr := make(chan error, 1)
	go func() { serveErr <- h.srv.Serve(h.ln) }()
	select {
	case err := <-serveErr:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), h.timeout)
	defer cancel()
	if err := h.srv.Shutdown(sctx); err != nil {
		_ = h.srv.Close()
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}
