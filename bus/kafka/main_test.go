package kafka

import (
	"context"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/hotline-hub/hotline/bus/kafka/kafkatest"
)

// One broker serves every test of the package that does not stop it; it is
// started by the first test that needs it (or HOTLINE_KAFKA_BROKERS names
// one) and stopped after the last.
var (
	sharedOnce sync.Once
	shared     *kafkatest.Broker
	sharedErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if shared != nil {
		if err := shared.Close(); err != nil {
			slog.Error("closing the test broker", "err", err)
		}
	}
	os.Exit(code)
}

func sharedBroker(t testing.TB) *kafkatest.Broker {
	t.Helper()
	sharedOnce.Do(func() { shared, sharedErr = kafkatest.StartMain() })
	if sharedErr != nil {
		t.Fatal(sharedErr)
	}
	t.Cleanup(func() {
		if t.Failed() && shared.LogPath() != "" {
			t.Logf("tail of the shared broker's log %s:\n%s", shared.LogPath(), shared.LogTail(30))
		}
	})
	return shared
}

// newTestBus opens a bus on br, closed when t ends.
func newTestBus(t testing.TB, br *kafkatest.Broker, edit func(*Config)) *Bus {
	t.Helper()
	cfg := Config{Brokers: br.Brokers(), ClientID: "hotline-test"}
	if edit != nil {
		edit(&cfg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	b, err := New(ctx, cfg, testLogger(t))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

// testLogger sends warnings and errors to t's log while t runs, and drops
// them after (background goroutines may log after a test ends).
func testLogger(t testing.TB) *slog.Logger {
	st := &testLogState{t: t}
	t.Cleanup(func() {
		st.mu.Lock()
		st.done = true
		st.mu.Unlock()
	})
	return slog.New(&testHandler{st: st, level: slog.LevelWarn})
}

type testLogState struct {
	t    testing.TB
	mu   sync.Mutex
	done bool
}

type testHandler struct {
	st    *testLogState
	level slog.Level
	attrs []slog.Attr
}

func (h *testHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level }

func (h *testHandler) Handle(_ context.Context, r slog.Record) error {
	line := r.Level.String() + " " + r.Message
	for _, a := range h.attrs {
		line += " " + a.String()
	}
	r.Attrs(func(a slog.Attr) bool {
		line += " " + a.String()
		return true
	})
	h.st.mu.Lock()
	defer h.st.mu.Unlock()
	if !h.st.done {
		h.st.t.Log(line)
	}
	return nil
}

func (h *testHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &testHandler{st: h.st, level: h.level, attrs: append(append([]slog.Attr(nil), h.attrs...), attrs...)}
}

func (h *testHandler) WithGroup(string) slog.Handler { return h }
