package app

import (
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hotline-hub/hotline/bus"
	"github.com/hotline-hub/hotline/bus/kafka"
	"github.com/hotline-hub/hotline/bus/kafka/kafkatest"
	"github.com/hotline-hub/hotline/cmd/hotline/internal/config"
)

func TestKafkaUnreachableAtStart(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now

	cfg := testConfig(t, t.TempDir())
	cfg.Bus.Driver = config.DriverKafka
	cfg.Bus.Kafka.Brokers = []string{addr}
	cfg.Bus.Kafka.DialTimeout = 300 * time.Millisecond
	a, err := New(t.Context(), cfg, testLogger(t))
	if err == nil {
		a.Close()
		t.Fatal("New succeeded with no broker")
	}
	if !strings.Contains(err.Error(), "kafka") || !strings.Contains(err.Error(), addr) || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("error %q does not name the bus, the broker and the cause", err)
	}
}

// eventually polls check until it returns true, failing the test only if
// that takes absurdly long (a hang, not a slow machine).
func eventually(t *testing.T, what string, check func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for !check() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not reached", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestServeOnKafka(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Kafka broker")
	}
	br := kafkatest.Start(t)
	cfg := testConfig(t, t.TempDir())
	cfg.Bus.Driver = config.DriverKafka
	cfg.Bus.Kafka.Brokers = br.Brokers()
	cfg.Bus.Kafka.ClientID = "hotline-app-test"
	topic := "app-test-" + strings.ReplaceAll(time.Now().Format("150405.000000"), ".", "-")
	cfg.Bus.Kafka.Topics = []config.KafkaTopic{{Name: topic, Partitions: 2}}
	s := start(t, cfg)
	base := "http://" + s.Addr()

	if code, body := get(t, base+"/readyz"); code != http.StatusOK {
		t.Fatalf("/readyz = %d %q", code, body)
	}
	ctx := t.Context()
	msg := bus.Message{Key: []byte("conv-k"), Value: []byte("stored in kafka")}
	if err := s.Bus().Publish(ctx, topic, msg); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	_, metrics := get(t, base+"/metrics")
	if want := `hotline_bus_published_messages_total{driver="kafka",topic="` + topic + `"} 1`; !strings.Contains(metrics, want) {
		t.Errorf("/metrics lacks %q", want)
	}

	if br.CanRestart() {
		if err := br.Stop(); err != nil {
			t.Fatal(err)
		}
		code, body := get(t, base+"/readyz")
		if code != http.StatusServiceUnavailable || !strings.Contains(body, kafka.ErrUnreachable.Error()) {
			t.Errorf("/readyz with the broker down = %d %q, want 503 with the reason", code, body)
		}
		if code, _ := get(t, base+"/healthz"); code != http.StatusOK {
			t.Errorf("/healthz with the broker down = %d; the process itself is fine", code)
		}
		if err := br.Restart(); err != nil {
			t.Fatal(err)
		}
		eventually(t, "ready again after the broker restarted", func() bool {
			code, _ := get(t, base+"/readyz")
			return code == http.StatusOK
		})
	}
	if err := s.stop(t); err != nil {
		t.Fatalf("Run: %v", err)
	}

	// A new process reads back what the first one published.
	s2 := start(t, cfg)
	rd, err := s2.Bus().Subscribe(ctx, topic, bus.SubscribeOptions{Start: bus.StartEarliest})
	if err != nil {
		t.Fatal(err)
	}
	d, err := rd.Receive(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if string(d.Key) != string(msg.Key) || string(d.Value) != string(msg.Value) {
		t.Errorf("read back %q=%q, want %q=%q", d.Key, d.Value, msg.Key, msg.Value)
	}
}
