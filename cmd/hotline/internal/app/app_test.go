package app

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hotline-hub/hotline/bus"
	"github.com/hotline-hub/hotline/bus/busmetrics"
	"github.com/hotline-hub/hotline/cmd/hotline/internal/config"
)

func testConfig(t *testing.T, dataDir string) config.Config {
	t.Helper()
	cfg := config.Default()
	cfg.DataDir = dataDir
	cfg.HTTP.Addr = "127.0.0.1:0"
	return cfg
}

// testLogger logs to t's output while t runs and drops what background
// goroutines log after it ended.
func testLogger(t *testing.T) *slog.Logger {
	w := &testWriter{w: t.Output()}
	t.Cleanup(func() { w.mu.Lock(); w.done = true; w.mu.Unlock() })
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct {
	mu   sync.Mutex
	w    io.Writer
	done bool
}

func (w *testWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.done {
		return len(p), nil
	}
	return w.w.Write(p)
}

// started is an App running in the background.
type started struct {
	*App
	cancel context.CancelFunc
	done   chan error
}

func start(t *testing.T, cfg config.Config) *started {
	t.Helper()
	a, err := New(t.Context(), cfg, testLogger(t))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &started{App: a, cancel: cancel, done: make(chan error, 1)}
	go func() { s.done <- a.Run(ctx) }()
	t.Cleanup(func() { s.stop(t) })
	return s
}

// stop cancels Run and returns its error; later calls return nil.
func (s *started) stop(t *testing.T) error {
	t.Helper()
	if s.done == nil {
		return nil
	}
	s.cancel()
	err := <-s.done
	s.done = nil
	return err
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: read body: %v", url, err)
	}
	return resp.StatusCode, string(body)
}

func TestServeEndpointsShutdownAndRestart(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	s := start(t, cfg)
	base := "http://" + s.Addr()

	if code, body := get(t, base+"/healthz"); code != http.StatusOK {
		t.Errorf("/healthz = %d %q", code, body)
	}
	if code, body := get(t, base+"/readyz"); code != http.StatusOK || !strings.Contains(body, "ready") {
		t.Errorf("/readyz = %d %q", code, body)
	}
	// The web app is served at / with its client-side routes, beside the
	// API; missing files and unknown API paths are 404s, not the app.
	for _, path := range []string{"/", "/inbox"} {
		if code, body := get(t, base+path); code != http.StatusOK || !strings.Contains(body, `<div id="app">`) {
			t.Errorf("%s = %d %q, want the web app", path, code, body)
		}
	}
	res, err := http.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") {
		t.Errorf("/ Content-Security-Policy = %q", csp)
	}
	for _, path := range []string{"/nope.js", "/api/v1/nope"} {
		if code, _ := get(t, base+path); code != http.StatusNotFound {
			t.Errorf("%s = %d, want 404", path, code)
		}
	}

	// Publish through the process's bus, and consume in a group.
	ctx := t.Context()
	msg := bus.Message{Key: []byte("conv-1"), Value: []byte("hello from before the restart")}
	if err := s.Bus().Publish(ctx, "conversations", msg); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	sub, err := s.Bus().Subscribe(ctx, "conversations", bus.SubscribeOptions{Group: "test"})
	if err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	d, err := sub.Receive(ctx)
	if err != nil {
		t.Fatalf("Receive: %v", err)
	}
	if err := d.Ack(); err != nil {
		t.Fatalf("Ack: %v", err)
	}

	code, metrics := get(t, base+"/metrics")
	if code != http.StatusOK {
		t.Fatalf("/metrics = %d", code)
	}
	for _, want := range []string{
		"go_goroutines",
		"process_cpu_seconds_total",
		busmetrics.NamePublishes + `{driver="embedded",topic="conversations"} 1`,
		busmetrics.NamePublishedMsgs + `{driver="embedded",topic="conversations"} 1`,
		busmetrics.NamePublishDuration + `_count{driver="embedded",topic="conversations"} 1`,
		busmetrics.NameDeliveries + `{driver="embedded",group="test",topic="conversations"} 1`,
		busmetrics.NameAcks + `{driver="embedded",group="test",topic="conversations"} 1`,
		"# TYPE " + busmetrics.NamePublishErrors + " counter",
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}

	// Shut down as on SIGTERM: Run returns cleanly and the port is released.
	if err := s.stop(t); err != nil {
		t.Fatalf("Run returned %v after cancel", err)
	}
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Errorf("still serving after shutdown")
	}

	// Restart on the same data directory: the message is still there.
	s2 := start(t, cfg)
	rd, err := s2.Bus().Subscribe(ctx, "conversations", bus.SubscribeOptions{Start: bus.StartEarliest})
	if err != nil {
		t.Fatalf("Subscribe after restart: %v", err)
	}
	got, err := rd.Receive(ctx)
	if err != nil {
		t.Fatalf("Receive after restart: %v", err)
	}
	if string(got.Key) != "conv-1" || string(got.Value) != string(msg.Value) {
		t.Errorf("after restart read %q=%q, want %q=%q", got.Key, got.Value, msg.Key, msg.Value)
	}
	if code, body := get(t, "http://"+s2.Addr()+"/readyz"); code != http.StatusOK {
		t.Errorf("/readyz after restart = %d %q", code, body)
	}
}

func TestReadyzFailsWhenBusDown(t *testing.T) {
	a, err := New(t.Context(), testConfig(t, t.TempDir()), testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	h := a.Handler()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("/readyz with the bus open = %d %q", rec.Code, rec.Body)
	}
	if err := a.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
	if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), bus.ErrClosed.Error()) {
		t.Errorf("/readyz with the bus closed = %d %q, want 503 naming the reason", rec.Code, rec.Body)
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
	if rec.Code != http.StatusOK {
		t.Errorf("/healthz = %d; the process is still alive", rec.Code)
	}
}

func TestNewFailsWithCause(t *testing.T) {
	file := filepath.Join(t.TempDir(), "a-file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		mutate func(*config.Config)
		want   []string
	}{
		{"data dir under a file", func(c *config.Config) { c.DataDir = filepath.Join(file, "data") }, []string{"data directory", "a-file"}},
		{"bus dir under a file", func(c *config.Config) { c.Bus.Embedded.Dir = filepath.Join(file, "bus") }, []string{"embedded bus", "a-file"}},
		{"invalid config", func(c *config.Config) { c.Bus.Embedded.Partitions = -1 }, []string{"bus.embedded.partitions"}},
		{"unusable address", func(c *config.Config) { c.HTTP.Addr = "192.0.2.1:0" }, []string{"listen on 192.0.2.1:0"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(t, t.TempDir())
			tc.mutate(&cfg)
			a, err := New(t.Context(), cfg, testLogger(t))
			if err == nil {
				a.Close()
				t.Fatal("New succeeded")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestSecondProcessOnSameDataDirFails(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	s := start(t, cfg)
	_ = s
	_, err := New(t.Context(), cfg, testLogger(t))
	if err == nil {
		t.Fatal("a second App opened the same data directory")
	}
	if !strings.Contains(err.Error(), "embedded") {
		t.Errorf("error %q does not say which component failed", err)
	}
	// The first one is unharmed.
	if code, _ := get(t, "http://"+s.Addr()+"/readyz"); code != http.StatusOK {
		t.Errorf("/readyz of the first process = %d", code)
	}
	if err := s.stop(t); err != nil && !errors.Is(err, context.Canceled) {
		t.Errorf("stop: %v", err)
	}
}

// recorder is a Component that notes when it stops, and may fail.
type recorder struct {
	name  string
	mu    *sync.Mutex
	order *[]string
	fail  error
}

func (r recorder) Run(ctx context.Context) error {
	if r.fail != nil {
		return r.fail
	}
	<-ctx.Done()
	r.mu.Lock()
	*r.order = append(*r.order, r.name)
	r.mu.Unlock()
	return nil
}

func TestComponentsStopInReverseOrder(t *testing.T) {
	a, err := New(t.Context(), testConfig(t, t.TempDir()), testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var order []string
	for _, n := range []string{"first", "second", "third"} {
		a.components = append(a.components, namedComponent{n, recorder{name: n, mu: &mu, order: &order}})
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if got := strings.Join(order, ","); got != "third,second,first" {
		t.Errorf("stop order %s, want third,second,first", got)
	}
	if err := a.raw.Ping(t.Context()); !errors.Is(err, bus.ErrClosed) {
		t.Errorf("bus after Run: Ping = %v, want ErrClosed", err)
	}
}

func TestFailingComponentStopsTheRest(t *testing.T) {
	a, err := New(t.Context(), testConfig(t, t.TempDir()), testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var order []string
	boom := errors.New("boom")
	a.components = append(a.components,
		namedComponent{"steady", recorder{name: "steady", mu: &mu, order: &order}},
		namedComponent{"broken", recorder{name: "broken", mu: &mu, order: &order, fail: boom}},
	)
	err = a.Run(context.Background()) // returns without any cancel
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "broken: boom") {
		t.Fatalf("Run = %v, want the failure named by component", err)
	}
	if strings.Join(order, ",") != "steady" {
		t.Errorf("stopped %v, want the steady component stopped", order)
	}
	if err := a.raw.Ping(t.Context()); !errors.Is(err, bus.ErrClosed) {
		t.Errorf("bus after a failure: Ping = %v, want ErrClosed", err)
	}
}

// syncBuffer is a bytes.Buffer safe for the App's goroutines to write to.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func runWithStdout(t *testing.T, cfg config.Config, out io.Writer) *started {
	t.Helper()
	a, err := New(t.Context(), cfg, testLogger(t))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	a.Stdout = out
	ctx, cancel := context.WithCancel(context.Background())
	s := &started{App: a, cancel: cancel, done: make(chan error, 1)}
	go func() { s.done <- a.Run(ctx) }()
	t.Cleanup(func() { s.stop(t) })
	return s
}

func login(t *testing.T, addr, password string) int {
	t.Helper()
	body := strings.NewReader(`{"login":"admin","password":` + strconv.Quote(password) + `}`)
	resp, err := http.Post("http://"+addr+"/api/v1/auth/login", "application/json", body)
	if err != nil {
		t.Fatalf("login: %v", err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// At first start the process prints an admin login that works; a restart
// on the same data prints none, and the same password still works.
func TestFirstStartPrintsAdminLoginOnce(t *testing.T) {
	dir := t.TempDir()
	out := &syncBuffer{}
	s := runWithStdout(t, testConfig(t, dir), out)
	re := regexp.MustCompile(`as "admin" \(tenant "demo"\) with password (\S+)`)
	var password string
	for deadline := time.Now().Add(time.Minute); password == ""; time.Sleep(20 * time.Millisecond) {
		if m := re.FindStringSubmatch(out.String()); m != nil {
			password = m[1]
		} else if time.Now().After(deadline) {
			t.Fatalf("no admin login printed at first start; stdout: %q", out.String())
		}
	}
	if code := login(t, s.Addr(), password); code != http.StatusOK {
		t.Fatalf("login with the printed password: status %d", code)
	}
	if code := login(t, s.Addr(), password+"x"); code != http.StatusUnauthorized {
		t.Fatalf("login with a wrong password: status %d, want 401", code)
	}
	if err := s.stop(t); err != nil {
		t.Fatalf("stop: %v", err)
	}

	out2 := &syncBuffer{}
	s2 := runWithStdout(t, testConfig(t, dir), out2)
	for deadline := time.Now().Add(time.Minute); login(t, s2.Addr(), password) != http.StatusOK; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the first admin's password stopped working after a restart")
		}
	}
	if err := s2.stop(t); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if strings.Contains(out2.String(), "password") {
		t.Fatalf("a restart printed a login again: %q", out2.String())
	}
}
