package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/hotline-hub/hotline/cmd/hotline/internal/app"
)

func newServeCmd(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "serve",
		Short: "Run Hotline in one process",
		Long: "Run every Hotline component in one process. With no configuration at all it\n" +
			"keeps its data under ./data (the bus in ./data/bus) and listens on 127.0.0.1:8080.\n" +
			"SIGINT or SIGTERM shut it down gracefully.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, file, err := g.loadValid()
			if err != nil {
				return err
			}
			log, err := newLogger(cfg.Log, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			g.steadySysmon(cmd.Context(), cfg.Runtime, log)
			if file != "" {
				log.Info("configuration read", "file", file)
			}
			applyRuntime(cfg.Runtime, log)
			a, err := app.New(cmd.Context(), cfg, log)
			if err != nil {
				return err
			}
			a.Stdout = cmd.OutOrStdout()
			fmt.Fprintf(cmd.OutOrStdout(), "Hotline listening on http://%s (bus: %s)\n", a.Addr(), cfg.Bus.Driver)
			return a.Run(cmd.Context())
		},
	}
}
