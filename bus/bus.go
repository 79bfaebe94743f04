// Package bus is the only way Hotline components talk to each other.
//
// A bus holds named topics. A topic is split into a fixed number of
// partitions; a message's key chooses its partition (the same key always
// lands in the same partition), and a partition is an append-only log read
// in the order it was written. That is the whole ordering promise: messages
// with the same key are delivered in publish order; nothing is promised
// across keys.
//
// Two implementations honour this contract and run the same conformance
// suite (package bustest): bus/embedded, a durable log on the local disk and
// the default, and bus/kafka on Apache Kafka for production and scale-out.
//
// Delivery is at least once. A consumer group remembers, per partition, the
// offset up to which its members have acknowledged every message; a member
// that stops (cleanly or not) hands its partitions to the next member or the
// next start of the group, which resumes from that offset. Messages that were
// received but not acknowledged are therefore delivered again, so consumers
// are idempotent: every Hotline event carries an id, and consumers remember
// the ids they have applied.
package bus

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Sentinel errors that callers test with errors.Is.
var (
	// ErrClosed is returned by every call on a bus, publisher or subscription
	// after its Close has begun.
	ErrClosed = errors.New("bus: closed")
	// ErrInvalidTopic is returned for a topic name the bus cannot store.
	ErrInvalidTopic = errors.New("bus: invalid topic name")
	// ErrMessageTooLarge is returned by Publish for a message over the bus's
	// configured maximum size; nothing of that call is stored.
	ErrMessageTooLarge = errors.New("bus: message too large")
)

// Header is one message header. Keys are case-sensitive; a key may repeat.
type Header struct {
	Key   string
	Value []byte
}

// Message is what a publisher hands to the bus.
//
// A published message's Key, Value and Headers belong to the bus once
// Publish is called: the bus may keep them after Publish returns (see
// Publisher.Publish), so the publisher does not modify or reuse them.
//
// A delivered message (Delivery.Message) is read-only: its Key, Value and
// Headers (the slice and every header's bytes) may be shared with the
// deliveries of the same record to other subscriptions of the process, and
// with its publisher (the embedded bus hands every subscription the same
// record from its tail cache, made of the bytes the publisher handed to
// Publish). A consumer that wants to change them copies them first.
type Message struct {
	// Key chooses the partition. Messages with equal keys keep their order.
	// An empty key spreads messages over partitions with no order promise.
	Key []byte
	// Value is the payload, opaque to the bus.
	Value []byte
	// Headers travel with the message unchanged (CloudEvents attributes in
	// Hotline's case, see package event).
	Headers []Header
}

// Header returns the value of the first header named key, and whether
// there was one.
func (m *Message) Header(key string) ([]byte, bool) {
	for _, h := range m.Headers {
		if h.Key == key {
			return h.Value, true
		}
	}
	return nil, false
}

// Size is the number of bytes a message occupies for size limits: key,
// value, header keys and header values.
func (m *Message) Size() int {
	n := len(m.Key) + len(m.Value)
	for _, h := range m.Headers {
		n += len(h.Key) + len(h.Value)
	}
	return n
}

// Delivery is a message read from a topic, with its position in the log.
//
// A delivery is read-only: its Message may be shared with other
// subscriptions of the same process (see Message), and so may what Memo
// returns; a subscription without a group may even get the very Delivery
// that other such subscriptions get (bus/embedded hands them one per
// record), so a consumer never changes its fields.
type Delivery struct {
	Message
	Topic     string
	Partition int
	Offset    int64
	// Time is when the bus appended the message.
	Time time.Time

	ack  func() error
	memo *Memo
}

// NewDelivery is for implementations: it binds ack to the delivery so that
// Ack calls it. ack may be nil for readers without a consumer group. The
// delivery gets a Memo of its own.
func NewDelivery(m Message, topic string, partition int, offset int64, t time.Time, ack func() error) *Delivery {
	// One allocation for both: the memo lives exactly as long as the
	// delivery.
	x := &struct {
		d Delivery
		m Memo
	}{d: Delivery{Message: m, Topic: topic, Partition: partition, Offset: offset, Time: t, ack: ack}}
	x.d.memo = &x.m
	return &x.d
}

// NewSharedDelivery is NewDelivery for an implementation that hands the same
// stored record to several subscriptions of the process: every delivery of
// that record gets the same m (and the same read-only Message), so what the
// layer above derives from it through Delivery.Memo is computed once.
func NewSharedDelivery(m Message, topic string, partition int, offset int64, t time.Time, ack func() error, memo *Memo) *Delivery {
	return &Delivery{Message: m, Topic: topic, Partition: partition, Offset: offset, Time: t, ack: ack, memo: memo}
}

// Memo returns what build returns, calling build at most once for all the
// deliveries that share the delivery's memo (the deliveries of one record
// in one process, on a bus that shares them; only this one otherwise):
// later calls, from any goroutine, return the first call's value and error
// (until the bus forgets it, see Memo.Forget: then the next call computes
// it again).
// It is for the layer that decodes messages (package event), so that one
// record is decoded once per process however many subscriptions read it;
// that layer owns the memo's value type, and the value is shared and
// read-only like the message. A Delivery not made by NewDelivery or
// NewSharedDelivery has no memo and calls build every time.
func (d *Delivery) Memo(build func() (any, error)) (any, error) {
	if d.memo == nil {
		return build()
	}
	return d.memo.Do(build)
}

// Memo holds one value derived from a delivered record, computed once. The
// zero Memo is ready to use; a Memo must not be copied after first use.
// Implementations make one per record they share (NewSharedDelivery), and
// may Forget its value when they stop expecting readers of the record.
type Memo struct {
	mu sync.Mutex // held while the value is computed
	v  atomic.Pointer[memoValue]
}

type memoValue struct {
	v   any
	err error
}

// Do returns build's value and error, calling build only the first time
// (or the first time after Forget); concurrent callers wait for that call.
// If that call panics, the panic goes on up its goroutine and later calls
// return errMemoPanicked.
func (m *Memo) Do(build func() (any, error)) (any, error) {
	if r := m.v.Load(); r != nil {
		return r.v, r.err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if r := m.v.Load(); r != nil {
		return r.v, r.err
	}
	r := &memoValue{err: errMemoPanicked}
	defer m.v.Store(r) // before the unlock, on a panic too
	r.v, r.err = build()
	return r.v, r.err
}

// Forget drops the value, so that the memo no longer keeps it alive: the
// next Do computes it again. Callers that already have the value keep it.
// It is for an implementation that shares a record for a while (a cache of
// the log's tail) and keeps its bytes longer than readers need the value
// derived from them. A computation under way when Forget is called keeps
// its value.
func (m *Memo) Forget() {
	m.v.Store(nil)
}

var errMemoPanicked = errors.New("bus: the first computation of this delivery's memo panicked")

// Ack tells the consumer group that this message is handled. The group's
// committed offset for the partition advances past a message only once it
// and every message before it in that partition are acknowledged, so
// messages may be acknowledged in any order. Commits are written in the
// background and on Subscription.Close; after a crash, messages acknowledged
// since the last commit are delivered again. Ack on a reader without a group
// does nothing. Ack after the subscription closed returns ErrClosed.
func (d *Delivery) Ack() error {
	if d.ack == nil {
		return nil
	}
	return d.ack()
}

// String names the delivery's position for logs and test failures.
func (d *Delivery) String() string {
	return fmt.Sprintf("%s/%d@%d", d.Topic, d.Partition, d.Offset)
}

// Publisher appends messages to topics.
type Publisher interface {
	// Publish appends msgs to topic and returns nil only once every one of
	// them is durable: written and synced to disk by bus/embedded,
	// acknowledged by all in-sync replicas on Kafka. Messages with the same
	// key are stored in the order given. On error any subset of msgs may
	// have been stored; the caller publishes them again (same event ids) and
	// consumers drop the duplicates. Publish is safe for concurrent use;
	// concurrent calls are committed together (group commit).
	//
	// Publish may keep the Key, Value and Headers of msgs (the header
	// slice, and every header's Key and Value) after it returns, whatever
	// it returned: bus/embedded hands the very same bytes to the process's
	// subscribers instead of copying them, and a message of a call that
	// returned an error (ctx ended) may still be written after it. So the
	// caller must not modify those bytes or that header slice after the
	// call, nor hand them to anything that will (a pooled or reused
	// encode buffer); it encodes every message into a fresh buffer. The
	// msgs slice itself, and the Message values in it, are the caller's
	// again once Publish returns.
	Publish(ctx context.Context, topic string, msgs ...Message) error
	// Close waits for publishes under way to finish, flushes, and releases
	// the publisher. Later calls return ErrClosed.
	Close() error
}

// Subscriber opens subscriptions on topics.
type Subscriber interface {
	// Subscribe starts reading topic. With opts.Group set, the subscription
	// joins that consumer group: the group's members share the topic's
	// partitions (each partition read by one member at a time), and the group
	// resumes from its committed offsets. Two groups each receive every
	// message. Without a group it is a plain reader that replays the topic
	// from opts.Start or opts.Offsets and commits nothing.
	Subscribe(ctx context.Context, topic string, opts SubscribeOptions) (Subscription, error)
	// Close closes every subscription still open, then the subscriber.
	Close() error
}

// Bus is a Publisher and a Subscriber on the same topics.
type Bus interface {
	Publisher
	Subscriber
}

// Start says where reading begins when there is no committed offset to
// resume from.
type Start int

const (
	// StartEarliest begins at the oldest message still retained.
	StartEarliest Start = iota
	// StartLatest begins after the last message published so far.
	StartLatest
)

// SubscribeOptions configure a subscription.
type SubscribeOptions struct {
	// Group is the consumer group's name. Empty means a reader with no
	// group: nothing is committed and Ack does nothing.
	Group string
	// Start applies to partitions with no committed offset for Group, and to
	// every partition of a reader without a group that Offsets does not name.
	Start Start
	// Offsets, for a reader without a group, begins the named partitions at
	// these offsets (replay from an offset). An offset older than the oldest
	// retained message begins at the oldest one.
	Offsets map[int]int64
}

// Validate reports options that cannot be honoured.
func (o SubscribeOptions) Validate() error {
	if o.Start != StartEarliest && o.Start != StartLatest {
		return fmt.Errorf("bus: unknown start position %d", o.Start)
	}
	if o.Group != "" && len(o.Offsets) > 0 {
		return errors.New("bus: offsets apply to readers without a group; a group resumes from its committed offsets")
	}
	for p, off := range o.Offsets {
		if p < 0 || off < 0 {
			return fmt.Errorf("bus: invalid replay offset %d for partition %d", off, p)
		}
	}
	return nil
}

// Subscription is one member of a consumer group, or one group-less reader.
type Subscription interface {
	// Receive returns the next message, waiting for one if needed. It
	// returns ctx.Err() when ctx ends and ErrClosed once the subscription is
	// closed. Receive is safe for concurrent use, but messages of one key
	// arrive in order only to a single receiving goroutine.
	Receive(ctx context.Context) (*Delivery, error)
	// Close leaves the group, committing every acknowledged offset before it
	// returns. Messages received and not acknowledged are delivered again to
	// the group later. Close is safe to call more than once and concurrently
	// with Receive.
	Close() error
}

// ValidTopic reports whether name is a topic name both implementations
// accept: 1 to 249 characters of ASCII letters, digits, '.', '_' and '-',
// and neither "." nor "..". This is Kafka's rule; the embedded bus uses topic
// names as directory names, for which it is also safe.
func ValidTopic(name string) error {
	if name == "" || len(name) > 249 || name == "." || name == ".." {
		return fmt.Errorf("%w: %q", ErrInvalidTopic, name)
	}
	for _, c := range name {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '_', c == '-':
		default:
			return fmt.Errorf("%w: %q has %q", ErrInvalidTopic, name, c)
		}
	}
	return nil
}
