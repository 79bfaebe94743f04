package busmetrics_test

import (
	"errors"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/hotline-hub/hotline/bus"
	"github.com/hotline-hub/hotline/bus/busmetrics"
	"github.com/hotline-hub/hotline/bus/embedded"
)

// counter returns the value of the series name{labels} in reg, or -1.
func counter(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metrics:
		for _, m := range mf.GetMetric() {
			got := map[string]string{}
			for _, lp := range m.GetLabel() {
				got[lp.GetName()] = lp.GetValue()
			}
			for k, v := range labels {
				if got[k] != v {
					continue metrics
				}
			}
			switch {
			case m.Counter != nil:
				return m.GetCounter().GetValue()
			case m.Histogram != nil:
				return float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return -1
}

func TestInstrumentsEmbeddedBus(t *testing.T) {
	inner, err := embedded.Open(embedded.Config{Dir: t.TempDir(), MaxMessageBytes: 64}, nil)
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	m, err := busmetrics.NewMetrics(reg, "embedded")
	if err != nil {
		t.Fatal(err)
	}
	b := busmetrics.Wrap(inner, m)
	defer b.Close()
	ctx := t.Context()

	topic := map[string]string{"topic": "t1", "driver": "embedded"}
	if err := b.Publish(ctx, "t1", bus.Message{Key: []byte("k"), Value: []byte("a")}, bus.Message{Value: []byte("b")}); err != nil {
		t.Fatal(err)
	}
	if err := b.Publish(ctx, "t1", bus.Message{Value: make([]byte, 100)}); !errors.Is(err, bus.ErrMessageTooLarge) {
		t.Fatalf("oversized publish: %v", err)
	}
	for name, want := range map[string]float64{
		busmetrics.NamePublishes:       2,
		busmetrics.NamePublishedMsgs:   2,
		busmetrics.NamePublishErrors:   1,
		busmetrics.NamePublishDuration: 2,
	} {
		if got := counter(t, reg, name, topic); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}

	// A group member: deliveries and acks counted per group.
	sub, err := b.Subscribe(ctx, "t1", bus.SubscribeOptions{Group: "g"})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		d, err := sub.Receive(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			if err := d.Ack(); err != nil {
				t.Fatal(err)
			}
		}
	}
	group := map[string]string{"topic": "t1", "group": "g"}
	if got := counter(t, reg, busmetrics.NameDeliveries, group); got != 2 {
		t.Errorf("deliveries = %v, want 2", got)
	}
	if got := counter(t, reg, busmetrics.NameAcks, group); got != 1 {
		t.Errorf("acks = %v, want 1", got)
	}
	if err := sub.Close(); err != nil {
		t.Fatal(err)
	}

	// A reader without a group: deliveries counted, Ack stays a no-op.
	rd, err := b.Subscribe(ctx, "t1", bus.SubscribeOptions{Start: bus.StartEarliest})
	if err != nil {
		t.Fatal(err)
	}
	d, err := rd.Receive(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Ack(); err != nil {
		t.Fatal(err)
	}
	reader := map[string]string{"topic": "t1", "group": ""}
	if got := counter(t, reg, busmetrics.NameDeliveries, reader); got != 1 {
		t.Errorf("reader deliveries = %v, want 1", got)
	}
	if got := counter(t, reg, busmetrics.NameAcks, reader); got != 0 {
		t.Errorf("reader acks = %v, want 0", got)
	}
	// Ack after Close is an error, and counted as one.
	sub2, err := b.Subscribe(ctx, "t1", bus.SubscribeOptions{Group: "g2"})
	if err != nil {
		t.Fatal(err)
	}
	d2, err := sub2.Receive(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_ = sub2.Close()
	if err := d2.Ack(); !errors.Is(err, bus.ErrClosed) {
		t.Errorf("Ack after Close = %v, want ErrClosed", err)
	}
	if got := counter(t, reg, busmetrics.NameAckErrors, map[string]string{"group": "g2"}); got != 1 {
		t.Errorf("ack errors = %v, want 1", got)
	}
	b.Track("t1", "t2")
	if got := counter(t, reg, busmetrics.NamePublishErrors, map[string]string{"topic": "t2"}); got != 0 {
		t.Errorf("tracked topic's error series = %v, want 0", got)
	}
	if got := counter(t, reg, busmetrics.NamePublishes, topic); got != 2 {
		t.Errorf("Track reset the series of a used topic: %v", got)
	}
	if n := testutil.CollectAndCount(reg, busmetrics.NamePublishes); n != 2 {
		t.Errorf("%d publish series, want 2", n)
	}
	if b.Unwrap() != bus.Bus(inner) {
		t.Error("Unwrap does not return the wrapped bus")
	}
}

func TestRegisterTwiceFails(t *testing.T) {
	reg := prometheus.NewRegistry()
	if _, err := busmetrics.NewMetrics(reg, "embedded"); err != nil {
		t.Fatal(err)
	}
	if _, err := busmetrics.NewMetrics(reg, "embedded"); err == nil {
		t.Error("registering the same metrics twice succeeded")
	}
	if _, err := busmetrics.NewMetrics(nil, "embedded"); err == nil {
		t.Error("nil registerer accepted")
	}
}
