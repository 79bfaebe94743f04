package config

import (
	"fmt"
	"strings"

	"github.com/hotline-hub/hotline/bus"
	"github.com/hotline-hub/hotline/bus/embedded"
	"github.com/hotline-hub/hotline/bus/kafka"
)

// EmbeddedConfig is the bus/embedded configuration c describes.
func (c Config) EmbeddedConfig() embedded.Config {
	e := c.Bus.Embedded
	return embedded.Config{
		Dir:             c.EmbeddedDir(),
		Partitions:      e.Partitions,
		SegmentBytes:    e.SegmentBytes,
		RetentionBytes:  e.RetentionBytes,
		RetentionAge:    e.RetentionAge,
		CommitInterval:  e.CommitInterval,
		MaxMessageBytes: e.MaxMessageBytes,
	}
}

// KafkaConfig is the bus/kafka configuration c describes.
func (c Config) KafkaConfig() kafka.Config {
	k := c.Bus.Kafka
	var topics map[string]int
	if len(k.Topics) > 0 {
		topics = make(map[string]int, len(k.Topics))
		for _, t := range k.Topics {
			topics[t.Name] = t.Partitions
		}
	}
	return kafka.Config{
		Brokers:           append([]string(nil), k.Brokers...),
		ClientID:          k.ClientID,
		Partitions:        k.Partitions,
		ReplicationFactor: k.ReplicationFactor,
		Topics:            topics,
		BatchTimeout:      k.BatchTimeout,
		DialTimeout:       k.DialTimeout,
		CommitInterval:    k.CommitInterval,
		MaxMessageBytes:   k.MaxMessageBytes,
	}
}

// The bus packages own their limits (so they are written once), but their
// Validate stops at the first problem and names Go fields. To report every
// bad value by its key, each field is checked on its own, in a config that
// is otherwise valid, then the whole config, for rules across fields.

type fieldProbe[C any] struct {
	key string
	set func(dst *C, src C)
}

func probe[C interface{ Validate() error }](ck *checker, section string, base, full C, fields []fieldProbe[C], msg func(error) string) {
	found := false
	for _, f := range fields {
		if ck.has(f.key) {
			found = true // already reported in Hotline's own words
			continue
		}
		one := base
		f.set(&one, full)
		if err := one.Validate(); err != nil {
			ck.add(f.key, "%s", msg(err))
			found = true
		}
	}
	if err := full.Validate(); err != nil && !found {
		ck.add(section, "%s", msg(err))
	}
}

func validateEmbedded(ck *checker, c Config) {
	full := c.EmbeddedConfig()
	if strings.TrimSpace(full.Dir) == "" {
		ck.add("bus.embedded.dir", "must not be empty (it defaults to <data_dir>/bus)")
		full.Dir = "unset" // keep checking the other fields
	}
	// Zero means "the bus's default" to bus/embedded; in Hotline's file the
	// defaults are explicit, so a zero interval is a mistake.
	if c.Bus.Embedded.CommitInterval == 0 {
		ck.positive("bus.embedded.commit_interval", 0)
	}
	type E = embedded.Config
	probe(ck, "bus.embedded", E{Dir: full.Dir}, full, []fieldProbe[E]{
		{"bus.embedded.partitions", func(d *E, s E) { d.Partitions = s.Partitions }},
		{"bus.embedded.segment_bytes", func(d *E, s E) { d.SegmentBytes = s.SegmentBytes }},
		{"bus.embedded.retention_bytes", func(d *E, s E) { d.RetentionBytes = s.RetentionBytes }},
		{"bus.embedded.retention_age", func(d *E, s E) { d.RetentionAge = s.RetentionAge }},
		{"bus.embedded.commit_interval", func(d *E, s E) { d.CommitInterval = s.CommitInterval }},
		{"bus.embedded.max_message_bytes", func(d *E, s E) { d.MaxMessageBytes = s.MaxMessageBytes }},
	}, embeddedMessage)
}

func validateKafka(ck *checker, c Config) {
	k := c.Bus.Kafka
	if len(k.Brokers) == 0 {
		ck.add("bus.kafka.brokers", "must name at least one broker as host:port")
	}
	for i, b := range k.Brokers {
		ck.hostPort(fmt.Sprintf("bus.kafka.brokers[%d]", i), b, false)
	}
	seen := map[string]bool{}
	for i, t := range k.Topics {
		key := fmt.Sprintf("bus.kafka.topics[%d]", i)
		if err := bus.ValidTopic(t.Name); err != nil {
			ck.add(key+".name", "%v", err)
		} else if seen[t.Name] {
			ck.add(key+".name", "topic %q is listed twice", t.Name)
		}
		seen[t.Name] = true
		if t.Partitions < 1 {
			ck.add(key+".partitions", "must be at least 1, got %d", t.Partitions)
		}
	}
	ck.positive("bus.kafka.batch_timeout", k.BatchTimeout)
	ck.positive("bus.kafka.dial_timeout", k.DialTimeout)
	ck.positive("bus.kafka.commit_interval", k.CommitInterval)
	if k.Partitions == 0 {
		ck.add("bus.kafka.partitions", "must be at least 1, got 0")
	}
	if k.ReplicationFactor == 0 {
		ck.add("bus.kafka.replication_factor", "must be at least 1, got 0")
	}

	full := c.KafkaConfig()
	type K = kafka.Config
	base := K{Brokers: []string{"127.0.0.1:9092"}}
	probe(ck, "bus.kafka", base, full, []fieldProbe[K]{
		{"bus.kafka.brokers", func(d *K, s K) { d.Brokers = s.Brokers }},
		{"bus.kafka.client_id", func(d *K, s K) { d.ClientID = s.ClientID }},
		{"bus.kafka.partitions", func(d *K, s K) { d.Partitions = s.Partitions }},
		{"bus.kafka.replication_factor", func(d *K, s K) { d.ReplicationFactor = s.ReplicationFactor }},
		{"bus.kafka.topics", func(d *K, s K) { d.Topics = s.Topics }},
		{"bus.kafka.batch_timeout", func(d *K, s K) { d.BatchTimeout = s.BatchTimeout }},
		{"bus.kafka.dial_timeout", func(d *K, s K) { d.DialTimeout = s.DialTimeout }},
		{"bus.kafka.commit_interval", func(d *K, s K) { d.CommitInterval = s.CommitInterval }},
		{"bus.kafka.max_message_bytes", func(d *K, s K) { d.MaxMessageBytes = s.MaxMessageBytes }},
	}, kafkaMessage)
}

// embeddedMessage turns "embedded: partitions must be 1..4096, got 0" into
// "must be 1..4096, got 0": the key already names the field.
func embeddedMessage(err error) string {
	msg := err.Error()
	if i := strings.Index(msg, " must "); i >= 0 {
		return msg[i+1:]
	}
	return msg
}

// kafkaMessage drops bus/kafka's prefix: "kafka: config: Partitions is -1;
// it must be at least 1 (0 means 8)" reads well after the key.
func kafkaMessage(err error) string {
	return strings.TrimPrefix(err.Error(), "kafka: config: ")
}
