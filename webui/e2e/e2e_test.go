// Package e2e holds Hotline's browser tests: a real hotline binary, the
// embedded web UI and Debian's chromium driven by playwright-core (Node).
//
// Prerequisites come from deploy/install-test-deps.sh (chromium, and
// `npm ci` here). Without them the tests skip, unless CI is set, where a
// missing prerequisite is a failure.
package e2e

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

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

// startHub builds cmd/hotline, runs `serve` on a fresh data dir and a free
// port, and reads the first-start admin credentials from its stdout. The
// process is interrupted (then killed) when the test ends.
func startHub(t *testing.T) hub {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("go not on PATH: %v", err)
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "hotline")
	build := exec.Command(goBin, "build", "-o", bin, "github.com/hotline-hub/hotline/cmd/hotline")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build cmd/hotline: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "serve", "--http-addr", "127.0.0.1:0", "--data-dir", filepath.Join(dir, "data"))
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
		waitReady(t, "http://"+h.addr)
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

// TestSignInJourney signs in as the first-start admin in chromium, sees
// the header, a translated wrong-password error, the password change, the
// Russian UI surviving a reload, sign-out, and an ended session returning
// to the sign-in page (see signin.mjs for each step).
func TestSignInJourney(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test; skipped with -short")
	}
	node, browser := prerequisites(t)
	h := startHub(t)
	base := uiURL(t, "http://"+h.addr)

	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "signin.mjs")
	cmd.Env = append(os.Environ(),
		"HOTLINE_URL="+base,
		"HOTLINE_LOGIN="+h.login,
		"HOTLINE_PASSWORD="+h.password,
		"CHROMIUM_PATH="+browser,
		"USER_DATA_DIR="+t.TempDir(),
		"ARTIFACTS_DIR="+os.Getenv("HOTLINE_E2E_ARTIFACTS"),
	)
	out, err := cmd.CombinedOutput()
	t.Logf("signin.mjs:\n%s", out)
	if err != nil {
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			t.Fatalf("the sign-in journey failed (exit %d); see the steps above", exitErr.ExitCode())
		}
		t.Fatalf("run node signin.mjs: %v", err)
	}
	if !strings.Contains(string(out), "ok: sign-in journey passed") {
		t.Fatal("signin.mjs exited 0 without reporting success")
	}
}
