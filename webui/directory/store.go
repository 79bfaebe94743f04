package directory

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/hotline-hub/hotline/bus"
	"github.com/hotline-hub/hotline/bus/event"
	"github.com/hotline-hub/hotline/routing/hours"
)

// tenantDir is one tenant's folded directory, as the facts say it.
type tenantDir struct {
	// facts is set by the first content fact (markers do not count), so
	// EnsureDefaults knows a tenant whose admins emptied it from a new one.
	facts    bool
	queues   map[string]*event.QueueSavedData
	skills   map[string]*event.SkillSavedData
	profiles map[string]*event.AgentProfileSetData
	answers  map[string]*event.CannedAnswerSavedData
	widget   *event.WidgetConfiguredData
}

func newTenantDir() *tenantDir {
	return &tenantDir{
		queues:   make(map[string]*event.QueueSavedData),
		skills:   make(map[string]*event.SkillSavedData),
		profiles: make(map[string]*event.AgentProfileSetData),
		answers:  make(map[string]*event.CannedAnswerSavedData),
	}
}

// syncState tracks one tenant's catch-up marker.
type syncState struct {
	marker string
	done   chan struct{}
	err    error
}

// Store is the fold of TopicDirectory for every tenant. It is a view
// rebuilt from the bus at every start. Its write methods publish a fact and
// return once the store has folded it (read-your-writes). Read methods
// return copies.
type Store struct {
	cfg Config
	bus bus.Bus
	log *slog.Logger

	mu      sync.RWMutex
	tenants map[string]*tenantDir
	// seen and seenOrder remember the last maxSeen event ids, to drop a
	// message the bus delivers twice (a producer retry).
	seen      map[string]struct{}
	seenOrder []string
	seenNext  int
	waiters   map[string]chan error
	syncs     map[string]*syncState

	// writers holds one token per tenant: a writer checks the fold,
	// publishes and waits for its fact while holding it.
	writersMu sync.Mutex
	writers   map[string]chan struct{}

	subsMu sync.Mutex
	subs   map[*subscriber]struct{}

	done    chan struct{}
	runOnce sync.Once
}

func newStore(cfg Config, b bus.Bus, log *slog.Logger) *Store {
	return &Store{
		cfg: cfg, bus: b, log: log,
		tenants: make(map[string]*tenantDir),
		seen:    make(map[string]struct{}),
		waiters: make(map[string]chan error),
		syncs:   make(map[string]*syncState),
		writers: make(map[string]chan struct{}),
		subs:    make(map[*subscriber]struct{}),
		done:    make(chan struct{}),
	}
}

// Run replays TopicDirectory from its start with a group-less reader, then
// follows it, until ctx ends (nil) or the bus fails.
func (s *Store) Run(ctx context.Context) error {
	defer s.runOnce.Do(func() { close(s.done) })
	reader, err := s.bus.Subscribe(ctx, event.TopicDirectory, bus.SubscribeOptions{Start: bus.StartEarliest})
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("directory: subscribe to %s: %w", event.TopicDirectory, err)
	}
	defer reader.Close()
	for {
		d, err := reader.Receive(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("directory: read %s: %w", event.TopicDirectory, err)
		}
		s.fold(d)
	}
}

// fold decodes and applies one message, answers its waiter, if any, and
// tells subscribers about a change.
func (s *Store) fold(d *bus.Delivery) {
	e, err := event.FromDelivery(d)
	if err != nil {
		s.log.Warn("directory message skipped", "topic", d.Topic, "position", d.String(), "err", err)
		return
	}
	if string(d.Key) != e.Tenant {
		s.log.Warn("directory message skipped: not keyed by its tenant", "topic", d.Topic, "position", d.String(), "tenant", e.Tenant)
		return
	}
	p, perr := e.Decode()
	if perr == nil {
		perr = p.Validate()
	}
	s.mu.Lock()
	if _, dup := s.seen[e.ID]; dup {
		s.mu.Unlock()
		return
	}
	s.remember(e.ID)
	var result error
	changed := false
	if perr != nil {
		result = fmt.Errorf("directory: %s %s: %w", e.Type, e.ID, perr)
		s.log.Warn("directory event void", "tenant", e.Tenant, "type", e.Type, "event_id", e.ID, "err", perr)
	} else {
		changed, result = s.apply(e, p)
		if result != nil {
			s.log.Warn("directory event void", "tenant", e.Tenant, "type", e.Type, "event_id", e.ID, "err", result)
		}
	}
	if w := s.waiters[e.ID]; w != nil {
		w <- result
		delete(s.waiters, e.ID)
	}
	s.mu.Unlock()
	if changed {
		s.notify(e.Tenant)
	}
}

// maxSeen is how many recent event ids the store remembers.
const maxSeen = 1 << 16

// remember adds id to the recent ids, forgetting the oldest when full.
func (s *Store) remember(id string) {
	if len(s.seenOrder) < maxSeen {
		s.seenOrder = append(s.seenOrder, id)
	} else {
		delete(s.seen, s.seenOrder[s.seenNext])
		s.seenOrder[s.seenNext] = id
		s.seenNext = (s.seenNext + 1) % maxSeen
	}
	s.seen[id] = struct{}{}
}

// apply changes the state for one valid fact and reports whether the
// directory changed. Called with s.mu held.
func (s *Store) apply(e *event.Envelope, p event.Payload) (bool, error) {
	if _, ok := p.(*event.DirectoryReaderStartedData); ok {
		if st := s.syncs[e.Tenant]; st != nil && st.marker == e.ID {
			st.marker = ""
			close(st.done)
			s.log.Debug("caught up with the directory log", "tenant", e.Tenant)
		}
		return false, nil
	}
	td := s.tenants[e.Tenant]
	if td == nil {
		td = newTenantDir()
		s.tenants[e.Tenant] = td
	}
	switch d := p.(type) {
	case *event.QueueSavedData:
		td.queues[d.QueueID] = d
	case *event.QueueRemovedData:
		delete(td.queues, d.QueueID)
	case *event.SkillSavedData:
		td.skills[d.SkillID] = d
	case *event.SkillRemovedData:
		delete(td.skills, d.SkillID)
	case *event.AgentProfileSetData:
		td.profiles[d.AgentID] = d
	case *event.AgentProfileRemovedData:
		delete(td.profiles, d.AgentID)
	case *event.CannedAnswerSavedData:
		td.answers[d.AnswerID] = d
	case *event.CannedAnswerRemovedData:
		delete(td.answers, d.AnswerID)
	case *event.WidgetConfiguredData:
		td.widget = d
	default:
		return false, fmt.Errorf("directory: %s does not belong on %s", e.Type, event.TopicDirectory)
	}
	td.facts = true
	return true, nil
}

// publish writes payloads as facts of tenant, in order, and waits until
// the store has folded every one; it returns the first fold verdict that
// is not nil.
func (s *Store) publish(ctx context.Context, tenant string, payloads ...event.Payload) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.WaitTimeout)
	defer cancel()
	msgs := make([]bus.Message, 0, len(payloads))
	ids := make([]string, 0, len(payloads))
	for _, p := range payloads {
		e, err := event.New(p.EventType(), tenant, p, event.WithSource(Source))
		if err != nil {
			return fmt.Errorf("directory: %s: %w", p.EventType(), err)
		}
		m, err := event.ToMessage(e)
		if err != nil {
			return fmt.Errorf("directory: %s: %w", p.EventType(), err)
		}
		msgs = append(msgs, m)
		ids = append(ids, e.ID)
	}
	chans := make([]chan error, len(ids))
	s.mu.Lock()
	for i, id := range ids {
		chans[i] = make(chan error, 1)
		s.waiters[id] = chans[i]
	}
	s.mu.Unlock()
	forget := func() {
		s.mu.Lock()
		for _, id := range ids {
			delete(s.waiters, id)
		}
		s.mu.Unlock()
	}
	if err := s.bus.Publish(ctx, event.TopicDirectory, msgs...); err != nil {
		forget()
		return fmt.Errorf("directory: publish to %s: %w", event.TopicDirectory, err)
	}
	var first error
	for _, ch := range chans {
		select {
		case err := <-ch:
			if first == nil {
				first = err
			}
		case <-ctx.Done():
			forget()
			return fmt.Errorf("directory: waiting for the store to apply: %w", ctx.Err())
		case <-s.done:
			forget()
			return ErrStopped
		}
	}
	return first
}

// Sync returns once the store has folded every fact of tenant published
// before the first call for that tenant: it publishes a marker keyed by
// the tenant (once per tenant and Store) and waits to read it back. Facts
// of a tenant share one partition, so the marker comes after all of them.
// Callers name only tenants that exist (the HTTP handlers ask auth first),
// since every new name costs a marker on the log.
func (s *Store) Sync(ctx context.Context, tenant string) error {
	if !event.ValidTenant(tenant) {
		return fmt.Errorf("%w: tenant %q", ErrNotFound, tenant)
	}
	s.mu.Lock()
	st := s.syncs[tenant]
	first := st == nil
	var msg bus.Message
	if first {
		e, err := event.New(event.DirectoryReaderStarted, tenant, &event.DirectoryReaderStartedData{ReaderID: s.cfg.ReaderID},
			event.WithSource(Source))
		if err == nil {
			msg, err = event.ToMessage(e)
		}
		if err != nil {
			s.mu.Unlock()
			return fmt.Errorf("directory: sync marker: %w", err)
		}
		st = &syncState{marker: e.ID, done: make(chan struct{})}
		s.syncs[tenant] = st
	}
	s.mu.Unlock()
	if first {
		if err := s.bus.Publish(ctx, event.TopicDirectory, msg); err != nil {
			s.mu.Lock()
			defer s.mu.Unlock()
			if st.marker == "" {
				// The failed Publish stored the marker after all and the
				// fold has read it back: the store is caught up.
				return st.err
			}
			delete(s.syncs, tenant)
			st.marker = "" // a late read-back must not close done again
			st.err = fmt.Errorf("directory: publish sync marker: %w", err)
			close(st.done)
			return st.err
		}
	}
	select {
	case <-st.done:
		return st.err
	case <-ctx.Done():
		return fmt.Errorf("directory: waiting to catch up with tenant %q: %w", tenant, ctx.Err())
	case <-s.done:
		return ErrStopped
	}
}

// lockTenant takes tenant's writer token, so that a writer's checks
// against the fold still hold when its fact is folded. It returns the
// release function.
func (s *Store) lockTenant(ctx context.Context, tenant string) (func(), error) {
	s.writersMu.Lock()
	tok := s.writers[tenant]
	if tok == nil {
		tok = make(chan struct{}, 1)
		s.writers[tenant] = tok
	}
	s.writersMu.Unlock()
	select {
	case tok <- struct{}{}:
		return func() { <-tok }, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("directory: waiting for another writer of tenant %q: %w", tenant, ctx.Err())
	}
}

// Tenants returns the tenants with any directory fact, sorted.
func (s *Store) Tenants() []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]string, 0, len(s.tenants))
	for id, td := range s.tenants {
		if td.facts {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

// Queues returns the tenant's queues sorted by id.
func (s *Store) Queues(tenant string) []Queue {
	s.mu.RLock()
	defer s.mu.RUnlock()
	td := s.tenants[tenant]
	if td == nil {
		return []Queue{}
	}
	out := make([]Queue, 0, len(td.queues))
	for _, id := range slices.Sorted(maps.Keys(td.queues)) {
		out = append(out, queueOf(td.queues[id]))
	}
	return out
}

// Queue returns one queue of the tenant.
func (s *Store) Queue(tenant, id string) (Queue, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if td := s.tenants[tenant]; td != nil {
		if q := td.queues[id]; q != nil {
			return queueOf(q), true
		}
	}
	return Queue{}, false
}

// Skills returns the tenant's skill catalogue sorted by id.
func (s *Store) Skills(tenant string) []Skill {
	s.mu.RLock()
	defer s.mu.RUnlock()
	td := s.tenants[tenant]
	if td == nil {
		return []Skill{}
	}
	out := make([]Skill, 0, len(td.skills))
	for _, id := range slices.Sorted(maps.Keys(td.skills)) {
		out = append(out, Skill{ID: id, Name: td.skills[id].Name})
	}
	return out
}

// Profile returns the routing profile of one account of the tenant, and
// false if it takes no routed work.
func (s *Store) Profile(tenant, accountID string) (Profile, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if td := s.tenants[tenant]; td != nil {
		if p := td.profiles[accountID]; p != nil {
			return profileOf(p), true
		}
	}
	return Profile{}, false
}

// Profiles returns every routing profile of the tenant by account id.
func (s *Store) Profiles(tenant string) map[string]Profile {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := map[string]Profile{}
	if td := s.tenants[tenant]; td != nil {
		for id, p := range td.profiles {
			out[id] = profileOf(p)
		}
	}
	return out
}

// CannedAnswers returns the tenant's canned answers and scripts sorted by
// title (case-insensitively), then id.
func (s *Store) CannedAnswers(tenant string) []Answer {
	s.mu.RLock()
	defer s.mu.RUnlock()
	td := s.tenants[tenant]
	if td == nil {
		return []Answer{}
	}
	out := make([]Answer, 0, len(td.answers))
	for _, a := range td.answers {
		out = append(out, answerOf(a))
	}
	slices.SortFunc(out, func(a, b Answer) int {
		if c := strings.Compare(strings.ToLower(a.Title), strings.ToLower(b.Title)); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out
}

// CannedAnswer returns one canned answer or script of the tenant.
func (s *Store) CannedAnswer(tenant, id string) (Answer, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if td := s.tenants[tenant]; td != nil {
		if a := td.answers[id]; a != nil {
			return answerOf(a), true
		}
	}
	return Answer{}, false
}

// Widget returns the tenant's chat widget settings; the zero Widget (no
// origin allowed) when never configured.
func (s *Store) Widget(tenant string) Widget {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if td := s.tenants[tenant]; td != nil && td.widget != nil {
		return Widget{AllowedOrigins: slices.Clone(td.widget.AllowedOrigins), DefaultQueue: td.widget.DefaultQueue}
	}
	return Widget{AllowedOrigins: []string{}}
}

// queueOf converts a fact to the API's shape, copying.
func queueOf(d *event.QueueSavedData) Queue {
	q := Queue{
		ID: d.QueueID, Name: d.Name, Channels: clone(d.Channels), Skills: clone(d.Skills), Priority: d.Priority,
		OverflowAfterSeconds: seconds(d.OverflowAfterMs), OverflowQueue: d.OverflowQueue,
		OfferTimeoutSeconds: seconds(d.OfferTimeoutMs),
	}
	if d.Hours != nil {
		h := *d.Hours
		h.Weekly = make(map[string][]string, len(d.Hours.Weekly))
		for day, spans := range d.Hours.Weekly {
			h.Weekly[day] = clone(spans)
		}
		h.Holidays = make([]hours.Holiday, len(d.Hours.Holidays))
		for i, hol := range d.Hours.Holidays {
			hol.Open = clone(hol.Open)
			h.Holidays[i] = hol
		}
		q.Hours = &h
	}
	return q
}

// seconds rounds milliseconds up to whole seconds, so a set duration never
// reads as zero (unset).
func seconds(ms int64) int64 {
	if ms <= 0 {
		return 0
	}
	return (ms + 999) / 1000
}

func profileOf(d *event.AgentProfileSetData) Profile {
	return Profile{Skills: clone(d.Skills), Capacity: Capacity{
		Chat: d.Capacity[event.ChannelChat], Voice: d.Capacity[event.ChannelVoice],
		Email: d.Capacity[event.ChannelEmail], SMS: d.Capacity[event.ChannelSMS],
	}}
}

func answerOf(d *event.CannedAnswerSavedData) Answer {
	return Answer{ID: d.AnswerID, Kind: d.Kind, Title: d.Title, Text: d.Text, Language: d.Language,
		Shortcut: d.Shortcut, Queues: clone(d.Queues)}
}

// clone copies a list, never returning nil, so JSON shows [] not null.
func clone[T any](s []T) []T {
	out := make([]T, len(s))
	copy(out, s)
	return out
}
