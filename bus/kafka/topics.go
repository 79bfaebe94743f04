package kafka

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/protocol/listoffsets"
	metadataapi "github.com/segmentio/kafka-go/protocol/metadata"

	"github.com/hotline-hub/hotline/bus"
)

// ensureTopic returns the partition count of topic, creating the topic with
// cfg.Partitions if it does not exist. Known topics are cached, so only the
// first use of a topic costs a round trip.
// Concurrent first uses of a topic share one creation.
func (b *Bus) ensureTopic(ctx context.Context, topic string) (int, error) {
	b.topicsMu.Lock()
	if n, ok := b.topics[topic]; ok {
		b.topicsMu.Unlock()
		return n, nil
	}
	if c := b.creating[topic]; c != nil {
		b.topicsMu.Unlock()
		select {
		case <-c.done:
			return c.parts, c.err
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
	c := &creation{done: make(chan struct{})}
	b.creating[topic] = c
	b.topicsMu.Unlock()

	c.parts, c.err = b.createTopic(ctx, topic, b.cfg.Partitions)
	b.topicsMu.Lock()
	delete(b.creating, topic)
	b.topicsMu.Unlock()
	close(c.done)
	return c.parts, c.err
}

// creation is a topic creation under way, which later callers wait for.
type creation struct {
	done  chan struct{}
	parts int
	err   error
}

func (b *Bus) forgetTopic(topic string) {
	b.topicsMu.Lock()
	delete(b.topics, topic)
	b.topicsMu.Unlock()
}

// createTopic creates topic with n partitions unless it exists, waits until
// the bus's metadata knows it, and returns its partition count.
func (b *Bus) createTopic(ctx context.Context, topic string, n int) (int, error) {
	if parts, err := b.partitions(ctx, topic); err == nil {
		return b.remember(topic, parts, n), nil
	}
	res, err := b.client.CreateTopics(ctx, &kafkago.CreateTopicsRequest{
		Topics: []kafkago.TopicConfig{{
			Topic:             topic,
			NumPartitions:     n,
			ReplicationFactor: b.cfg.ReplicationFactor,
			ConfigEntries: []kafkago.ConfigEntry{{
				// Room for the largest batch the writer sends (BatchBytes).
				ConfigName:  "max.message.bytes",
				ConfigValue: strconv.Itoa(b.cfg.MaxMessageBytes + 2*batchOverhead),
			}},
		}},
	})
	if err != nil {
		return 0, err
	}
	created := true
	if err := res.Errors[topic]; err != nil {
		if !errors.Is(err, kafkago.TopicAlreadyExists) {
			return 0, err
		}
		created = false
	}
	if created {
		b.log.Info("kafka topic created", "topic", topic, "partitions", n, "replication_factor", b.cfg.ReplicationFactor)
	} else if err := b.refreshMetadata(ctx, topic); err != nil {
		// Someone else created it since our metadata was refreshed.
		return 0, err
	}
	parts, err := b.partitions(ctx, topic)
	if err != nil {
		return 0, err
	}
	return b.remember(topic, parts, n), nil
}

func (b *Bus) remember(topic string, parts, wanted int) int {
	b.topicsMu.Lock()
	_, known := b.topics[topic]
	b.topics[topic] = parts
	b.topicsMu.Unlock()
	if !known && parts != wanted && wanted != b.cfg.Partitions {
		b.log.Warn("kafka topic exists with another partition count; keeping it", "topic", topic, "partitions", parts, "configured", wanted)
	}
	return parts
}

// partitions returns topic's partition count from the transport's metadata
// cache (which Publish's writer shares).
func (b *Bus) partitions(ctx context.Context, topic string) (int, error) {
	md, err := b.client.Metadata(ctx, &kafkago.MetadataRequest{Topics: []string{topic}})
	if err != nil {
		return 0, err
	}
	for _, t := range md.Topics {
		if t.Name != topic {
			continue
		}
		if t.Error != nil {
			return 0, t.Error
		}
		if len(t.Partitions) == 0 {
			return 0, kafkago.UnknownTopicOrPartition
		}
		return len(t.Partitions), nil
	}
	return 0, kafkago.UnknownTopicOrPartition
}

// refreshMetadata makes the shared transport fetch topic's metadata from a
// broker now rather than at its next periodic refresh. kafka-go sends a
// metadata request past its cache only when the request allows topic
// auto-creation; callers use it for topics known to exist.
func (b *Bus) refreshMetadata(ctx context.Context, topic string) error {
	_, err := b.transport.RoundTrip(ctx, b.addr, &metadataapi.Request{
		TopicNames:             []string{topic},
		AllowAutoTopicCreation: true,
	})
	return err
}

// EndOffsets returns, for each partition of topic, the offset the next
// message will get (the high watermark: with acks=all, everything below it
// is on every in-sync replica): a reader that has read up to there has seen
// every message published so far. The topic is created if it does not exist,
// as Subscribe does; errors a broker may recover from are retried until
// ctx ends.
func (b *Bus) EndOffsets(ctx context.Context, topic string) (map[int]int64, error) {
	if err := bus.ValidTopic(topic); err != nil {
		return nil, err
	}
	if err := b.enter(); err != nil {
		return nil, err
	}
	defer b.publishes.Done()
	var ends map[int]int64
	// Retried like Subscribe: a topic just created has no leader yet.
	err := b.retry(ctx, "reading end offsets of "+topic, func() error {
		parts, err := b.ensureTopic(ctx, topic)
		if err == nil {
			ends, err = b.endOffsets(ctx, topic, parts)
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("kafka: %w", err)
	}
	return ends, nil
}

// endOffsets returns, for each of topic's parts partitions, the offset the
// next message will get.
func (b *Bus) endOffsets(ctx context.Context, topic string, parts int) (map[int]int64, error) {
	req := &listoffsets.Request{
		ReplicaID: -1,
		Topics:    []listoffsets.RequestTopic{{Topic: topic}},
	}
	for p := range parts {
		req.Topics[0].Partitions = append(req.Topics[0].Partitions, listoffsets.RequestPartition{
			Partition:          int32(p),
			CurrentLeaderEpoch: -1,
			Timestamp:          kafkago.LastOffset,
		})
	}
	// Raw protocol request: kafka-go's Client.ListOffsets files answers to
	// "earliest"/"latest" queries by the returned timestamp, which brokers
	// set to -1 for both.
	m, err := b.transport.RoundTrip(ctx, b.addr, req)
	if err != nil {
		return nil, err
	}
	res, ok := m.(*listoffsets.Response)
	if !ok {
		return nil, fmt.Errorf("kafka: unexpected ListOffsets response %T", m)
	}
	out := make(map[int]int64, parts)
	for _, t := range res.Topics {
		for _, p := range t.Partitions {
			if p.ErrorCode != 0 {
				return nil, fmt.Errorf("kafka: end offset of %s/%d: %w", topic, p.Partition, kafkago.Error(p.ErrorCode))
			}
			out[int(p.Partition)] = p.Offset
		}
	}
	if len(out) != parts {
		return nil, fmt.Errorf("kafka: end offsets of %q: got %d of %d partitions", topic, len(out), parts)
	}
	return out, nil
}
