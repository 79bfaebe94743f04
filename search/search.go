// Package search keeps conversation history searchable: an indexer (a bus
// consumer group) turns conversation, message, note, call and contact events
// into documents, and a backend stores and queries them. Two backends
// implement Index and pass one conformance suite (search/searchtest):
// Elasticsearch (search/elastic) for production, and an embedded index on
// disk (search/embedded, on bleve) by default.
//
// The unit of the index is the conversation: one document holds a
// conversation's attributes (tenant, contact, channel, queue, agent, status,
// tags, times) and its entries (messages both ways, internal notes, call
// records with their notes). Filters therefore always see a conversation's
// current status, queue and agent, full-text search finds the entries in
// their own language, and an event applied twice replaces the entry it
// wrote, so redelivery never duplicates anything.
//
// Every query names its tenant, and a backend never returns a document of
// another tenant.
package search

import (
	"context"
	"errors"
	"time"
)

// Conversation statuses as the index stores them.
const (
	StatusWaiting   = "waiting"
	StatusAssigned  = "assigned"
	StatusResolved  = "resolved"
	StatusAbandoned = "abandoned"
)

// Open reports whether a conversation with status s is an open case.
func Open(s string) bool { return s == StatusWaiting || s == StatusAssigned }

// Entry kinds.
const (
	KindMessage = "message" // a customer's or an agent's message
	KindNote    = "note"    // an agent's internal note
	KindCall    = "call"    // a call record: who, when, how long, with its outcome
)

// Entry directions.
const (
	DirectionIn  = "in"  // from the customer
	DirectionOut = "out" // to the customer
)

// Languages the index analyses with stemming; any other (or unknown)
// language is indexed with a language-neutral analyzer only.
var Languages = []string{"fr", "en", "ru", "de"}

// Conversation is one indexed conversation.
type Conversation struct {
	Tenant    string `json:"tenant"`
	ID        string `json:"id"`
	ContactID string `json:"contact_id,omitempty"`
	Channel   string `json:"channel"`
	Queue     string `json:"queue,omitempty"`
	AgentID   string `json:"agent_id,omitempty"`
	Status    string `json:"status"`
	// Language is the customer's language when known (one of Languages or
	// empty); entries without their own language are analysed in it.
	Language string   `json:"language,omitempty"`
	Tags     []string `json:"tags,omitempty"`
	// CustomerName and CustomerAddress are as the channel saw them (a
	// name, an email address, a phone number in E.164, a chat visitor id).
	CustomerName    string    `json:"customer_name,omitempty"`
	CustomerAddress string    `json:"customer_address,omitempty"`
	Started         time.Time `json:"started"`
	LastActivity    time.Time `json:"last_activity"`
	// Entries in time order. Results of Dossier leave them out.
	Entries []Entry `json:"entries,omitempty"`
}

// Messages counts the conversation's messages (notes and calls excluded).
func (c *Conversation) Messages() int {
	n := 0
	for _, e := range c.Entries {
		if e.Kind == KindMessage {
			n++
		}
	}
	return n
}

// Entry is one message, note or call record of a conversation.
type Entry struct {
	// ID is unique within the conversation (the message, note or call id):
	// writing an entry with an existing ID replaces it.
	ID        string    `json:"id"`
	Kind      string    `json:"kind"`
	Direction string    `json:"direction,omitempty"`
	AgentID   string    `json:"agent_id,omitempty"`
	Language  string    `json:"language,omitempty"`
	Text      string    `json:"text"`
	Time      time.Time `json:"time"`
}

// Contact is one person or company the hotline deals with.
type Contact struct {
	Tenant string   `json:"tenant"`
	ID     string   `json:"id"`
	Name   string   `json:"name,omitempty"`
	Emails []string `json:"emails,omitempty"` // lower-cased
	Phones []string `json:"phones,omitempty"` // E.164, see NormalizePhone
	// MergedInto is the contact this one was merged into by an agent, while
	// merged; the dossier of that contact includes this one's
	// conversations.
	MergedInto string `json:"merged_into,omitempty"`
}

// Batch is a set of whole documents to write. Each document replaces the
// stored one with the same tenant and id.
type Batch struct {
	Conversations []Conversation
	Contacts      []Contact
}

// Len is the number of documents in b.
func (b *Batch) Len() int { return len(b.Conversations) + len(b.Contacts) }

// Query is an analyst's full-text search.
type Query struct {
	// Tenant is required.
	Tenant string
	// Text is the query in the user syntax: words (stemmed in French,
	// English, Russian and German), "quoted phrases", -excluded words and
	// OR between alternatives. Empty matches every conversation.
	Text string
	// Filters: each non-empty list keeps conversations with one of its
	// values; Tags keeps those with every listed tag.
	Channels, Queues, Agents, Statuses, Tags []string
	// From and To keep conversations active in [From, To): started before
	// To and last active at or after From. Zero means unbounded.
	From, To time.Time
	// Size is the page size: 0 means DefaultSize, at most MaxSize.
	Size int
	// After is the Next cursor of the previous page.
	After string
	// Facets asks for counts by channel and by day over all matches.
	Facets bool
}

// Limits of queries.
const (
	DefaultSize    = 20
	MaxSize        = 100
	MaxQueryLength = 1000 // characters of Query.Text
)

// Result is one page of a search.
type Result struct {
	// Total counts every match, not just this page.
	Total int   `json:"total"`
	Hits  []Hit `json:"hits"`
	// Next is the cursor of the next page; empty on the last one.
	Next   string  `json:"next,omitempty"`
	Facets *Facets `json:"facets,omitempty"`
}

// Hit is one matching conversation, newest first without Text, by
// relevance with it.
type Hit struct {
	Conversation Conversation `json:"conversation"`
	// Highlights are the matched parts of entries (the best few).
	Highlights []Highlight `json:"highlights,omitempty"`
}

// Highlight is a fragment of one entry's text with the matched spans
// marked by offsets rather than markup, so that rendering it can never
// inject HTML.
type Highlight struct {
	EntryID  string `json:"entry_id"`
	Fragment string `json:"fragment"`
	// Marks are [start, end) byte offsets into Fragment.
	Marks [][2]int `json:"marks"`
}

// Facets are counts over all matches of a query.
type Facets struct {
	Channels map[string]int `json:"channels"`
	// Days counts conversations by the UTC day of their last activity,
	// oldest first.
	Days []DayCount `json:"days"`
}

// DayCount is the number of matches of one day ("2006-01-02").
type DayCount struct {
	Day   string `json:"day"`
	Count int    `json:"count"`
}

// DossierQuery asks for a contact's conversations.
type DossierQuery struct {
	Tenant string
	// ContactIDs are the contact and every contact merged into it.
	ContactIDs []string
	Size       int
	After      string
}

// Dossier is a contact's conversations on every channel, newest first,
// without their entries.
type Dossier struct {
	Total         int            `json:"total"`
	Conversations []Conversation `json:"conversations"`
	Next          string         `json:"next,omitempty"`
	// ByChannel counts all of the contact's conversations per channel; Open
	// counts its open cases.
	ByChannel map[string]int `json:"by_channel"`
	Open      int            `json:"open"`
}

// ContactQuery looks contacts up by one of a phone number (normalised to
// E.164 first), an email address (case-insensitive) or a name (words,
// tolerant of accents and case).
type ContactQuery struct {
	Tenant string
	Phone  string
	Email  string
	Name   string
	Size   int
}

// Index is a search backend.
type Index interface {
	// Write stores the documents of b, replacing those with the same ids.
	// When it returns nil they are durable and will be searchable within
	// about a second.
	Write(ctx context.Context, b Batch) error
	// Conversation returns the stored conversation, entries included.
	Conversation(ctx context.Context, tenant, id string) (Conversation, bool, error)
	// Contact returns the stored contact.
	Contact(ctx context.Context, tenant, id string) (Contact, bool, error)
	Search(ctx context.Context, q Query) (Result, error)
	Dossier(ctx context.Context, q DossierQuery) (Dossier, error)
	Contacts(ctx context.Context, q ContactQuery) ([]Contact, error)
	// Ping reports whether the backend answers.
	Ping(ctx context.Context) error
	Close() error
}

// Errors every backend returns (wrapped, with details) so that callers can
// answer with the right status.
var (
	// ErrInvalidQuery: a syntax error, a query too long, a bad filter or
	// cursor, a missing tenant. The message says what and where.
	ErrInvalidQuery = errors.New("search: invalid query")
	// ErrUnavailable: the engine is down or failing; retry later.
	ErrUnavailable = errors.New("search: engine unavailable")
)
