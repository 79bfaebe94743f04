package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// buildDir holds the hotline binary that the package's tests share; TestMain
// makes it and removes it afterwards.
var buildDir string

// buildHotline builds cmd/hotline into buildDir once, for every test that
// starts a hub: one link of the whole binary instead of one per test.
var buildHotline = sync.OnceValues(func() (string, error) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("go not on PATH: %w", err)
	}
	bin := filepath.Join(buildDir, "hotline")
	build := exec.Command(goBin, "build", "-o", bin, "github.com/hotline-hub/hotline/cmd/hotline")
	if out, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build cmd/hotline: %w\n%s", err, out)
	}
	return bin, nil
})

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "hotline-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(1)
	}
	buildDir = dir
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// chromiumPath is Debian's chromium unless HOTLINE_CHROMIUM names another.
func chromiumPath() string {
	if p := os.Getenv("HOTLINE_CHROMIUM"); p != "" {
		return p
	}
	return "/usr/bin/chromium"
}

// prerequisites returns node's path, or skips (fails under CI) naming
// what is missing and how to install it.
func prerequisites(t *testing.T) (node, browser string) {
	t.Helper()
	var missing []string
	browser = chromiumPath()
	if _, err := os.Stat(browser); err != nil {
		missing = append(missing, fmt.Sprintf("chromium at %s (apt-get install chromium)", browser))
	}
	node, err := exec.LookPath("node")
	if err != nil {
		missing = append(missing, "node (Node.js 20+)")
	}
	if _, err := os.Stat(filepath.Join("node_modules", "playwright-core", "package.json")); err != nil {
		missing = append(missing, "webui/e2e/node_modules (npm ci in webui/e2e)")
	}
	if len(missing) > 0 {
		msg := "browser tests need " + strings.Join(missing, ", ") + "; deploy/install-test-deps.sh installs them"
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return node, browser
}

// firstStart matches the line `hotline serve` prints on an empty data dir.
var firstStart = regexp.MustCompile(`First start: sign in at http://(\S+) as "([^"]+)" \(tenant "([^"]+)"\) with password (\S+)`)

// hub is a running hotline binary.
type hub struct {
	addr, login, tenant, password string
}

// base is the hub's URL: web app, API and chat widget.
func (h hub) base() string { return "http://" + h.addr }

// startHub runs `hotline serve` (built once, see buildHotline) on a fresh
// data dir and a free port, and reads the first-start admin credentials
// from its stdout. The process is interrupted (then killed) when the test
// ends; its stderr is logged if the test failed.
func startHub(t *testing.T) hub {
	t.Helper()
	bin, err := buildHotline()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "serve", "--http-addr", "127.0.0.1:0", "--data-dir", filepath.Join(t.TempDir(), "data"))
	// An io.Pipe rather than StdoutPipe: Wait may then run while the
	// scanner below is still reading.
	stdout, stdoutW := io.Pipe()
	cmd.Stdout = stdoutW
	stderr := &syncBuffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start hotline: %v", err)
	}
	exited := make(chan error, 1)
	go func() {
		err := cmd.Wait()
		_ = stdoutW.Close()
		exited <- err
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("hotline stderr:\n%s", stderr.String())
		}
	})

	found := make(chan hub, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := firstStart.FindStringSubmatch(sc.Text()); m != nil {
				found <- hub{addr: m[1], login: m[2], tenant: m[3], password: m[4]}
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	// A bound on a hang, not a performance assertion.
	select {
	case h := <-found:
		waitReady(t, h.base())
		return h
	case err := <-exited:
		t.Fatalf("hotline serve exited before the first-start line: %v\n%s", err, stderr.String())
	case <-time.After(2 * time.Minute):
		t.Fatalf("no first-start line from hotline serve within 2 minutes\n%s", stderr.String())
	}
	return hub{}
}

// waitReady polls /readyz until it answers 200.
func waitReady(t *testing.T, base string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		res, err := http.Get(base + "/readyz")
		if err == nil {
			_ = res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s/readyz not ready within a minute: %v", base, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// uiURL is where the browser opens Hotline: the binary itself, which must
// serve the web app at "/" beside its API.
func uiURL(t *testing.T, base string) string {
	t.Helper()
	if !servesUI(t, base) {
		t.Fatalf("hotline serve at %s does not answer / with the web app", base)
	}
	return base
}

// servesUI reports whether base answers "/" with the app's index.html.
func servesUI(t *testing.T, base string) bool {
	t.Helper()
	res, err := http.Get(base + "/")
	if err != nil {
		t.Fatalf("GET %s/: %v", base, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		t.Fatalf("GET %s/: %v", base, err)
	}
	return res.StatusCode == http.StatusOK && strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") &&
		strings.Contains(string(b), `<div id="app">`)
}

// artifactsDir is where scripts save screenshots: HOTLINE_E2E_ARTIFACTS
// when set (kept), else the test's artifact directory (kept with
// `go test -artifacts`, removed otherwise).
func artifactsDir(t *testing.T) string {
	if d := os.Getenv("HOTLINE_E2E_ARTIFACTS"); d != "" {
		return d
	}
	return t.ArtifactDir()
}

// runScript runs `node script` here with env added to the environment,
// logs what it printed, and fails the test unless it exits 0 and printed
// success. limit bounds a hang; it is not a performance assertion.
func runScript(t *testing.T, node, script, success string, limit time.Duration, env ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, script)
	cmd.Env = append(os.Environ(), env...)
	// Playwright's throwaway browser profiles go under the test's own
	// temporary directory.
	cmd.Env = append(cmd.Env, "TMPDIR="+t.TempDir())
	cmd.WaitDelay = 10 * time.Second
	out, err := cmd.CombinedOutput()
	t.Logf("%s:\n%s", script, out)
	if err != nil {
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			t.Fatalf("%s failed (exit %d); see its steps above (go test -artifacts, or HOTLINE_E2E_ARTIFACTS=dir, keeps its screenshots)",
				script, exitErr.ExitCode())
		}
		t.Fatalf("run node %s: %v", script, err)
	}
	if !strings.Contains(string(out), success) {
		t.Fatalf("%s exited 0 without printing %q", script, success)
	}
}

// apiSession is a signed-in caller of the hub's HTTP API: the session
// cookie in its jar, and the CSRF token unsafe calls send.
type apiSession struct {
	base, csrf string
	client     *http.Client
}

// signInAPI signs in through POST /api/v1/auth/login.
func signInAPI(t *testing.T, base, tenant, login, password string) *apiSession {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	s := &apiSession{base: base, client: &http.Client{Jar: jar, Timeout: time.Minute}}
	var session struct {
		CSRF string `json:"csrf_token"`
	}
	s.call(t, "POST", "/api/v1/auth/login", map[string]any{"tenant": tenant, "login": login, "password": password},
		http.StatusOK, &session)
	if session.CSRF == "" {
		t.Fatal("login answered without a csrf_token")
	}
	s.csrf = session.CSRF
	return s
}

// call sends body (unless nil) as JSON, fails the test unless the answer
// has status want, and decodes the answer into out (unless nil).
func (s *apiSession) call(t *testing.T, method, path string, body any, want int, out any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, s.base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Origin", s.base)
	if s.csrf != "" {
		req.Header.Set("X-CSRF-Token", s.csrf)
	}
	res, err := s.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	got, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%s %s: read the answer: %v", method, path, err)
	}
	if res.StatusCode != want {
		t.Fatalf("%s %s: status %d, want %d: %s", method, path, res.StatusCode, want, got)
	}
	if out != nil {
		if err := json.Unmarshal(got, out); err != nil {
			t.Fatalf("%s %s: decode %s: %v", method, path, got, err)
		}
	}
}
