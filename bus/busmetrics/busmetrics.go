// Package busmetrics instruments any bus.Bus with Prometheus metrics.
//
// It is a decorator rather than code inside each implementation so that the
// embedded and the Kafka bus report exactly the same series, measured at the
// same place (the caller's side of the interface), and so that a third
// implementation gets metrics for free. Series are labelled by topic and,
// for consumers, by group; both are few and chosen by Hotline itself, never
// by outside input, so cardinality stays bounded.
package busmetrics

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hotline-hub/hotline/bus"
)

// Metric names, exported so that dashboards, alerts and tests refer to one
// spelling.
const (
	NamePublishes       = "hotline_bus_publishes_total"
	NamePublishedMsgs   = "hotline_bus_published_messages_total"
	NamePublishErrors   = "hotline_bus_publish_errors_total"
	NamePublishDuration = "hotline_bus_publish_duration_seconds"
	NameDeliveries      = "hotline_bus_deliveries_total"
	NameAcks            = "hotline_bus_acks_total"
	NameAckErrors       = "hotline_bus_ack_errors_total"
)

// Metrics holds the collectors. One Metrics is registered once per registry
// and may instrument several buses.
type Metrics struct {
	publishes       *prometheus.CounterVec
	publishedMsgs   *prometheus.CounterVec
	publishErrors   *prometheus.CounterVec
	publishDuration *prometheus.HistogramVec
	deliveries      *prometheus.CounterVec
	acks            *prometheus.CounterVec
	ackErrors       *prometheus.CounterVec
}

// NewMetrics creates the collectors and registers them with reg. driver
// ("embedded", "kafka") becomes a constant label so that a process migrated
// from one bus to the other keeps distinct series.
func NewMetrics(reg prometheus.Registerer, driver string) (*Metrics, error) {
	if reg == nil {
		return nil, errors.New("busmetrics: nil registerer")
	}
	constLabels := prometheus.Labels{"driver": driver}
	m := &Metrics{
		publishes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: NamePublishes, ConstLabels: constLabels,
			Help: "Publish calls that returned, successful or not.",
		}, []string{"topic"}),
		publishedMsgs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: NamePublishedMsgs, ConstLabels: constLabels,
			Help: "Messages made durable by successful Publish calls.",
		}, []string{"topic"}),
		publishErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: NamePublishErrors, ConstLabels: constLabels,
			Help: "Publish calls that returned an error.",
		}, []string{"topic"}),
		publishDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: NamePublishDuration, ConstLabels: constLabels,
			Help: "Time a Publish call took until its messages were durable (or it failed).",
			// From a fast fsync group commit (~100µs) to a stalled Kafka
			// cluster (10s).
			Buckets: prometheus.ExponentialBuckets(0.0001, 2.5, 12),
		}, []string{"topic"}),
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: NameDeliveries, ConstLabels: constLabels,
			Help: "Messages handed to consumers by Receive.",
		}, []string{"topic", "group"}),
		acks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: NameAcks, ConstLabels: constLabels,
			Help: "Successful acknowledgements by consumer group members.",
		}, []string{"topic", "group"}),
		ackErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: NameAckErrors, ConstLabels: constLabels,
			Help: "Acknowledgements that returned an error.",
		}, []string{"topic", "group"}),
	}
	for _, c := range []prometheus.Collector{m.publishes, m.publishedMsgs, m.publishErrors, m.publishDuration, m.deliveries, m.acks, m.ackErrors} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("busmetrics: register: %w", err)
		}
	}
	return m, nil
}

// Bus is a bus.Bus that counts and times what passes through it.
type Bus struct {
	inner  bus.Bus
	m      *Metrics
	topics sync.Map // topic name -> *topicMetrics
}

var _ bus.Bus = (*Bus)(nil)

// Wrap returns b instrumented with m.
func Wrap(b bus.Bus, m *Metrics) *Bus { return &Bus{inner: b, m: m} }

// Unwrap returns the instrumented bus, for optional interfaces (such as a
// health check) that the decorator does not forward.
func (b *Bus) Unwrap() bus.Bus { return b.inner }

// topicMetrics are one topic's publish series, looked up once per topic
// rather than per call, and created together so that the error counter
// exists (at 0) as soon as a topic is used: rate() alerts need the series.
type topicMetrics struct {
	publishes, publishedMsgs, publishErrors prometheus.Counter
	publishDuration                         prometheus.Observer
}

func (b *Bus) topicMetrics(topic string) *topicMetrics {
	if tm, ok := b.topics.Load(topic); ok {
		return tm.(*topicMetrics)
	}
	tm := &topicMetrics{
		publishes:       b.m.publishes.WithLabelValues(topic),
		publishedMsgs:   b.m.publishedMsgs.WithLabelValues(topic),
		publishErrors:   b.m.publishErrors.WithLabelValues(topic),
		publishDuration: b.m.publishDuration.WithLabelValues(topic),
	}
	actual, _ := b.topics.LoadOrStore(topic, tm)
	return actual.(*topicMetrics)
}

// Track creates the publish series of topics at zero, so that dashboards
// and rate() alerts see Hotline's topics from the start rather than from
// their first publish.
func (b *Bus) Track(topics ...string) {
	for _, t := range topics {
		b.topicMetrics(t)
	}
}

// Publish forwards to the wrapped bus and records the call.
func (b *Bus) Publish(ctx context.Context, topic string, msgs ...bus.Message) error {
	tm := b.topicMetrics(topic)
	start := time.Now()
	err := b.inner.Publish(ctx, topic, msgs...)
	tm.publishDuration.Observe(time.Since(start).Seconds())
	tm.publishes.Inc()
	if err != nil {
		tm.publishErrors.Inc()
		return err
	}
	tm.publishedMsgs.Add(float64(len(msgs)))
	return nil
}

// Subscribe forwards to the wrapped bus and instruments the subscription.
func (b *Bus) Subscribe(ctx context.Context, topic string, opts bus.SubscribeOptions) (bus.Subscription, error) {
	s, err := b.inner.Subscribe(ctx, topic, opts)
	if err != nil {
		return nil, err
	}
	return &subscription{
		inner:      s,
		group:      opts.Group,
		deliveries: b.m.deliveries.WithLabelValues(topic, opts.Group),
		acks:       b.m.acks.WithLabelValues(topic, opts.Group),
		ackErrors:  b.m.ackErrors.WithLabelValues(topic, opts.Group),
	}, nil
}

// Close closes the wrapped bus.
func (b *Bus) Close() error { return b.inner.Close() }

type subscription struct {
	inner      bus.Subscription
	group      string
	deliveries prometheus.Counter
	acks       prometheus.Counter
	ackErrors  prometheus.Counter
}

func (s *subscription) Receive(ctx context.Context) (*bus.Delivery, error) {
	d, err := s.inner.Receive(ctx)
	if err != nil {
		return nil, err
	}
	s.deliveries.Inc()
	if s.group == "" {
		// A reader without a group acknowledges nothing; keep its Ack a no-op.
		return d, nil
	}
	return bus.NewDelivery(d.Message, d.Topic, d.Partition, d.Offset, d.Time, func() error {
		if err := d.Ack(); err != nil {
			s.ackErrors.Inc()
			return err
		}
		s.acks.Inc()
		return nil
	}), nil
}

func (s *subscription) Close() error { return s.inner.Close() }
