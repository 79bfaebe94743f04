package voice

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"sync"
	"time"

	"github.com/hotline-hub/hotline/bus"
	"github.com/hotline-hub/hotline/bus/event"
	"github.com/hotline-hub/hotline/channels/voice/media"
)

// Queue announcements: while a caller waits, the music on hold pauses
// every Config.AnnounceEvery for "You are caller number N. Your estimated
// waiting time is about M minutes." in the call's language.
//
// The position is the caller's place among the conversations still
// waiting in the same tenant's queue, in routing's order (higher priority
// first, then earlier queueing). The server learns it by following
// hotline.conversations from the end of the log when Run starts
// (conversation.queued, .assigned, .transferred, .abandoned, .resolved),
// so conversations queued before the server started are not counted.
//
// The estimated wait comes from the waits the server saw end in that
// queue. When a conversation is assigned after waiting w, having entered
// the queue at position p, w/p is one sample of the time one place in the
// queue takes; the queue keeps the exponentially weighted mean
//
//	S ← α·(w/p) + (1−α)·S, α = waitAlpha (0.3; the first sample sets S)
//
// and a caller at position N is told ⌈N·S⌉ minutes (at least one). Until
// a queue has seen an assignment, callers hear only their position.
// Numbers above positionCap or waitCapMinutes are said as "more than".

// waitAlpha is the weight of the newest wait sample.
const waitAlpha = 0.3

// Caps of the spoken numbers: above them the caller hears "more than".
const (
	positionCap    = 20
	waitCapMinutes = 30
)

// queueKey names one queue of one tenant.
type queueKey struct{ tenant, queue string }

// convKey names one conversation of one tenant.
type convKey struct{ tenant, conv string }

// waiter is one conversation waiting in a queue.
type waiter struct {
	key      queueKey
	conv     string
	priority int
	at       time.Time // queued (or transferred into the queue)
	seq      uint64    // arrival order, for equal times
	entryPos int       // position when it entered
}

// queueStats is what is known of one queue's waits.
type queueStats struct {
	waiting map[string]*waiter
	perPos  time.Duration // S, the weighted mean wait per position
	samples int
}

// waitTracker folds conversation events into per-queue waiting lists and
// wait estimates. It is safe for concurrent use.
type waitTracker struct {
	mu     sync.Mutex
	seq    uint64
	queues map[queueKey]*queueStats
	convs  map[convKey]*waiter
}

func newWaitTracker() *waitTracker {
	return &waitTracker{queues: make(map[queueKey]*queueStats), convs: make(map[convKey]*waiter)}
}

func (t *waitTracker) stats(k queueKey) *queueStats {
	q := t.queues[k]
	if q == nil {
		q = &queueStats{waiting: make(map[string]*waiter)}
		t.queues[k] = q
	}
	return q
}

// queued records that conv waits in queue since at. A conversation
// queued again in the same queue keeps its place (a duplicate event, or
// the call's own record followed by the same event from the log); in
// another queue it goes to the end of that queue, as routing does.
func (t *waitTracker) queued(tenant, queue, conv string, priority int, at time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	ck := convKey{tenant, conv}
	if w := t.convs[ck]; w != nil {
		if w.key.queue == queue {
			w.priority = priority
			return
		}
		t.removeLocked(ck)
	}
	t.enqueueLocked(ck, queueKey{tenant, queue}, priority, at)
}

func (t *waitTracker) enqueueLocked(ck convKey, k queueKey, priority int, at time.Time) {
	t.seq++
	w := &waiter{key: k, conv: ck.conv, priority: priority, at: at, seq: t.seq}
	q := t.stats(k)
	q.waiting[ck.conv] = w
	t.convs[ck] = w
	w.entryPos = q.position(w)
}

// assigned ends conv's wait at at and learns from it.
func (t *waitTracker) assigned(tenant, conv string, at time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	ck := convKey{tenant, conv}
	w := t.convs[ck]
	if w == nil {
		return
	}
	t.removeLocked(ck)
	wait := at.Sub(w.at)
	if wait < 0 {
		return
	}
	sample := wait / time.Duration(max(w.entryPos, 1))
	q := t.stats(w.key)
	if q.samples == 0 {
		q.perPos = sample
	} else {
		q.perPos = time.Duration(waitAlpha*float64(sample) + (1-waitAlpha)*float64(q.perPos))
	}
	q.samples++
}

// left ends conv's wait without an agent (abandoned, resolved, moved to
// an agent directly).
func (t *waitTracker) left(tenant, conv string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.removeLocked(convKey{tenant, conv})
}

// transferred moves conv to the end of queue toQueue (as routing does), or
// out of the queues when it goes to an agent (toQueue empty).
func (t *waitTracker) transferred(tenant, conv, toQueue string, at time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	ck := convKey{tenant, conv}
	w := t.convs[ck]
	priority := 0
	if w != nil {
		priority = w.priority
		t.removeLocked(ck)
	}
	if toQueue != "" {
		t.enqueueLocked(ck, queueKey{tenant, toQueue}, priority, at)
	}
}

func (t *waitTracker) removeLocked(ck convKey) {
	w := t.convs[ck]
	if w == nil {
		return
	}
	delete(t.convs, ck)
	q := t.queues[w.key]
	delete(q.waiting, ck.conv)
	if len(q.waiting) == 0 && q.samples == 0 {
		delete(t.queues, w.key)
	}
}

// position is w's place in q: 1 + the waiters routing serves before it.
func (q *queueStats) position(w *waiter) int {
	n := 1
	for _, o := range q.waiting {
		if o == w {
			continue
		}
		if o.priority > w.priority || o.priority == w.priority &&
			(o.at.Before(w.at) || o.at.Equal(w.at) && o.seq < w.seq) {
			n++
		}
	}
	return n
}

// estimate is what a waiting caller is told.
type estimate struct {
	Position int
	// Wait is the estimated wait; Known is false until the queue has seen
	// an assignment.
	Wait  time.Duration
	Known bool
}

// Minutes is the estimate rounded up to whole minutes, at least one.
func (e estimate) Minutes() int {
	return max(1, int(math.Ceil(e.Wait.Minutes())))
}

// estimate returns conv's position and estimated wait; ok is false when
// conv is not waiting.
func (t *waitTracker) estimate(tenant, conv string) (estimate, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	w := t.convs[convKey{tenant, conv}]
	if w == nil {
		return estimate{}, false
	}
	q := t.queues[w.key]
	e := estimate{Position: q.position(w)}
	if q.samples > 0 {
		e.Known = true
		e.Wait = time.Duration(e.Position) * q.perPos
	}
	return e, true
}

// apply folds one event of the conversations log.
func (t *waitTracker) apply(e *event.Envelope) {
	if e.ConversationID == "" || !tracked(e.Type) {
		return
	}
	p, err := e.Decode()
	if err != nil {
		return
	}
	switch d := p.(type) {
	case *event.ConversationQueuedData:
		t.queued(e.Tenant, d.Queue, e.ConversationID, d.Priority, e.Time)
	case *event.ConversationAssignedData:
		t.assigned(e.Tenant, e.ConversationID, e.Time)
	case *event.ConversationTransferredData:
		to := d.ToQueue
		if d.ToAgentID != "" {
			to = ""
		}
		t.transferred(e.Tenant, e.ConversationID, to, e.Time)
	case *event.ConversationAbandonedData, *event.ConversationResolvedData:
		t.left(e.Tenant, e.ConversationID)
	}
}

// followQueues reads hotline.conversations from its end into s.waits
// until ctx ends.
func (s *Server) followQueues(ctx context.Context, sub bus.Subscriber) error {
	rs, err := sub.Subscribe(ctx, event.TopicConversations, bus.SubscribeOptions{Start: bus.StartLatest})
	if err != nil {
		return fmt.Errorf("voice: subscribe to %s: %w", event.TopicConversations, err)
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer rs.Close()
		for {
			d, err := rs.Receive(ctx)
			if err != nil {
				if ctx.Err() == nil {
					s.log.Error("conversations log not readable; queue positions are no longer updated",
						"topic", event.TopicConversations, "err", err)
				}
				return
			}
			if typ, _ := d.Header(event.HeaderType); len(typ) > 0 && !tracked(string(typ)) {
				continue
			}
			e, err := event.FromDelivery(d)
			if err != nil {
				continue
			}
			s.waits.apply(e)
		}
	}()
	return nil
}

// tracked reports whether events of type typ move conversations in or
// out of queues.
func tracked(typ string) bool {
	switch typ {
	case event.ConversationQueued, event.ConversationAssigned, event.ConversationTransferred,
		event.ConversationAbandoned, event.ConversationResolved:
		return true
	}
	return false
}

// waitEstimate is the call's position and estimated wait, if it waits.
func (c *call) waitEstimate() (estimate, bool) {
	return c.s.waits.estimate(c.num.cfg.Tenant, c.convID)
}

// playWaiting plays music on hold until ctx ends, pausing it every
// AnnounceEvery for the caller's position and estimated wait; it returns
// ctx.Err(), or the error that stopped the music.
func (c *call) playWaiting(ctx context.Context) error {
	every := c.s.cfg.AnnounceEvery
	if every <= 0 {
		return c.sess.PlayLoop(ctx, c.s.prompts.hold)
	}
	t := time.NewTimer(every)
	defer t.Stop()
	for {
		music, stop := context.WithCancel(ctx)
		played := make(chan error, 1)
		go func() { played <- c.sess.PlayLoop(music, c.s.prompts.hold) }()
		var parts []*media.Prompt
		for parts == nil {
			select {
			case <-ctx.Done():
				stop()
				<-played
				return ctx.Err()
			case err := <-played:
				stop()
				if ctx.Err() != nil {
					return ctx.Err()
				}
				return err
			case <-t.C:
				// The prompts are found (or generated) while the music
				// still plays.
				parts = c.announcement(ctx)
				if parts == nil {
					t.Reset(every)
				}
			}
		}
		stop()
		if err := <-played; err != nil && !errors.Is(err, context.Canceled) {
			return err
		}
		c.s.announced.Add(1)
		for _, p := range parts {
			if err := c.sess.Play(ctx, p, false); err != nil {
				return err
			}
		}
		t.Reset(every)
	}
}

// announcement returns the prompts telling the caller's position and
// estimated wait, or nil when there is nothing to say (not waiting any
// more, or the prompts are unavailable).
func (c *call) announcement(ctx context.Context) []*media.Prompt {
	est, ok := c.waitEstimate()
	if !ok {
		return nil
	}
	names := []string{positionPrompt(est.Position)}
	if est.Known {
		names = append(names, waitPrompt(est.Minutes()))
	}
	var parts []*media.Prompt
	for i, name := range names {
		p, err := c.s.spoken.get(ctx, c.lang, name)
		if err != nil {
			if ctx.Err() == nil {
				c.log.Warn("queue announcement unavailable", "prompt", name, "err", err)
			}
			return nil
		}
		if i > 0 {
			parts = append(parts, c.s.spoken.pause)
		}
		parts = append(parts, p)
	}
	c.log.Info("queue announcement", "position", est.Position, "wait_known", est.Known, "wait_minutes", est.Minutes())
	return parts
}

// positionPrompt names the prompt saying position n.
func positionPrompt(n int) string {
	if n > positionCap {
		return "queue_position_more"
	}
	return "queue_position_" + strconv.Itoa(n)
}

// waitPrompt names the prompt saying a wait of m minutes.
func waitPrompt(m int) string {
	if m > waitCapMinutes {
		return "queue_wait_more"
	}
	return "queue_wait_" + strconv.Itoa(m)
}
