package config

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestDefaultIsValid(t *testing.T) {
	if err := Default().Validate(); err != nil {
		t.Fatalf("Default().Validate() = %v", err)
	}
}

func TestValidateNamesKey(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Config)
		key    string
		msg    string // substring of the message after "key: "
	}{
		{"empty data dir", func(c *Config) { c.DataDir = " " }, "data_dir", "must not be empty"},
		{"shutdown timeout", func(c *Config) { c.ShutdownTimeout = 0 }, "shutdown_timeout", "must be a positive duration, got 0s"},
		{"log level", func(c *Config) { c.Log.Level = "loud" }, "log.level", `got "loud"`},
		{"log format", func(c *Config) { c.Log.Format = "xml" }, "log.format", "must be one of text, json"},
		{"http addr no port", func(c *Config) { c.HTTP.Addr = "localhost" }, "http.addr", "must be host:port"},
		{"http addr bad port", func(c *Config) { c.HTTP.Addr = "127.0.0.1:99999" }, "http.addr", "port must be a number 0..65535"},
		{"ready timeout", func(c *Config) { c.HTTP.ReadyTimeout = -time.Second }, "http.ready_timeout", "must be a positive duration"},
		{"driver", func(c *Config) { c.Bus.Driver = "rabbitmq" }, "bus.driver", `must be one of embedded, kafka, got "rabbitmq"`},
		{"search driver", func(c *Config) { c.Search.Driver = "solr" }, "search.driver", `must be one of embedded, elasticsearch, got "solr"`},
		{"es address", func(c *Config) { c.Search.Elasticsearch.Addresses = []string{"es-1:9200"} }, "search.elasticsearch.addresses[0]", "must be http(s)://host:port"},
		{"es no address", func(c *Config) { c.Search.Elasticsearch.Addresses = nil }, "search.elasticsearch.addresses", "at least one"},
		{"es key and user", func(c *Config) { c.Search.Elasticsearch.APIKey, c.Search.Elasticsearch.Username = "k", "u" }, "search.elasticsearch.api_key", "not both"},
		{"es prefix", func(c *Config) { c.Search.Elasticsearch.IndexPrefix = "Hot*" }, "search.elasticsearch.index_prefix", "lower-case"},
		{"embedded partitions", func(c *Config) { c.Bus.Embedded.Partitions = 5000 }, "bus.embedded.partitions", "must be 1..4096, got 5000"},
		{"embedded segment", func(c *Config) { c.Bus.Embedded.SegmentBytes = 10 }, "bus.embedded.segment_bytes", "got 10"},
		{"embedded retention", func(c *Config) { c.Bus.Embedded.RetentionBytes = -1 }, "bus.embedded.retention_bytes", "got -1"},
		{"embedded retention age", func(c *Config) { c.Bus.Embedded.RetentionAge = -time.Hour }, "bus.embedded.retention_age", "got -1h0m0s"},
		{"embedded commit interval", func(c *Config) { c.Bus.Embedded.CommitInterval = -time.Second }, "bus.embedded.commit_interval", "must be positive"},
		{"embedded max message", func(c *Config) { c.Bus.Embedded.MaxMessageBytes = -5 }, "bus.embedded.max_message_bytes", "got -5"},
		{"kafka no brokers", func(c *Config) { c.Bus.Kafka.Brokers = nil }, "bus.kafka.brokers", "at least one broker"},
		{"kafka bad broker", func(c *Config) { c.Bus.Kafka.Brokers = []string{"a:9092", "b"} }, "bus.kafka.brokers[1]", "must be host:port"},
		{"kafka broker port 0", func(c *Config) { c.Bus.Kafka.Brokers = []string{"a:0"} }, "bus.kafka.brokers[0]", "port must be a number 1..65535"},
		{"kafka topic name", func(c *Config) { c.Bus.Kafka.Topics = []KafkaTopic{{Name: "a b", Partitions: 1}} }, "bus.kafka.topics[0].name", "invalid topic name"},
		{"kafka topic partitions", func(c *Config) { c.Bus.Kafka.Topics = []KafkaTopic{{Name: "ab", Partitions: 0}} }, "bus.kafka.topics[0].partitions", "at least 1"},
		{"kafka broker without host", func(c *Config) { c.Bus.Kafka.Brokers = []string{":9092"} }, "bus.kafka.brokers", `broker ":9092" has no host`},
		{"kafka partitions zero", func(c *Config) { c.Bus.Kafka.Partitions = 0 }, "bus.kafka.partitions", "must be at least 1, got 0"},
		{"kafka partitions negative", func(c *Config) { c.Bus.Kafka.Partitions = -3 }, "bus.kafka.partitions", "Partitions is -3"},
		{"kafka replication", func(c *Config) { c.Bus.Kafka.ReplicationFactor = 40000 }, "bus.kafka.replication_factor", "must be 1 to 32767"},
		{"kafka max message", func(c *Config) { c.Bus.Kafka.MaxMessageBytes = 1 << 30 }, "bus.kafka.max_message_bytes", "MaxMessageBytes is 1073741824"},
		{"kafka duplicate topic", func(c *Config) { c.Bus.Kafka.Topics = []KafkaTopic{{"a", 1}, {"a", 2}} }, "bus.kafka.topics[1].name", "listed twice"},
		{"embedded commit interval zero", func(c *Config) { c.Bus.Embedded.CommitInterval = 0 }, "bus.embedded.commit_interval", "must be a positive duration, got 0s"},
		{"kafka dial timeout", func(c *Config) { c.Bus.Kafka.DialTimeout = 0 }, "bus.kafka.dial_timeout", "positive duration"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := Default()
			tc.mutate(&c)
			err := c.Validate()
			var verr *ValidationError
			if !errors.As(err, &verr) || !errors.Is(err, ErrInvalid) {
				t.Fatalf("Validate() = %v, want a *ValidationError", err)
			}
			if len(verr.Problems) != 1 {
				t.Fatalf("problems = %v, want exactly one", verr.Problems)
			}
			p := verr.Problems[0]
			if p.Key != tc.key || !strings.Contains(p.Msg, tc.msg) {
				t.Errorf("problem = %q, want key %q with %q", p, tc.key, tc.msg)
			}
			if strings.HasPrefix(p.Msg, "embedded:") || strings.HasPrefix(p.Msg, "kafka:") {
				t.Errorf("message %q repeats the package prefix after its key", p.Msg)
			}
		})
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	c := Default()
	c.Log.Level = "loud"
	c.Bus.Driver = "nats"
	c.Bus.Embedded.Partitions = 0 // zero means the bus's default: valid
	c.Bus.Embedded.SegmentBytes = 1
	c.Bus.Kafka.Brokers = []string{"nope"}
	err := c.Validate()
	var verr *ValidationError
	if !errors.As(err, &verr) {
		t.Fatalf("Validate() = %v", err)
	}
	var keys []string
	for _, p := range verr.Problems {
		keys = append(keys, p.Key)
	}
	want := []string{"log.level", "bus.driver", "bus.embedded.segment_bytes", "bus.kafka.brokers[0]"}
	if strings.Join(keys, " ") != strings.Join(want, " ") {
		t.Errorf("keys = %v, want %v", keys, want)
	}
	for _, k := range want {
		if !strings.Contains(err.Error(), k+": ") {
			t.Errorf("Error() lacks %q: %s", k, err)
		}
	}
}

func TestBusConfigs(t *testing.T) {
	c := Default()
	c.DataDir = "/srv/h"
	c.Bus.Kafka.Topics = []KafkaTopic{{"hotline.conversations", 24}, {"hotline.agents", 3}}
	k := c.KafkaConfig()
	if len(k.Topics) != 2 || k.Topics["hotline.conversations"] != 24 || k.Topics["hotline.agents"] != 3 {
		t.Errorf("kafka topics = %v", k.Topics)
	}
	if err := k.Validate(); err != nil {
		t.Errorf("kafka config of the defaults: %v", err)
	}
	e := c.EmbeddedConfig()
	if e.Dir != "/srv/h/bus" || e.Partitions != c.Bus.Embedded.Partitions {
		t.Errorf("embedded config = %+v", e)
	}
	c.Bus.Embedded.Dir = "/elsewhere"
	if got := c.EmbeddedConfig().Dir; got != "/elsewhere" {
		t.Errorf("bus.embedded.dir ignored: %q", got)
	}
}

func TestValidateRuntime(t *testing.T) {
	tests := []struct {
		name string
		rt   Runtime
		key  string // "" when valid
		msg  string
	}{
		{"not set", Runtime{}, "", ""},
		{"limit and off", Runtime{MemoryLimit: 900 << 20, GCPercent: -1}, "", ""},
		{"percent alone", Runtime{GCPercent: 400}, "", ""},
		{"limit too small", Runtime{MemoryLimit: 1 << 20}, "runtime.memory_limit", "at least 64MiB, got 1MiB"},
		{"negative limit", Runtime{MemoryLimit: -5}, "runtime.memory_limit", "got -5"},
		{"percent below -1", Runtime{GCPercent: -2}, "runtime.gc_percent", "got -2"},
		{"off without limit", Runtime{GCPercent: -1}, "runtime.gc_percent", "-1 needs runtime.memory_limit"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := Default()
			c.Runtime = tc.rt
			err := c.Validate()
			if tc.key == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			var ve *ValidationError
			if !errors.As(err, &ve) || len(ve.Problems) != 1 {
				t.Fatalf("Validate() = %v, want one problem", err)
			}
			if p := ve.Problems[0]; p.Key != tc.key || !strings.Contains(p.Msg, tc.msg) {
				t.Errorf("problem = %q, want key %s and %q", p, tc.key, tc.msg)
			}
		})
	}
}
