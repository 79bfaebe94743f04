package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/hotline-hub/hotline/bus/busbench"
	"github.com/hotline-hub/hotline/cmd/hotline/internal/app"
	"github.com/hotline-hub/hotline/cmd/hotline/internal/config"
)

func newBenchCmd(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Load-test Hotline's components",
	}
	var (
		dir         string
		o           busbench.Options
		latency     busbench.LatencyOptions
		latencyRate int
	)
	busCmd := &cobra.Command{
		Use:   "bus",
		Short: "Measure durable publish throughput and publish-to-receive latency of the configured bus",
		Long: "Opens the configured bus (the embedded bus in a fresh temporary directory unless\n" +
			"--dir is given; Kafka as configured) and publishes to a benchmark topic.\n" +
			"With --latency-rate it then measures publish-to-receive latency through a\n" +
			"consumer group at that steady rate.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, _, err := g.loadValid()
			if err != nil {
				return err
			}
			if latencyRate < 0 {
				return fmt.Errorf("--latency-rate must be 0 (skip) or positive, got %d", latencyRate)
			}
			for name, v := range map[string]int{"--publishers": o.Publishers, "--size": o.Size, "--batch": o.Batch} {
				if v < 1 {
					return fmt.Errorf("%s must be at least 1, got %d", name, v)
				}
			}
			if o.Events < 0 || o.Keys < 0 {
				return fmt.Errorf("--events and --keys must not be negative")
			}
			log, err := newLogger(cfg.Log, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			where := "brokers " + fmt.Sprint(cfg.Bus.Kafka.Brokers)
			if cfg.Bus.Driver == config.DriverEmbedded {
				if dir == "" {
					tmp, err := os.MkdirTemp("", "hotline-bench-")
					if err != nil {
						return fmt.Errorf("bench: temporary directory: %w", err)
					}
					defer os.RemoveAll(tmp)
					dir = tmp
				}
				cfg.Bus.Embedded.Dir = dir
				where = "dir " + dir
			}
			b, err := app.OpenBus(cmd.Context(), cfg, log)
			if err != nil {
				return err
			}
			defer b.Close()
			fmt.Fprintf(out, "bus: %s (%s)\n", cfg.Bus.Driver, where)

			r, err := busbench.Publish(cmd.Context(), b, o)
			if err != nil {
				return err
			}
			fmt.Fprintln(out, r)
			if latencyRate > 0 {
				latency.Rate = latencyRate
				latency.Size = o.Size
				latency.Keys = o.Keys
				lr, err := busbench.Latency(cmd.Context(), b, latency)
				if err != nil {
					return err
				}
				fmt.Fprintln(out, lr)
			}
			ctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
			defer cancel()
			return closeBus(ctx, b)
		},
	}
	f := busCmd.Flags()
	f.StringVar(&dir, "dir", "", "embedded bus directory to use (default: a fresh temporary directory, removed afterwards)")
	f.StringVar(&o.Topic, "topic", "busbench", "topic to publish to")
	f.IntVar(&o.Publishers, "publishers", 16, "concurrent publishing goroutines")
	f.IntVar(&o.Size, "size", 1024, "value size of each event in bytes")
	f.IntVar(&o.Events, "events", 0, "events to publish in total (0: run for --duration)")
	f.DurationVar(&o.Duration, "duration", 10*time.Second, "how long to publish when --events is 0")
	f.IntVar(&o.Batch, "batch", 1, "events per Publish call")
	f.IntVar(&o.Keys, "keys", 0, "distinct keys (0: no keys, round robin)")
	f.IntVar(&latencyRate, "latency-rate", 0, "events per second for the latency run (0: skip it)")
	f.IntVar(&latency.Events, "latency-events", 10000, "events measured by the latency run")
	f.StringVar(&latency.Topic, "latency-topic", "busbench.latency", "topic of the latency run")
	cmd.AddCommand(busCmd, newBenchChatCmd(g), newBenchChatWorkerCmd(), newBenchVoiceCmd(g))
	return cmd
}

// closeBus closes b, giving up when ctx ends: a benchmark's results are
// printed already, but a flush that does not finish is still an error.
func closeBus(ctx context.Context, b interface{ Close() error }) error {
	done := make(chan error, 1)
	go func() { done <- b.Close() }()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("close bus: %w", err)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("close bus: %w", ctx.Err())
	}
}
