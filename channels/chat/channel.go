// Package chat is the web chat channel: an embeddable widget (widget.js)
// and the WebSocket gateway it talks to (PROTOCOL.md). Visitor messages
// become message.received events, acknowledged only once durable on the bus;
// agents' message.sent replies on the outbox are delivered to every open
// socket of the visitor and answered with message.delivered. Everything the
// channel remembers (who is in which conversation, which client ids were
// taken, the recent history for reconnecting widgets) is rebuilt from the
// bus at start.
package chat

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/hotline-hub/hotline/bus"
	"github.com/hotline-hub/hotline/bus/event"
	"github.com/hotline-hub/hotline/webui/wsock"
)

// Channel is the chat channel. Build it with New, start its consumers with
// Run, and mount Handler (or Routes) on the hub's HTTP server.
type Channel struct {
	cfg     Config
	bus     bus.Bus
	log     *slog.Logger
	tenants atomic.Pointer[map[string]*tenant] // replaced whole by SetTenants
	tokens  *tokens

	visitorMsgs, ipMsgs, ipConns, visitorConns *limiter

	ready     chan struct{}
	readyOnce sync.Once
	// mu guards the start markers: nonces, waiting and runCtx.
	mu     sync.Mutex
	nonces map[string]string // tenant -> marker nonce still awaited
	// waiting holds, for each tenant added after the start markers went
	// out, a channel closed once its own marker is read back.
	waiting map[string]chan struct{}
	runCtx  context.Context // set by Run before the markers, for SetTenants

	// The conversations and visitors (shards.go).
	cshards [shardCount]convShard
	vshards [shardCount]visitorShard

	liveMu  sync.Mutex
	live    map[*conn]struct{} // every open socket, for shutdown (liveMu)
	stopped bool               // (liveMu)
	conns   sync.WaitGroup

	// records holds accepted records for the state log, written by
	// recordLoop in batches once their messages are acknowledged.
	records chan accepted
	// delivered holds the replies pushed to a visitor's socket by the
	// delivery reader, for deliveredLoop to record in batches.
	delivered chan pushedReply
}

// pushedReply is a reply on a visitor's socket, waiting for its
// message.delivered; d, the outbox delivery, is acknowledged once that is
// durable.
type pushedReply struct {
	tenant, convID, msgID string
	d                     *bus.Delivery
}

// recordQueue bounds the accepted records waiting for recordLoop; past it
// a record is written by the socket that accepted the message.
const recordQueue = 4096

// visitor is one widget identity (a token), with its open sockets. Its
// fields but the first three are guarded by its shard's lock.
type visitor struct {
	tenant, id string
	sh         *visitorShard
	current    string                // open conversation id, "" if none
	cids       map[string]cidOutcome // client id -> what it became
	cidOrder   []string
	socks      map[*conn]struct{}
	last       time.Time
	accept     sync.Mutex // serialises accepting this visitor's messages
}

// cidOutcome is what a visitor's client id became, all that a resend's ack
// needs: the rest of its accepted record is the visitor's or the client
// id itself. A visitor keeps up to defaultMaxVisitorCIDs of them, so they
// are a large part of the channel's heap.
type cidOutcome struct {
	conversationID, messageID string
	time                      time.Time
}

// lookup returns the accepted record of client id cid, if the visitor has
// one. The visitor's shard is held.
func (v *visitor) lookup(cid string) (accepted, bool) {
	t, ok := v.cids[cid]
	if !ok {
		return accepted{}, false
	}
	return accepted{Kind: "accepted", Tenant: v.tenant, Visitor: v.id, ConversationID: t.conversationID,
		ClientID: cid, MessageID: t.messageID, Time: t.time}, true
}

// accepted is a visitor message taken: the state log's record of it.
type accepted struct {
	Kind           string    `json:"kind"` // "accepted" or "marker"
	Tenant         string    `json:"tenant"`
	Visitor        string    `json:"visitor,omitempty"`
	ConversationID string    `json:"conversation_id,omitempty"`
	ClientID       string    `json:"client_id,omitempty"`
	MessageID      string    `json:"message_id,omitempty"`
	Nonce          string    `json:"nonce,omitempty"`
	Time           time.Time `json:"time"`
}

// conv is one chat conversation's recent history, guarded (with its
// entries' flags) by its shard's lock.
type conv struct {
	tenant, id, visitor string
	closed              bool
	hist                history
	last                time.Time
}

// New validates cfg, loads (or creates) the token secret and returns a
// channel that serves nothing until Run has caught up with the bus.
func New(cfg Config, b bus.Bus, log *slog.Logger) (*Channel, error) {
	if b == nil {
		return nil, fmt.Errorf("%w: bus is nil", ErrConfig)
	}
	if log == nil {
		log = slog.Default()
	}
	cfg = cfg.withDefaults()
	tenants, err := cfg.build()
	if err != nil {
		return nil, err
	}
	key, err := loadSecret(cfg.SecretFile)
	if err != nil {
		return nil, err
	}
	c := &Channel{
		cfg: cfg, bus: b, log: log.With("channel", event.ChannelChat),
		records:      make(chan accepted, recordQueue),
		delivered:    make(chan pushedReply, recordQueue),
		tokens:       &tokens{key: key, ttl: cfg.TokenTTL},
		visitorMsgs:  newLimiter(cfg.MessageRate, cfg.MessageBurst),
		ipMsgs:       newLimiter(cfg.IPMessageRate, cfg.IPMessageBurst),
		ipConns:      newLimiter(cfg.ConnectRate, cfg.ConnectBurst),
		visitorConns: newLimiter(cfg.ConnectRate, cfg.ConnectBurst),
		ready:        make(chan struct{}),
		live:         make(map[*conn]struct{}),
		waiting:      make(map[string]chan struct{}),
	}
	c.initShards()
	c.tenants.Store(&tenants)
	return c, nil
}

// tenant returns the compiled configuration of tenant id, or nil.
func (c *Channel) tenant(id string) *tenant { return (*c.tenants.Load())[id] }

// SetTenants replaces the tenants that may embed the widget, their queues
// and origins, while the channel runs (the hub calls it when an admin edits
// the directory). Open sockets keep going; new hellos see the new setup. A
// tenant new to the channel serves once the channel has caught up with its
// part of the state log, so a visitor's resend is still recognised.
func (c *Channel) SetTenants(tcs []TenantConfig) error {
	tenants, err := buildTenants(tcs)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrConfig, err)
	}
	c.mu.Lock()
	old := *c.tenants.Load()
	var added []string
	for id := range tenants {
		if _, known := old[id]; !known && c.runCtx != nil {
			if _, pending := c.waiting[id]; !pending {
				c.waiting[id] = make(chan struct{})
				added = append(added, id)
			}
		}
	}
	ctx := c.runCtx
	c.tenants.Store(&tenants)
	c.mu.Unlock()
	if len(added) > 0 {
		if err := c.publishMarkersFor(ctx, added); err != nil {
			return err
		}
	}
	return nil
}

// tenantReady returns a channel closed once tenant may be served: after
// the start markers, and for a tenant added later, after its own marker.
func (c *Channel) tenantReady(tenant string) <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if w, ok := c.waiting[tenant]; ok {
		return w
	}
	return c.ready
}

// Ready is closed once the channel has read its state log up to its start
// and serves visitors.
func (c *Channel) Ready() <-chan struct{} { return c.ready }

// Run reads the bus until ctx ends: the state log, the conversation and
// outbox topics for the history view, the outbox as the delivery group,
// and typing signals. It returns the first consumer error, or nil when ctx
// ends.
func (c *Channel) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type reader struct {
		name  string
		topic string
		opts  bus.SubscribeOptions
		fn    func(context.Context, *bus.Delivery) error
	}
	readers := []reader{
		{"state", c.cfg.StateTopic, bus.SubscribeOptions{Start: bus.StartEarliest}, c.foldState},
		{"conversations", event.TopicConversations, bus.SubscribeOptions{Start: bus.StartEarliest}, c.foldEvent},
		{"outbox", event.TopicOutbox, bus.SubscribeOptions{Start: bus.StartEarliest}, c.foldEvent},
		{"delivery", event.TopicOutbox, bus.SubscribeOptions{Group: c.cfg.DeliveryGroup, Start: bus.StartEarliest}, c.deliver},
		{"signals", c.cfg.SignalsTopic, bus.SubscribeOptions{Start: bus.StartLatest}, c.signal},
	}
	subs := make([]bus.Subscription, len(readers))
	for i, r := range readers {
		s, err := c.bus.Subscribe(ctx, r.topic, r.opts)
		if err != nil {
			for _, s := range subs[:i] {
				s.Close()
			}
			if ctx.Err() != nil {
				return nil // stopped while starting
			}
			return fmt.Errorf("chat: subscribe %s: %w", r.topic, err)
		}
		subs[i] = s
	}
	if err := c.publishMarkers(ctx); err != nil {
		for _, s := range subs {
			s.Close()
		}
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	// The records of the messages accepted until the last socket closed
	// are written before Run returns: recordLoop outlives the sockets.
	stopRecords, recordsDone := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(recordsDone)
		c.recordLoop(stopRecords)
	}()
	defer func() {
		close(stopRecords)
		<-recordsDone
	}()
	errs := make(chan error, len(readers)+2) // the readers, evictLoop and deliveredLoop
	var wg sync.WaitGroup
	for i, r := range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- c.consume(ctx, r.name, subs[i], r.fn)
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		c.evictLoop(ctx)
		errs <- nil
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		c.deliveredLoop(ctx)
		errs <- nil
	}()
	var first error
	select {
	case <-ctx.Done():
	case first = <-errs:
	}
	cancel()
	for _, s := range subs {
		s.Close()
	}
	wg.Wait()
	c.liveMu.Lock()
	c.stopped = true
	for s := range c.live {
		s.shutdown(websocket.CloseGoingAway, "server stopping")
	}
	c.liveMu.Unlock()
	c.conns.Wait()
	return first
}

func (c *Channel) consume(ctx context.Context, name string, s bus.Subscription, fn func(context.Context, *bus.Delivery) error) error {
	for {
		d, err := s.Receive(ctx)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, bus.ErrClosed) {
				return nil
			}
			return fmt.Errorf("chat: %s reader: %w", name, err)
		}
		if err := fn(ctx, d); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("chat: %s reader at %s: %w", name, d, err)
		}
	}
}

// publishMarkers writes one marker per tenant to the state log; reading
// them all back means the state log is folded up to this start.
// With no tenant at all the channel is ready at once.
func (c *Channel) publishMarkers(ctx context.Context) error {
	c.mu.Lock()
	c.runCtx = ctx
	c.nonces = make(map[string]string)
	ids := slices.Collect(maps.Keys(*c.tenants.Load()))
	if len(ids) == 0 {
		c.readyOnce.Do(func() { close(c.ready) })
	}
	c.mu.Unlock()
	return c.publishMarkersFor(ctx, ids)
}

// publishMarkersFor writes a marker for each of tenants.
func (c *Channel) publishMarkersFor(ctx context.Context, tenants []string) error {
	if len(tenants) == 0 {
		return nil
	}
	c.mu.Lock()
	msgs := make([]bus.Message, 0, len(tenants))
	for _, id := range tenants {
		n := randomID()
		c.nonces[id] = n
		msgs = append(msgs, bus.Message{Key: []byte(id), Value: encode(accepted{Kind: "marker", Tenant: id, Nonce: n, Time: c.cfg.Now().UTC()})})
	}
	c.mu.Unlock()
	if err := c.bus.Publish(ctx, c.cfg.StateTopic, msgs...); err != nil {
		return fmt.Errorf("chat: publish start markers: %w", err)
	}
	return nil
}

func randomID() string {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return hex.EncodeToString(b)
}

// foldState applies one record of the state log.
func (c *Channel) foldState(_ context.Context, d *bus.Delivery) error {
	var a accepted
	if err := unmarshalAccepted(d.Value, &a); err != nil {
		c.log.Warn("skipping unreadable state record", "topic", d.Topic, "position", d.String(), "err", err)
		return nil
	}
	if a.Kind == "accepted" {
		c.applyAccepted(a)
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	switch a.Kind {
	case "marker":
		if n, ok := c.nonces[a.Tenant]; ok && n == a.Nonce {
			delete(c.nonces, a.Tenant)
			if w, later := c.waiting[a.Tenant]; later {
				close(w)
				delete(c.waiting, a.Tenant)
				c.log.Info("chat channel serves a new tenant", "tenant", a.Tenant)
			} else if !c.isReady() && !c.awaitingStart() {
				c.readyOnce.Do(func() { close(c.ready) })
				c.log.Info("chat channel caught up with its state log")
			}
		}
	}
	return nil
}

func (c *Channel) isReady() bool {
	select {
	case <-c.ready:
		return true
	default:
		return false
	}
}

// awaitingStart reports whether a start marker (not a later tenant's) is
// still unread. c.mu is held.
func (c *Channel) awaitingStart() bool {
	for id := range c.nonces {
		if _, later := c.waiting[id]; !later {
			return true
		}
	}
	return false
}

// vkey is a tenant's visitor as the rate limiters' key.
func vkey(tenant, id string) string { return tenant + "/" + id }

// applyAccepted records a taken visitor message.
func (c *Channel) applyAccepted(a accepted) {
	cs := c.convShard(tkey{a.Tenant, a.ConversationID})
	cs.mu.Lock()
	c.applyAcceptedLocked(cs, a)
	cs.mu.Unlock()
}

// applyAcceptedLocked records a taken visitor message. cs, the
// conversation's shard, is held.
func (c *Channel) applyAcceptedLocked(cs *convShard, a accepted) {
	cv := cs.conv(tkey{a.Tenant, a.ConversationID})
	if cv.visitor != a.Visitor { // else keep the string it has, not the record's copy
		cv.visitor = a.Visitor
	}
	cv.last = later(cv.last, a.Time)
	a.ConversationID = cv.id
	vk := tkey{a.Tenant, a.Visitor}
	vs := c.visitorShard(vk)
	vs.mu.Lock()
	v := vs.visitor(vk)
	if _, ok := v.cids[a.ClientID]; !ok {
		// Kept for every message: the strings of its entry when it has
		// one, else one allocation for both.
		if n := cv.hist.find(a.MessageID); n >= 0 && cv.hist.clientID(n) == a.ClientID {
			a.ClientID, a.MessageID = cv.hist.clientID(n), cv.hist.messageID(n)
		} else {
			event.Pack(&a.ClientID, &a.MessageID)
		}
		v.cids[a.ClientID] = cidOutcome{conversationID: a.ConversationID, messageID: a.MessageID, time: a.Time}
		v.cidOrder = append(v.cidOrder, a.ClientID)
		if len(v.cidOrder) > defaultMaxVisitorCIDs {
			delete(v.cids, v.cidOrder[0])
			v.cidOrder = v.cidOrder[1:]
		}
	}
	if !cv.closed {
		v.current = a.ConversationID
	}
	v.last = later(v.last, a.Time)
	vs.mu.Unlock()
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// foldEvent applies one event of TopicConversations or TopicOutbox to the
// history view.
func (c *Channel) foldEvent(_ context.Context, d *bus.Delivery) error {
	e, err := event.FromDelivery(d)
	if err != nil {
		c.log.Warn("skipping unreadable event", "topic", d.Topic, "position", d.String(), "err", err)
		return nil
	}
	c.apply(e)
	return nil
}

// apply folds one event; it is idempotent (entries are keyed by message id)
// and returns the message id of the entry it added or found, if any.
func (c *Channel) apply(e *event.Envelope) string {
	if e.ConversationID == "" {
		return ""
	}
	// Which events matter, and the decoding, are settled before taking
	// the channel's lock, which every socket needs.
	mustExist := false
	switch e.Type {
	case event.MessageReceived, event.MessageSent:
		if e.Channel != event.ChannelChat {
			return ""
		}
	case event.MessageDelivered:
		if e.Channel != event.ChannelChat {
			return ""
		}
		mustExist = true
	case event.ConversationResolved, event.ConversationAbandoned, event.ConversationReopened:
		mustExist = true
	default:
		return ""
	}
	k := tkey{e.Tenant, e.ConversationID}
	cs := c.convShard(k)
	if e.Type == event.MessageReceived {
		cs.mu.Lock()
		_, mine := cs.taken[e.ID]
		delete(cs.taken, e.ID)
		cs.mu.Unlock()
		if mine {
			return "" // applied when it was accepted
		}
	}
	if mustExist {
		cs.mu.Lock()
		cv := cs.convs[k]
		cs.mu.Unlock()
		if cv == nil {
			return "" // not a conversation of this channel (or evicted)
		}
	}
	p, err := e.Decode()
	if err != nil {
		c.log.Warn("skipping undecodable event", "tenant", e.Tenant, "conversation_id", e.ConversationID, "type", e.Type, "err", err)
		return ""
	}
	cs.mu.Lock()
	defer cs.mu.Unlock()
	cv := cs.convs[k]
	if cv == nil {
		if mustExist {
			return ""
		}
		cv = cs.conv(k)
	}
	cv.last = later(cv.last, e.Time)
	switch d := p.(type) {
	case *event.MessageReceivedData:
		return c.receivedLocked(cv, d.From.Address, d.MessageID, d.ClientMessageID, d.Text, e.Time, nil)
	case *event.MessageSentData:
		return c.addEntryLocked(cv, &entry{seq: e.Time.UnixMicro(), messageID: d.MessageID, from: "agent",
			agentName: d.From.Name, text: d.Text, time: e.Time}, nil)
	case *event.MessageDeliveredData:
		if n := cv.hist.find(d.MessageID); n >= 0 {
			cv.hist.rec(n).delivered = true
		}
	case *event.ConversationResolvedData, *event.ConversationAbandonedData:
		cv.closed = true
		vk := tkey{cv.tenant, cv.visitor}
		vs := c.visitorShard(vk)
		vs.mu.Lock()
		if v := vs.visitors[vk]; v != nil && v.current == cv.id {
			v.current = ""
		}
		vs.mu.Unlock()
	case *event.ConversationReopenedData:
		cv.closed = false
	}
	return ""
}

// receivedLocked adds a visitor's message to cv; from, when not nil, is
// the socket it came on, which its ack answers instead of a message frame.
// It returns the entry's message id (see addEntryLocked). cv's shard is
// held.
func (c *Channel) receivedLocked(cv *conv, visitor, messageID, clientID, text string, t time.Time, from *conn) string {
	cv.visitor = visitor
	return c.addEntryLocked(cv, &entry{seq: t.UnixMicro(), messageID: messageID, clientID: clientID,
		from: "visitor", text: text, time: t}, from)
}

// addEntryLocked inserts en in cv's history and pushes it to the visitor's
// sockets but skip, unless the message is already there. It returns the
// message id as the history keeps it, "" if the history does not keep the
// message (older than every message of a full history). cv's shard is
// held.
func (c *Channel) addEntryLocked(cv *conv, en *entry, skip *conn) string {
	if n := cv.hist.find(en.messageID); n >= 0 {
		return cv.hist.messageID(n)
	}
	n := cv.hist.insert(en, c.cfg.HistoryPerConversation)
	if n < 0 {
		return ""
	}
	if c.pushLocked(cv, skip, func() *wsock.Frame { return cv.hist.pooledFrame(n) }) {
		cv.hist.rec(n).pushed = true
	}
	return cv.hist.messageID(n)
}

// deliver is the delivery group's handler: it makes sure a chat
// message.sent reached the visitor's open sockets and records that with
// message.delivered. A reply for a visitor with no socket open stays in the
// history and is marked delivered when a reconnecting widget receives it.
func (c *Channel) deliver(ctx context.Context, d *bus.Delivery) error {
	e, err := event.FromDelivery(d)
	if err != nil || e.Type != event.MessageSent || e.Channel != event.ChannelChat {
		if err != nil {
			c.log.Warn("skipping unreadable outbox event", "topic", d.Topic, "position", d.String(), "err", err)
		}
		return d.Ack()
	}
	msgID := c.apply(e)
	if msgID == "" {
		return d.Ack()
	}
	k := tkey{e.Tenant, e.ConversationID}
	cs := c.convShard(k)
	cs.mu.Lock()
	publish := false
	if cv := cs.convs[k]; cv != nil {
		if n := cv.hist.find(msgID); n >= 0 {
			r := cv.hist.rec(n)
			if !r.pushed && c.pushLocked(cv, nil, func() *wsock.Frame { return cv.hist.pooledFrame(n) }) {
				r.pushed = true
			}
			if publish = r.pushed && !r.delivered && !r.delivering; publish {
				r.delivering = true
			}
		}
	}
	cs.mu.Unlock()
	if !publish {
		return d.Ack()
	}
	// The next reply goes out at once; its message.delivered joins a
	// batch, and d is acknowledged when that batch is durable.
	select {
	case c.delivered <- pushedReply{tenant: e.Tenant, convID: e.ConversationID, msgID: msgID, d: d}:
		return nil
	case <-ctx.Done():
		return nil // not acknowledged: read again after a restart
	}
}

// deliveredLoop publishes message.delivered for the replies the delivery
// reader pushed, as many as are waiting in one publish, retrying a failed
// batch with backoff, and then acknowledges their outbox deliveries. It
// returns when ctx ends; what it had not published is read again from the
// outbox after a restart (the event ids are derived, so a second publish is
// dropped downstream).
func (c *Channel) deliveredLoop(ctx context.Context) {
	batch := make([]pushedReply, 0, 256)
	msgs := make([]bus.Message, 0, cap(batch))
	for {
		batch, msgs = batch[:0], msgs[:0]
		select {
		case p := <-c.delivered:
			batch = append(batch, p)
		case <-ctx.Done():
			return
		}
	fill:
		for len(batch) < cap(batch) {
			select {
			case p := <-c.delivered:
				batch = append(batch, p)
			default:
				break fill
			}
		}
		for _, p := range batch {
			m, err := c.deliveredMessage(p.tenant, p.convID, p.msgID)
			if err != nil {
				c.log.Error("message.delivered not built", "tenant", p.tenant, "conversation_id", p.convID, "err", err)
				continue
			}
			msgs = append(msgs, m)
		}
		for wait := 100 * time.Millisecond; ; wait = min(2*wait, 5*time.Second) {
			err := c.bus.Publish(ctx, event.TopicConversations, msgs...)
			if err == nil {
				break
			}
			c.log.Warn("retrying message.delivered", "events", len(msgs), "err", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			}
		}
		for _, p := range batch {
			c.setDelivered(p.tenant, p.convID, p.msgID, true)
		}
		for _, p := range batch {
			if err := p.d.Ack(); err != nil && ctx.Err() == nil {
				c.log.Warn("outbox delivery not acknowledged", "position", p.d.String(), "err", err)
			}
		}
	}
}

// deliveredMessage is the message.delivered of an agent entry, with an id
// derived from the message so a second publish is dropped downstream.
func (c *Channel) deliveredMessage(tenant, convID, msgID string) (bus.Message, error) {
	ev, err := event.New(event.MessageDelivered, tenant,
		&event.MessageDeliveredData{MessageID: msgID, Status: event.DeliveryDelivered, Attempts: 1},
		event.WithID(derivedID("dlv", tenant, convID, msgID)), event.WithConversation(convID),
		event.WithChannel(event.ChannelChat), event.WithSource(defaultSource), event.WithTime(c.cfg.Now()))
	if err != nil {
		return bus.Message{}, err
	}
	return event.ToMessage(ev)
}

// publishDelivered writes message.delivered for an agent entry.
func (c *Channel) publishDelivered(ctx context.Context, tenant, convID, msgID string) error {
	m, err := c.deliveredMessage(tenant, convID, msgID)
	if err == nil {
		err = c.bus.Publish(ctx, event.TopicConversations, m)
	}
	c.setDelivered(tenant, convID, msgID, err == nil)
	if err != nil {
		return fmt.Errorf("chat: publish message.delivered: %w", err)
	}
	return nil
}

// setDelivered records that the message.delivered of an entry is no longer
// being published, and whether it was, if the history still holds the
// entry.
func (c *Channel) setDelivered(tenant, convID, msgID string, delivered bool) {
	k := tkey{tenant, convID}
	cs := c.convShard(k)
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cv := cs.convs[k]; cv != nil {
		if n := cv.hist.find(msgID); n >= 0 {
			r := cv.hist.rec(n)
			r.delivering = false
			r.delivered = r.delivered || delivered
		}
	}
}

// derivedID is a deterministic event or message id from its inputs:
// "chat-" + kind + "-" + the hex of the first 16 bytes of the SHA-256 of
// kind and each part, each part after a zero byte. Ids already stored
// were made so: the form must never change. Three are made for every
// visitor message, so the input is hashed from the stack and the id is
// the one allocation.
func derivedID(kind string, parts ...string) string {
	var in [256]byte
	b := append(in[:0], kind...)
	for _, p := range parts {
		b = append(b, 0)
		b = append(b, p...)
	}
	sum := sha256.Sum256(b)
	var digits [32]byte
	hex.Encode(digits[:], sum[:16])
	var id strings.Builder
	id.Grow(len("chat-") + len(kind) + 1 + len(digits))
	id.WriteString("chat-")
	id.WriteString(kind)
	id.WriteByte('-')
	id.Write(digits[:])
	return id.String()
}

// evictLoop forgets idle conversations and visitors with no open socket.
func (c *Channel) evictLoop(ctx context.Context) {
	t := time.NewTicker(defaultEvictionPeriod)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			c.evict(c.cfg.Now())
		}
	}
}

func (c *Channel) evict(now time.Time) {
	cut := now.Add(-c.cfg.IdleEvict)
	for i := range c.vshards {
		vs := &c.vshards[i]
		vs.mu.Lock()
		for k, v := range vs.visitors {
			if len(v.socks) == 0 && v.last.Before(cut) {
				delete(vs.visitors, k)
			}
		}
		vs.mu.Unlock()
	}
	for i := range c.cshards {
		cs := &c.cshards[i]
		cs.mu.Lock()
		for k, cv := range cs.convs {
			if cv.last.Before(cut) && !c.hasVisitor(tkey{cv.tenant, cv.visitor}) {
				delete(cs.convs, k)
			}
		}
		cs.mu.Unlock()
	}
}

// hasVisitor reports whether visitor k is known.
func (c *Channel) hasVisitor(k tkey) bool {
	vs := c.visitorShard(k)
	vs.mu.Lock()
	defer vs.mu.Unlock()
	return vs.visitors[k] != nil
}
