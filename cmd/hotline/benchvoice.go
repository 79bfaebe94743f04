package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/hotline-hub/hotline/cmd/hotline/internal/voicebench"
)

func newBenchVoiceCmd(g *globalFlags) *cobra.Command {
	var (
		o        voicebench.Options
		rtpPorts string
		asJSON   bool
	)
	cmd := &cobra.Command{
		Use:   "voice",
		Short: "Call the voice channel with sipp: calls per second into the menu, or concurrent calls with media",
		Long: "Starts a hub in this process (embedded bus in --data-dir, default a fresh temporary\n" +
			"directory removed afterwards; the voice channel on 127.0.0.1 with tone prompts and\n" +
			"recordings there, no routing) and calls it with --sipp-procs sipp processes over UDP.\n\n" +
			"--mode rate (default): --rate calls/s for --duration into the language menu of\n" +
			voicebench.MenuNumber + "; each caller hears the menu prompt for --hold and hangs up.\n" +
			"Target: 300 answered calls/s.\n" +
			"--mode concurrent: --calls calls ramped up at --rate calls/s to " + voicebench.QueueNumber + "\n" +
			"(one language, one service: the recording notice, then the queue with music on hold,\n" +
			"recorded), each held --hold after its answer while the caller streams audio (sipp's\n" +
			"rtp_stream), then hung up. The hub is measured while every call is up.\n" +
			"Target: 1,000 concurrent calls with < 1% failed.\n\n" +
			"Flags left unset take the mode's target values. A baseline runs first: the same sipp\n" +
			"callers against sipp answerers (no hub), so sipp's own cost and the machine's noise\n" +
			"show (--baseline=false skips it). Needs sipp (Debian package sip-tester).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, _, err := g.loadValid()
			if err != nil {
				return err
			}
			if !g.set.Lookup("log-level").Changed {
				cfg.Log.Level = "warn" // hundreds of calls a second at info drown the report
			}
			log, err := newLogger(cfg.Log, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			applyRuntime(cfg.Runtime, log) // the bench hub runs in this process
			f := cmd.Flags()
			d := voicebench.Defaults(o.Mode)
			if !f.Changed("rate") {
				o.Rate = d.Rate
			}
			if !f.Changed("duration") {
				o.Duration = d.Duration
			}
			if !f.Changed("calls") {
				o.Calls = d.Calls
			}
			if !f.Changed("hold") {
				o.Hold = d.Hold
			}
			if !f.Changed("caller-media") {
				o.Media = d.Media
			}
			if o.RTPPortMin, o.RTPPortMax, err = parsePortRange(rtpPorts); err != nil {
				return err
			}
			o.DataDir = ""
			if g.set.Lookup("data-dir").Changed {
				o.DataDir = cfg.DataDir
			}
			o.Config = cfg
			o.Log = log
			o.Progress = cmd.ErrOrStderr()
			r, err := voicebench.Run(cmd.Context(), o)
			if err != nil {
				return err
			}
			if asJSON {
				return r.WriteJSON(cmd.OutOrStdout())
			}
			return r.WriteText(cmd.OutOrStdout())
		},
	}
	d := voicebench.Defaults(voicebench.ModeRate)
	f := cmd.Flags()
	f.StringVar(&o.Mode, "mode", voicebench.ModeRate, "rate (calls per second into the menu) or concurrent (calls with media held at once)")
	f.Float64Var(&o.Rate, "rate", 0, "calls per second: the steady rate (mode rate, default 300) or the ramp (mode concurrent, default 100)")
	f.DurationVar(&o.Duration, "duration", 0, "mode rate: how long calls are started (default 30s)")
	f.IntVar(&o.Calls, "calls", 0, "mode concurrent: calls held at once (default 1000)")
	f.DurationVar(&o.Hold, "hold", 0, "how long each caller stays after the answer (default 1s in mode rate, 60s in mode concurrent)")
	f.BoolVar(&o.Media, "caller-media", false, "callers stream audio to the hub (default false in mode rate, true in mode concurrent)")
	f.IntVar(&o.SippProcs, "sipp-procs", d.SippProcs, "sipp caller processes sharing the load")
	f.BoolVar(&o.Baseline, "baseline", d.Baseline, "measure sipp calling sipp answerers first, with the same load")
	f.StringVar(&rtpPorts, "rtp-ports", fmt.Sprintf("%d-%d", d.RTPPortMin, d.RTPPortMax), "the hub's RTP port range, two ports per call")
	f.StringVar(&o.SippPath, "sipp", "sipp", "the sipp binary")
	f.BoolVar(&o.KeepLogs, "keep-logs", false, "keep sipp's logs and statistics files (the report names their directory)")
	f.StringVar(&o.CPUProfile, "cpuprofile", "", "write the hub's CPU profile of the measured window to this file")
	f.StringVar(&o.HeapProfile, "memprofile", "", "write the hub's heap profile at the end of the measured window to this file")
	f.BoolVar(&asJSON, "json", false, "print the report as JSON")
	return cmd
}

// parsePortRange reads "min-max".
func parsePortRange(s string) (int, int, error) {
	a, b, ok := strings.Cut(s, "-")
	lo, err1 := strconv.Atoi(strings.TrimSpace(a))
	hi, err2 := strconv.Atoi(strings.TrimSpace(b))
	if !ok || err1 != nil || err2 != nil || lo > hi {
		return 0, 0, fmt.Errorf("--rtp-ports: %q is not a range min-max", s)
	}
	return lo, hi, nil
}
