package config

import (
	"path/filepath"
	"time"

	"github.com/hotline-hub/hotline/bus/embedded"
	"github.com/hotline-hub/hotline/bus/kafka"
)

// Default is the configuration with nothing set: everything under ./data,
// the embedded bus, HTTP on the loopback interface only. It is enough to run
// `hotline serve` on a laptop.
func Default() Config {
	return Config{
		DataDir:         "./data",
		ShutdownTimeout: 15 * time.Second,
		Log:             Log{Level: "info", Format: "text"},
		HTTP: HTTP{
			Addr:         "127.0.0.1:8080",
			ReadyTimeout: 2 * time.Second,
		},
		Auth: Auth{
			DefaultTenant:   "demo",
			SessionIdle:     2 * time.Hour,
			SessionLifetime: 12 * time.Hour,
		},
		Search: Search{
			Driver: SearchEmbedded,
			Elasticsearch: Elasticsearch{
				Addresses:      []string{"http://127.0.0.1:9200"},
				IndexPrefix:    "hotline",
				RequestTimeout: 10 * time.Second,
			},
		},
		Voice:   defaultVoice(),
		Runtime: Runtime{SteadySysmon: true},
		Bus: Bus{
			Driver: DriverEmbedded,
			Embedded: Embedded{
				Partitions:      embedded.DefaultPartitions,
				SegmentBytes:    embedded.DefaultSegmentBytes,
				CommitInterval:  embedded.DefaultCommitInterval,
				MaxMessageBytes: embedded.DefaultMaxMessageBytes,
				// Retention 0 keeps everything: the log is Hotline's
				// source of truth, so deleting from it is an explicit choice.
			},
			Kafka: Kafka{
				Brokers:           []string{"127.0.0.1:9092"},
				ClientID:          kafka.DefaultClientID,
				Partitions:        kafka.DefaultPartitions,
				ReplicationFactor: kafka.DefaultReplicationFactor,
				BatchTimeout:      kafka.DefaultBatchTimeout,
				DialTimeout:       kafka.DefaultDialTimeout,
				CommitInterval:    kafka.DefaultCommitInterval,
				MaxMessageBytes:   kafka.DefaultMaxMessageBytes,
			},
		},
	}
}

// SearchDir is where the embedded search index lives.
func (c Config) SearchDir() string {
	if c.Search.Embedded.Dir != "" {
		return c.Search.Embedded.Dir
	}
	return filepath.Join(c.DataDir, "search")
}

// EmbeddedDir is where the embedded bus keeps its log.
func (c Config) EmbeddedDir() string {
	if c.Bus.Embedded.Dir != "" {
		return c.Bus.Embedded.Dir
	}
	return filepath.Join(c.DataDir, "bus")
}
