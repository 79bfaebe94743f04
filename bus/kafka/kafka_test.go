package kafka

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/hotline-hub/hotline/bus"
	"github.com/hotline-hub/hotline/bus/bustest"
	"github.com/hotline-hub/hotline/bus/kafka/kafkatest"
)

func TestConformance(t *testing.T) {
	br := sharedBroker(t)
	bustest.Run(t, bustest.Features{
		Partitions:  DefaultPartitions,
		Restartable: true, // the broker keeps messages and committed offsets
		SlowGroups:  true, // Kafka's group protocol: joins take a heartbeat or more
	}, func(testing.TB) bustest.Env { return env{br} })
}

type env struct{ br *kafkatest.Broker }

func (e env) Open(t testing.TB) bus.Bus { return newTestBus(t, e.br, nil) }

// What the bus retries: a broker away, fenced or between leaders; not a
// request the broker will refuse again.
func TestRetriable(t *testing.T) {
	wrapped := func(e kafkago.Error) error { return fmt.Errorf("creating topic x: %w", e) }
	tests := []struct {
		err  error
		want bool
	}{
		{wrapped(kafkago.BrokerNotAvailable), true},
		{wrapped(kafkago.LeaderNotAvailable), true},
		{wrapped(kafkago.NotLeaderForPartition), true},
		{wrapped(kafkago.UnknownTopicOrPartition), true},
		{fmt.Errorf("%w: All brokers are currently fenced.", kafkago.InvalidReplicationFactor), true},
		{wrapped(kafkago.InvalidReplicationFactor), false},
		{wrapped(kafkago.MessageSizeTooLarge), false},
		{wrapped(kafkago.TopicAuthorizationFailed), false},
		{&net.OpError{Op: "dial", Err: errors.New("connection refused")}, true},
	}
	for _, tt := range tests {
		if got := retriable(tt.err); got != tt.want {
			t.Errorf("retriable(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	ok := Config{Brokers: []string{"127.0.0.1:9092"}}
	tests := []struct {
		name string
		edit func(*Config)
		want string // substring of the error; "" means valid
	}{
		{"minimal", func(*Config) {}, ""},
		{"everything set", func(c *Config) {
			*c = Config{Brokers: []string{"kafka-0.kafka:9092", "[::1]:9093"}, ClientID: "x", Partitions: 3, ReplicationFactor: 3,
				Topics: map[string]int{"conversations": 12}, BatchTimeout: 5 * time.Millisecond, DialTimeout: time.Second,
				MaxMessageBytes: 4 << 20, CommitInterval: time.Second}
		}, ""},
		{"no brokers", func(c *Config) { c.Brokers = nil }, "Brokers is empty"},
		{"broker without port", func(c *Config) { c.Brokers = []string{"localhost"} }, `"localhost" is not host:port`},
		{"broker without host", func(c *Config) { c.Brokers = []string{":9092"} }, "has no host"},
		{"broker bad port", func(c *Config) { c.Brokers = []string{"localhost:99999"} }, "invalid port"},
		{"broker named port", func(c *Config) { c.Brokers = []string{"localhost:kafka"} }, "invalid port"},
		{"negative partitions", func(c *Config) { c.Partitions = -1 }, "Partitions is -1"},
		{"negative replication", func(c *Config) { c.ReplicationFactor = -2 }, "ReplicationFactor is -2"},
		{"invalid topic", func(c *Config) { c.Topics = map[string]int{"a/b": 1} }, "invalid topic name"},
		{"topic without partitions", func(c *Config) { c.Topics = map[string]int{"agents": 0} }, `"agents" has 0 partitions`},
		{"negative batch timeout", func(c *Config) { c.BatchTimeout = -time.Millisecond }, "BatchTimeout is negative"},
		{"negative dial timeout", func(c *Config) { c.DialTimeout = -time.Second }, "DialTimeout is negative"},
		{"negative commit interval", func(c *Config) { c.CommitInterval = -time.Second }, "CommitInterval is negative"},
		{"negative max message", func(c *Config) { c.MaxMessageBytes = -1 }, "MaxMessageBytes is -1"},
		{"huge max message", func(c *Config) { c.MaxMessageBytes = 1 << 30 }, "MaxMessageBytes is 1073741824"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ok
			tt.edit(&c)
			err := c.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("Validate() = %v, want nil", err)
			case tt.want != "" && err == nil:
				t.Fatalf("Validate() = nil, want an error containing %q", tt.want)
			case tt.want != "" && !strings.Contains(err.Error(), tt.want):
				t.Fatalf("Validate() = %v, want an error containing %q", err, tt.want)
			}
			// New validates before it connects to anything.
			if tt.want != "" {
				if _, err := New(context.Background(), c, nil); err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("New() = %v, want an error containing %q", err, tt.want)
				}
			}
		})
	}
}

func TestNewUnreachableBroker(t *testing.T) {
	// A port that was just free: nothing listens there.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()

	_, err = New(context.Background(), Config{Brokers: []string{addr}, DialTimeout: 300 * time.Millisecond}, nil)
	if !errors.Is(err, ErrUnreachable) {
		t.Fatalf("New with nothing at %s = %v, want ErrUnreachable", addr, err)
	}
	if !strings.Contains(err.Error(), addr) {
		t.Errorf("error %q does not name the broker %s", err, addr)
	}
	if !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("error %q does not say why the broker is unreachable", err)
	}
}

func uniqueTopic(t testing.TB, name string) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return "kafkatest." + name + "." + hex.EncodeToString(b[:])
}

// A message published through the bus is an ordinary Kafka record: a plain
// kafka-go reader (standing in for any Kafka tool) sees its key, value and
// headers as published, CloudEvents ce_* headers included.
func TestRecordsReadableByPlainKafkaClient(t *testing.T) {
	br := sharedBroker(t)
	topic := uniqueTopic(t, "plain")
	b := newTestBus(t, br, func(c *Config) { c.Topics = map[string]int{topic: 1} })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	want := bus.Message{
		Key:   []byte("conv-7"),
		Value: []byte(`{"text":"Guten Tag"}`),
		Headers: []bus.Header{
			{Key: "ce_specversion", Value: []byte("1.0")},
			{Key: "ce_id", Value: []byte("01J0000000000000000000000")},
			{Key: "ce_type", Value: []byte("message.received")},
			{Key: "ce_source", Value: []byte("/channels/email")},
			{Key: "content-type", Value: []byte("application/json")},
			{Key: "bin", Value: []byte{0, 0xff, 0}},
		},
	}
	if err := b.Publish(ctx, topic, want); err != nil {
		t.Fatalf("Publish: %v", err)
	}

	r := kafkago.NewReader(kafkago.ReaderConfig{Brokers: br.Brokers(), Topic: topic, Partition: 0, MaxWait: 250 * time.Millisecond})
	defer r.Close()
	m, err := r.ReadMessage(ctx)
	if err != nil {
		t.Fatalf("plain reader: %v", err)
	}
	if !bytes.Equal(m.Key, want.Key) || !bytes.Equal(m.Value, want.Value) {
		t.Errorf("plain reader got key %q value %q, want %q %q", m.Key, m.Value, want.Key, want.Value)
	}
	if len(m.Headers) != len(want.Headers) {
		t.Fatalf("plain reader got %d headers %v, want %d", len(m.Headers), m.Headers, len(want.Headers))
	}
	for i, h := range want.Headers {
		if m.Headers[i].Key != h.Key || !bytes.Equal(m.Headers[i].Value, h.Value) {
			t.Errorf("header %d = %s:%q, want %s:%q", i, m.Headers[i].Key, m.Headers[i].Value, h.Key, h.Value)
		}
	}
}

// Keys choose partitions as the Java client's default partitioner does, so
// Hotline and Java (or Kafka Streams, Connect...) producers agree on where a
// conversation's events go. The expected partitions were computed with
// org.apache.kafka.common.utils.Utils.murmur2 from kafka-clients 4.1.1:
// toPositive(murmur2(utf8(key))) % partitions.
func TestKeyPartitioningMatchesJavaClient(t *testing.T) {
	br := sharedBroker(t)
	topic8, topic3 := uniqueTopic(t, "murmur8"), uniqueTopic(t, "murmur3")
	b := newTestBus(t, br, func(c *Config) { c.Topics = map[string]int{topic8: 8, topic3: 3} })
	tests := []struct {
		key      string
		of8, of3 int
	}{
		{"conv-1", 4, 2},
		{"conv-42", 1, 0},
		{"tenant-acme", 4, 2},
		{"звонок", 1, 2},
		{"k3", 0, 1},
		{"+33612345678", 1, 1},
		{"a", 4, 1},
		{"ab", 2, 2},
		{"abc", 3, 0},
		{"abcde", 5, 1},
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, topic := range []string{topic8, topic3} {
		for _, tt := range tests {
			if err := b.Publish(ctx, topic, bus.Message{Key: []byte(tt.key), Value: []byte(tt.key)}); err != nil {
				t.Fatalf("Publish: %v", err)
			}
		}
		sub, err := b.Subscribe(ctx, topic, bus.SubscribeOptions{})
		if err != nil {
			t.Fatalf("Subscribe: %v", err)
		}
		got := map[string]int{}
		for range tests {
			d, err := sub.Receive(ctx)
			if err != nil {
				t.Fatalf("Receive: %v", err)
			}
			got[string(d.Key)] = d.Partition
		}
		_ = sub.Close()
		for _, tt := range tests {
			want := tt.of8
			if topic == topic3 {
				want = tt.of3
			}
			if p, ok := got[tt.key]; !ok || p != want {
				t.Errorf("key %q on %s: partition %d (received: %v), Java client: %d", tt.key, topic, p, ok, want)
			}
		}
	}
}

// A broker restart interrupts neither publishers nor subscribers: a Publish
// made while the broker is down returns once it is back, and a group member
// and a plain reader receive what is published after the restart, without
// losing what they acknowledged before.
func TestBrokerRestart(t *testing.T) {
	br := kafkatest.Start(t)
	if !br.CanRestart() {
		t.Skipf("the broker comes from %s and cannot be restarted by the test", kafkatest.EnvBrokers)
	}
	topic := uniqueTopic(t, "restart")
	b := newTestBus(t, br, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	group, err := b.Subscribe(ctx, topic, bus.SubscribeOptions{Group: "restart"})
	if err != nil {
		t.Fatalf("Subscribe group: %v", err)
	}
	defer group.Close()
	plain, err := b.Subscribe(ctx, topic, bus.SubscribeOptions{Start: bus.StartLatest})
	if err != nil {
		t.Fatalf("Subscribe plain: %v", err)
	}
	defer plain.Close()

	msgs := func(from, to int) []bus.Message {
		var out []bus.Message
		for i := from; i < to; i++ {
			out = append(out, bus.Message{Key: fmt.Appendf(nil, "k%d", i%5), Value: fmt.Appendf(nil, "m%d", i)})
		}
		return out
	}
	receive := func(sub bus.Subscription, n int) map[string]int {
		t.Helper()
		got := map[string]int{}
		for len(got) < n {
			d, err := sub.Receive(ctx)
			if err != nil {
				t.Fatalf("Receive after %d of %d distinct messages: %v", len(got), n, err)
			}
			if err := d.Ack(); err != nil {
				t.Fatalf("Ack: %v", err)
			}
			got[string(d.Value)]++
		}
		return got
	}

	if err := b.Publish(ctx, topic, msgs(0, 20)...); err != nil {
		t.Fatalf("Publish before restart: %v", err)
	}
	receive(group, 20)
	receive(plain, 20)
	waitCommitted(t, ctx, br, "restart", topic, 20)

	if err := br.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	// With the broker down, Publish keeps trying until its context ends.
	short, cancelShort := context.WithTimeout(ctx, 500*time.Millisecond)
	err = b.Publish(short, topic, msgs(1000, 1001)...)
	cancelShort()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Publish with the broker down = %v, want context.DeadlineExceeded", err)
	}
	if err := b.Ping(ctx); !errors.Is(err, ErrUnreachable) {
		t.Errorf("Ping with the broker down = %v, want ErrUnreachable", err)
	}

	published := make(chan error, 1)
	go func() { published <- b.Publish(ctx, topic, msgs(20, 40)...) }()
	// Give the publish time to fail at least once against the stopped broker.
	time.Sleep(time.Second)
	if err := br.Restart(); err != nil {
		t.Fatalf("Restart: %v", err)
	}
	if err := <-published; err != nil {
		t.Fatalf("Publish across the restart: %v", err)
	}
	if err := b.Ping(ctx); err != nil {
		t.Errorf("Ping after the restart: %v", err)
	}
	if err := b.Publish(ctx, topic, msgs(40, 60)...); err != nil {
		t.Fatalf("Publish after restart: %v", err)
	}

	// The group resumes from its committed offsets: the 40 new messages
	// come, and the 20 acknowledged before (committed within
	// CommitInterval, long before the stop) do not come again.
	got := receive(group, 40)
	for v := range got {
		var i int
		if _, err := fmt.Sscanf(v, "m%d", &i); err != nil || i < 20 || i >= 60 {
			t.Errorf("group received %q after the restart, want only m20..m59", v)
		}
	}
	got = receive(plain, 40)
	for v := range got {
		var i int
		if _, err := fmt.Sscanf(v, "m%d", &i); err != nil || i < 20 || i >= 60 {
			t.Errorf("plain reader received %q after the restart, want only m20..m59", v)
		}
	}
}

// waitCommitted waits until group's committed offsets on topic add up to n.
func waitCommitted(t *testing.T, ctx context.Context, br *kafkatest.Broker, group, topic string, n int64) {
	t.Helper()
	c := &kafkago.Client{Addr: kafkago.TCP(br.Brokers()...), Timeout: 10 * time.Second}
	var sum int64
	for ctx.Err() == nil {
		parts := make([]int, DefaultPartitions)
		for i := range parts {
			parts[i] = i
		}
		res, err := c.OffsetFetch(ctx, &kafkago.OffsetFetchRequest{GroupID: group, Topics: map[string][]int{topic: parts}})
		if err == nil {
			sum = 0
			for _, p := range res.Topics[topic] {
				if p.CommittedOffset > 0 {
					sum += p.CommittedOffset
				}
			}
			if sum == n {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("group %s: committed offsets on %s add up to %d, want %d", group, topic, sum, n)
}

// Messages up to MaxMessageBytes are accepted by the broker, several in one
// Publish too (the writer's batches and the topic's max.message.bytes leave
// room for Kafka's framing); one byte more is refused before sending.
func TestMessageSizeLimit(t *testing.T) {
	br := sharedBroker(t)
	topic := uniqueTopic(t, "size")
	const limit = 256 << 10
	b := newTestBus(t, br, func(c *Config) { c.MaxMessageBytes = limit })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	hdr := []bus.Header{{Key: "ce_id", Value: []byte("x")}}
	exact := func(fill byte) bus.Message {
		m := bus.Message{Key: []byte("k"), Headers: hdr}
		m.Value = bytes.Repeat([]byte{fill}, limit-m.Size())
		return m
	}
	msgs := []bus.Message{exact('a'), exact('b'), exact('c')}
	if n := msgs[0].Size(); n != limit {
		t.Fatalf("test message is %d bytes, want %d", n, limit)
	}
	if err := b.Publish(ctx, topic, msgs...); err != nil {
		t.Fatalf("Publish of 3 messages of exactly MaxMessageBytes: %v", err)
	}
	over := exact('d')
	over.Value = append(over.Value, 'd')
	if err := b.Publish(ctx, topic, over); !errors.Is(err, bus.ErrMessageTooLarge) {
		t.Fatalf("Publish of MaxMessageBytes+1 = %v, want ErrMessageTooLarge", err)
	}
	sub, err := b.Subscribe(ctx, topic, bus.SubscribeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	for i, m := range msgs {
		d, err := sub.Receive(ctx)
		if err != nil {
			t.Fatalf("Receive %d: %v", i, err)
		}
		if !bytes.Equal(d.Value, m.Value) {
			t.Fatalf("message %d: got %d bytes starting %q, want %d starting %q", i, len(d.Value), d.Value[:1], len(m.Value), m.Value[:1])
		}
	}
}

// One Publish of more messages than the writer batches at once is sent in
// chunks; a key's messages must still be stored in the order given.
func TestLargePublishKeepsKeyOrder(t *testing.T) {
	br := sharedBroker(t)
	topic := uniqueTopic(t, "bigbatch")
	b := newTestBus(t, br, nil)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	const n = 3*writerBatchSize + 17
	msgs := make([]bus.Message, n)
	for i := range msgs {
		msgs[i] = bus.Message{Key: []byte("one-key"), Value: fmt.Appendf(nil, "%d", i)}
	}
	if err := b.Publish(ctx, topic, msgs...); err != nil {
		t.Fatalf("Publish of %d messages: %v", n, err)
	}
	sub, err := b.Subscribe(ctx, topic, bus.SubscribeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	for i := 0; i < n; i++ {
		d, err := sub.Receive(ctx)
		if err != nil {
			t.Fatalf("Receive %d: %v", i, err)
		}
		if want := fmt.Sprint(i); string(d.Value) != want {
			t.Fatalf("message %d of the key is %q, want %q", i, d.Value, want)
		}
	}
}
