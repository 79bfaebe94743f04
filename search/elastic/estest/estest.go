// Package estest starts a real Elasticsearch server for tests: one node of
// Elasticsearch 8 listening on free 127.0.0.1 ports, with its data in a
// temporary directory and security off (plain HTTP, no authentication).
//
// The server is Elastic's own distribution from Maven Central, fetched by
// deploy/testpeers/elasticsearch/install.sh, which this package runs when
// needed (it is idempotent and fast once the server is cached). Java 17 or
// newer must be on PATH or in JAVA_HOME; the first install also needs a JDK
// (javac) and Maven. When those are missing, the tests that ask for a server
// skip with install.sh's message, or fail when the CI environment variable
// is set, so that CI cannot pass without the server.
//
// The distribution on Maven Central carries the server and the modules
// transport-netty4, x-pack-core, x-pack-security (switched off here) and apm.
// The english, french, german and russian analyzers, which Elasticsearch
// ships in its analysis-common module (not on Maven Central), come from a
// small plugin install.sh builds: the same Lucene analyzers, built the same
// way. Nothing else of analysis-common is there, and neither is GET / (the
// rest-root module): ping the server with GET /_cluster/health.
//
// Elasticsearch refuses to run as root. When the tests run as root, the
// server runs as the system user hotline-es (install.sh creates it), from a
// hard-linked copy of the cached installation inside the server's temporary
// directory, because the cache under root's home is not readable by others.
//
// Starting a server takes 20 to 90 seconds on a busy two-core machine, so
// the tests of one package share one: TestMain calls Main, tests call Shared.
// Start gives a test a server of its own, which it may stop and restart.
//
// When HOTLINE_ELASTICSEARCH_URL is set (e.g. http://127.0.0.1:9200), tests
// use that server instead and nothing is started; it cannot be stopped or
// restarted by the tests (CanRestart reports false).
package estest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// EnvURL names the environment variable that points the tests at an
// existing Elasticsearch server instead of starting one.
const EnvURL = "HOTLINE_ELASTICSEARCH_URL"

// EnvHome names the environment variable install.sh reads for the cache
// directory holding the server.
const EnvHome = "HOTLINE_ELASTICSEARCH_HOME"

// EnvJavaOpts names the environment variable whose space-separated JVM
// options are added to the server's, after estest's own (e.g. "-Xms1g -Xmx1g"
// for a bigger heap, "-XX:TieredStopAtLevel=4" for the full JIT compiler).
const EnvJavaOpts = "HOTLINE_ELASTICSEARCH_JAVA_OPTS"

// User is the system user the server runs as when the tests run as root.
const User = "hotline-es"

// Heap is the server's JVM heap (-Xms and -Xmx); EnvJavaOpts can override it.
const Heap = "512m"

// StartTimeout bounds how long starting a server may take. It is generous
// because a JVM on a busy two-core test machine starts slowly.
var StartTimeout = 4 * time.Minute

// ErrExternal is returned by Stop and Restart on a server the tests did not
// start (HOTLINE_ELASTICSEARCH_URL).
var ErrExternal = errors.New("estest: the server comes from " + EnvURL + " and is not controlled by the tests")

// ErrShared is returned by Stop, Restart and Close on the server Shared
// hands out: other tests are using it.
var ErrShared = errors.New("estest: the shared server cannot be stopped by a test; use Start for a server of its own")

// ErrNotInstalled wraps the error of a missing prerequisite (Java, a JDK,
// Maven): Start and Shared skip the test then, unless CI is set.
var ErrNotInstalled = errors.New("estest: the Elasticsearch test peer cannot be installed here")

// Server is a running test server, or an external one.
type Server struct {
	url      string
	external bool
	shared   bool

	dir      string // temp dir: home/ (root only), config/, data/, logs/, tmp/, server.log
	home     string // ES_HOME
	javaHome string
	owner    *owner // the user the server runs as; nil: the current user
	ports    ports  // after the first start, reused by Restart

	mu     sync.Mutex // guards proc, closed
	proc   *process   // nil while stopped
	closed bool
}

// ports are the addresses the server bound on its first start.
type ports struct {
	http, transport int
}

// Start returns a server for t: the external one from
// HOTLINE_ELASTICSEARCH_URL, or a new one that is stopped and deleted when
// t ends. If t fails, the tail of the server's log is added to its output.
// It skips t when the server cannot be installed here (see ErrNotInstalled).
func Start(t testing.TB) *Server {
	t.Helper()
	s, err := StartMain()
	if err != nil {
		skipOrFatal(t, err)
	}
	t.Cleanup(func() {
		if t.Failed() && !s.external {
			t.Logf("estest: tail of the server log %s:\n%s", s.LogPath(), s.LogTail(40))
		}
		if err := s.Close(); err != nil {
			t.Errorf("estest: %v", err)
		}
	})
	return s
}

// shared is the server Shared hands out, started on first use and closed
// by Main: one per test binary.
var shared struct {
	mu      sync.Mutex
	inMain  bool // Main is running the tests, and will close srv
	started bool
	srv     *Server
	err     error
}

// Main runs the tests (m.Run) and then stops and deletes the shared server,
// if a test asked for it. Call it from TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(estest.Main(m)) }
func Main(m *testing.M) int {
	shared.mu.Lock()
	shared.inMain = true
	shared.mu.Unlock()
	code := m.Run()
	shared.mu.Lock()
	defer shared.mu.Unlock()
	shared.inMain = false
	if shared.srv != nil {
		shared.srv.shared = false
		if err := shared.srv.Close(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			if code == 0 {
				code = 1
			}
		}
		shared.srv = nil
	}
	return code
}

// Shared returns the server shared by every test of this test binary,
// starting it on first use (the external one if HOTLINE_ELASTICSEARCH_URL
// is set). Tests must leave it usable for the others: they cannot stop it,
// and should use index names of their own. It needs TestMain to call Main,
// which stops the server; it skips t like Start does.
func Shared(t testing.TB) *Server {
	t.Helper()
	shared.mu.Lock()
	if !shared.inMain {
		shared.mu.Unlock()
		t.Fatal("estest: Shared needs TestMain to call estest.Main(m), which stops the shared server after the tests")
	}
	if !shared.started {
		shared.started = true
		shared.srv, shared.err = StartMain()
		if shared.srv != nil {
			shared.srv.shared = true
		}
	}
	s, err := shared.srv, shared.err
	shared.mu.Unlock()
	if err != nil {
		skipOrFatal(t, err)
	}
	t.Cleanup(func() {
		if t.Failed() && !s.external {
			t.Logf("estest: tail of the shared server log %s:\n%s", s.LogPath(), s.LogTail(40))
		}
	})
	return s
}

func skipOrFatal(t testing.TB, err error) {
	t.Helper()
	if errors.Is(err, ErrNotInstalled) {
		hint := "install what is missing (deploy/install-test-deps.sh does), or set " + EnvURL + " to use an existing server"
		if os.Getenv("CI") == "" {
			t.Skipf("%v\n(%s)", err, hint)
		}
		t.Fatalf("%v\n(%s; CI is set, so this fails instead of skipping)", err, hint)
	}
	t.Fatal(err)
}

// StartMain is Start for TestMain, where there is no testing.TB: the caller
// calls Close when the tests are done. A missing prerequisite gives an
// error wrapping ErrNotInstalled.
func StartMain() (*Server, error) {
	if env := strings.TrimSpace(os.Getenv(EnvURL)); env != "" {
		return &Server{url: strings.TrimRight(env, "/"), external: true}, nil
	}
	if runtime.GOOS == "windows" {
		return nil, fmt.Errorf("estest: starting Elasticsearch needs a Unix system; set %s to use an existing server", EnvURL)
	}
	javaHome, err := findJavaHome()
	if err != nil {
		return nil, err
	}
	cache, err := install()
	if err != nil {
		return nil, err
	}
	o, err := serverOwner()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "hotline-estest-")
	if err != nil {
		return nil, fmt.Errorf("estest: %w", err)
	}
	s := &Server{dir: dir, home: filepath.Join(cache, "home"), javaHome: javaHome, owner: o}
	if err := s.prepare(); err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	if err := s.start(); err != nil {
		_ = s.Close()
		return nil, err
	}
	return s, nil
}

// URL returns the server's base URL, e.g. http://127.0.0.1:41234.
func (s *Server) URL() string { return s.url }

// CanRestart reports whether Stop and Restart work: only on a server a test
// started with Start.
func (s *Server) CanRestart() bool { return !s.external && !s.shared }

// LogPath is the file that receives the server's output ("" if external).
func (s *Server) LogPath() string {
	if s.external {
		return ""
	}
	return filepath.Join(s.dir, "server.log")
}

// LogTail returns the last n lines of the server's log.
func (s *Server) LogTail(n int) string {
	if s.external {
		return "(external server: no log)"
	}
	data, err := os.ReadFile(s.LogPath())
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	return tail(data, n)
}

// Stop shuts the server down (SIGTERM to its process group, then SIGKILL
// if it has not exited within 30 s) and keeps its data and ports for
// Restart.
func (s *Server) Stop() error {
	if err := s.controllable(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stopLocked(30 * time.Second)
}

// Restart starts the server again on the same data directory and ports
// after Stop, and waits until it answers.
func (s *Server) Restart() error {
	if err := s.controllable(); err != nil {
		return err
	}
	s.mu.Lock()
	running, closed := s.proc != nil, s.closed
	s.mu.Unlock()
	if closed {
		return errors.New("estest: Restart after Close")
	}
	if running {
		return errors.New("estest: Restart while the server runs; call Stop first")
	}
	return s.start()
}

// Close stops the server and deletes its data. It is safe to call twice,
// and does nothing on an external server.
func (s *Server) Close() error {
	if s.external {
		return nil
	}
	if s.shared {
		return ErrShared
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	err := s.stopLocked(20 * time.Second)
	if rmErr := os.RemoveAll(s.dir); rmErr != nil && err == nil {
		err = fmt.Errorf("estest: remove %s: %w", s.dir, rmErr)
	}
	return err
}

func (s *Server) controllable() error {
	if s.external {
		return ErrExternal
	}
	if s.shared {
		return ErrShared
	}
	return nil
}

// process is one run of the server: the launcher JVM (bin/elasticsearch),
// which leads a process group holding the server JVM it starts.
type process struct {
	cmd     *exec.Cmd
	exited  chan struct{} // closed when cmd ends
	waitErr error         // cmd.Wait's result, readable once exited is closed
}

func (s *Server) stopLocked(grace time.Duration) error {
	p := s.proc
	if p == nil {
		return nil
	}
	s.proc = nil
	signalGroup(p.cmd, false)
	select {
	case <-p.exited:
	case <-time.After(grace):
		signalGroup(p.cmd, true)
		<-p.exited
	}
	// The launcher is gone; the server JVM goes with it, and Stop returns
	// only once it has, so that its ports no longer answer.
	signalGroup(p.cmd, true)
	if !waitGroupGone(p.cmd, 10*time.Second) {
		return fmt.Errorf("estest: the server's processes (group %d) outlived SIGKILL", p.cmd.Process.Pid)
	}
	return nil
}

// prepare lays out the server's directory: configuration, data, logs,
// temporary files and, when the server runs as another user, its own view
// of the installation.
func (s *Server) prepare() error {
	if s.owner != nil {
		// The cache lives under root's home, which the server's user cannot
		// enter; hard links (copies across file systems) can be read.
		home := filepath.Join(s.dir, "home")
		if err := linkTree(s.home, home); err != nil {
			return fmt.Errorf("estest: linking %s into %s: %w", s.home, home, err)
		}
		s.home = home
	}
	for _, d := range []string{"config", "data", "logs", "tmp"} {
		if err := os.Mkdir(filepath.Join(s.dir, d), 0o755); err != nil {
			return fmt.Errorf("estest: %w", err)
		}
	}
	if err := s.writeConfig(); err != nil {
		return err
	}
	if s.owner != nil {
		// Everything but home/, whose files are the cache's own (hard links).
		for _, p := range []string{".", "config", "config/elasticsearch.yml", "config/jvm.options", "config/log4j2.properties", "data", "logs", "tmp"} {
			if err := s.owner.chown(filepath.Join(s.dir, p)); err != nil {
				return fmt.Errorf("estest: %w", err)
			}
		}
	}
	return nil
}

// writeConfig writes config/: elasticsearch.yml for the first start (free
// ports chosen by the system, written by the server to logs/*.ports) or for
// a restart (the ports of the first start), jvm.options and
// log4j2.properties.
func (s *Server) writeConfig() error {
	httpPort, transportPort := "0", "0"
	if s.ports.http != 0 {
		httpPort, transportPort = strconv.Itoa(s.ports.http), strconv.Itoa(s.ports.transport)
	}
	yml := fmt.Sprintf(`# written by estest
cluster.name: hotline-estest
node.name: estest
path.data: %s
path.logs: %s
network.host: 127.0.0.1
http.port: %s
transport.port: %s
node.portsfile: true
discovery.type: single-node
xpack.security.enabled: false
# A nearly full disk must not make the test indices read-only.
cluster.routing.allocation.disk.threshold_enabled: false
`, strconv.Quote(filepath.Join(s.dir, "data")), strconv.Quote(filepath.Join(s.dir, "logs")), httpPort, transportPort)
	// The distribution's jvm.options, less its GC log and heap dumps, which
	// would land in ES_HOME; the launcher adds its own options to these.
	// TieredStopAtLevel=1 (C1 only) starts the server in about half the
	// time on two busy cores, where C2's compiler threads compete with
	// startup; tests never run long enough to miss C2's code.
	jvm := fmt.Sprintf(`## written by estest
-XX:+UseG1GC
-XX:TieredStopAtLevel=1
-Djava.io.tmpdir=${ES_TMPDIR}
20-:--add-modules=jdk.incubator.vector
-Dorg.apache.lucene.store.MMapDirectory.sharedArenaMaxPermits=1
-XX:+ExitOnOutOfMemoryError
-XX:ErrorFile=%s
`, filepath.Join(s.dir, "logs", "hs_err_pid%p.log"))
	// Everything to the console, which the launcher copies to server.log.
	log4j := `status = error
appender.console.type = Console
appender.console.name = console
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = [%d{ISO8601}][%-5p][%-25c{1.}] %m%n
rootLogger.level = info
rootLogger.appenderRef.console.ref = console
`
	for name, content := range map[string]string{"elasticsearch.yml": yml, "jvm.options": jvm, "log4j2.properties": log4j} {
		if err := os.WriteFile(filepath.Join(s.dir, "config", name), []byte(content), 0o644); err != nil {
			return fmt.Errorf("estest: %w", err)
		}
	}
	return nil
}

func (s *Server) start() error {
	if err := s.writeConfig(); err != nil {
		return err
	}
	// Stale ports files from a previous run must not be read as this run's.
	for _, f := range []string{"http.ports", "transport.ports"} {
		if err := os.Remove(filepath.Join(s.dir, "logs", f)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("estest: %w", err)
		}
	}
	logf, err := os.OpenFile(s.LogPath(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("estest: %w", err)
	}
	opts := "-Xms" + Heap + " -Xmx" + Heap
	if extra := strings.TrimSpace(os.Getenv(EnvJavaOpts)); extra != "" {
		opts += " " + extra
	}
	cmd := exec.Command(filepath.Join(s.home, "bin", "elasticsearch"))
	cmd.Env = append(serverEnv(),
		"ES_JAVA_HOME="+s.javaHome,
		"ES_PATH_CONF="+filepath.Join(s.dir, "config"),
		"ES_TMPDIR="+filepath.Join(s.dir, "tmp"),
		"ES_JAVA_OPTS="+opts,
		"HOME="+s.dir,
	)
	cmd.Dir = s.dir
	cmd.Stdout = logf
	cmd.Stderr = logf
	setProcAttrs(cmd, s.owner)
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("estest: starting %s: %w", cmd.Path, err)
	}
	p := &process{cmd: cmd, exited: make(chan struct{})}
	s.mu.Lock()
	s.proc = p
	s.mu.Unlock()
	go func() {
		p.waitErr = cmd.Wait()
		logf.Close()
		close(p.exited)
	}()
	if err := s.waitReady(p); err != nil {
		s.mu.Lock()
		_ = s.stopLocked(5 * time.Second)
		s.mu.Unlock()
		return err
	}
	return nil
}

// serverEnv is the test binary's environment less what the launcher would
// warn about or take as its own settings.
func serverEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch {
		case name == "JAVA_HOME", name == "JAVA_TOOL_OPTIONS", name == "_JAVA_OPTIONS", name == "JAVA_OPTS",
			name == "HOME", name == "CLI_JAVA_OPTS", strings.HasPrefix(name, "ES_"):
			continue
		}
		env = append(env, kv)
	}
	return env
}

// waitReady waits for the server to write the ports it bound, then polls
// its cluster health until the cluster is yellow or green.
func (s *Server) waitReady(p *process) error {
	deadline := time.Now().Add(StartTimeout)
	var last error
	for time.Now().Before(deadline) {
		select {
		case <-p.exited:
			return fmt.Errorf("estest: the server exited while starting (%v); tail of %s:\n%s", p.waitErr, s.LogPath(), s.LogTail(30))
		default:
		}
		if s.ports.http == 0 {
			last = s.readPorts() // the first start binds port 0: learn the ports
		}
		if s.ports.http != 0 {
			if last = health(s.url); last == nil {
				return nil
			}
		}
		time.Sleep(250 * time.Millisecond)
	}
	return fmt.Errorf("estest: the server did not become ready within %s (last error: %v); tail of %s:\n%s",
		StartTimeout, last, s.LogPath(), s.LogTail(30))
}

// readPorts reads logs/http.ports and logs/transport.ports, which the
// server writes (node.portsfile) once it listens.
func (s *Server) readPorts() error {
	httpPort, err := readPortsFile(filepath.Join(s.dir, "logs", "http.ports"))
	if err != nil {
		return err
	}
	transportPort, err := readPortsFile(filepath.Join(s.dir, "logs", "transport.ports"))
	if err != nil {
		return err
	}
	s.ports = ports{http: httpPort, transport: transportPort}
	s.url = "http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(httpPort))
	return nil
}

func readPortsFile(path string) (int, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Fields(string(data)) {
		host, port, err := net.SplitHostPort(line)
		if err != nil || host != "127.0.0.1" {
			continue
		}
		if n, err := strconv.Atoi(port); err == nil && n > 0 {
			return n, nil
		}
	}
	return 0, fmt.Errorf("%s names no 127.0.0.1 address: %q", path, data)
}

// health asks for the cluster health, waiting up to a second for yellow,
// and returns nil once the cluster is yellow or green.
func health(url string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/_cluster/health?wait_for_status=yellow&timeout=1s", nil)
	if err != nil {
		return err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return err
	}
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("cluster health: %s: %s", res.Status, bytes.TrimSpace(body))
	}
	var h struct {
		Status string `json:"status"`
	}
	if err := json.Unmarshal(body, &h); err != nil {
		return fmt.Errorf("cluster health: %w", err)
	}
	if h.Status != "yellow" && h.Status != "green" {
		return fmt.Errorf("cluster health is %q", h.Status)
	}
	return nil
}

// install runs deploy/testpeers/elasticsearch/install.sh and returns the
// directory it printed. Its exit status 3 (a missing tool) gives an error
// wrapping ErrNotInstalled.
func install() (string, error) {
	script, err := installScript()
	if err != nil {
		return "", err
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.Command("sh", script)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) && exit.ExitCode() == 3 {
			return "", fmt.Errorf("%w: %s", ErrNotInstalled, strings.TrimSpace(tail(stderr.Bytes(), 5)))
		}
		return "", fmt.Errorf("estest: %s: %w\n%s", script, err, tail(stderr.Bytes(), 30))
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	dir := strings.TrimSpace(lines[len(lines)-1])
	if _, err := os.Stat(filepath.Join(dir, "home", "bin", "elasticsearch")); err != nil {
		return "", fmt.Errorf("estest: %s printed %q, which holds no home/bin/elasticsearch: %w", script, dir, err)
	}
	return dir, nil
}

// installScript finds install.sh from this source file's location, which
// go test always has.
func installScript() (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", errors.New("estest: cannot locate the source tree to find deploy/testpeers/elasticsearch/install.sh")
	}
	root := filepath.Join(filepath.Dir(file), "..", "..", "..")
	script := filepath.Join(root, "deploy", "testpeers", "elasticsearch", "install.sh")
	if _, err := os.Stat(script); err != nil {
		return "", fmt.Errorf("estest: %w", err)
	}
	return script, nil
}

// findJavaHome returns the Java installation the launcher runs
// (ES_JAVA_HOME): JAVA_HOME, or the one whose bin/java is on PATH.
func findJavaHome() (string, error) {
	if home := os.Getenv("JAVA_HOME"); home != "" {
		if _, err := os.Stat(filepath.Join(home, "bin", "java")); err == nil {
			return home, nil
		}
	}
	p, err := exec.LookPath("java")
	if err != nil {
		return "", fmt.Errorf("%w: java not found on PATH or in JAVA_HOME (Java 17+ runs the test server): %v", ErrNotInstalled, err)
	}
	resolved, err := filepath.EvalSymlinks(p)
	if err != nil {
		return "", fmt.Errorf("estest: %w", err)
	}
	return filepath.Dir(filepath.Dir(resolved)), nil
}

// linkTree recreates the directory tree src at dst with hard links to its
// files, or copies of them where links cannot be made (another file
// system).
func linkTree(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		switch {
		case d.IsDir():
			if err := os.MkdirAll(target, 0o755); err != nil {
				return err
			}
			return os.Chmod(target, 0o755) // whatever the umask: the server's user reads it
		case d.Type()&os.ModeSymlink != 0:
			link, err := os.Readlink(path)
			if err != nil {
				return err
			}
			return os.Symlink(link, target)
		}
		if err := os.Link(path, target); err == nil {
			return nil
		}
		return copyFile(path, target)
	})
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	info, err := in.Stat()
	if err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if err := out.Chmod(info.Mode().Perm() | 0o444); err != nil {
		out.Close()
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func tail(b []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
