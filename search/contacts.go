package search

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/hotline-hub/hotline/bus"
	"github.com/hotline-hub/hotline/bus/event"
)

// maxMergeDepth bounds the walk up a chain of merges; the fold refuses
// cycles, so it is only a guard.
const maxMergeDepth = 64

// Merges is a fold of contacts.merged and contacts.unmerged per tenant: it
// knows which contacts an agent merged into which, so that a contact's
// dossier can include the conversations of every contact merged into it.
//
// A merge of B into A makes A the parent of B; merging A into C later
// makes C the root of both (merges are transitive). An unmerge of B from A
// detaches B with whatever was merged into B, as long as A is B's parent
// or one of its ancestors. A merge that would make a contact its own
// ancestor is ignored. Merges is safe for concurrent use.
type Merges struct {
	mu      sync.RWMutex
	tenants map[string]*mergeTree
}

type mergeTree struct {
	parent   map[string]string              // merged id -> contact it was merged into
	children map[string]map[string]struct{} // contact id -> ids merged into it
}

// NewMerges returns an empty fold.
func NewMerges() *Merges { return &Merges{tenants: map[string]*mergeTree{}} }

// Apply folds one event of the contacts topic; events of other types are
// ignored. It returns an error only for an undecodable merge or unmerge.
func (m *Merges) Apply(e *event.Envelope) error {
	switch e.Type {
	case event.ContactsMerged, event.ContactsUnmerged:
	default:
		return nil
	}
	p, err := e.Decode()
	if err != nil {
		return fmt.Errorf("search: merges: decode %s %s: %w", e.Type, e.ID, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	t := m.tenants[e.Tenant]
	if t == nil {
		t = &mergeTree{parent: map[string]string{}, children: map[string]map[string]struct{}{}}
		m.tenants[e.Tenant] = t
	}
	switch d := p.(type) {
	case *event.ContactsMergedData:
		for _, id := range d.MergedIDs {
			if id == "" || id == d.IntoID || t.isAncestor(id, d.IntoID) {
				continue // would make a cycle
			}
			t.detach(id)
			t.parent[id] = d.IntoID
			if t.children[d.IntoID] == nil {
				t.children[d.IntoID] = map[string]struct{}{}
			}
			t.children[d.IntoID][id] = struct{}{}
		}
	case *event.ContactsUnmergedData:
		for _, id := range d.RestoredIDs {
			if t.isAncestor(d.ContactID, id) {
				t.detach(id)
			}
		}
	}
	return nil
}

// isAncestor reports whether a is the parent of b, or the parent's
// ancestor.
func (t *mergeTree) isAncestor(a, b string) bool {
	cur := b
	for range maxMergeDepth {
		p, ok := t.parent[cur]
		if !ok {
			return false
		}
		if p == a {
			return true
		}
		cur = p
	}
	return false
}

func (t *mergeTree) detach(id string) {
	p, ok := t.parent[id]
	if !ok {
		return
	}
	delete(t.parent, id)
	delete(t.children[p], id)
	if len(t.children[p]) == 0 {
		delete(t.children, p)
	}
}

// Root returns the contact id is merged into, transitively: id itself when
// it is not merged.
func (m *Merges) Root(tenant, id string) string {
	m.mu.RLock()
	defer m.mu.RUnlock()
	t := m.tenants[tenant]
	if t == nil {
		return id
	}
	cur := id
	for range maxMergeDepth {
		p, ok := t.parent[cur]
		if !ok {
			break
		}
		cur = p
	}
	return cur
}

// Set returns contactID and every contact merged into it, transitively,
// sorted after contactID: the ContactIDs of its DossierQuery.
func (m *Merges) Set(tenant, contactID string) []string {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := []string{contactID}
	t := m.tenants[tenant]
	if t == nil {
		return out
	}
	var rest []string
	stack := []string{contactID}
	seen := map[string]bool{contactID: true}
	for len(stack) > 0 {
		cur := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for c := range t.children[cur] {
			if !seen[c] {
				seen[c] = true
				rest = append(rest, c)
				stack = append(stack, c)
			}
		}
	}
	slices.Sort(rest)
	return append(out, rest...)
}

// Run replays the contacts topic from its beginning with a reader without
// a consumer group (the fold is rebuilt on every start) and follows it
// until ctx ends, when it returns nil. Unreadable events are skipped.
func (m *Merges) Run(ctx context.Context, b bus.Bus) error {
	sub, err := b.Subscribe(ctx, event.TopicContacts, bus.SubscribeOptions{Start: bus.StartEarliest})
	if err != nil {
		return fmt.Errorf("search: merges: subscribe %s: %w", event.TopicContacts, err)
	}
	defer sub.Close()
	for {
		d, err := sub.Receive(ctx)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, bus.ErrClosed) {
				return nil
			}
			return fmt.Errorf("search: merges: receive: %w", err)
		}
		e, err := event.FromDelivery(d)
		if err != nil {
			continue
		}
		_ = m.Apply(e) // an undecodable merge changes nothing
	}
}
