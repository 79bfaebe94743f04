package main

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"github.com/hotline-hub/hotline/cmd/hotline/internal/config"
)

func newConfigCmd(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Check or print the configuration",
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "validate",
		Short: "Load and validate the configuration, naming every problem by key",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, _, err := g.load()
			if err != nil {
				return err
			}
			err = cfg.Validate()
			var verr *config.ValidationError
			if errors.As(err, &verr) {
				for _, p := range verr.Problems {
					fmt.Fprintln(cmd.ErrOrStderr(), p)
				}
				err := fmt.Errorf("configuration invalid: %d problem(s)", len(verr.Problems))
				fmt.Fprintln(cmd.ErrOrStderr(), err)
				return &reportedError{err}
			}
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), "configuration ok")
			return nil
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use:   "show",
		Short: "Print the effective configuration (defaults, file, environment, flags) as YAML",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, file, err := g.load()
			if err != nil {
				return err
			}
			var out bytes.Buffer
			enc := yaml.NewEncoder(&out)
			enc.SetIndent(2)
			if err := enc.Encode(cfg); err != nil {
				return fmt.Errorf("encode configuration: %w", err)
			}
			if file != "" {
				fmt.Fprintf(cmd.OutOrStdout(), "# effective configuration; file: %s\n", file)
			} else {
				fmt.Fprintln(cmd.OutOrStdout(), "# effective configuration; no file")
			}
			_, err = cmd.OutOrStdout().Write(out.Bytes())
			return err
		},
	})
	return cmd
}
