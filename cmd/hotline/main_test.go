package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/hotline-hub/hotline/cmd/hotline/internal/config"
	"github.com/hotline-hub/hotline/cmd/hotline/internal/sysmon"
)

// run executes the hotline command line in-process.
func run(t *testing.T, ctx context.Context, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errb bytes.Buffer
	root := newRootCmd(&out, &errb, nil)
	root.SetArgs(args)
	err = root.ExecuteContext(ctx)
	return out.String(), errb.String(), err
}

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "hotline.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// isolate keeps the test from reading a hotline.yaml or HOTLINE_* variables
// of the machine it runs on.
func isolate(t *testing.T) {
	t.Chdir(t.TempDir())
	for _, k := range append(config.Keys(), "config") {
		name := config.EnvName(k)
		if _, ok := os.LookupEnv(name); ok {
			t.Setenv(name, "") // restores it after the test
			os.Unsetenv(name)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	isolate(t)
	tests := []struct {
		name    string
		file    string
		env     map[string]string
		args    []string
		ok      bool
		wantOut []string // in stdout when ok, stderr or the error otherwise
	}{
		{name: "defaults", ok: true, wantOut: []string{"configuration ok"}},
		{name: "example embedded", args: []string{"--config", filepath.Join(origWD, "../../deploy/hotline.yaml")}, ok: true, wantOut: []string{"configuration ok"}},
		{name: "example kafka", args: []string{"--config", filepath.Join(origWD, "../../deploy/hotline-kafka.yaml")}, ok: true, wantOut: []string{"configuration ok"}},
		{
			name: "every problem by key",
			file: "log:\n  level: loud\nbus:\n  driver: nats\n  embedded:\n    partitions: 5000\nhttp:\n  addr: nowhere\n",
			wantOut: []string{
				`log.level: must be one of debug, info, warn, error, got "loud"`,
				`bus.driver: must be one of embedded, kafka, got "nats"`,
				"bus.embedded.partitions: must be 1..4096, got 5000",
				`http.addr: must be host:port, got "nowhere"`,
			},
		},
		{name: "env problem", env: map[string]string{"HOTLINE_SHUTDOWN_TIMEOUT": "-1s"}, wantOut: []string{"shutdown_timeout: must be a positive duration, got -1s"}},
		{name: "flag problem", args: []string{"--log-format", "xml"}, wantOut: []string{`log.format: must be one of text, json, got "xml"`}},
		{name: "unknown key", file: "bus:\n  embeded:\n    partitions: 3\n", wantOut: []string{"unknown configuration key", "bus.embeded"}},
		{name: "missing file", args: []string{"--config", "/nonexistent/hotline.yaml"}, wantOut: []string{"/nonexistent/hotline.yaml"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			args := append([]string{"config", "validate"}, tc.args...)
			if tc.file != "" {
				args = append(args, "--config", writeConfig(t, tc.file))
			}
			stdout, stderr, err := run(t, t.Context(), args...)
			if tc.ok {
				if err != nil {
					t.Fatalf("err = %v; stderr %s", err, stderr)
				}
				for _, w := range tc.wantOut {
					if !strings.Contains(stdout, w) {
						t.Errorf("stdout %q lacks %q", stdout, w)
					}
				}
				return
			}
			if err == nil {
				t.Fatalf("validate succeeded; stdout %q", stdout)
			}
			if exitCode(err, io.Discard) == 0 {
				t.Errorf("exit code 0 for %v", err)
			}
			all := stderr + err.Error()
			for _, w := range tc.wantOut {
				if !strings.Contains(all, w) {
					t.Errorf("output %q lacks %q", all, w)
				}
			}
			if strings.Contains(stdout, "configuration ok") {
				t.Errorf("printed ok for a bad configuration")
			}
		})
	}
}

func TestConfigShowRoundTrips(t *testing.T) {
	isolate(t)
	t.Setenv("HOTLINE_BUS_DRIVER", "kafka")
	file := writeConfig(t, "data_dir: /srv/hotline\nruntime:\n  memory_limit: 900MiB\nbus:\n  kafka:\n    brokers: [k1:9092]\n")
	stdout, _, err := run(t, t.Context(), "config", "show", "--config", file, "--http-addr", "127.0.0.1:9999")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout, "file: "+file) {
		t.Errorf("show does not name the file: %s", stdout)
	}
	// What show prints is itself a valid file giving the same configuration.
	shown := writeConfig(t, stdout)
	t.Setenv("HOTLINE_BUS_DRIVER", "")
	os.Unsetenv("HOTLINE_BUS_DRIVER")
	got, _, err := config.Load(config.Sources{File: shown})
	if err != nil {
		t.Fatalf("reloading the shown configuration: %v\n%s", err, stdout)
	}
	if got.DataDir != "/srv/hotline" || got.Bus.Driver != "kafka" || got.HTTP.Addr != "127.0.0.1:9999" ||
		len(got.Bus.Kafka.Brokers) != 1 || got.Bus.Kafka.Brokers[0] != "k1:9092" || got.Runtime.MemoryLimit != 900<<20 {
		t.Errorf("shown configuration = %+v", got)
	}
	var asMap map[string]any
	if err := yaml.Unmarshal([]byte(stdout), &asMap); err != nil {
		t.Fatal(err)
	}
	if asMap["shutdown_timeout"] != "15s" {
		t.Errorf("durations should print as text, got %v", asMap["shutdown_timeout"])
	}
}

func TestVersion(t *testing.T) {
	stdout, _, err := run(t, t.Context(), "version")
	if err != nil || !strings.HasPrefix(stdout, "hotline ") {
		t.Errorf("version = %q, %v", stdout, err)
	}
}

// syncBuffer is a bytes.Buffer safe for a writer and a concurrent reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var listenRE = regexp.MustCompile(`Hotline listening on (http://\S+)`)

func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestServeInProcess(t *testing.T) {
	isolate(t)
	data := t.TempDir()
	pr, pw := io.Pipe()
	var stderr syncBuffer
	root := newRootCmd(pw, &stderr, nil)
	root.SetArgs([]string{"serve", "--http-addr", "127.0.0.1:0", "--data-dir", data, "--log-format", "json"})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx); pw.Close() }()

	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatalf("no address printed: %v; stderr %s", err, stderr.String())
	}
	go io.Copy(io.Discard, pr)
	m := listenRE.FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("unexpected first line %q", line)
	}
	base := m[1]
	for path, want := range map[string]string{"/healthz": "ok", "/readyz": "ready", "/metrics": `hotline_bus_publish_errors_total{driver="embedded",topic="hotline.conversations"} 0`} {
		code, body := httpGet(t, base+path)
		if code != http.StatusOK || !strings.Contains(body, want) {
			t.Errorf("%s = %d %.200q", path, code, body)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve returned %v", err)
	}
	if !strings.Contains(stderr.String(), `"msg":"stopped"`) {
		t.Errorf("no JSON shutdown log in %s", stderr.String())
	}
	if _, err := os.Stat(filepath.Join(data, "bus")); err != nil {
		t.Errorf("bus directory not under the data dir: %v", err)
	}
}

func TestServeFailsWithCause(t *testing.T) {
	isolate(t)
	file := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	_, _, err := run(t, t.Context(), "serve", "--http-addr", "127.0.0.1:0", "--data-dir", filepath.Join(file, "data"))
	if err == nil || !strings.Contains(err.Error(), "data directory") {
		t.Errorf("serve with an unusable data dir: %v", err)
	}
	_, _, err = run(t, t.Context(), "serve", "--http-addr", "127.0.0.1:0", "--log-level", "chatty")
	var verr *config.ValidationError
	if !errors.As(err, &verr) || !strings.Contains(err.Error(), "log.level") {
		t.Errorf("serve with a bad log level: %v", err)
	}
}

func TestBenchBus(t *testing.T) {
	isolate(t)
	dir := t.TempDir()
	stdout, stderr, err := run(t, t.Context(), "bench", "bus", "--dir", dir, "--events", "300", "--publishers", "3",
		"--size", "100", "--batch", "2", "--latency-rate", "200", "--latency-events", "50")
	if err != nil {
		t.Fatalf("bench: %v\n%s", err, stderr)
	}
	for _, want := range []string{"bus: embedded (dir " + dir + ")", "publish: 300 events of 100 B (3 publishers, 2 per Publish", "latency: 50 events of 100 B at 200/s"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "topics", "busbench")); err != nil {
		t.Errorf("--dir was not used: %v", err)
	}
	if _, _, err := run(t, t.Context(), "bench", "bus", "--publishers", "0"); err == nil || !strings.Contains(err.Error(), "--publishers") {
		t.Errorf("--publishers 0: %v", err)
	}
}

// TestBinarySIGTERM builds the real binary and stops it the way systemd and
// Kubernetes do.
func TestBinarySIGTERM(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	isolate(t)
	bin := filepath.Join(t.TempDir(), "hotline")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Dir = origWD
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	data := t.TempDir()
	cmd := exec.Command(bin, "serve", "--http-addr", "127.0.0.1:0", "--data-dir", data)
	cmd.Env = append(os.Environ(), "GODEBUG=gctrace=0")
	var stderr syncBuffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("no address printed: %v; stderr %s", err, stderr.String())
	}
	m := listenRE.FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("unexpected first line %q", line)
	}
	if code, _ := httpGet(t, m[1]+"/readyz"); code != http.StatusOK {
		t.Errorf("/readyz = %d", code)
	}
	// runtime.steady_sysmon: the process restarted itself (same pid) with
	// schedtrace in its GODEBUG and says so, keeping the rest.
	if godebug := procGODEBUG(t, cmd.Process.Pid); godebug != "gctrace=0,schedtrace=2147483647" {
		t.Errorf("the hub runs with GODEBUG %q", godebug)
	}
	if !strings.Contains(stderr.String(), "sysmon=steady") {
		t.Errorf("the sysmon setting is not logged: %s", stderr.String())
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v; stderr %s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "msg=stopped") {
		t.Errorf("no clean shutdown logged: %s", stderr.String())
	}

	// A second start on the same data directory works (the lock was released).
	out, err := exec.Command(bin, "config", "validate", "--data-dir", data).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "configuration ok") {
		t.Errorf("config validate: %v %s", err, out)
	}
	// Turned off, the hub runs with Go's default (here it stops at once on
	// a busy address, after logging its runtime).
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	off := exec.Command(bin, "serve", "--http-addr", l.Addr().String(), "--data-dir", t.TempDir())
	off.Env = append(os.Environ(), "HOTLINE_RUNTIME_STEADY_SYSMON=false", "GODEBUG=")
	offOut, _ := off.CombinedOutput()
	l.Close()
	if !strings.Contains(string(offOut), `sysmon="go default"`) {
		t.Errorf("serve with runtime.steady_sysmon false said %s", offOut)
	}
	bad, err := exec.Command(bin, "serve", "--http-addr", "127.0.0.1:0", "--bus-driver", "carrier-pigeon").CombinedOutput()
	if err == nil || !strings.Contains(string(bad), "bus.driver") {
		t.Errorf("serve with an unknown driver: %v %s", err, bad)
	}

	// An unreachable Kafka broker at start: exit 1 naming the broker and why.
	l, err = net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	kcmd := exec.Command(bin, "serve", "--http-addr", "127.0.0.1:0", "--bus-driver", "kafka", "--kafka-brokers", addr)
	kcmd.Env = append(os.Environ(), "HOTLINE_BUS_KAFKA_DIAL_TIMEOUT=300ms")
	kout, err := kcmd.CombinedOutput()
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) || exitErr.ExitCode() != 1 {
		t.Errorf("serve with no broker: %v, want exit status 1", err)
	}
	if !strings.Contains(string(kout), addr) || !strings.Contains(string(kout), "connection refused") {
		t.Errorf("serve with no broker said %q; want the broker and the cause", kout)
	}
}

// procGODEBUG returns the GODEBUG in the environment of process pid.
func procGODEBUG(t *testing.T, pid int) string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
	if err != nil {
		t.Fatal(err)
	}
	return sysmon.Lookup(strings.Split(string(b), "\x00"))
}

// origWD is this package's directory, where go test starts (isolate
// changes the working directory).
var origWD, _ = os.Getwd()
