package app

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hotline-hub/hotline/bus"
	"github.com/hotline-hub/hotline/bus/event"
	"github.com/hotline-hub/hotline/search"
	"github.com/hotline-hub/hotline/search/reindex"
	"github.com/hotline-hub/hotline/webui/api"
)

// publishChat publishes a chat conversation's first message for the
// indexer, as the chat channel does.
func publishChat(t testing.TB, b bus.Publisher, tenant, id, text string) {
	t.Helper()
	e, err := event.New(event.MessageReceived, tenant, &event.MessageReceivedData{
		MessageID: "m-" + id, From: event.Address{Address: "visitor-" + id}, To: []event.Address{{Address: "support"}},
		Text: text, Language: "en",
	}, event.WithConversation(id), event.WithChannel(event.ChannelChat), event.WithContact("visitor-"+id))
	if err != nil {
		t.Fatal(err)
	}
	m, err := event.ToMessage(e)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Publish(context.Background(), event.TopicFor(e.Type), m); err != nil {
		t.Fatal(err)
	}
}

// controlClient talks HTTP over the control socket at path.
func controlClient(path string) *http.Client {
	return &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		},
	}}
}

// waitSocket waits until the hub's control socket answers.
func waitSocket(t *testing.T, path string) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if c, err := net.Dial("unix", path); err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the control socket %s does not answer", path)
		}
	}
}

// waitFound waits until a search for text finds n conversations.
func waitFound(t *testing.T, idx search.Index, text string, n int) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		res, err := idx.Search(context.Background(), search.Query{Tenant: "demo", Text: text})
		if err == nil && res.Total == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("search %q finds %d (%v), want %d", text, res.Total, err, n)
		}
	}
}

// TestReindexOverTheControlSocket runs a reindex through the control
// socket of a running hub: progress streams as JSON lines, a second
// request meanwhile is refused, search answers throughout, and the
// conversations, including one published during the reindex, are found
// in the new generation.
func TestReindexOverTheControlSocket(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(t, dir)
	s := start(t, cfg)
	path := ControlSocket(cfg)
	waitSocket(t, path)
	fi, err := os.Stat(path)
	if err != nil || fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != 0o600 {
		t.Fatalf("control socket %s: %v, %v; want a socket with mode 0600", path, fi.Mode(), err)
	}

	for i := range 40 {
		publishChat(t, s.Bus(), "demo", fmt.Sprintf("before-%02d", i), "my parcel never arrived")
	}
	waitFound(t, s.index, "parcel", 40)

	var searches, failures atomic.Int64
	stopSearching := make(chan struct{})
	searchDone := make(chan struct{})
	go func() {
		defer close(searchDone)
		for {
			select {
			case <-stopSearching:
				return
			default:
			}
			res, err := s.index.Search(context.Background(), search.Query{Tenant: "demo", Text: "parcel"})
			searches.Add(1)
			if err != nil || res.Total < 40 {
				failures.Add(1)
			}
		}
	}()

	c := controlClient(path)
	resp, err := c.Post("http://hotline/reindex", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/x-ndjson" {
		t.Fatalf("POST /reindex = %s %q", resp.Status, resp.Header.Get("Content-Type"))
	}
	// A second reindex while the first runs is refused.
	second, err := c.Post("http://hotline/reindex", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	var eb api.ErrorBody
	_ = json.NewDecoder(second.Body).Decode(&eb)
	second.Body.Close()
	if second.StatusCode != http.StatusConflict || eb.Error.Code != "reindex_running" {
		t.Errorf("second POST /reindex = %s %+v, want 409 reindex_running", second.Status, eb)
	}
	publishChat(t, s.Bus(), "demo", "during", "a parcel written during the reindex")

	var lines []ControlLine
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		var l ControlLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		lines = append(lines, l)
	}
	close(stopSearching)
	<-searchDone
	if len(lines) < 2 || lines[0].Progress == nil {
		t.Fatalf("stream %+v: want progress lines, then the outcome", lines)
	}
	last := lines[len(lines)-1]
	if last.Done == nil || last.Done.Phase != reindex.PhaseDone || last.Done.Done != last.Done.Total || last.Done.Total < 40 {
		t.Fatalf("last line %+v (error %+v), want done with every event", last.Done, last.Error)
	}
	if n := failures.Load(); n > 0 {
		t.Errorf("%d of %d searches during the reindex failed or missed conversations", n, searches.Load())
	}
	cur, err := os.ReadFile(filepath.Join(cfg.SearchDir(), "current"))
	if err != nil || strings.TrimSpace(string(cur)) != last.Done.Generation {
		t.Errorf("current generation %q (%v), want %s", cur, err, last.Done.Generation)
	}
	waitFound(t, s.index, "parcel", 41)

	// Anything but POST /reindex is a JSON error.
	for _, tc := range []struct {
		method, path string
		status       int
		code         string
	}{
		{http.MethodGet, "/reindex", http.StatusMethodNotAllowed, "method_not_allowed"},
		{http.MethodGet, "/elsewhere", http.StatusNotFound, "not_found"},
	} {
		req, _ := http.NewRequest(tc.method, "http://hotline"+tc.path, nil)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var eb api.ErrorBody
		_ = json.NewDecoder(resp.Body).Decode(&eb)
		resp.Body.Close()
		if resp.StatusCode != tc.status || eb.Error.Code != tc.code {
			t.Errorf("%s %s = %d %+v, want %d %s", tc.method, tc.path, resp.StatusCode, eb, tc.status, tc.code)
		}
	}

	if err := s.stop(t); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the control socket outlived the hub: %v", err)
	}
}

// TestControlSocketStaleAndBusy: a socket left by a hub that died is
// replaced; one a live process answers on is not taken over; a path that
// is not a socket is left alone.
func TestControlSocketStaleAndBusy(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, ControlSocketName)

	stale, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	stale.(*net.UnixListener).SetUnlinkOnClose(false)
	stale.Close() // the file stays, nothing answers

	ln, err := listenControl(path)
	if err != nil {
		t.Fatalf("over a stale socket: %v", err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	if _, err := listenControl(path); err == nil || !strings.Contains(err.Error(), "another hub is running") {
		t.Errorf("over a live socket: %v, want another hub is running", err)
	}

	file := filepath.Join(dir, "file.sock")
	if err := os.WriteFile(file, []byte("keep"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := listenControl(file); err == nil || !strings.Contains(err.Error(), "not a socket") {
		t.Errorf("over a regular file: %v", err)
	}
	if b, _ := os.ReadFile(file); string(b) != "keep" {
		t.Error("the regular file was changed")
	}
	if des, _ := os.ReadDir(dir); len(des) != 2 {
		var names []string
		for _, de := range des {
			names = append(names, de.Name())
		}
		t.Errorf("directory holds %v, want the socket and the file only", names)
	}
}
