package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/hotline-hub/hotline/cmd/hotline/internal/config"
	"github.com/hotline-hub/hotline/search/elastic"
	"github.com/hotline-hub/hotline/search/embedded"
	"github.com/hotline-hub/hotline/search/indexer"
	"github.com/hotline-hub/hotline/search/reindex"
	"github.com/hotline-hub/hotline/webui/api"
)

// ControlSocketName is the control socket's file name under the data
// directory.
const ControlSocketName = "control.sock"

// ControlSocket is where `hotline serve` listens for local commands such
// as `hotline reindex`: a Unix socket in the data directory.
//
// The socket is the only authorization: it is created with mode 0600 (in
// a private temporary directory, then renamed into place, so it is never
// reachable with a wider mode), so only the user running the hub, and
// root, can connect. Whoever can connect can start a reindex.
func ControlSocket(cfg config.Config) string {
	return filepath.Join(cfg.DataDir, ControlSocketName)
}

// Control protocol: HTTP/1.1 over the control socket.
//
// POST /reindex starts a reindex and answers 200 with newline-delimited
// JSON, one object a line, while it runs:
//
//	{"progress": {"phase": "rebuilding", "generation": "g000002", "done": 1200, "total": 5000, ...}}
//	{"done": {...}}                                                        // the last line on success
//	{"error": {"code": "reindex_failed", "message": "..."}}                // the last line on failure
//
// A request while a reindex runs gets 409 with {"error": {"code":
// "reindex_running", ...}}; a failure before the job started gets 500.
// Closing the connection abandons the reindex (the current index keeps
// serving).
type ControlLine struct {
	Progress *reindex.Progress `json:"progress,omitempty"`
	Done     *reindex.Progress `json:"done,omitempty"`
	Error    *ControlError     `json:"error,omitempty"`
}

// ControlError is a failure reported on the control socket.
type ControlError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// reindexControl is the hub's reindex job, the live indexer it pauses,
// and the control socket that starts it.
type reindexControl struct {
	job     *reindex.Job
	live    *reindex.Live
	path    string
	timeout time.Duration
	log     *slog.Logger
}

// newReindex wires the reindex job to the serving index and the live
// indexer; a.live then runs the indexer in its place.
func (a *App) newReindex(cfg config.Config, log *slog.Logger) error {
	ends, ok := a.raw.(reindex.EndOffsetter)
	if !ok {
		return fmt.Errorf("reindex: the %s bus cannot report its end offsets", cfg.Bus.Driver)
	}
	log = log.With("component", "reindex")
	var target reindex.Target
	switch x := a.index.(type) {
	case *embedded.Index:
		target = reindex.Embedded{Dir: cfg.SearchDir(), Live: x, Log: log}
	case *elastic.Index:
		target = reindex.Elastic{Live: x, Log: log}
	default:
		return fmt.Errorf("reindex: search index %T cannot be rebuilt", a.index)
	}
	live := reindex.NewLive(a.indexer)
	// The rebuild folds like the live indexer (see newContactCentre).
	job, err := reindex.New(reindex.Config{Indexer: indexer.Config{}}, a.bus, ends, target, live, log)
	if err != nil {
		return err
	}
	a.reindex = &reindexControl{job: job, live: live, path: ControlSocket(cfg), timeout: cfg.ShutdownTimeout, log: log}
	return nil
}

// Run serves the control socket until ctx ends; a reindex under way is
// then abandoned. A socket that cannot be created is logged, not fatal:
// the hub serves on, only `hotline reindex` cannot reach it (with Kafka,
// the data directory may be read-only, or shared by several hubs).
func (c *reindexControl) Run(ctx context.Context) error {
	ln, err := listenControl(c.path)
	if err != nil {
		c.log.Error("no control socket: `hotline reindex` cannot reach this hub", "err", err)
		<-ctx.Done()
		return nil
	}
	defer func() {
		if err := os.Remove(c.path); err != nil && !errors.Is(err, os.ErrNotExist) {
			c.log.Warn("control socket: remove", "path", c.path, "err", err)
		}
	}()
	mux := http.NewServeMux()
	mux.HandleFunc("POST /reindex", c.serveReindex)
	mux.HandleFunc("/reindex", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Allow", http.MethodPost)
		api.WriteError(w, http.StatusMethodNotAllowed, "method_not_allowed", "POST /reindex starts a reindex", "")
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		api.WriteError(w, http.StatusNotFound, "not_found", "the control socket serves POST /reindex only", "")
	})
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return ctx }, // stopping abandons a reindex
		ErrorLog:          slog.NewLogLogger(c.log.Handler(), slog.LevelWarn),
	}
	c.log.Info("control socket listening", "path", c.path)
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	select {
	case err := <-serveErr:
		return fmt.Errorf("control socket %s: %w", c.path, err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		_ = srv.Close()
		return fmt.Errorf("control socket: shutdown: %w", err)
	}
	return nil
}

// listenControl creates the control socket at path with mode 0600. A
// socket left behind by a hub that died is replaced; one that answers
// belongs to a running hub and is an error.
func listenControl(path string) (net.Listener, error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode()&os.ModeSocket == 0 {
			return nil, fmt.Errorf("control socket %s: the path exists and is not a socket", path)
		}
		if conn, err := net.DialTimeout("unix", path, time.Second); err == nil {
			conn.Close()
			return nil, fmt.Errorf("control socket %s: another hub is running with this data directory", path)
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("control socket %s: remove a stale socket: %w", path, err)
		}
	}
	// Bind in a directory only we can enter, restrict the socket, then
	// move it into place: it is never reachable with a wider mode.
	tmp, err := os.MkdirTemp(dir, ".control-")
	if err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	defer os.RemoveAll(tmp)
	bound := filepath.Join(tmp, "s")
	ln, err := net.Listen("unix", bound)
	if err != nil {
		return nil, fmt.Errorf("control socket %s (Unix socket paths are limited to about 100 bytes): %w", path, err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	if err := os.Chmod(bound, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("control socket: %w", err)
	}
	if err := os.Rename(bound, path); err != nil {
		ln.Close()
		return nil, fmt.Errorf("control socket %s: %w", path, err)
	}
	return ln, nil
}

// serveReindex runs a reindex for the request; see ControlLine.
func (c *reindexControl) serveReindex(w http.ResponseWriter, r *http.Request) {
	// The latest progress only: a slow reader never holds the job up.
	progress := make(chan reindex.Progress, 1)
	report := func(p reindex.Progress) {
		for {
			select {
			case progress <- p:
				return
			default:
			}
			select {
			case <-progress:
			default:
			}
		}
	}
	done := make(chan error, 1)
	go func() { done <- c.job.Run(r.Context(), report) }()

	var last *reindex.Progress
	finished, ended := false, error(nil)
	select {
	case p := <-progress:
		last = &p
	case err := <-done:
		switch {
		case errors.Is(err, reindex.ErrRunning):
			api.WriteError(w, http.StatusConflict, "reindex_running", "a reindex is already running; wait for it to finish", "")
			return
		case err != nil:
			select {
			case p := <-progress:
				last = &p
			default:
			}
			if last == nil { // it failed before it started
				api.WriteError(w, http.StatusInternalServerError, "reindex_failed", err.Error(), "")
				return
			}
		}
		finished, ended = true, err
	}

	w.Header().Set("Content-Type", "application/x-ndjson")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	enc := json.NewEncoder(w)
	write := func(l ControlLine) {
		if err := enc.Encode(l); err == nil {
			_ = rc.Flush()
		}
	}
	if last != nil && !finished {
		write(ControlLine{Progress: last})
	}
	for !finished {
		select {
		case p := <-progress:
			last = &p
			write(ControlLine{Progress: last})
		case ended = <-done:
			finished = true
		}
	}
	select { // the last report, made just before Run returned
	case p := <-progress:
		last = &p
	default:
	}
	if ended != nil {
		write(ControlLine{Error: &ControlError{Code: "reindex_failed", Message: ended.Error()}})
		return
	}
	write(ControlLine{Done: last})
}
