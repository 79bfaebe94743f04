package indexer

import (
	"container/list"
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/hotline-hub/hotline/bus"
	"github.com/hotline-hub/hotline/bus/event"
	"github.com/hotline-hub/hotline/routing"
	"github.com/hotline-hub/hotline/search"
)

// conv is a conversation document being folded.
type conv struct {
	doc     search.Conversation
	entries map[string]int // entry id -> index in doc.Entries
	sorted  bool
	// changedEntries marks an entry replaced with new content since the
	// last write.
	changedEntries bool
}

// contact is a contact document being folded.
type contact struct {
	doc search.Contact
}

// fold is the indexer's state. It is used by Run's goroutine only.
type fold struct {
	ix     *Indexer
	convs  *lru[*conv]
	people *lru[*contact]
	// dirty documents, written by the next flush; never evicted before.
	dirtyConvs  map[string]*conv
	dirtyPeople map[string]*contact
	// pending are the deliveries applied since the last write.
	pending []*bus.Delivery
	routes  map[string]*tenantRoutes
	// routingFacts counts routing log messages folded since the last write.
	routingFacts int
}

func newFold(ix *Indexer) *fold {
	return &fold{
		ix:          ix,
		convs:       newLRU[*conv](ix.cfg.CacheSize),
		people:      newLRU[*contact](ix.cfg.CacheSize),
		dirtyConvs:  map[string]*conv{},
		dirtyPeople: map[string]*contact{},
		routes:      map[string]*tenantRoutes{},
	}
}

func docKey(tenant, id string) string { return tenant + "\x00" + id }

func (f *fold) dirty() int { return len(f.dirtyConvs) + len(f.dirtyPeople) }

// batch is the changed documents, entries in time order.
func (f *fold) batch() search.Batch {
	var b search.Batch
	for _, c := range f.dirtyConvs {
		c.sort()
		b.Conversations = append(b.Conversations, c.doc)
	}
	for _, p := range f.dirtyPeople {
		b.Contacts = append(b.Contacts, p.doc)
	}
	return b
}

// written forgets what the last flush wrote and trims the caches.
func (f *fold) written() {
	clear(f.dirtyConvs)
	clear(f.dirtyPeople)
	clear(f.pending)
	f.pending = f.pending[:0]
	f.routingFacts = 0
	f.convs.trim()
	f.people.trim()
}

// apply folds one delivery. It fails only when ctx ends while the index
// cannot be read.
func (f *fold) apply(ctx context.Context, it item) error {
	if it.routing {
		return f.applyRouting(ctx, it.d)
	}
	f.pending = append(f.pending, it.d)
	e, err := event.FromDelivery(it.d)
	if err != nil {
		f.ix.log.Debug("indexer: unreadable event skipped", "topic", it.d.Topic, "position", it.d.String(), "err", err)
		return nil
	}
	if !event.Known(e.Type) || e.Tenant == "" {
		return nil
	}
	if !indexable(e.Time) {
		// No index stores such a date; writing it would fail forever.
		f.ix.log.Warn("indexer: event time out of range, event skipped", "topic", it.d.Topic, "position", it.d.String(),
			"tenant", e.Tenant, "conversation_id", e.ConversationID, "type", e.Type, "time", e.Time)
		return nil
	}
	p, err := e.Decode()
	if err == nil {
		err = p.Validate()
	}
	if err != nil {
		f.ix.log.Warn("indexer: invalid event skipped", "topic", it.d.Topic, "position", it.d.String(),
			"tenant", e.Tenant, "conversation_id", e.ConversationID, "type", e.Type, "err", err)
		return nil
	}
	switch d := p.(type) {
	case *event.ContactIdentifiedData:
		return f.identified(ctx, e, d)
	case *event.ContactsMergedData:
		for _, id := range d.MergedIDs {
			p, err := f.contact(ctx, e.Tenant, id)
			if err != nil {
				return err
			}
			if id != d.IntoID && p.doc.MergedInto != d.IntoID {
				p.doc.MergedInto = d.IntoID
				f.dirtyPeople[docKey(e.Tenant, id)] = p
			}
		}
		return nil
	case *event.ContactsUnmergedData:
		return f.unmerged(ctx, e, d)
	}
	if e.ConversationID == "" {
		return nil
	}
	switch p.(type) {
	case *event.MessageReceivedData, *event.MessageSentData, *event.NoteAddedData, *event.ConversationQueuedData,
		*event.CallStartedData, *event.CallAnsweredData, *event.CallEndedData, *event.CallRecordedData,
		*event.CallQueuedData, *event.CallTransferredData, *event.CallMenuSelectedData, *event.ConversationTaggedData:
	default:
		// Routing facts are read from the routing log, where their
		// verdict is known; deliveries change no document.
		return nil
	}
	c, err := f.conv(ctx, e.Tenant, e.ConversationID)
	if err != nil {
		return err
	}
	before := c.snapshot()
	if c.doc.Channel == "" {
		c.doc.Channel = e.Channel
	}
	if c.doc.Status == "" {
		c.doc.Status = search.StatusWaiting
	}
	c.touch(e.Time)
	switch d := p.(type) {
	case *event.MessageReceivedData:
		if c.doc.ContactID == "" {
			c.doc.ContactID = e.ContactID
		}
		if c.doc.CustomerAddress == "" {
			c.doc.CustomerName, c.doc.CustomerAddress = d.From.Name, f.address(d.From.Address)
		}
		if c.doc.Language == "" {
			c.doc.Language = language(d.Language)
		}
		c.set(search.Entry{ID: d.MessageID, Kind: search.KindMessage, Direction: search.DirectionIn,
			Language: language(d.Language), Text: messageText(d.Subject, d.Text), Time: e.Time})
		if e.ContactID != "" {
			email, _ := e.Extension("visitoremail")
			if err := f.seen(ctx, e.Tenant, e.ContactID, d.From.Name, d.From.Address, email); err != nil {
				return err
			}
		}
	case *event.MessageSentData:
		c.set(search.Entry{ID: d.MessageID, Kind: search.KindMessage, Direction: search.DirectionOut, AgentID: d.AgentID,
			Language: language(d.Language), Text: messageText(d.Subject, d.Text), Time: e.Time})
	case *event.NoteAddedData:
		c.set(search.Entry{ID: d.NoteID, Kind: search.KindNote, AgentID: d.AgentID, Text: d.Text, Time: e.Time})
	case *event.ConversationTaggedData:
		// The whole set, so the latest event decides however often the
		// log is replayed or an event redelivered.
		if len(d.Tags) == 0 {
			c.doc.Tags = nil
		} else {
			c.doc.Tags = slices.Clone(d.Tags)
		}
	case *event.ConversationQueuedData:
		if c.doc.Queue == "" {
			c.doc.Queue = d.Queue
		}
		if c.doc.Language == "" {
			c.doc.Language = language(d.Language)
		}
	case *event.CallStartedData:
		c.doc.Channel = event.ChannelVoice
		customer := d.From
		if d.Direction == event.DirectionOutbound {
			customer = d.To
		}
		if c.doc.CustomerAddress == "" {
			c.doc.CustomerAddress = f.address(customer)
		}
		if e.ContactID != "" && c.doc.ContactID == "" {
			c.doc.ContactID = e.ContactID
		}
		if e.ContactID != "" {
			if err := f.seen(ctx, e.Tenant, e.ContactID, "", customer, ""); err != nil {
				return err
			}
		}
		f.call(c, d.CallID, e.Time, func(r *callRecord) { r.started(d) })
	case *event.CallMenuSelectedData:
		if c.doc.Language == "" {
			c.doc.Language = language(d.Language)
		}
	case *event.CallQueuedData:
		f.call(c, d.CallID, e.Time, func(r *callRecord) { r.set(lineQueued, "queue "+d.Queue) })
	case *event.CallAnsweredData:
		f.call(c, d.CallID, e.Time, func(r *callRecord) { r.answered(d) })
	case *event.CallTransferredData:
		f.call(c, d.CallID, e.Time, func(r *callRecord) { r.transferred(d) })
	case *event.CallEndedData:
		f.call(c, d.CallID, e.Time, func(r *callRecord) { r.ended(d) })
	case *event.CallRecordedData:
		f.call(c, d.CallID, e.Time, func(r *callRecord) { r.recorded(d) })
	}
	if !c.same(before) {
		f.dirtyConvs[docKey(e.Tenant, e.ConversationID)] = c
	}
	return nil
}

// tenantRoutes is the fold of one tenant's routing log.
type tenantRoutes struct {
	st *routing.State
	// marker is the id of the start marker this run published; until it
	// is read back the log is being replayed, and touched collects the
	// conversations to mirror once it is.
	marker  string
	synced  bool
	touched map[string]*routeFacts
}

// routeFacts is what the routing log says of a conversation beyond the
// state: how it closed, its channel, its last fact's time.
type routeFacts struct {
	closed  string // StatusResolved or StatusAbandoned once closed, else ""
	agentID string // who resolved it
	channel string
	last    time.Time
}

// applyRouting folds one fact of the routing log through the tenant's
// routing.State and mirrors the verdict's status, agent and queue. While
// the log is replayed (until this run's start marker is read back), it
// only notes which conversations changed, and mirrors their final state
// then: a replay never writes a status the log has since moved past.
func (f *fold) applyRouting(ctx context.Context, d *bus.Delivery) error {
	f.routingFacts++
	e, err := routing.ReadRoutingDelivery(d)
	if err != nil {
		f.ix.log.Debug("indexer: routing message skipped", "position", d.String(), "err", err)
		return nil
	}
	t := f.routes[e.Tenant]
	if t == nil {
		if t = f.newTenant(ctx, e.Tenant); t == nil {
			return nil
		}
	}
	if !t.synced && e.ID == t.marker {
		t.synced = true
		f.ix.replaying.Add(-1)
		f.ix.log.Info("indexer: caught up with the routing log", "tenant", e.Tenant, "conversations", len(t.touched))
		for id, rf := range t.touched {
			if err := f.mirror(ctx, e.Tenant, id, t.st.Conversation(id), rf); err != nil {
				return err
			}
		}
		t.touched = nil
		return nil
	}
	if err := t.st.Apply(e); err != nil || e.ConversationID == "" {
		// Void facts change nothing; presence changes move offers back to
		// waiting, which search shows as waiting already.
		return nil
	}
	rc := t.st.Conversation(e.ConversationID)
	closing := e.Type == event.ConversationResolved || e.Type == event.ConversationAbandoned
	if rc == nil && !closing {
		return nil
	}
	rf := &routeFacts{channel: e.Channel, last: e.Time}
	if prev := t.touched[e.ConversationID]; prev != nil {
		rf.last = later(prev.last, e.Time)
		if rf.channel == "" {
			rf.channel = prev.channel
		}
	}
	switch e.Type {
	case event.ConversationResolved:
		rf.closed = search.StatusResolved
		if p, err := e.Decode(); err == nil {
			rf.agentID = p.(*event.ConversationResolvedData).AgentID
		}
	case event.ConversationAbandoned:
		rf.closed = search.StatusAbandoned
	}
	if !t.synced {
		t.touched[e.ConversationID] = rf
		return nil
	}
	return f.mirror(ctx, e.Tenant, e.ConversationID, rc, rf)
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// newTenant starts the fold of a tenant's routing log and publishes its
// start marker.
func (f *fold) newTenant(ctx context.Context, tenant string) *tenantRoutes {
	if !event.ValidTenant(tenant) {
		return nil
	}
	tc := routing.TenantConfig{ID: tenant}
	for _, c := range f.ix.cfg.Routing.Tenants {
		if c.ID == tenant {
			tc = c
		}
	}
	tc.DedupeWindow = f.ix.cfg.Routing.DedupeWindow
	st, err := routing.NewState(tc)
	if err != nil {
		f.ix.log.Error("indexer: cannot fold the routing log of a tenant", "tenant", tenant, "err", err)
		return nil
	}
	marker, err := event.New(event.RouterStarted, tenant, &event.RouterStartedData{RouterID: "indexer/" + f.ix.cfg.Group},
		event.WithSource(Source))
	if err != nil {
		f.ix.log.Error("indexer: start marker", "tenant", tenant, "err", err)
		return nil
	}
	m, err := event.RoutingMessage(marker)
	if err != nil {
		f.ix.log.Error("indexer: start marker", "tenant", tenant, "err", err)
		return nil
	}
	t := &tenantRoutes{st: st, marker: marker.ID, touched: map[string]*routeFacts{}}
	f.routes[tenant] = t
	f.ix.replaying.Add(1)
	f.ix.bg.Add(1)
	go func() {
		defer f.ix.bg.Done()
		f.ix.publishMarker(ctx, tenant, m)
	}()
	return t
}

// mirror sets a conversation's status, agent and queue to routing's
// verdict: rc while it is live, else how it closed.
func (f *fold) mirror(ctx context.Context, tenant, id string, rc *routing.Conversation, rf *routeFacts) error {
	if rc == nil && rf.closed == "" {
		return nil
	}
	c, err := f.conv(ctx, tenant, id)
	if err != nil {
		return err
	}
	before := c.snapshot()
	if rc != nil {
		if c.doc.Channel == "" {
			c.doc.Channel = rc.Channel
		}
		if rc.ContactID != "" && c.doc.ContactID == "" {
			c.doc.ContactID = rc.ContactID
		}
		c.doc.Queue = rc.Queue
		switch rc.Status {
		case routing.Assigned:
			c.doc.Status, c.doc.AgentID = search.StatusAssigned, rc.AgentID
		default: // waiting, or offered and not accepted yet
			c.doc.Status, c.doc.AgentID = search.StatusWaiting, ""
		}
	} else {
		c.doc.Status, c.doc.AgentID = rf.closed, rf.agentID
	}
	if c.doc.Channel == "" {
		c.doc.Channel = rf.channel
	}
	c.touch(rf.last)
	if !c.same(before) {
		f.dirtyConvs[docKey(tenant, id)] = c
	}
	return nil
}

// identified links a conversation to its contact and records the address
// that matched on the contact.
func (f *fold) identified(ctx context.Context, e *event.Envelope, d *event.ContactIdentifiedData) error {
	if err := f.seen(ctx, e.Tenant, d.ContactID, "", d.Address, ""); err != nil {
		return err
	}
	if e.ConversationID == "" {
		return nil
	}
	c, err := f.conv(ctx, e.Tenant, e.ConversationID)
	if err != nil {
		return err
	}
	before := c.snapshot()
	// An identification outranks the contact a channel put on messages;
	// messages only fill an empty one, so either order converges.
	c.doc.ContactID = d.ContactID
	if c.doc.LastActivity.IsZero() {
		c.touch(e.Time)
	}
	if c.doc.Status == "" {
		c.doc.Status = search.StatusWaiting
	}
	if !c.same(before) {
		f.dirtyConvs[docKey(e.Tenant, e.ConversationID)] = c
	}
	return nil
}

// unmerged clears MergedInto of restored contacts that were merged into
// d.ContactID, directly or through a chain of merges (see search.Merges).
func (f *fold) unmerged(ctx context.Context, e *event.Envelope, d *event.ContactsUnmergedData) error {
	for _, id := range d.RestoredIDs {
		p, err := f.contact(ctx, e.Tenant, id)
		if err != nil {
			return err
		}
		under := false
		cur := p
		for range 64 {
			if cur.doc.MergedInto == "" {
				break
			}
			if cur.doc.MergedInto == d.ContactID {
				under = true
				break
			}
			if cur, err = f.contact(ctx, e.Tenant, cur.doc.MergedInto); err != nil {
				return err
			}
		}
		if under {
			p.doc.MergedInto = ""
			f.dirtyPeople[docKey(e.Tenant, id)] = p
		}
	}
	return nil
}

// seen adds a name and addresses seen for a contact to its document.
func (f *fold) seen(ctx context.Context, tenant, id, name string, addrs ...string) error {
	if id == "" {
		return nil
	}
	p, err := f.contact(ctx, tenant, id)
	if err != nil {
		return err
	}
	changed := false
	if p.doc.Name == "" && name != "" {
		p.doc.Name, changed = name, true
	}
	for _, a := range addrs {
		a = strings.TrimSpace(a)
		switch {
		case a == "":
		case strings.Contains(a, "@"):
			a = strings.ToLower(a)
			if !slices.Contains(p.doc.Emails, a) {
				p.doc.Emails, changed = append(p.doc.Emails, a), true
			}
		default:
			ph, err := search.NormalizePhone(a, f.ix.cfg.PhoneRegion)
			if err != nil {
				continue // a chat visitor id, an extension, "anonymous"
			}
			if !slices.Contains(p.doc.Phones, ph) {
				p.doc.Phones, changed = append(p.doc.Phones, ph), true
			}
		}
	}
	if changed {
		f.dirtyPeople[docKey(tenant, id)] = p
	}
	return nil
}

// address is a customer address as the index shows it: emails lower-cased,
// phone numbers in E.164, anything else as it came.
func (f *fold) address(a string) string {
	if strings.Contains(a, "@") {
		return strings.ToLower(strings.TrimSpace(a))
	}
	if ph, err := search.NormalizePhone(a, f.ix.cfg.PhoneRegion); err == nil {
		return ph
	}
	return a
}

// conv returns the conversation, from memory or else from the index,
// retrying while the index cannot be read.
func (f *fold) conv(ctx context.Context, tenant, id string) (*conv, error) {
	k := docKey(tenant, id)
	if c, ok := f.convs.get(k); ok {
		return c, nil
	}
	var c *conv
	err := f.ix.retry(ctx, "read conversation", func(ctx context.Context) error {
		doc, ok, err := f.ix.idx.Conversation(ctx, tenant, id)
		if err != nil {
			return err
		}
		if !ok {
			doc = search.Conversation{Tenant: tenant, ID: id}
		}
		c = &conv{doc: doc, entries: make(map[string]int, len(doc.Entries))}
		for i, en := range doc.Entries {
			c.entries[en.ID] = i
		}
		c.sorted = true
		return nil
	})
	if err != nil {
		return nil, err
	}
	f.convs.put(k, c, func(k string) bool { _, d := f.dirtyConvs[k]; return d })
	return c, nil
}

// contact returns the contact, from memory or else from the index.
func (f *fold) contact(ctx context.Context, tenant, id string) (*contact, error) {
	k := docKey(tenant, id)
	if p, ok := f.people.get(k); ok {
		return p, nil
	}
	var p *contact
	err := f.ix.retry(ctx, "read contact", func(ctx context.Context) error {
		doc, ok, err := f.ix.idx.Contact(ctx, tenant, id)
		if err != nil {
			return err
		}
		if !ok {
			doc = search.Contact{Tenant: tenant, ID: id}
		}
		p = &contact{doc: doc}
		return nil
	})
	if err != nil {
		return nil, err
	}
	f.people.put(k, p, func(k string) bool { _, d := f.dirtyPeople[k]; return d })
	return p, nil
}

// retry runs op until it succeeds or ctx ends, with backoff, logging an
// outage once.
func (ix *Indexer) retry(ctx context.Context, what string, op func(context.Context) error) error {
	backoff := ix.cfg.RetryMin
	logged := false
	for {
		octx, cancel := context.WithTimeout(ctx, ix.cfg.WriteTimeout)
		err := op(octx)
		cancel()
		if err == nil {
			if logged {
				ix.log.Info("indexer: search index answers again", "op", what)
			}
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		ix.retries.Add(1)
		if !logged {
			logged = true
			ix.log.Warn("indexer: search index read failed; retrying", "op", what, "err", err,
				"unavailable", errors.Is(err, search.ErrUnavailable))
		}
		if err := sleep(ctx, backoff); err != nil {
			return err
		}
		backoff = min(backoff*2, ix.cfg.RetryMax)
	}
}

// snapshot is what decides whether a fold changed a conversation: its
// attributes and the number and content of its entries.
type snapshot struct {
	doc     search.Conversation
	entries int
	// tags is the document's tag slice, which the fold replaces whole
	// and never writes into.
	tags []string
}

func (c *conv) snapshot() snapshot {
	s := snapshot{doc: c.doc, entries: len(c.doc.Entries), tags: c.doc.Tags}
	s.doc.Entries, s.doc.Tags = nil, nil
	return s
}

// same reports whether c is unchanged since s.
func (c *conv) same(s snapshot) bool {
	now := c.snapshot()
	return now.doc.Tenant == s.doc.Tenant && now.doc.ID == s.doc.ID && now.doc.ContactID == s.doc.ContactID &&
		now.doc.Channel == s.doc.Channel && now.doc.Queue == s.doc.Queue && now.doc.AgentID == s.doc.AgentID &&
		now.doc.Status == s.doc.Status && now.doc.Language == s.doc.Language &&
		now.doc.CustomerName == s.doc.CustomerName && now.doc.CustomerAddress == s.doc.CustomerAddress &&
		now.doc.Started.Equal(s.doc.Started) && now.doc.LastActivity.Equal(s.doc.LastActivity) &&
		now.entries == s.entries && !c.changedEntries && slices.Equal(now.tags, s.tags)
}

// indexable reports whether t is a time every backend stores (bleve's
// date range, nanoseconds since 1970 in an int64).
func indexable(t time.Time) bool { return t.Year() >= 1678 && t.Year() <= 2261 }

func (c *conv) touch(t time.Time) {
	if t.IsZero() || !indexable(t) {
		return
	}
	t = t.UTC()
	if t.After(c.doc.LastActivity) {
		c.doc.LastActivity = t
	}
	if c.doc.Started.IsZero() || t.Before(c.doc.Started) {
		c.doc.Started = t
	}
}

// set writes en, replacing the entry with its id.
func (c *conv) set(en search.Entry) {
	if en.ID == "" {
		return
	}
	en.Time = en.Time.UTC()
	if i, ok := c.entries[en.ID]; ok {
		if !sameEntry(c.doc.Entries[i], en) {
			c.doc.Entries[i] = en
			c.changedEntries = true
			c.sorted = false
		}
		return
	}
	c.entries[en.ID] = len(c.doc.Entries)
	c.doc.Entries = append(c.doc.Entries, en)
	c.sorted = false
}

func sameEntry(a, b search.Entry) bool {
	return a.ID == b.ID && a.Kind == b.Kind && a.Direction == b.Direction && a.AgentID == b.AgentID &&
		a.Language == b.Language && a.Text == b.Text && a.Time.Equal(b.Time)
}

// sort puts the entries in time order (ties by id) and clears the change mark.
func (c *conv) sort() {
	c.changedEntries = false
	if c.sorted {
		return
	}
	slices.SortStableFunc(c.doc.Entries, func(a, b search.Entry) int {
		if d := a.Time.Compare(b.Time); d != 0 {
			return d
		}
		return strings.Compare(a.ID, b.ID)
	})
	for i, en := range c.doc.Entries {
		c.entries[en.ID] = i
	}
	c.sorted = true
}

// language returns the index language of a BCP 47 tag, or "".
func language(tag string) string {
	base, _, _ := strings.Cut(strings.ToLower(tag), "-")
	if slices.Contains(search.Languages, base) {
		return base
	}
	return ""
}

func messageText(subject, text string) string {
	if subject == "" {
		return text
	}
	if text == "" {
		return subject
	}
	return subject + "\n\n" + text
}

// lru is a cache of documents by key, most recent first. Entries for
// which keep returns true are not evicted.
type lru[T any] struct {
	max   int
	order *list.List
	items map[string]*list.Element
	keep  func(string) bool
}

type lruItem[T any] struct {
	key string
	val T
}

func newLRU[T any](max int) *lru[T] {
	return &lru[T]{max: max, order: list.New(), items: map[string]*list.Element{}}
}

func (l *lru[T]) get(k string) (T, bool) {
	if el, ok := l.items[k]; ok {
		l.order.MoveToFront(el)
		return el.Value.(*lruItem[T]).val, true
	}
	var zero T
	return zero, false
}

func (l *lru[T]) put(k string, v T, keep func(string) bool) {
	l.keep = keep
	l.items[k] = l.order.PushFront(&lruItem[T]{key: k, val: v})
	l.trim()
}

// trim evicts the least recent entries past max, skipping kept ones.
func (l *lru[T]) trim() {
	el := l.order.Back()
	for len(l.items) > l.max && el != nil {
		prev := el.Prev()
		k := el.Value.(*lruItem[T]).key
		if l.keep == nil || !l.keep(k) {
			l.order.Remove(el)
			delete(l.items, k)
		}
		el = prev
	}
}
