package auth

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hotline-hub/hotline/bus"
	"github.com/hotline-hub/hotline/bus/event"
)

// Tenant is one client company on the hub, as the store folded it.
type Tenant struct {
	ID       string    `json:"id"`
	Name     string    `json:"name"`
	Language string    `json:"language"`
	TimeZone string    `json:"time_zone"`
	Created  time.Time `json:"created"`
	Updated  time.Time `json:"updated"`
}

// Account is one login of one tenant, as the store folded it. The password
// hash never leaves the package.
type Account struct {
	ID          string    `json:"id"`
	Tenant      string    `json:"tenant"`
	Login       string    `json:"login"`
	DisplayName string    `json:"display_name"`
	Role        string    `json:"role"`
	Operator    bool      `json:"operator"`
	Disabled    bool      `json:"disabled"`
	LockedUntil time.Time `json:"locked_until,omitzero"`
	HasPassword bool      `json:"has_password"`
	Created     time.Time `json:"created"`
	Updated     time.Time `json:"updated"`

	passwordHash string
}

// Session is one logged-in browser, known by the SHA-256 of its token.
type Session struct {
	Hash      string
	Tenant    string
	AccountID string
	Started   time.Time
	ExpiresAt time.Time
	UserAgent string
	// lastSeen is this instance's own idea of the last request, in Unix
	// nanoseconds; see Config.SessionIdle. Atomic, so that checking a
	// session (every request, every reply frame) needs only the read lock.
	lastSeen *atomic.Int64
}

// idleAt reports whether the session has been idle for idle at now.
func (ss *Session) idleAt(now time.Time, idle time.Duration) bool {
	return idle > 0 && now.Sub(time.Unix(0, ss.lastSeen.Load())) >= idle
}

type tenantState struct {
	tenant   *Tenant // nil until tenant.created is folded
	accounts map[string]*Account
	logins   map[string]string // lowercased login -> account id
}

// syncState tracks one tenant's catch-up marker.
type syncState struct {
	marker string
	done   chan struct{}
	err    error
}

// Store is the fold of TopicAccounts: tenants, accounts and sessions. It is
// a view rebuilt from the bus at every start. Methods that publish a fact
// return once the store has applied it (read-your-writes), and return the
// fold's verdict: a fact the log order made void (a login taken by a
// concurrent writer, say) comes back as ErrConflict or ErrNotFound.
type Store struct {
	bus      bus.Bus
	log      *slog.Logger
	source   string
	readerID string
	now      func() time.Time

	mu       sync.RWMutex
	tenants  map[string]*tenantState
	sessions map[string]*Session
	// seen and seenOrder remember the last maxSeen event ids, to drop a
	// message the bus delivers twice (a producer retry) without growing
	// forever: such duplicates sit close to the original in the log.
	seen      map[string]struct{}
	seenOrder []string
	seenNext  int
	waiters   map[string]chan error
	syncs     map[string]*syncState
	// unknownSyncs counts markers written for tenants not known then.
	unknownSyncs int
	accounts     int

	done    chan struct{}
	runOnce sync.Once
}

func newStore(b bus.Bus, log *slog.Logger, source, readerID string, now func() time.Time) *Store {
	return &Store{
		bus: b, log: log, source: source, readerID: readerID, now: now,
		tenants:  make(map[string]*tenantState),
		sessions: make(map[string]*Session),
		seen:     make(map[string]struct{}),
		waiters:  make(map[string]chan error),
		syncs:    make(map[string]*syncState),
		done:     make(chan struct{}),
	}
}

// run replays TopicAccounts from its start with a group-less reader, then
// follows it, until ctx ends (nil) or the bus fails. Auth.Run calls it.
func (s *Store) run(ctx context.Context) error {
	defer s.runOnce.Do(func() { close(s.done) })
	reader, err := s.bus.Subscribe(ctx, event.TopicAccounts, bus.SubscribeOptions{Start: bus.StartEarliest})
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("auth: subscribe to %s: %w", event.TopicAccounts, err)
	}
	defer reader.Close()
	for {
		d, err := reader.Receive(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("auth: read %s: %w", event.TopicAccounts, err)
		}
		s.fold(d)
	}
}

// fold decodes and applies one message and answers its waiter, if any.
func (s *Store) fold(d *bus.Delivery) {
	e, err := event.FromDelivery(d)
	if err != nil {
		s.log.Warn("accounts message skipped", "topic", d.Topic, "position", d.String(), "err", err)
		return
	}
	if string(d.Key) != e.Tenant {
		s.log.Warn("accounts message skipped: not keyed by its tenant", "topic", d.Topic, "position", d.String(), "tenant", e.Tenant)
		return
	}
	p, perr := e.Decode()
	if perr == nil {
		perr = p.Validate()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.seen[e.ID]; dup {
		return
	}
	s.remember(e.ID)
	var result error
	if perr != nil {
		result = fmt.Errorf("auth: %s %s: %w", e.Type, e.ID, perr)
		s.log.Warn("accounts event void", "tenant", e.Tenant, "type", e.Type, "event_id", e.ID, "err", perr)
	} else {
		result = s.apply(e, p)
		if result != nil {
			s.log.Debug("accounts event void", "tenant", e.Tenant, "type", e.Type, "event_id", e.ID, "err", result)
		}
	}
	if w := s.waiters[e.ID]; w != nil {
		w <- result
		delete(s.waiters, e.ID)
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

func (s *Store) tenantState(id string) *tenantState {
	ts := s.tenants[id]
	if ts == nil {
		ts = &tenantState{accounts: make(map[string]*Account), logins: make(map[string]string)}
		s.tenants[id] = ts
	}
	return ts
}

// apply changes the state for one valid fact, or says why the fact is void
// at its place in the log. Called with s.mu held.
func (s *Store) apply(e *event.Envelope, p event.Payload) error {
	ts := s.tenantState(e.Tenant)
	account := func(id string) (*Account, error) {
		a := ts.accounts[id]
		if a == nil {
			return nil, fmt.Errorf("%w: account %q of tenant %q", ErrNotFound, id, e.Tenant)
		}
		a.Updated = e.Time
		return a, nil
	}
	switch d := p.(type) {
	case *event.TenantCreatedData:
		if ts.tenant != nil {
			return fmt.Errorf("%w: tenant %q exists", ErrConflict, e.Tenant)
		}
		ts.tenant = &Tenant{ID: e.Tenant, Name: d.Name, Language: d.Language, TimeZone: d.TimeZone, Created: e.Time, Updated: e.Time}
	case *event.TenantUpdatedData:
		if ts.tenant == nil {
			return fmt.Errorf("%w: tenant %q", ErrNotFound, e.Tenant)
		}
		ts.tenant.Name, ts.tenant.Language, ts.tenant.TimeZone, ts.tenant.Updated = d.Name, d.Language, d.TimeZone, e.Time
	case *event.AccountCreatedData:
		if ts.tenant == nil {
			return fmt.Errorf("%w: tenant %q", ErrNotFound, e.Tenant)
		}
		if ts.accounts[d.AccountID] != nil {
			return fmt.Errorf("%w: account id %q exists", ErrConflict, d.AccountID)
		}
		key := strings.ToLower(d.Login)
		if _, taken := ts.logins[key]; taken {
			return fmt.Errorf("%w: login %q is taken in tenant %q", ErrConflict, d.Login, e.Tenant)
		}
		ts.accounts[d.AccountID] = &Account{ID: d.AccountID, Tenant: e.Tenant, Login: d.Login, DisplayName: d.DisplayName,
			Role: d.Role, Operator: d.Operator, Created: e.Time, Updated: e.Time}
		ts.logins[key] = d.AccountID
		s.accounts++
	case *event.AccountUpdatedData:
		a, err := account(d.AccountID)
		if err != nil {
			return err
		}
		oldKey, newKey := strings.ToLower(a.Login), strings.ToLower(d.Login)
		if owner, taken := ts.logins[newKey]; taken && owner != a.ID {
			return fmt.Errorf("%w: login %q is taken in tenant %q", ErrConflict, d.Login, e.Tenant)
		}
		delete(ts.logins, oldKey)
		ts.logins[newKey] = a.ID
		a.Login, a.DisplayName, a.Role, a.Operator = d.Login, d.DisplayName, d.Role, d.Operator
	case *event.AccountPasswordChangedData:
		a, err := account(d.AccountID)
		if err != nil {
			return err
		}
		a.passwordHash, a.HasPassword = d.PasswordHash, true
		s.dropSessions(e.Tenant, a.ID, d.KeepSessionHash)
	case *event.AccountDisabledData:
		a, err := account(d.AccountID)
		if err != nil {
			return err
		}
		a.Disabled = true
		s.dropSessions(e.Tenant, a.ID, "")
	case *event.AccountLockedData:
		a, err := account(d.AccountID)
		if err != nil {
			return err
		}
		a.LockedUntil = d.Until
	case *event.AccountUnlockedData:
		a, err := account(d.AccountID)
		if err != nil {
			return err
		}
		a.LockedUntil = time.Time{}
	case *event.SessionStartedData:
		a := ts.accounts[d.AccountID]
		if a == nil || a.Disabled {
			return fmt.Errorf("%w: account %q of tenant %q cannot hold a session", ErrNotFound, d.AccountID, e.Tenant)
		}
		ss := &Session{Hash: d.SessionHash, Tenant: e.Tenant, AccountID: d.AccountID,
			Started: e.Time, ExpiresAt: d.ExpiresAt, UserAgent: d.UserAgent, lastSeen: new(atomic.Int64)}
		ss.lastSeen.Store(s.now().UnixNano())
		s.sessions[d.SessionHash] = ss
	case *event.SessionEndedData:
		if ss := s.sessions[d.SessionHash]; ss != nil && ss.Tenant == e.Tenant {
			delete(s.sessions, d.SessionHash)
		}
	case *event.AccountsReaderStartedData:
		if st := s.syncs[e.Tenant]; st != nil && st.marker == e.ID {
			st.marker = ""
			close(st.done)
			s.log.Debug("caught up with the accounts log", "tenant", e.Tenant)
		}
	default:
		return fmt.Errorf("auth: %s does not belong on %s", e.Type, event.TopicAccounts)
	}
	return nil
}

// dropSessions forgets every session of the account but keep.
func (s *Store) dropSessions(tenant, accountID, keep string) {
	for h, ss := range s.sessions {
		if ss.Tenant == tenant && ss.AccountID == accountID && h != keep {
			delete(s.sessions, h)
		}
	}
}

// publish writes payloads as facts of tenant, in order, and waits until
// the store has folded every one; it returns the first fold verdict that is
// not nil.
func (s *Store) publish(ctx context.Context, tenant string, payloads ...event.Payload) error {
	msgs := make([]bus.Message, 0, len(payloads))
	ids := make([]string, 0, len(payloads))
	for _, p := range payloads {
		e, err := event.New(p.EventType(), tenant, p, event.WithSource(s.source))
		if err != nil {
			return fmt.Errorf("auth: %s: %w", p.EventType(), err)
		}
		m, err := event.ToMessage(e)
		if err != nil {
			return fmt.Errorf("auth: %s: %w", p.EventType(), err)
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
	if err := s.bus.Publish(ctx, event.TopicAccounts, msgs...); err != nil {
		forget()
		return fmt.Errorf("auth: publish to %s: %w", event.TopicAccounts, err)
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
			return fmt.Errorf("auth: waiting for the store to apply: %w", ctx.Err())
		case <-s.done:
			forget()
			return ErrStopped
		}
	}
	return first
}

// maxUnknownSyncs bounds the catch-up markers a store writes for tenants
// it does not know (yet). Requests name tenants before logging in, so
// without a bound anyone could make an instance write a marker per made-up
// tenant; past the bound an unknown tenant is taken as absent, which is
// only wrong for a tenant whose facts the start-up replay has not reached.
const maxUnknownSyncs = 1024

// Sync returns once the store has folded every fact of tenant published
// before the call: it publishes a marker keyed by the tenant (the first
// time for each tenant, per Store) and waits to read it back. Facts of a
// tenant share one partition, so the marker comes after all of them.
func (s *Store) Sync(ctx context.Context, tenant string) error {
	if !event.ValidTenant(tenant) {
		return fmt.Errorf("%w: tenant %q", ErrNotFound, tenant)
	}
	// Every request of a tenant but the first finds its marker here, under
	// the read lock that the rest of a request's lookups share.
	s.mu.RLock()
	st := s.syncs[tenant]
	s.mu.RUnlock()
	if st != nil {
		return s.awaitSync(ctx, tenant, st)
	}
	s.mu.Lock()
	st = s.syncs[tenant]
	first := st == nil
	if first {
		if ts := s.tenants[tenant]; ts == nil || ts.tenant == nil {
			if s.unknownSyncs >= maxUnknownSyncs {
				s.mu.Unlock()
				return nil
			}
			s.unknownSyncs++
		}
	}
	var msg bus.Message
	if first {
		e, err := event.New(event.AccountsReaderStarted, tenant, &event.AccountsReaderStartedData{ReaderID: s.readerID},
			event.WithSource(s.source))
		if err == nil {
			msg, err = event.ToMessage(e)
		}
		if err != nil {
			s.mu.Unlock()
			return fmt.Errorf("auth: sync marker: %w", err)
		}
		st = &syncState{marker: e.ID, done: make(chan struct{})}
		s.syncs[tenant] = st
	}
	s.mu.Unlock()
	if first {
		if err := s.bus.Publish(ctx, event.TopicAccounts, msg); err != nil {
			s.mu.Lock()
			defer s.mu.Unlock()
			if st.marker == "" {
				// A Publish that failed may still have stored the marker
				// (the bus promises nothing either way), and the fold has
				// read it back already: the store is caught up.
				return st.err
			}
			delete(s.syncs, tenant)
			st.marker = "" // a late read-back must not close done again
			st.err = fmt.Errorf("auth: publish sync marker: %w", err)
			close(st.done)
			return st.err
		}
	}
	return s.awaitSync(ctx, tenant, st)
}

// awaitSync waits for st's marker to be read back.
func (s *Store) awaitSync(ctx context.Context, tenant string, st *syncState) error {
	select {
	case <-st.done:
		return st.err
	case <-ctx.Done():
		return fmt.Errorf("auth: waiting to catch up with tenant %q: %w", tenant, ctx.Err())
	case <-s.done:
		return ErrStopped
	}
}

// Tenant returns a copy of the tenant, if it exists.
func (s *Store) Tenant(id string) (Tenant, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if ts := s.tenants[id]; ts != nil && ts.tenant != nil {
		return *ts.tenant, true
	}
	return Tenant{}, false
}

// Tenants returns every tenant, sorted by id.
func (s *Store) Tenants() []Tenant {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]Tenant, 0, len(s.tenants))
	for _, id := range slices.Sorted(maps.Keys(s.tenants)) {
		if t := s.tenants[id].tenant; t != nil {
			out = append(out, *t)
		}
	}
	return out
}

// Account returns a copy of the account of tenant, if it exists.
func (s *Store) Account(tenant, id string) (Account, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if ts := s.tenants[tenant]; ts != nil {
		if a := ts.accounts[id]; a != nil {
			return *a, true
		}
	}
	return Account{}, false
}

// AccountByLogin finds an account of tenant by login, case-insensitively.
func (s *Store) AccountByLogin(tenant, login string) (Account, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if ts := s.tenants[tenant]; ts != nil {
		if id, ok := ts.logins[strings.ToLower(login)]; ok {
			return *ts.accounts[id], true
		}
	}
	return Account{}, false
}

// Accounts returns the tenant's accounts sorted by login.
func (s *Store) Accounts(tenant string) []Account {
	s.mu.RLock()
	defer s.mu.RUnlock()
	ts := s.tenants[tenant]
	if ts == nil {
		return nil
	}
	out := make([]Account, 0, len(ts.accounts))
	for _, a := range ts.accounts {
		out = append(out, *a)
	}
	slices.SortFunc(out, func(a, b Account) int { return strings.Compare(strings.ToLower(a.Login), strings.ToLower(b.Login)) })
	return out
}

// AccountCount is how many accounts the store has folded, all tenants.
func (s *Store) AccountCount() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.accounts
}

// session returns the live session with hash, touching its idle clock, or
// false if there is none or it is past its absolute or idle limit at now.
func (s *Store) session(hash string, now time.Time, idle time.Duration) (Session, bool) {
	s.mu.RLock()
	ss := s.sessions[hash]
	if ss != nil && now.Before(ss.ExpiresAt) && !ss.idleAt(now, idle) {
		ss.lastSeen.Store(now.UnixNano())
		out := *ss
		s.mu.RUnlock()
		return out, true
	}
	s.mu.RUnlock()
	if ss == nil {
		return Session{}, false
	}
	// Idle expiry is this instance's own view, so it is not published;
	// absolute expiry is known to every instance from the event. Checked
	// again under the write lock: a request may have touched it meanwhile.
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sessions[hash] == ss && (!now.Before(ss.ExpiresAt) || ss.idleAt(now, idle)) {
		delete(s.sessions, hash)
	}
	return Session{}, false
}

// touch restarts the session's idle clock.
func (s *Store) touch(hash string, now time.Time) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if ss := s.sessions[hash]; ss != nil {
		ss.lastSeen.Store(now.UnixNano())
	}
}

// passwordHash returns the account's hash, if it has one.
func (s *Store) passwordHash(tenant, id string) string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if ts := s.tenants[tenant]; ts != nil {
		if a := ts.accounts[id]; a != nil {
			return a.passwordHash
		}
	}
	return ""
}

// pruneSessions forgets sessions past their absolute expiry.
func (s *Store) pruneSessions(now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for h, ss := range s.sessions {
		if !now.Before(ss.ExpiresAt) {
			delete(s.sessions, h)
		}
	}
}
