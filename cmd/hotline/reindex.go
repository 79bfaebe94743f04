package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/hotline-hub/hotline/cmd/hotline/internal/app"
	"github.com/hotline-hub/hotline/search/reindex"
	"github.com/hotline-hub/hotline/webui/api"
)

func newReindexCmd(g *globalFlags) *cobra.Command {
	var socket string
	cmd := &cobra.Command{
		Use:   "reindex",
		Short: "Rebuild the search index from the bus and switch to it",
		Long: "Ask the running hub (`hotline serve`) to rebuild its search index from the bus\n" +
			"into a new generation (embedded index) or new indices behind the aliases\n" +
			"(Elasticsearch), then switch searches to it. Search keeps answering from the\n" +
			"current index meanwhile; if the reindex fails, the current index stays.\n" +
			"The hub is reached through its control socket, <data_dir>/" + app.ControlSocketName + ",\n" +
			"which only the user running the hub can open.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			path := socket
			if path == "" {
				cfg, _, err := g.load()
				if err != nil {
					return err
				}
				path = app.ControlSocket(cfg)
			}
			out := cmd.OutOrStdout()
			return runReindex(cmd.Context(), path, out, isTerminal(out))
		},
	}
	cmd.Flags().StringVar(&socket, "socket", "", "control socket of the running hub (default <data_dir>/"+app.ControlSocketName+")")
	return cmd
}

// runReindex starts a reindex on the hub listening on socket and shows
// its progress on out: a bar redrawn in place on a terminal, a line per
// report otherwise.
func runReindex(ctx context.Context, socket string, out io.Writer, tty bool) error {
	client := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", socket)
		},
	}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://hotline/reindex", nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return dialError(socket, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var e api.ErrorBody
		if json.NewDecoder(io.LimitReader(resp.Body, 1<<16)).Decode(&e) != nil || e.Error.Message == "" {
			return fmt.Errorf("reindex refused by the hub: HTTP %s", resp.Status)
		}
		return fmt.Errorf("reindex refused: %s", e.Error.Message)
	}
	bar := &progressBar{w: out, tty: tty}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		var l app.ControlLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			bar.end()
			return fmt.Errorf("reindex: unreadable answer from the hub: %w", err)
		}
		switch {
		case l.Progress != nil:
			bar.show(*l.Progress)
		case l.Done != nil:
			bar.show(*l.Done)
			bar.end()
			fmt.Fprintf(out, "Reindex done: searches answer from generation %s (%d events in %s).\n",
				l.Done.Generation, l.Done.Done, seconds(l.Done.ElapsedSeconds))
			return nil
		case l.Error != nil:
			bar.end()
			return fmt.Errorf("reindex failed: %s (the current index keeps serving)", l.Error.Message)
		}
	}
	bar.end()
	if err := sc.Err(); err != nil && ctx.Err() != nil {
		return fmt.Errorf("reindex abandoned: %w (the current index keeps serving)", ctx.Err())
	} else if err != nil {
		return fmt.Errorf("reindex: lost the hub before the reindex finished: %w", err)
	}
	return errors.New("reindex: the hub closed the connection before the reindex finished (did it stop?)")
}

// dialError says why the hub could not be reached.
func dialError(socket string, err error) error {
	switch {
	case errors.Is(err, syscall.ENOENT), errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Errorf("no hub is running: nothing answers on %s (start `hotline serve` with the same data_dir, or give its socket with --socket)", socket)
	case errors.Is(err, syscall.EACCES), errors.Is(err, syscall.EPERM):
		return fmt.Errorf("cannot open the control socket %s: permission denied (run as the user that runs the hub)", socket)
	}
	return fmt.Errorf("cannot reach the hub on %s: %w", socket, err)
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// progressBar draws reindex progress.
type progressBar struct {
	w     io.Writer
	tty   bool
	drawn bool // a bar is on the current line
}

const barWidth = 30

func (b *progressBar) show(p reindex.Progress) {
	pct := 100.0
	if p.Total > 0 {
		pct = 100 * float64(p.Done) / float64(p.Total)
	}
	eta := "--"
	if p.ETASeconds > 0 {
		eta = seconds(p.ETASeconds)
	} else if p.Phase == reindex.PhaseDone {
		eta = "0s"
	}
	stats := fmt.Sprintf("%5.1f%%  %d/%d events  %.0f events/s  ETA %s  %s %s",
		pct, p.Done, p.Total, p.Rate, eta, p.Phase, p.Generation)
	if !b.tty {
		fmt.Fprintf(b.w, "reindex: %s\n", stats)
		return
	}
	filled := int(pct / 100 * barWidth)
	filled = max(0, min(filled, barWidth))
	// \r redraws the line; \x1b[K clears what a longer line left.
	fmt.Fprintf(b.w, "\r[%s%s] %s\x1b[K", strings.Repeat("#", filled), strings.Repeat(".", barWidth-filled), stats)
	b.drawn = true
}

// end finishes the bar's line.
func (b *progressBar) end() {
	if b.tty && b.drawn {
		fmt.Fprintln(b.w)
		b.drawn = false
	}
}

// seconds formats a duration in seconds for people.
func seconds(s float64) string {
	return time.Duration(s * float64(time.Second)).Round(100 * time.Millisecond).String()
}
