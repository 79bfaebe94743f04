package app

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/hotline-hub/hotline/bus/kafka"
	"github.com/hotline-hub/hotline/cmd/hotline/internal/config"
)

var _ Bus = (*kafka.Bus)(nil)

// openKafka connects to the configured cluster. kafka.New itself waits up to
// bus.kafka.dial_timeout for a broker to answer and names the brokers and
// the cause when none does.
func openKafka(ctx context.Context, cfg config.Config, log *slog.Logger) (Bus, error) {
	b, err := kafka.New(ctx, cfg.KafkaConfig(), log)
	if err != nil {
		return nil, fmt.Errorf("open kafka bus: %w", err)
	}
	return b, nil
}
