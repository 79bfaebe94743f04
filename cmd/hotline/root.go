package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/hotline-hub/hotline/cmd/hotline/internal/config"
)

// globalFlags are the flags every command shares: where the configuration
// comes from and the keys most often overridden on the command line.
type globalFlags struct {
	configFile string
	set        *pflag.FlagSet
	// exec replaces the process, as syscall.Exec does; nil (in tests,
	// which run commands in the test binary) never replaces it.
	exec execFunc
}

// flagKeys maps flag names to the configuration keys they set.
var flagKeys = map[string]string{
	"data-dir":      "data_dir",
	"http-addr":     "http.addr",
	"log-level":     "log.level",
	"log-format":    "log.format",
	"bus-driver":    "bus.driver",
	"kafka-brokers": "bus.kafka.brokers",
}

// newRootCmd builds the command line writing to stdout and stderr. exec is
// how serve and bench chat restart the process for runtime.steady_sysmon:
// main gives syscall.Exec; nil leaves the process as it is.
func newRootCmd(stdout, stderr io.Writer, exec execFunc) *cobra.Command {
	g := &globalFlags{exec: exec}
	root := &cobra.Command{
		Use:   "hotline",
		Short: "Hotline, an open-source omnichannel contact hub",
		Long: "Hotline turns calls, emails, SMS and web chats into events on one message bus.\n" +
			"Run `hotline serve` to start everything in one process with the embedded defaults.",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)

	def := config.Default()
	pf := root.PersistentFlags()
	pf.StringVar(&g.configFile, "config", "", "YAML configuration file (default ./"+config.DefaultFile+" if present; env HOTLINE_CONFIG)")
	pf.String("data-dir", def.DataDir, "directory for all local data (data_dir)")
	pf.String("http-addr", def.HTTP.Addr, "HTTP listen address host:port (http.addr)")
	pf.String("log-level", def.Log.Level, "log level: debug, info, warn, error (log.level)")
	pf.String("log-format", def.Log.Format, "log format: text or json (log.format)")
	pf.String("bus-driver", def.Bus.Driver, "message bus: embedded or kafka (bus.driver)")
	pf.StringSlice("kafka-brokers", def.Bus.Kafka.Brokers, "Kafka bootstrap brokers host:port,... (bus.kafka.brokers)")
	g.set = pf

	root.AddCommand(
		newServeCmd(g),
		newReindexCmd(g),
		newConfigCmd(g),
		newBenchCmd(g),
		newVersionCmd(),
	)
	return root
}

// load reads the configuration from the file, environment and the flags
// given on the command line.
func (g *globalFlags) load() (config.Config, string, error) {
	file := g.configFile
	if file == "" {
		file = os.Getenv("HOTLINE_CONFIG")
	}
	flags := make(map[string]*pflag.Flag, len(flagKeys))
	for name, key := range flagKeys {
		flags[key] = g.set.Lookup(name)
	}
	return config.Load(config.Sources{File: file, Flags: flags})
}

// loadValid is load followed by Validate.
func (g *globalFlags) loadValid() (config.Config, string, error) {
	cfg, file, err := g.load()
	if err != nil {
		return cfg, file, err
	}
	return cfg, file, cfg.Validate()
}

// newLogger builds the process logger from the log section.
func newLogger(c config.Log, w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.Level)); err != nil {
		return nil, fmt.Errorf("log.level: %w", err)
	}
	opts := &slog.HandlerOptions{Level: level}
	switch strings.ToLower(c.Format) {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	default:
		return nil, fmt.Errorf("log.format: unknown format %q", c.Format)
	}
}
