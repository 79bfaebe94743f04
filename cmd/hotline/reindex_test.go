package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hotline-hub/hotline/bus/event"
	"github.com/hotline-hub/hotline/cmd/hotline/internal/app"
	"github.com/hotline-hub/hotline/cmd/hotline/internal/config"
	"github.com/hotline-hub/hotline/search/reindex"
	"github.com/hotline-hub/hotline/webui/api"
)

// startHub runs a hub in-process on data, stopped when t ends.
func startHub(t *testing.T, data string) *app.App {
	t.Helper()
	cfg := config.Default()
	cfg.DataDir = data
	cfg.HTTP.Addr = "127.0.0.1:0"
	a, err := app.New(t.Context(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	a.Stdout = &bytes.Buffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("hub: %v", err)
		}
	})
	path := app.ControlSocket(cfg)
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if c, err := net.Dial("unix", path); err == nil {
			c.Close()
			return a
		}
		if time.Now().After(deadline) {
			t.Fatalf("the hub's control socket %s does not answer", path)
		}
	}
}

func currentGeneration(t *testing.T, data string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(data, "search", "current"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// TestReindexCommand runs `hotline reindex` against a running hub: it
// prints progress lines (not a terminal), exits 0, and the hub answers
// from a new generation, the old one removed; --socket names the socket.
func TestReindexCommand(t *testing.T) {
	isolate(t)
	data := t.TempDir()
	a := startHub(t, data)
	for i := range 20 {
		e, err := event.New(event.MessageReceived, "demo", &event.MessageReceivedData{
			MessageID: fmt.Sprintf("m%d", i), From: event.Address{Address: "visitor"}, To: []event.Address{{Address: "support"}},
			Text: "where is my parcel",
		}, event.WithConversation(fmt.Sprintf("c%d", i)), event.WithChannel(event.ChannelChat))
		if err != nil {
			t.Fatal(err)
		}
		m, err := event.ToMessage(e)
		if err != nil {
			t.Fatal(err)
		}
		if err := a.Bus().Publish(t.Context(), event.TopicConversations, m); err != nil {
			t.Fatal(err)
		}
	}
	before := currentGeneration(t, data)

	stdout, stderr, err := run(t, t.Context(), "reindex", "--data-dir", data)
	if err != nil {
		t.Fatalf("reindex: %v\nstdout %s\nstderr %s", err, stdout, stderr)
	}
	after := currentGeneration(t, data)
	if after == before {
		t.Fatalf("still on generation %s", before)
	}
	if !strings.Contains(stdout, "reindex: ") || !strings.Contains(stdout, "events/s") {
		t.Errorf("no progress lines in %q", stdout)
	}
	if want := "Reindex done: searches answer from generation " + after; !strings.Contains(stdout, want) {
		t.Errorf("stdout %q lacks %q", stdout, want)
	}
	if strings.Contains(stdout, "\r") {
		t.Errorf("a progress bar was drawn on a non-terminal: %q", stdout)
	}
	if _, err := os.Stat(filepath.Join(data, "search", before)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the old generation %s is still there: %v", before, err)
	}

	stdout, _, err = run(t, t.Context(), "reindex", "--data-dir", t.TempDir(), "--socket", filepath.Join(data, app.ControlSocketName))
	if err != nil {
		t.Fatalf("reindex --socket: %v", err)
	}
	if g := currentGeneration(t, data); g == after || !strings.Contains(stdout, g) {
		t.Errorf("after reindex --socket: generation %s, stdout %q", g, stdout)
	}
}

// TestReindexWithoutHub: with no hub running the command fails, exit
// status 1, saying so.
func TestReindexWithoutHub(t *testing.T) {
	isolate(t)
	data := t.TempDir()
	_, _, err := run(t, t.Context(), "reindex", "--data-dir", data)
	if err == nil || !strings.Contains(err.Error(), "no hub is running") {
		t.Fatalf("reindex without a hub: %v", err)
	}
	var stderr bytes.Buffer
	if code := exitCode(err, &stderr); code != 1 || !strings.Contains(stderr.String(), "no hub is running") {
		t.Errorf("exit status %d, stderr %q", code, stderr.String())
	}

	// A socket left by a hub that died: nothing answers.
	path := filepath.Join(data, "stale.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close()
	if _, _, err := run(t, t.Context(), "reindex", "--socket", path); err == nil || !strings.Contains(err.Error(), "no hub is running") {
		t.Errorf("reindex on a stale socket: %v", err)
	}
}

// fakeHub answers the control protocol with handler, on a socket of its
// own: for the answers a real hub gives only in rare states.
func fakeHub(t *testing.T, handler http.HandlerFunc) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "c.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: handler}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return path
}

// TestReindexFailures: a refusal and a failure reported by the hub, and a
// hub that goes away mid-stream, end the command with an error saying so.
func TestReindexFailures(t *testing.T) {
	isolate(t)
	tests := []struct {
		name    string
		handler http.HandlerFunc
		want    string
	}{
		{"running", func(w http.ResponseWriter, _ *http.Request) {
			api.WriteError(w, http.StatusConflict, "reindex_running", "a reindex is already running; wait for it to finish", "")
		}, "reindex refused: a reindex is already running"},
		{"failed", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/x-ndjson")
			fmt.Fprintln(w, `{"progress":{"phase":"rebuilding","generation":"g000002","done":1,"total":4}}`)
			fmt.Fprintln(w, `{"error":{"code":"reindex_failed","message":"reindex: end offsets of hotline.outbox: bus: closed"}}`)
		}, "reindex failed: reindex: end offsets of hotline.outbox: bus: closed (the current index keeps serving)"},
		{"cut", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/x-ndjson")
			fmt.Fprintln(w, `{"progress":{"phase":"rebuilding","generation":"g000002","done":1,"total":4}}`)
		}, "closed the connection before the reindex finished"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := fakeHub(t, tc.handler)
			_, _, err := run(t, t.Context(), "reindex", "--socket", path)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
}

// TestProgressBar: on a terminal the bar is redrawn in place and its line
// ended once.
func TestProgressBar(t *testing.T) {
	var out bytes.Buffer
	b := &progressBar{w: &out, tty: true}
	b.show(reindex.Progress{Phase: reindex.PhaseRebuilding, Generation: "g000002", Done: 50, Total: 200, Rate: 100, ETASeconds: 1.5})
	b.show(reindex.Progress{Phase: reindex.PhaseDone, Generation: "g000002", Done: 200, Total: 200, Rate: 100})
	b.end()
	b.end()
	got := out.String()
	want := "\r[#######.......................]  25.0%  50/200 events  100 events/s  ETA 1.5s  rebuilding g000002\x1b[K" +
		"\r[##############################] 100.0%  200/200 events  100 events/s  ETA 0s  done g000002\x1b[K\n"
	if got != want {
		t.Errorf("bar drew\n%q\nwant\n%q", got, want)
	}
}
