// Package kafkatest starts a real Apache Kafka broker for tests: one node in
// KRaft mode (broker and controller in one JVM), listening on free
// 127.0.0.1 ports, with its data in a temporary directory.
//
// The broker's jars come from Maven Central through
// deploy/testpeers/kafka/install.sh, which this package runs when needed
// (it is idempotent and fast once the jars are cached). Java 17 or newer
// must be on PATH or in JAVA_HOME.
//
// When HOTLINE_KAFKA_BROKERS is set (comma-separated host:port), tests use
// that cluster instead and nothing is started; such a broker cannot be
// stopped or restarted by the tests (CanRestart reports false).
package kafkatest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"
)

// EnvBrokers names the environment variable that points the tests at an
// existing Kafka cluster instead of starting one.
const EnvBrokers = "HOTLINE_KAFKA_BROKERS"

// EnvHome names the environment variable install.sh reads for the cache
// directory holding the broker's jars.
const EnvHome = "HOTLINE_KAFKA_HOME"

// EnvJavaOpts names the environment variable whose space-separated JVM
// options are added to the broker's (e.g. "-Xlog:gc:file=/tmp/gc.log" to
// see its pauses).
const EnvJavaOpts = "HOTLINE_KAFKA_JAVA_OPTS"

// StartTimeout bounds how long Start waits for a new broker to answer. It is
// generous because a JVM on a busy two-core test machine starts slowly.
var StartTimeout = 2 * time.Minute

// ErrExternal is returned by Stop and Restart on a broker the tests did not
// start (HOTLINE_KAFKA_BROKERS).
var ErrExternal = errors.New("kafkatest: the broker comes from " + EnvBrokers + " and is not controlled by the tests")

// Broker is a running test broker, or an external one.
type Broker struct {
	brokers  []string // external cluster, or our single listener
	external bool

	dir      string // temp dir: server.properties, data/, broker.log
	java     string
	classpth string
	port     int // PLAINTEXT
	ctrlPort int // CONTROLLER

	mu     sync.Mutex // guards cmd, closed
	cmd    *process   // nil while stopped
	closed bool
}

// Start returns a broker for t: the external one from HOTLINE_KAFKA_BROKERS,
// or a new one that is stopped and deleted when t ends. If t fails, the
// tail of the broker's log is added to its output.
func Start(t testing.TB) *Broker {
	t.Helper()
	b, err := StartMain()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() && !b.external {
			t.Logf("kafkatest: tail of the broker log %s:\n%s", b.LogPath(), b.LogTail(40))
		}
		if err := b.Close(); err != nil {
			t.Errorf("kafkatest: %v", err)
		}
	})
	return b
}

// StartMain is Start for TestMain, where there is no testing.TB: the caller
// calls Close when the tests are done.
func StartMain() (*Broker, error) {
	if env := strings.TrimSpace(os.Getenv(EnvBrokers)); env != "" {
		var brokers []string
		for _, a := range strings.Split(env, ",") {
			if a = strings.TrimSpace(a); a != "" {
				brokers = append(brokers, a)
			}
		}
		return &Broker{brokers: brokers, external: true}, nil
	}
	if runtime.GOOS == "windows" {
		return nil, fmt.Errorf("kafkatest: starting a broker needs a Unix system; set %s to use an existing one", EnvBrokers)
	}
	java, err := findJava()
	if err != nil {
		return nil, err
	}
	home, err := install()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "hotline-kafkatest-")
	if err != nil {
		return nil, fmt.Errorf("kafkatest: %w", err)
	}
	b := &Broker{
		dir:      dir,
		java:     java,
		classpth: filepath.Join(home, "libs", "*"),
	}
	if b.port, err = freePort(); err == nil {
		b.ctrlPort, err = freePort()
	}
	if err == nil && b.port == b.ctrlPort {
		b.ctrlPort, err = freePort()
	}
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("kafkatest: free port: %w", err)
	}
	b.brokers = []string{net.JoinHostPort("127.0.0.1", strconv.Itoa(b.port))}
	if err := b.configure(); err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	if err := b.format(); err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	if err := b.start(); err != nil {
		_ = b.Close()
		return nil, err
	}
	return b, nil
}

// Addr returns the bootstrap address (host:port) of the broker.
func (b *Broker) Addr() string { return b.brokers[0] }

// Brokers returns every bootstrap address (one, unless external).
func (b *Broker) Brokers() []string { return append([]string(nil), b.brokers...) }

// CanRestart reports whether Stop and Restart work: only on a broker the
// tests started.
func (b *Broker) CanRestart() bool { return !b.external }

// LogPath is the file that receives the broker's output ("" if external).
func (b *Broker) LogPath() string {
	if b.external {
		return ""
	}
	return filepath.Join(b.dir, "broker.log")
}

// LogTail returns the last n lines of the broker's log.
func (b *Broker) LogTail(n int) string {
	if b.external {
		return "(external broker: no log)"
	}
	data, err := os.ReadFile(b.LogPath())
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	lines := bytes.Split(bytes.TrimRight(data, "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}

// Stop shuts the broker down (SIGTERM, then SIGKILL to its whole process
// group if it has not exited within 30 s) and keeps its data and ports for
// Restart.
func (b *Broker) Stop() error {
	if b.external {
		return ErrExternal
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.stopLocked(30 * time.Second)
}

// Restart starts the broker again on the same data directory and ports
// after Stop, and waits until it answers.
func (b *Broker) Restart() error {
	if b.external {
		return ErrExternal
	}
	b.mu.Lock()
	running := b.cmd != nil
	closed := b.closed
	b.mu.Unlock()
	if closed {
		return errors.New("kafkatest: Restart after Close")
	}
	if running {
		return errors.New("kafkatest: Restart while the broker runs; call Stop first")
	}
	return b.start()
}

// Close stops the broker and deletes its data. It is safe to call twice.
func (b *Broker) Close() error {
	if b.external {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil
	}
	b.closed = true
	err := b.stopLocked(20 * time.Second)
	if rmErr := os.RemoveAll(b.dir); rmErr != nil && err == nil {
		err = fmt.Errorf("kafkatest: remove %s: %w", b.dir, rmErr)
	}
	return err
}

// process is one run of the broker's JVM.
type process struct {
	cmd     *exec.Cmd
	exited  chan struct{} // closed when cmd ends
	waitErr error         // cmd.Wait's result, readable once exited is closed
}

func (b *Broker) stopLocked(grace time.Duration) error {
	p := b.cmd
	if p == nil {
		return nil
	}
	b.cmd = nil
	signalGroup(p.cmd, false)
	select {
	case <-p.exited:
	case <-time.After(grace):
		signalGroup(p.cmd, true)
		<-p.exited
	}
	// Whatever the JVM forked (nothing, normally) goes with it.
	signalGroup(p.cmd, true)
	return nil
}

func (b *Broker) configure() error {
	props := fmt.Sprintf(`# written by kafkatest
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:%[2]d
listeners=PLAINTEXT://127.0.0.1:%[1]d,CONTROLLER://127.0.0.1:%[2]d
advertised.listeners=PLAINTEXT://127.0.0.1:%[1]d
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=%[3]s
num.partitions=1
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
group.min.session.timeout.ms=1000
# Hotline creates its topics itself; a typo'd topic must fail, not appear.
auto.create.topics.enable=false
num.network.threads=2
num.io.threads=4
num.recovery.threads.per.data.dir=1
log.flush.interval.messages=9223372036854775807
`, b.port, b.ctrlPort, filepath.Join(b.dir, "data"))
	log4j := `status = warn
appender.out.type = Console
appender.out.name = out
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.out.ref = out
logger.config.name = org.apache.kafka.common.config
logger.config.level = WARN
logger.state.name = state.change.logger
logger.state.level = WARN
`
	if err := os.WriteFile(filepath.Join(b.dir, "server.properties"), []byte(props), 0o644); err != nil {
		return fmt.Errorf("kafkatest: %w", err)
	}
	if err := os.WriteFile(filepath.Join(b.dir, "log4j2.properties"), []byte(log4j), 0o644); err != nil {
		return fmt.Errorf("kafkatest: %w", err)
	}
	return nil
}

// gcOpts choose the broker's garbage collector unless HOTLINE_KAFKA_JAVA_OPTS
// names one.
var gcOpts = []string{"-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20"}

func (b *Broker) javaArgs(mainClass string, heap string, args ...string) []string {
	extra := strings.Fields(os.Getenv(EnvJavaOpts))
	out := []string{"-Xms" + heap, "-Xmx" + heap}
	if !slices.ContainsFunc(extra, func(o string) bool { return strings.HasPrefix(o, "-XX:+Use") && strings.HasSuffix(o, "GC") }) {
		out = append(out, gcOpts...)
	}
	out = append(out,
		"-Djava.awt.headless=true",
		"-Dlog4j2.configurationFile="+filepath.Join(b.dir, "log4j2.properties"),
	)
	out = append(out, extra...)
	out = append(out, "-cp", b.classpth, mainClass)
	return append(out, args...)
}

// format writes the KRaft metadata (cluster id, node id) into the data
// directory, as kafka-storage.sh format does.
func (b *Broker) format() error {
	var id [16]byte
	if _, err := rand.Read(id[:]); err != nil {
		return fmt.Errorf("kafkatest: cluster id: %w", err)
	}
	clusterID := base64.RawURLEncoding.EncodeToString(id[:])
	ctx, cancel := context.WithTimeout(context.Background(), StartTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, b.java, b.javaArgs("kafka.tools.StorageTool", "256m",
		// "=" keeps an id that starts with "-" from reading as an option.
		"format", "--cluster-id="+clusterID, "--config", filepath.Join(b.dir, "server.properties"))...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("kafkatest: formatting the broker's storage: %w\n%s", err, tail(out, 20))
	}
	return nil
}

func (b *Broker) start() error {
	logf, err := os.OpenFile(b.LogPath(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("kafkatest: %w", err)
	}
	cmd := exec.Command(b.java, b.javaArgs("kafka.Kafka", "512m", filepath.Join(b.dir, "server.properties"))...)
	cmd.Stdout = logf
	cmd.Stderr = logf
	cmd.Dir = b.dir
	setProcAttrs(cmd)
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("kafkatest: starting %s: %w", b.java, err)
	}
	p := &process{cmd: cmd, exited: make(chan struct{})}
	b.mu.Lock()
	b.cmd = p
	b.mu.Unlock()
	go func() {
		p.waitErr = cmd.Wait()
		logf.Close()
		close(p.exited)
	}()
	if err := b.waitReady(p); err != nil {
		b.mu.Lock()
		_ = b.stopLocked(5 * time.Second)
		b.mu.Unlock()
		return err
	}
	return nil
}

// waitReady polls the broker until it lists itself in a metadata response,
// which happens once the controller has registered it and it serves
// clients.
func (b *Broker) waitReady(p *process) error {
	deadline := time.Now().Add(StartTimeout)
	var last error
	for time.Now().Before(deadline) {
		select {
		case <-p.exited:
			return fmt.Errorf("kafkatest: the broker exited while starting (%v); tail of %s:\n%s", p.waitErr, b.LogPath(), b.LogTail(30))
		default:
		}
		if last = ping(b.Addr()); last == nil {
			return nil
		}
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("kafkatest: the broker at %s did not answer within %s (last error: %v); tail of %s:\n%s",
		b.Addr(), StartTimeout, last, b.LogPath(), b.LogTail(30))
}

func ping(addr string) error {
	d := &kafkago.Dialer{Timeout: 2 * time.Second, ClientID: "kafkatest"}
	conn, err := d.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(2 * time.Second))
	brokers, err := conn.Brokers()
	if err != nil {
		return err
	}
	if len(brokers) == 0 {
		return errors.New("no broker registered yet")
	}
	return nil
}

// install runs deploy/testpeers/kafka/install.sh and returns the directory
// it printed.
func install() (string, error) {
	script, err := installScript()
	if err != nil {
		return "", err
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.Command("sh", script)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("kafkatest: %s: %w\n%s", script, err, tail(stderr.Bytes(), 30))
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	dir := strings.TrimSpace(lines[len(lines)-1])
	if _, err := os.Stat(filepath.Join(dir, "libs")); err != nil {
		return "", fmt.Errorf("kafkatest: %s printed %q, which has no libs directory: %w", script, dir, err)
	}
	return dir, nil
}

// installScript finds install.sh from this source file's location, which
// go test always has.
func installScript() (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", errors.New("kafkatest: cannot locate the source tree to find deploy/testpeers/kafka/install.sh")
	}
	root := filepath.Join(filepath.Dir(file), "..", "..", "..")
	script := filepath.Join(root, "deploy", "testpeers", "kafka", "install.sh")
	if _, err := os.Stat(script); err != nil {
		return "", fmt.Errorf("kafkatest: %w", err)
	}
	return script, nil
}

func findJava() (string, error) {
	if home := os.Getenv("JAVA_HOME"); home != "" {
		p := filepath.Join(home, "bin", "java")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	p, err := exec.LookPath("java")
	if err != nil {
		return "", fmt.Errorf("kafkatest: java not found on PATH or in JAVA_HOME (Java 17+ runs the test broker; or set %s): %w", EnvBrokers, err)
	}
	return p, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func tail(b []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
