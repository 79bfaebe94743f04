package reindex

import (
	"context"
	"sync"

	"github.com/hotline-hub/hotline/bus"
	"github.com/hotline-hub/hotline/bus/event"
)

// tracker is the bus as the rebuilding indexer sees it: it notes, per
// partition of the indexer's topics, how far the indexer has got. A
// delivery of a group topic counts once acknowledged, which the indexer
// does only after the write holding its effect; the routing log has no
// group, so its deliveries count when received, numbered in order (the
// indexer folds them in that order), and the job compares that number
// with the indexer's count of routing facts written.
type tracker struct {
	bus.Bus

	mu     sync.Mutex
	topics map[string]*topicTrack
	seq    int64 // routing deliveries received
}

type topicTrack struct {
	routing bool
	// first is the offset of the first delivery of each partition.
	first map[int]int64
	// done is, per partition, the offset after the last delivery
	// acknowledged (group topics) or received (the routing log).
	done map[int]int64
}

func newTracker(b bus.Bus, names []string) *tracker {
	t := &tracker{Bus: b, topics: make(map[string]*topicTrack, len(names))}
	for _, n := range names {
		t.topics[n] = &topicTrack{routing: n == event.TopicRouting, first: map[int]int64{}, done: map[int]int64{}}
	}
	return t
}

// Subscribe tracks the subscriptions of the indexer's topics.
func (t *tracker) Subscribe(ctx context.Context, topic string, opts bus.SubscribeOptions) (bus.Subscription, error) {
	sub, err := t.Bus.Subscribe(ctx, topic, opts)
	if err != nil {
		return nil, err
	}
	pt := t.topics[topic]
	if pt == nil {
		return sub, nil
	}
	return &trackedSub{Subscription: sub, t: t, pt: pt}, nil
}

type trackedSub struct {
	bus.Subscription
	t  *tracker
	pt *topicTrack
}

func (s *trackedSub) Receive(ctx context.Context) (*bus.Delivery, error) {
	d, err := s.Subscription.Receive(ctx)
	if err != nil {
		return nil, err
	}
	t, pt, p, off := s.t, s.pt, d.Partition, d.Offset
	t.mu.Lock()
	if _, ok := pt.first[p]; !ok {
		pt.first[p] = off
	}
	if pt.routing {
		t.seq++
		pt.done[p] = max(pt.done[p], off+1)
		t.mu.Unlock()
		return d, nil
	}
	t.mu.Unlock()
	return bus.NewDelivery(d.Message, d.Topic, p, off, d.Time, func() error {
		if err := d.Ack(); err != nil {
			return err
		}
		t.mu.Lock()
		pt.done[p] = max(pt.done[p], off+1)
		t.mu.Unlock()
		return nil
	}), nil
}
