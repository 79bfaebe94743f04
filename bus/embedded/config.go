package embedded

import (
	"fmt"
	"time"
)

// Defaults applied by Open to zero fields of Config.
const (
	DefaultPartitions      = 8
	DefaultSegmentBytes    = 64 << 20
	DefaultCommitInterval  = time.Second
	DefaultMaxMessageBytes = 1 << 20
	DefaultCheckpoint      = time.Second

	maxPartitions   = 4096
	minSegmentBytes = 1 << 10
	maxSegmentBytes = 1 << 30
	maxMessageLimit = 64 << 20
)

// Config configures an embedded bus. Zero fields take the defaults above
// (Dir excepted: it is required).
type Config struct {
	// Dir is where the log lives (e.g. ./data/bus). It is created if needed
	// and locked against a second process.
	Dir string
	// Partitions is the partition count of a topic created on first use.
	// An existing topic keeps the count it was created with.
	Partitions int
	// SegmentBytes is the size of one segment file.
	SegmentBytes int64
	// RetentionBytes bounds each partition's size; 0 keeps everything.
	// Whole old segments are deleted, never the one being written.
	RetentionBytes int64
	// RetentionAge deletes whole segments whose newest record is older;
	// 0 keeps everything.
	RetentionAge time.Duration
	// CommitInterval is how often acknowledged group offsets are written.
	// They are also written on Subscription.Close and Bus.Close. Each
	// write of a group's offsets costs two fsyncs and a rename, while a
	// crash only redelivers what was acknowledged since the last write
	// (consumers are idempotent), so the default is Kafka's order of
	// magnitude rather than a publish cycle's.
	CommitInterval time.Duration
	// MaxMessageBytes bounds Message.Size(); Publish of a larger message
	// returns bus.ErrMessageTooLarge and stores nothing of that call.
	MaxMessageBytes int
	// CheckpointInterval is how often the partition files are synced so
	// that the write-ahead log before that point can be dropped (also when
	// the log passes 64 MiB, and on Close). Longer means fewer syncs and a
	// longer replay after a crash.
	CheckpointInterval time.Duration
}

// Validate reports the first field whose value cannot be used. Zero values
// are valid: they mean "the default".
func (c Config) Validate() error {
	switch {
	case c.Dir == "":
		return fmt.Errorf("embedded: dir is required")
	case c.Partitions != 0 && (c.Partitions < 1 || c.Partitions > maxPartitions):
		return fmt.Errorf("embedded: partitions must be 1..%d, got %d", maxPartitions, c.Partitions)
	case c.SegmentBytes != 0 && (c.SegmentBytes < minSegmentBytes || c.SegmentBytes > maxSegmentBytes):
		return fmt.Errorf("embedded: segment bytes must be %d..%d, got %d", minSegmentBytes, maxSegmentBytes, c.SegmentBytes)
	case c.RetentionBytes < 0:
		return fmt.Errorf("embedded: retention bytes must be 0 (keep everything) or positive, got %d", c.RetentionBytes)
	case c.RetentionAge < 0:
		return fmt.Errorf("embedded: retention age must be 0 (keep forever) or positive, got %s", c.RetentionAge)
	case c.CommitInterval < 0:
		return fmt.Errorf("embedded: commit interval must be positive, got %s", c.CommitInterval)
	case c.CheckpointInterval < 0:
		return fmt.Errorf("embedded: checkpoint interval must be positive, got %s", c.CheckpointInterval)
	case c.MaxMessageBytes < 0 || c.MaxMessageBytes > maxMessageLimit:
		return fmt.Errorf("embedded: max message bytes must be 1..%d, got %d", maxMessageLimit, c.MaxMessageBytes)
	}
	return nil
}

// withDefaults returns c with zero fields set to their defaults.
func (c Config) withDefaults() Config {
	if c.Partitions == 0 {
		c.Partitions = DefaultPartitions
	}
	if c.SegmentBytes == 0 {
		c.SegmentBytes = DefaultSegmentBytes
	}
	if c.CommitInterval == 0 {
		c.CommitInterval = DefaultCommitInterval
	}
	if c.MaxMessageBytes == 0 {
		c.MaxMessageBytes = DefaultMaxMessageBytes
	}
	if c.CheckpointInterval == 0 {
		c.CheckpointInterval = DefaultCheckpoint
	}
	return c
}
