package routing

import (
	"cmp"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/hotline-hub/hotline/bus/event"
	"github.com/hotline-hub/hotline/routing/hours"
)

// Sentinel errors of the fold, tested with errors.Is.
var (
	// ErrVoid is wrapped by Apply for a fact that is not valid at its
	// position in the routing log: an offer to an agent already at capacity,
	// an acceptance of an offer that expired, a second offer of one
	// conversation. Every reader of the log reaches the same verdict and
	// ignores the fact, which is how two routers proposing at once never
	// over-assign: the log order decides, not a lock.
	ErrVoid = errors.New("routing: void")
	// ErrDuplicate is wrapped (with ErrVoid) for an event id already applied
	// within the dedupe window: a copy delivered again.
	ErrDuplicate = errors.New("routing: duplicate event")
	// ErrWrongTenant is returned for an event of another tenant; it does
	// not count as a position of this tenant's log.
	ErrWrongTenant = errors.New("routing: event of another tenant")
)

// State is one tenant's routing state: a deterministic fold of the tenant's
// routing log. It reads no clock and does no I/O: time comes from event
// times and from the now given to Decide, so two readers folding the same
// log hold the same state, and a restart rebuilds it by replay. A State is
// not safe for concurrent use.
type State struct {
	tenant string
	// base is the static configuration (the config file's), dir what the
	// directory facts folded so far change in it, and cfg the result: the
	// configuration in force.
	base TenantConfig
	dir  overlay
	cfg  TenantConfig
	sel  Selector

	queues   map[string]*queueState
	agents   map[string]*Agent
	convs    map[string]*Conversation
	contacts map[string]string // contact id -> last agent id
	lanes    map[laneKey]*lane

	offers   pq[*Conversation] // offered, by deadline
	overflow pq[*Conversation] // waiting in a queue that overflows, by overflow time
	// excludedConvs are conversations with an agent passed over, whose
	// exclusions end at some time NextDeadline must report.
	excludedConvs map[*Conversation]struct{}

	version uint64
	dedupe  dedupe
	gen     uint64 // Decide round, for per-round marks
}

// queueState is a configured queue, compiled.
type queueState struct {
	cfg          QueueConfig
	cal          *hours.Calendar // nil: 24/7
	openGen      uint64          // Decide round open was computed in
	open         bool
	skills       []string
	offerTimeout time.Duration
	reofferAfter time.Duration
	waiting      int

	// nextOpen caches NextOpen while the queue stays closed.
	nextOpenFrom, nextOpen time.Time
}

func (q *queueState) isOpen(t time.Time) bool { return q.cal == nil || q.cal.IsOpen(t) }

// nextOpenAfter is the next opening at or after t (zero if none within a
// year), cached: while closed, the next opening does not move.
func (q *queueState) nextOpenAfter(t time.Time) time.Time {
	if !q.nextOpen.IsZero() && !t.Before(q.nextOpenFrom) && t.Before(q.nextOpen) {
		return q.nextOpen
	}
	n, ok := q.cal.NextOpen(t)
	if !ok {
		return time.Time{}
	}
	q.nextOpenFrom, q.nextOpen = t, n
	return n
}

// laneKey groups waiting conversations that the same agents can take: same
// queue, channel and skills needed. A conversation that cannot be placed
// means none of its lane can, except for per-conversation exclusions, so a
// decision looks at lane heads instead of every waiting conversation.
type laneKey struct {
	queue, channel, skills string
}

type lane struct {
	key    laneKey
	queue  *queueState // nil while the queue is not configured
	skills []string    // the queue's and the conversations', sorted
	// waiting, highest priority then earliest arrival first.
	waiting pq[*Conversation]
	// agents who can take a conversation of this lane now, longest idle first.
	agents pq[*Agent]
	// slot holds each agent's heap position plus one (0: not a candidate),
	// indexed by Agent.ord: heap swaps are frequent and a slice write is
	// much cheaper than a map write.
	slot []int32
}

// pos returns a's position among l's candidates.
func (l *lane) pos(a *Agent) (int, bool) {
	if a.ord < len(l.slot) && l.slot[a.ord] > 0 {
		return int(l.slot[a.ord]) - 1, true
	}
	return 0, false
}

func (l *lane) priority(c *Conversation) int {
	if l.queue == nil {
		return c.Priority
	}
	return l.queue.cfg.Priority + c.Priority
}

// before orders conversations across lanes: higher effective priority first,
// then arrival order.
func before(a *Conversation, b *Conversation) bool {
	pa, pb := a.lane.priority(a), b.lane.priority(b)
	if pa != pb {
		return pa > pb
	}
	return a.Seq < b.Seq
}

// StateOption changes how a State decides.
type StateOption func(*State)

// WithSelector replaces DefaultSelector. Every router of a deployment
// should use the same one, or they will propose different agents (the log
// still keeps the result consistent).
func WithSelector(s Selector) StateOption { return func(st *State) { st.sel = s } }

// NewState returns the empty state of cfg's tenant.
func NewState(cfg TenantConfig, opts ...StateOption) (*State, error) {
	s := &State{
		tenant:        cfg.ID,
		sel:           DefaultSelector,
		agents:        map[string]*Agent{},
		convs:         map[string]*Conversation{},
		contacts:      map[string]string{},
		excludedConvs: map[*Conversation]struct{}{},
	}
	for _, o := range opts {
		o(s)
	}
	if s.sel == nil {
		return nil, fmt.Errorf("%w: nil selector", ErrInvalidConfig)
	}
	if err := s.SetConfig(cfg); err != nil {
		return nil, err
	}
	return s, nil
}

// Tenant is the tenant whose log this state folds.
func (s *State) Tenant() string { return s.tenant }

// Version is the number of events of this tenant folded so far (void ones
// included): the log position decisions are made at.
func (s *State) Version() uint64 { return s.version }

// Config returns the configuration in force: the static configuration
// the state was given, overlaid by the directory facts folded so far.
func (s *State) Config() TenantConfig { return s.cfg }

// Conversation returns a live conversation, or nil.
func (s *State) Conversation(id string) *Conversation { return s.convs[id] }

// Conversations returns the live conversations in arrival order.
func (s *State) Conversations() []*Conversation {
	out := make([]*Conversation, 0, len(s.convs))
	for _, c := range s.convs {
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b *Conversation) int { return cmp.Compare(a.Seq, b.Seq) })
	return out
}

// Agent returns an agent known from configuration or presence, or nil.
func (s *State) Agent(id string) *Agent { return s.agents[id] }

// Agents returns every agent known, by id.
func (s *State) Agents() []*Agent {
	out := make([]*Agent, 0, len(s.agents))
	for _, a := range s.agents {
		out = append(out, a)
	}
	slices.SortFunc(out, func(a, b *Agent) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// Waiting is the number of conversations waiting in queue.
func (s *State) Waiting(queue string) int {
	if q := s.queues[queue]; q != nil {
		return q.waiting
	}
	n := 0
	for _, c := range s.convs {
		if c.Queue == queue && c.Status == Waiting {
			n++
		}
	}
	return n
}

// LastAgent is the agent who last had a conversation of contactID.
func (s *State) LastAgent(contactID string) string { return s.contacts[contactID] }

// SetConfig replaces the tenant's static configuration (the base),
// keeping conversations, presence, holdings and every directory fact
// folded so far: the configuration in force becomes base overlaid by
// them. It fails, changing nothing, if base or that result is invalid
// (base dropping a queue a directory queue overflows into). Whether a fact
// is valid depends on the configuration, so every reader must be given the
// same base; changes made through the directory take effect at one
// position of the routing log instead (docs/ROUTING.md).
func (s *State) SetConfig(base TenantConfig) error {
	cfg, err := s.withBase(base)
	if err != nil {
		return err
	}
	s.base = base
	return s.install(cfg)
}

// withBase returns the configuration in force if base replaced the
// static configuration, or why it cannot.
func (s *State) withBase(base TenantConfig) (TenantConfig, error) {
	if err := base.Validate(); err != nil {
		return TenantConfig{}, err
	}
	if s.tenant != "" && base.ID != s.tenant {
		return TenantConfig{}, fmt.Errorf("%w: tenant %q given to the state of %q", ErrInvalidConfig, base.ID, s.tenant)
	}
	cfg := s.dir.over(base)
	if err := cfg.Validate(); err != nil {
		return TenantConfig{}, fmt.Errorf("with the directory's changes: %w", err)
	}
	return cfg, nil
}

// install puts cfg in force and rebuilds the indexes from it: a queue
// gone leaves its conversations waiting (and counted by Waiting), an agent
// gone keeps what it holds but is offered nothing, an agent whose capacity
// fell below its load keeps what it has and gets nothing new until below.
func (s *State) install(cfg TenantConfig) error {
	s.cfg = cfg
	window := cfg.DedupeWindow
	if window == 0 {
		window = DefaultDedupeWindow
	}
	s.dedupe.window = window

	s.queues = make(map[string]*queueState, len(cfg.Queues))
	for _, qc := range cfg.Queues {
		q := &queueState{cfg: qc, skills: sortedSet(qc.Skills), offerTimeout: qc.OfferTimeout, reofferAfter: qc.ReofferAfter}
		if qc.Hours != nil {
			cal, err := hours.New(*qc.Hours)
			if err != nil { // Validate checked it
				return fmt.Errorf("%w: queue %s: %w", ErrInvalidConfig, qc.ID, err)
			}
			q.cal = cal
		}
		if q.offerTimeout == 0 {
			q.offerTimeout = DefaultOfferTimeout
		}
		if q.reofferAfter == 0 {
			q.reofferAfter = DefaultReofferAfter
		}
		s.queues[qc.ID] = q
	}
	for _, a := range s.agents {
		a.configured = false
	}
	for _, ac := range cfg.Agents {
		a := s.agents[ac.ID]
		if a == nil {
			a = s.newAgent(ac.ID)
		}
		a.configured = true
		a.Name = ac.Name
		a.Skills = sortedSet(ac.Skills)
		a.capacity = make(map[string]int, len(ac.Capacity))
		for ch, n := range ac.Capacity {
			if n > 0 {
				a.capacity[ch] = n
			}
		}
	}
	s.rebuild()
	return nil
}

func (s *State) newAgent(id string) *Agent {
	a := &Agent{ID: id, Presence: event.PresenceOffline, load: map[string]int{}, holding: map[*Conversation]struct{}{}, ord: len(s.agents)}
	s.agents[id] = a
	return a
}

// rebuild recomputes every index from the conversations and agents.
func (s *State) rebuild() {
	s.lanes = map[laneKey]*lane{}
	for _, a := range s.agents {
		a.lanes = nil
	}
	s.offers = pq[*Conversation]{
		less: func(a, b *Conversation) bool {
			if !a.OfferDeadline.Equal(b.OfferDeadline) {
				return a.OfferDeadline.Before(b.OfferDeadline)
			}
			return a.Seq < b.Seq
		},
		setPos: func(c *Conversation, i int) { c.offerPos = i },
	}
	s.overflow = pq[*Conversation]{
		less: func(a, b *Conversation) bool {
			da, db := overflowAt(a), overflowAt(b)
			if !da.Equal(db) {
				return da.Before(db)
			}
			return a.Seq < b.Seq
		},
		setPos: func(c *Conversation, i int) { c.overflowPos = i },
	}
	for _, c := range s.Conversations() {
		c.lane, c.lanePos, c.overflowPos, c.offerPos = nil, -1, -1, -1
		switch c.Status {
		case Waiting:
			s.enqueue(c, c.Queue)
		case Offered:
			s.offers.push(c)
		}
	}
	for _, a := range s.agents {
		s.updateAgent(a)
	}
}

// overflowAt is when a waiting conversation overflows.
func overflowAt(c *Conversation) time.Time {
	return c.QueuedAt.Add(c.lane.queue.cfg.OverflowAfter)
}

func sortedSet(in []string) []string {
	out := slices.Clone(in)
	slices.Sort(out)
	return slices.Compact(out)
}

func union(a, b []string) []string {
	return sortedSet(append(slices.Clone(a), b...))
}

// laneFor returns the lane of (queue, channel, skills), creating it and
// enrolling the agents who qualify.
func (s *State) laneFor(queue, channel string, convSkills []string) *lane {
	q := s.queues[queue]
	skills := convSkills
	if q != nil {
		skills = union(q.skills, convSkills)
	}
	key := laneKey{queue: queue, channel: channel, skills: strings.Join(skills, "\x00")}
	if l := s.lanes[key]; l != nil {
		return l
	}
	l := &lane{key: key, queue: q, skills: skills}
	l.waiting = pq[*Conversation]{
		less: func(a, b *Conversation) bool {
			if a.Priority != b.Priority {
				return a.Priority > b.Priority
			}
			return a.Seq < b.Seq
		},
		setPos: func(c *Conversation, i int) { c.lanePos = i },
	}
	l.agents = pq[*Agent]{
		less: idleBefore,
		setPos: func(a *Agent, i int) {
			if a.ord >= len(l.slot) {
				l.slot = append(l.slot, make([]int32, a.ord+1-len(l.slot))...)
			}
			l.slot[a.ord] = int32(i + 1)
		},
	}
	s.lanes[key] = l
	if q != nil {
		for _, a := range s.agents {
			if a.configured && a.capacity[channel] > 0 && a.HasSkills(skills) {
				a.lanes = append(a.lanes, l)
				s.placeAgent(a, l)
			}
		}
	}
	return l
}

// placeAgent puts a in or out of l's candidates, or re-sorts it there.
func (s *State) placeAgent(a *Agent, l *lane) {
	eligible := a.configured && a.Presence == event.PresenceAvailable && a.Free(l.key.channel) > 0
	i, in := l.pos(a)
	switch {
	case eligible && in:
		l.agents.fix(i)
	case eligible:
		l.agents.push(a)
	case in:
		l.agents.remove(i)
	}
}

// updateAgent re-files a in the candidates of every lane it qualifies for
// after its presence, load or idle time changed.
func (s *State) updateAgent(a *Agent) {
	for _, l := range a.lanes {
		s.placeAgent(a, l)
	}
}

// enqueue makes c wait in queue.
func (s *State) enqueue(c *Conversation, queue string) {
	c.Queue = queue
	c.Status = Waiting
	c.AgentID, c.OfferID, c.OfferDeadline, c.OfferTimeout = "", "", time.Time{}, 0
	l := s.laneFor(queue, c.Channel, c.Skills)
	c.lane = l
	l.waiting.push(c)
	if l.queue != nil {
		l.queue.waiting++
		if l.queue.cfg.OverflowAfter > 0 {
			s.overflow.push(c)
		}
	}
}

// dequeue takes a waiting c out of its queue.
func (s *State) dequeue(c *Conversation) {
	if c.lanePos >= 0 {
		c.lane.waiting.remove(c.lanePos)
		if c.lane.queue != nil {
			c.lane.queue.waiting--
		}
	}
	if c.overflowPos >= 0 {
		s.overflow.remove(c.overflowPos)
	}
}

// hold gives c to a (as an offer or an assignment).
func (s *State) hold(c *Conversation, a *Agent, at time.Time) {
	c.AgentID = a.ID
	a.holding[c] = struct{}{}
	a.load[c.Channel]++
	if at.After(a.IdleSince) {
		a.IdleSince = at
	}
	s.updateAgent(a)
}

// release takes c from the agent holding it, if any.
func (s *State) release(c *Conversation, at time.Time) {
	if c.offerPos >= 0 {
		s.offers.remove(c.offerPos)
	}
	a := s.agents[c.AgentID]
	c.AgentID = ""
	if a == nil {
		return
	}
	if _, ok := a.holding[c]; ok {
		delete(a.holding, c)
		a.load[c.Channel]--
	}
	if at.After(a.IdleSince) {
		a.IdleSince = at
	}
	s.updateAgent(a)
}

// detach takes c out of wherever it is: its queue or its agent.
func (s *State) detach(c *Conversation, at time.Time) {
	if c.Status == Waiting {
		s.dequeue(c)
	} else {
		s.release(c, at)
	}
}

func (s *State) resetExclusions(c *Conversation) {
	c.excluded = nil
	delete(s.excludedConvs, c)
}

// void builds the error of a fact ignored at its position.
func void(e *event.Envelope, format string, args ...any) error {
	return fmt.Errorf("%w: %s %s of %s: %s", ErrVoid, e.Type, e.ID, e.ConversationID, fmt.Sprintf(format, args...))
}

// Apply folds one event of the tenant's routing log. It returns nil when
// the event changed (or confirmed) the state, an error wrapping ErrVoid when
// the event is not valid at this position and changed nothing (duplicates
// also wrap ErrDuplicate), and ErrWrongTenant for another tenant's event.
// Every error but ErrWrongTenant still counts the event as a log position.
// Callers log void events and carry on: they are part of normal operation.
func (s *State) Apply(e *event.Envelope) error {
	p, err := decodePayload(e)
	return s.apply(e, p, err)
}

// decodePayload decodes and validates e's data. It is the costly half of
// Apply and needs no state, so a router runs it on another goroutine.
func decodePayload(e *event.Envelope) (event.Payload, error) {
	if !event.Known(e.Type) {
		return nil, errors.New("unknown event type")
	}
	p, err := e.Decode()
	if err != nil {
		return nil, err
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return p, nil
}

// apply folds e whose payload decodePayload returned as p, perr.
func (s *State) apply(e *event.Envelope, p event.Payload, perr error) error {
	if e.Tenant != s.tenant {
		return fmt.Errorf("%w: %q in the state of %q", ErrWrongTenant, e.Tenant, s.tenant)
	}
	s.version++
	if e.ID == "" {
		return void(e, "no event id")
	}
	if s.dedupe.seenBefore(e.ID, e.Time) {
		return fmt.Errorf("%w: %w: %s %s", ErrVoid, ErrDuplicate, e.Type, e.ID)
	}
	if perr != nil {
		return void(e, "%v", perr)
	}
	switch d := p.(type) {
	case *event.ConversationQueuedData:
		return s.applyQueued(e, d)
	case *event.ConversationOfferedData:
		return s.applyOffered(e, d)
	case *event.ConversationAssignedData:
		return s.applyAssigned(e, d)
	case *event.ConversationOfferDeclinedData:
		return s.withdrawOffer(e, d.AgentID, d.OfferID, false)
	case *event.ConversationOfferExpiredData:
		return s.withdrawOffer(e, d.AgentID, d.OfferID, true)
	case *event.ConversationTransferredData:
		return s.applyTransferred(e, d)
	case *event.ConversationResolvedData:
		return s.close(e)
	case *event.ConversationAbandonedData:
		return s.close(e)
	case *event.AgentPresenceChangedData:
		return s.applyPresence(e, d)
	case *event.ContactIdentifiedData:
		return s.applyContact(e, d)
	case *event.RouterStartedData:
		return nil
	case *event.QueueSavedData, *event.QueueRemovedData, *event.AgentProfileSetData, *event.AgentProfileRemovedData:
		return s.applyDirectory(e, p)
	}
	return void(e, "not a routing fact")
}

func (s *State) applyQueued(e *event.Envelope, d *event.ConversationQueuedData) error {
	if e.ConversationID == "" {
		return void(e, "no conversation id")
	}
	if !validChannel(e.Channel) {
		return void(e, "channel %q is not voice, email, sms or chat; capacity is per channel", e.Channel)
	}
	c := s.convs[e.ConversationID]
	if c != nil {
		if c.Status == Assigned {
			return void(e, "assigned to %s; move it with a transfer", c.AgentID)
		}
		s.detach(c, e.Time)
		if c.Queue != d.Queue {
			c.QueuedAt = e.Time
			s.resetExclusions(c)
		}
	} else {
		c = &Conversation{
			ID: e.ConversationID, ArrivedAt: e.Time, QueuedAt: e.Time, Seq: s.version,
			lanePos: -1, overflowPos: -1, offerPos: -1,
		}
		s.convs[c.ID] = c
	}
	c.Channel = e.Channel
	c.Priority = d.Priority
	c.Skills = sortedSet(d.Skills)
	c.Language = d.Language
	if e.ContactID != "" {
		c.ContactID = e.ContactID
	}
	c.LastAgentID = s.contacts[c.ContactID]
	s.enqueue(c, d.Queue)
	return nil
}

func (s *State) applyOffered(e *event.Envelope, d *event.ConversationOfferedData) error {
	c := s.convs[e.ConversationID]
	switch {
	case c == nil:
		return void(e, "no such live conversation")
	case c.Status != Waiting:
		return void(e, "already %s to %s", c.Status, c.AgentID)
	case c.Queue != d.Queue:
		return void(e, "waits in queue %q, not %q", c.Queue, d.Queue)
	}
	a := s.agents[d.AgentID]
	if reason := cannotTake(a, c.Channel, c.lane.skills); reason != "" {
		return void(e, "agent %s %s", d.AgentID, reason)
	}
	timeout := time.Duration(d.TimeoutMs) * time.Millisecond
	if timeout == 0 {
		timeout = DefaultOfferTimeout
		if c.lane.queue != nil {
			timeout = c.lane.queue.offerTimeout
		}
	}
	s.dequeue(c)
	c.Status = Offered
	c.OfferID = e.ID
	c.OfferTimeout = timeout
	c.OfferDeadline = e.Time.Add(timeout)
	s.offers.push(c)
	s.hold(c, a, e.Time)
	return nil
}

// cannotTake says why a may not be offered a conversation, or "".
func cannotTake(a *Agent, channel string, skills []string) string {
	switch {
	case a == nil || !a.configured:
		return "is not configured"
	case a.Presence != event.PresenceAvailable:
		return "is " + a.Presence
	case a.Free(channel) <= 0:
		return fmt.Sprintf("is at capacity on %s (%d of %d)", channel, a.Load(channel), a.Capacity(channel))
	case !a.HasSkills(skills):
		return fmt.Sprintf("lacks skills %v", skills)
	}
	return ""
}

func (s *State) applyAssigned(e *event.Envelope, d *event.ConversationAssignedData) error {
	a := s.agents[d.AgentID]
	c := s.convs[e.ConversationID]
	if e.ConversationID == "" {
		return void(e, "no conversation id")
	}
	if c != nil && c.Status == Offered {
		if c.AgentID != d.AgentID {
			return void(e, "offered to %s, not %s", c.AgentID, d.AgentID)
		}
		s.offers.remove(c.offerPos)
		c.Status = Assigned
		c.OfferID, c.OfferDeadline, c.OfferTimeout = "", time.Time{}, 0
		s.remember(c)
		return nil
	}
	if c != nil && c.Status == Assigned {
		return void(e, "already assigned to %s", c.AgentID)
	}
	// A direct assignment: an agent took a waiting conversation themselves,
	// or started one routing never saw (an outbound email). It needs no
	// presence, only room on the channel.
	channel := e.Channel
	if c != nil {
		channel = c.Channel
	}
	switch {
	case !validChannel(channel):
		return void(e, "channel %q is not voice, email, sms or chat", channel)
	case a == nil || !a.configured:
		return void(e, "agent %s is not configured", d.AgentID)
	case a.Free(channel) <= 0:
		return void(e, "agent %s is at capacity on %s", d.AgentID, channel)
	}
	if c == nil {
		c = &Conversation{
			ID: e.ConversationID, Channel: channel, ContactID: e.ContactID, Queue: d.Queue,
			ArrivedAt: e.Time, QueuedAt: e.Time, Seq: s.version, lanePos: -1, overflowPos: -1, offerPos: -1,
		}
		s.convs[c.ID] = c
	} else {
		s.dequeue(c)
	}
	c.Status = Assigned
	s.hold(c, a, e.Time)
	s.remember(c)
	return nil
}

// remember records c's agent as its contact's last agent.
func (s *State) remember(c *Conversation) {
	if c.ContactID != "" {
		s.contacts[c.ContactID] = c.AgentID
	}
}

// withdrawOffer puts an offered conversation back in its queue after a
// decline or an expiry and passes the agent over for a while.
func (s *State) withdrawOffer(e *event.Envelope, agentID, offerID string, expiry bool) error {
	c := s.convs[e.ConversationID]
	switch {
	case c == nil:
		return void(e, "no such live conversation")
	case c.Status != Offered || c.AgentID != agentID:
		return void(e, "no offer of it stands for %s", agentID)
	case offerID != "" && offerID != c.OfferID:
		return void(e, "offer %s is not the standing offer %s", offerID, c.OfferID)
	case expiry && e.Time.Before(c.OfferDeadline):
		return void(e, "offer runs until %s", c.OfferDeadline.Format(time.RFC3339Nano))
	}
	s.release(c, e.Time)
	reoffer := DefaultReofferAfter
	if q := s.queues[c.Queue]; q != nil {
		reoffer = q.reofferAfter
	}
	if c.excluded == nil {
		c.excluded = map[string]time.Time{}
	}
	c.excluded[agentID] = e.Time.Add(reoffer)
	s.excludedConvs[c] = struct{}{}
	s.enqueue(c, c.Queue)
	return nil
}

func (s *State) applyTransferred(e *event.Envelope, d *event.ConversationTransferredData) error {
	c := s.convs[e.ConversationID]
	if c == nil {
		return void(e, "no such live conversation")
	}
	if d.FromAgentID != "" {
		if c.Status != Assigned || c.AgentID != d.FromAgentID {
			return void(e, "not assigned to %s (%s to %q)", d.FromAgentID, c.Status, c.AgentID)
		}
	} else if c.Status != Waiting || c.Queue != d.FromQueue {
		return void(e, "not waiting in queue %q (%s in %q)", d.FromQueue, c.Status, c.Queue)
	}
	if d.ToAgentID != "" {
		a := s.agents[d.ToAgentID]
		switch {
		case a == nil || !a.configured:
			return void(e, "agent %s is not configured", d.ToAgentID)
		case a.ID == c.AgentID:
			return void(e, "already with %s", a.ID)
		case a.Presence != event.PresenceAvailable:
			return void(e, "agent %s is %s", a.ID, a.Presence)
		case a.Free(c.Channel) <= 0:
			return void(e, "agent %s is at capacity on %s", a.ID, c.Channel)
		}
		s.detach(c, e.Time)
		if d.ToQueue != "" {
			c.Queue = d.ToQueue
		}
		c.Status = Assigned
		c.Note = d.Note
		s.hold(c, a, e.Time)
		s.remember(c)
		return nil
	}
	s.detach(c, e.Time)
	c.Note = d.Note
	c.QueuedAt = e.Time
	s.resetExclusions(c)
	s.enqueue(c, d.ToQueue)
	return nil
}

// close ends c (resolved or abandoned) and frees its agent.
func (s *State) close(e *event.Envelope) error {
	c := s.convs[e.ConversationID]
	if c == nil {
		return void(e, "no such live conversation")
	}
	s.detach(c, e.Time)
	s.resetExclusions(c)
	delete(s.convs, c.ID)
	return nil
}

func (s *State) applyPresence(e *event.Envelope, d *event.AgentPresenceChangedData) error {
	a := s.agents[d.AgentID]
	if a == nil {
		a = s.newAgent(d.AgentID)
	}
	prev := a.Presence
	if prev == d.Presence {
		return nil
	}
	a.Presence = d.Presence
	if d.Presence == event.PresenceAvailable && e.Time.After(a.IdleSince) {
		a.IdleSince = e.Time
	}
	if prev == event.PresenceAvailable {
		// Offers to an agent who left stand no chance; put them back now
		// rather than when they expire.
		s.withdrawAll(a, e.Time)
	}
	s.updateAgent(a)
	return nil
}

func (s *State) applyContact(e *event.Envelope, d *event.ContactIdentifiedData) error {
	c := s.convs[e.ConversationID]
	if c == nil {
		return void(e, "no such live conversation")
	}
	c.ContactID = d.ContactID
	switch c.Status {
	case Waiting:
		c.LastAgentID = s.contacts[c.ContactID]
	case Assigned:
		s.remember(c)
	}
	return nil
}

// dedupe remembers event ids for a window of event time, so a copy
// delivered again (a forwarder that crashed before committing) is dropped
// however far apart the two copies land in the log. Ids are kept as 16
// bytes: a UUID's own, else a hash.
type dedupe struct {
	window time.Duration
	seen   map[[16]byte]struct{}
	fifo   []dedupeEntry
	head   int
	latest time.Time
}

type dedupeEntry struct {
	id [16]byte
	at int64 // unix nanoseconds
}

func (d *dedupe) seenBefore(id string, at time.Time) bool {
	var k [16]byte
	if u, err := uuid.Parse(id); err == nil && len(id) == 36 {
		k = u
	} else {
		sum := sha256.Sum256([]byte(id))
		copy(k[:], sum[:16])
		k[6] ^= 0xff // not a valid UUID version: never equal to a parsed id
	}
	if d.seen == nil {
		d.seen = map[[16]byte]struct{}{}
	}
	if _, dup := d.seen[k]; dup {
		return true
	}
	d.seen[k] = struct{}{}
	d.fifo = append(d.fifo, dedupeEntry{id: k, at: at.UnixNano()})
	if at.After(d.latest) {
		d.latest = at
	}
	horizon := d.latest.Add(-d.window).UnixNano()
	for d.head < len(d.fifo) && d.fifo[d.head].at < horizon {
		delete(d.seen, d.fifo[d.head].id)
		d.head++
	}
	if d.head > 1024 && d.head*2 > len(d.fifo) {
		d.fifo = append(d.fifo[:0], d.fifo[d.head:]...)
		d.head = 0
	}
	return false
}
