package app

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/hotline-hub/hotline/bus"
	"github.com/hotline-hub/hotline/bus/embedded"
	"github.com/hotline-hub/hotline/cmd/hotline/internal/config"
)

// Bus is a bus that can tell whether it is usable right now; both
// implementations are.
type Bus interface {
	bus.Bus
	// Ping returns nil while the bus can accept and serve messages.
	Ping(ctx context.Context) error
}

var _ Bus = (*embedded.Bus)(nil)

// OpenBus opens the bus cfg.Bus.Driver selects and checks that it answers,
// so that a process with unreachable brokers or an unusable directory fails
// at start with the cause rather than at its first publish.
func OpenBus(ctx context.Context, cfg config.Config, log *slog.Logger) (Bus, error) {
	var (
		b   Bus
		err error
	)
	switch cfg.Bus.Driver {
	case config.DriverEmbedded:
		dir := cfg.EmbeddedDir()
		b, err = embedded.Open(cfg.EmbeddedConfig(), log.With("component", "bus"))
		if err != nil {
			return nil, fmt.Errorf("open embedded bus in %s: %w", dir, err)
		}
	case config.DriverKafka:
		b, err = openKafka(ctx, cfg, log.With("component", "bus"))
		if err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("bus.driver: unknown driver %q", cfg.Bus.Driver)
	}
	pctx, cancel := context.WithTimeout(ctx, cfg.HTTP.ReadyTimeout)
	defer cancel()
	if err := b.Ping(pctx); err != nil {
		_ = b.Close()
		return nil, fmt.Errorf("%s bus does not answer: %w", cfg.Bus.Driver, err)
	}
	return b, nil
}
