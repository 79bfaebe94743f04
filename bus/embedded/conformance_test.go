package embedded

import (
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/hotline-hub/hotline/bus"
	"github.com/hotline-hub/hotline/bus/bustest"
)

// env is a temporary directory; Open opens a bus on it, again after a
// restart.
type env struct {
	dir string
	cfg Config
}

func (e *env) Open(t testing.TB) bus.Bus {
	t.Helper()
	cfg := e.cfg
	cfg.Dir = e.dir
	b, err := Open(cfg, testLogger(t))
	if err != nil {
		t.Fatalf("Open(%s): %v", e.dir, err)
	}
	return b
}

func testLogger(t testing.TB) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

func TestConformance(t *testing.T) {
	bustest.Run(t, bustest.Features{Partitions: 4, Restartable: true}, func(t testing.TB) bustest.Env {
		return &env{dir: t.TempDir(), cfg: Config{Partitions: 4, SegmentBytes: 256 << 10, CommitInterval: 20 * time.Millisecond}}
	})
}

// Small segments make every test cross segment boundaries.
func TestConformanceSmallSegments(t *testing.T) {
	bustest.Run(t, bustest.Features{Partitions: 3, Restartable: true}, func(t testing.TB) bustest.Env {
		return &env{dir: t.TempDir(), cfg: Config{Partitions: 3, SegmentBytes: 2048}}
	})
}
