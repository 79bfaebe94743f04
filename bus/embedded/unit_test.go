package embedded

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/hotline-hub/hotline/bus"
)

// Kafka's own vectors: org.apache.kafka.common.utils.UtilsTest.testMurmur2
// (Java int results) and librdkafka's rdmurmur2.c unit test.
func TestMurmur2KafkaVectors(t *testing.T) {
	java := map[string]int32{
		"21":                         -973932308,
		"foobar":                     -790332482,
		"a-little-bit-long-string":   -985981536,
		"a-little-bit-longer-string": -1486304829,
		"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": -58897971,
		"abc": 479470107,
	}
	for k, want := range java {
		if got := int32(murmur2([]byte(k))); got != want {
			t.Errorf("murmur2(%q) = %d, want %d (Kafka UtilsTest)", k, got, want)
		}
	}
	librdkafka := map[string]uint32{
		"kafka":                                  0xd067cf64,
		"giberish123456789":                      0x8f552b0c,
		"1234":                                   0x9fc97b14,
		"234":                                    0xe7c009ca,
		"34":                                     0x873930da,
		"4":                                      0x5a4b5ca1,
		"PreAmbleWillBeRemoved,ThePrePartThatIs": 0x78424f1c,
		"reAmbleWillBeRemoved,ThePrePartThatIs":  0x4a62b377,
		"eAmbleWillBeRemoved,ThePrePartThatIs":   0xe0e4e09e,
		"AmbleWillBeRemoved,ThePrePartThatIs":    0x62b8b43f,
		"":                                       0x106e08d9,
	}
	for k, want := range librdkafka {
		if got := murmur2([]byte(k)); got != want {
			t.Errorf("murmur2(%q) = %#x, want %#x (librdkafka)", k, got, want)
		}
	}
}

// Partition numbers as Kafka's default partitioner computes them:
// Utils.toPositive(Utils.murmur2(key)) % numPartitions.
func TestKeyPartitionMatchesKafka(t *testing.T) {
	cases := []struct {
		key        string
		partitions int
		want       int
	}{
		// toPositive(-973932308) = 1173551340
		{"21", 4, 1173551340 % 4},
		{"21", 8, 1173551340 % 8},
		// toPositive(-790332482) = 1357151166
		{"foobar", 3, 1357151166 % 3},
		{"foobar", 12, 1357151166 % 12},
		{"abc", 7, 479470107 % 7},
		// librdkafka partitioner test (0048): "23456" hashes to 0x058d780f.
		{"23456", 17, 0x058d780f % 17},
		{"this is another string with more length to it perhaps", 17, 0x4f7703da % 17},
	}
	for _, c := range cases {
		if got := keyPartition([]byte(c.key), c.partitions); got != c.want {
			t.Errorf("keyPartition(%q, %d) = %d, want %d", c.key, c.partitions, got, c.want)
		}
	}
}

func TestRoundRobinWithoutKey(t *testing.T) {
	tp := &topic{parts: make([]*partition, 3)}
	var got []int
	for i := 0; i < 7; i++ {
		got = append(got, tp.partitionFor(&bus.Message{}))
	}
	want := []int{0, 1, 2, 0, 1, 2, 0}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("partitions for empty keys = %v, want %v", got, want)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	cases := []struct {
		name string
		cfg  Config
		want string // substring of the error; "" for valid
	}{
		{"defaults", Config{Dir: "d"}, ""},
		{"all set", Config{Dir: "d", Partitions: 16, SegmentBytes: 1 << 20, RetentionBytes: 1 << 30, RetentionAge: time.Hour, CommitInterval: time.Second, MaxMessageBytes: 4 << 20, CheckpointInterval: 5 * time.Second}, ""},
		{"no dir", Config{}, "dir is required"},
		{"negative partitions", Config{Dir: "d", Partitions: -1}, "partitions must be 1..4096, got -1"},
		{"too many partitions", Config{Dir: "d", Partitions: 5000}, "partitions must be 1..4096, got 5000"},
		{"tiny segments", Config{Dir: "d", SegmentBytes: 100}, "segment bytes must be 1024..1073741824, got 100"},
		{"negative segments", Config{Dir: "d", SegmentBytes: -1}, "segment bytes must be"},
		{"huge segments", Config{Dir: "d", SegmentBytes: 2 << 30}, "segment bytes must be"},
		{"negative retention bytes", Config{Dir: "d", RetentionBytes: -5}, "retention bytes must be 0 (keep everything) or positive, got -5"},
		{"negative retention age", Config{Dir: "d", RetentionAge: -time.Second}, "retention age must be 0 (keep forever) or positive, got -1s"},
		{"negative commit interval", Config{Dir: "d", CommitInterval: -time.Millisecond}, "commit interval must be positive, got -1ms"},
		{"negative max message", Config{Dir: "d", MaxMessageBytes: -1}, "max message bytes must be 1..67108864, got -1"},
		{"negative checkpoint interval", Config{Dir: "d", CheckpointInterval: -time.Second}, "checkpoint interval must be positive, got -1s"},
		{"huge max message", Config{Dir: "d", MaxMessageBytes: 1 << 30}, "max message bytes must be"},
	}
	for _, c := range cases {
		err := c.cfg.Validate()
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: Validate() = %v, want nil", c.name, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: Validate() = %v, want an error containing %q", c.name, err, c.want)
		case err != nil && !strings.HasPrefix(err.Error(), "embedded: "):
			t.Errorf("%s: error %q does not start with the package name", c.name, err)
		}
	}
	d := Config{Dir: "d"}.withDefaults()
	if d.Partitions != 8 || d.SegmentBytes != 64<<20 || d.CommitInterval != time.Second || d.MaxMessageBytes != 1<<20 || d.RetentionBytes != 0 || d.RetentionAge != 0 || d.CheckpointInterval != time.Second {
		t.Errorf("defaults = %+v", d)
	}
	if _, err := Open(Config{Dir: t.TempDir(), Partitions: -3}, nil); err == nil || !strings.Contains(err.Error(), "got -3") {
		t.Errorf("Open with a bad config = %v, want the validation error", err)
	}
}

func TestFrameRoundTrip(t *testing.T) {
	msgs := []bus.Message{
		{},
		{Key: []byte("k"), Value: []byte("v")},
		{Key: []byte("conv-1"), Value: bytes.Repeat([]byte{0, 1, 2, 0xff}, 1000),
			Headers: []bus.Header{{Key: "ce_id", Value: []byte("1")}, {Key: "dup", Value: nil}, {Key: "", Value: []byte{0}}}},
	}
	var buf []byte
	for i := range msgs {
		buf = appendFrame(buf, &msgs[i], int64(100+i), int64(1e18)+int64(i))
	}
	// Seal as one batch, as the writer does.
	for q := 0; q < len(buf); {
		fl := 4 + frameLen(buf[q:])
		sealFrame(buf[q:q+fl], q)
		q += fl
	}
	pos := 0
	for i, want := range msgs {
		h, err := checkFrame(buf[pos:])
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if h.size != frameSize(&msgs[i]) || h.offset != int64(100+i) || h.unixNano != int64(1e18)+int64(i) || h.batchPos != pos {
			t.Errorf("frame %d head = %+v", i, h)
		}
		got, err := decodeMessage(buf[pos : pos+h.size])
		if err != nil {
			t.Fatalf("decode %d: %v", i, err)
		}
		if !bytes.Equal(got.Key, want.Key) || !bytes.Equal(got.Value, want.Value) || len(got.Headers) != len(want.Headers) {
			t.Errorf("message %d = %+v, want %+v", i, got, want)
		}
		for j := range want.Headers {
			if got.Headers[j].Key != want.Headers[j].Key || !bytes.Equal(got.Headers[j].Value, want.Headers[j].Value) {
				t.Errorf("message %d header %d = %+v, want %+v", i, j, got.Headers[j], want.Headers[j])
			}
		}
		pos += h.size
	}
	// Every single-bit flip after the length field is caught by the CRC.
	first := buf[frameSize(&msgs[0])+frameSize(&msgs[1]):]
	for bit := 32; bit < len(first)*8; bit += 37 {
		c := bytes.Clone(first)
		c[bit/8] ^= 1 << (bit % 8)
		if _, err := checkFrame(c); err == nil {
			t.Fatalf("flipping bit %d went unnoticed", bit)
		}
	}
	// A cut frame is short, a zero length is the end.
	if _, err := checkFrame(first[:len(first)-1]); err != errShortFrame {
		t.Errorf("cut frame: %v, want errShortFrame", err)
	}
	if _, err := checkFrame(make([]byte, 64)); err != errBadLength {
		t.Errorf("zero frame: %v, want errBadLength", err)
	}
}

// The syncer syncs at once when as many records are written as the last
// sync acknowledged (a lone publisher, closed loops), else it waits out the
// rest of syncGap since the last sync began.
func TestSyncWait(t *testing.T) {
	t0 := time.Date(2026, 11, 24, 2, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		pending, released int
		since             time.Duration
		want              time.Duration
	}{
		{1, 1, 0, 0},
		{16, 16, 0, 0},
		{20, 16, 0, 0},
		{1, 0, 0, 0},
		{15, 16, 0, syncGap},
		{3, 9, syncGap / 4, syncGap * 3 / 4},
		{3, 9, syncGap, 0},
		{3, 9, 10 * syncGap, 0},
	} {
		if got := syncWait(c.pending, c.released, t0, t0.Add(c.since)); got != c.want {
			t.Errorf("syncWait(%d pending, %d released, %s after the last sync) = %s, want %s", c.pending, c.released, c.since, got, c.want)
		}
	}
}
