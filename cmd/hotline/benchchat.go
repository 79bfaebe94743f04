package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/hotline-hub/hotline/cmd/hotline/internal/chatbench"
)

// chatWorkerUse is the hidden subcommand `hotline bench chat` re-executes
// for its client processes.
const chatWorkerUse = "chat-worker"

func newBenchChatCmd(g *globalFlags) *cobra.Command {
	o := chatbench.Defaults()
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "chat",
		Short: "Measure customer→agent and agent→customer chat latency with thousands of agents and customers connected",
		Long: "Starts a hub in this process (embedded bus in --data-dir, default a fresh temporary\n" +
			"directory removed afterwards; auth, routing, the inbox and the chat channel on\n" +
			"127.0.0.1), with a tenant \"bench\", one chat queue and --agents agent accounts,\n" +
			"then re-executes this binary as --workers client processes. Customers speak the\n" +
			"chat WebSocket, agents log in, accept their offers, read the inbox WebSocket and\n" +
			"reply with reply frames on it (--reply-via http: over the HTTP API). Once every conversation is assigned, customers send\n" +
			"--rate messages per second in all on an open-loop schedule for --warmup then\n" +
			"--duration. A baseline through a bare in-process WebSocket relay (no bus, no\n" +
			"routing) runs first with the same workers (--baseline=false skips it).\n\n" +
			"The bench hub hashes passwords with the cheapest argon2id parameters auth allows\n" +
			"and lifts the chat and login rate limits, since every client comes from\n" +
			"127.0.0.1. Only this in-process mode exists: it cannot drive a remote hub.\n\n" +
			"The client processes run with GODEBUG's schedtrace set (its lines are removed\n" +
			"from their stderr): it keeps the Go runtime's sysmon thread from waking every\n" +
			"20 µs between their sends, which cost them a third of their CPU on the cores\n" +
			"they share with the hub. The bench process, and so its hub, restarts with it\n" +
			"first, as serve does (runtime.steady_sysmon).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, _, err := g.loadValid()
			if err != nil {
				return err
			}
			if !g.set.Lookup("log-level").Changed {
				cfg.Log.Level = "warn" // a thousand logins at info drown the report
			}
			log, err := newLogger(cfg.Log, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			// The bench hub runs in this process: it runs as serve would.
			g.steadySysmon(cmd.Context(), cfg.Runtime, log)
			applyRuntime(cfg.Runtime, log)
			exe, err := os.Executable()
			if err != nil {
				return fmt.Errorf("bench chat: find this binary to start workers: %w", err)
			}
			o.DataDir = ""
			if g.set.Lookup("data-dir").Changed {
				o.DataDir = cfg.DataDir
			}
			o.Config = cfg
			o.WorkerCommand = []string{exe, "bench", chatWorkerUse}
			o.Log = log
			o.Progress = cmd.ErrOrStderr()
			o.Stderr = cmd.ErrOrStderr()
			r, err := chatbench.Run(cmd.Context(), o)
			if err != nil {
				return err
			}
			if asJSON {
				return r.WriteJSON(cmd.OutOrStdout())
			}
			return r.WriteText(cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	f.IntVar(&o.Agents, "agents", o.Agents, "agents logged in, each with an inbox socket")
	f.IntVar(&o.Customers, "customers", o.Customers, "customers connected to the chat, one conversation each")
	f.IntVar(&o.Rate, "rate", o.Rate, "customer messages per second, all customers together")
	f.DurationVar(&o.Duration, "duration", o.Duration, "measured time")
	f.DurationVar(&o.Warmup, "warmup", o.Warmup, "time sending at the rate before measuring")
	f.DurationVar(&o.Drain, "drain", o.Drain, "wait after the last send; what has not arrived by then is lost")
	f.IntVar(&o.ReplyEvery, "reply-every", o.ReplyEvery, "each agent answers every Nth message it gets (0: no replies)")
	f.StringVar(&o.ReplyVia, "reply-via", o.ReplyVia, "how agents reply: socket (a reply frame on the inbox socket) or http (POST …/messages)")
	f.IntVar(&o.Workers, "workers", o.Workers, "client processes (each holds its share of the sockets)")
	f.IntVar(&o.WorkerProcs, "worker-procs", o.WorkerProcs, "GOMAXPROCS of each client process (0: the Go runtime's default, one per core)")
	f.DurationVar(&o.SetupTimeout, "setup-timeout", o.SetupTimeout, "limit on logins, connections and assignment of each phase")
	f.BoolVar(&o.Baseline, "baseline", o.Baseline, "measure the bare relay first, with the same workers and rate")
	f.StringVar(&o.CPUProfile, "cpuprofile", "", "write the hub's CPU profile of the measured window to this file")
	f.StringVar(&o.MutexProfile, "mutexprofile", "", "write the hub's lock contention profile of the measured window to this file")
	f.StringVar(&o.HeapProfile, "memprofile", "", "write the hub's heap profile at the end of the measured window to this file (and at its start to FILE.start, its goroutines at the end to FILE.goroutines)")
	f.StringVar(&o.Trace, "trace", "", "write the hub's runtime execution trace of the start of the measured window to this file (go tool trace)")
	f.DurationVar(&o.TraceFor, "trace-for", o.TraceFor, "how much of the measured window --trace covers")
	f.BoolVar(&asJSON, "json", false, "print the report as JSON")
	return cmd
}

// newBenchChatWorkerCmd is the client process of `bench chat`: it reads
// its plan on stdin and reports on stdout.
func newBenchChatWorkerCmd() *cobra.Command {
	return &cobra.Command{
		Use:    chatWorkerUse,
		Short:  "A client process of `hotline bench chat` (started by it)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return chatbench.RunWorker(cmd.Context(), os.Stdin, cmd.OutOrStdout())
		},
	}
}
