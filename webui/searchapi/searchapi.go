// Package searchapi is the HTTP API over the search index (package search):
// the analysts' full-text search with its filters and facets, a stored
// conversation read whole, a contact's dossier (their conversations on
// every channel, merged contacts included), looking contacts up by phone,
// email or name, and merging or unmerging contacts.
//
// Reads go to the index; merges and unmerges are facts published to the bus
// (contacts.merged and contacts.unmerged on event.TopicContacts) and answer
// 202: the indexer folds them, and the dossier follows. Who may see what:
//
//   - search and stored conversations: analysts, supervisors, admins and hub
//     operators of the tenant; agents only the conversations of a contact
//     they serve (Serving);
//   - dossiers: supervisors, analysts, admins, operators; agents while they
//     serve the contact;
//   - contact lookup: every role, since agents identify callers;
//   - merge and unmerge: agents serving the contact, supervisors, admins and
//     operators; analysts are read-only.
//
// Like every tenant's working data (see auth.SameTenant), another tenant
// answers 404 as if absent, to operators too, and every index query names
// the caller's tenant.
package searchapi

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/hotline-hub/hotline/bus"
	"github.com/hotline-hub/hotline/search"
	"github.com/hotline-hub/hotline/webui/auth"
)

// Source is the CloudEvents source of the facts the API publishes.
const Source = "/webui/searchapi"

// Defaults applied to zero Config fields.
const (
	// DefaultMaxBodyBytes bounds JSON request bodies.
	DefaultMaxBodyBytes = 64 << 10
	// DefaultTimeout bounds one call to the index or one publish; past it
	// the request answers 503.
	DefaultTimeout = 10 * time.Second
)

// ErrInvalidConfig is wrapped by configuration errors.
var ErrInvalidConfig = errors.New("searchapi: invalid configuration")

// Config configures an API. Zero values take the defaults.
type Config struct {
	// MaxBodyBytes: see DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// Timeout: see DefaultTimeout.
	Timeout time.Duration
}

func (c Config) withDefaults() Config {
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	return c
}

// Validate reports a negative limit.
func (c Config) Validate() error {
	if c.MaxBodyBytes < 0 {
		return fmt.Errorf("%w: max body bytes %d is negative", ErrInvalidConfig, c.MaxBodyBytes)
	}
	if c.Timeout < 0 {
		return fmt.Errorf("%w: timeout %s is negative", ErrInvalidConfig, c.Timeout)
	}
	return nil
}

// MergeSets knows which contacts were merged into which, as folded from
// contacts.merged and contacts.unmerged (search/indexer keeps it).
type MergeSets interface {
	// Set returns contactID and every contact currently merged into it:
	// the contacts whose conversations make up its dossier.
	Set(tenant, contactID string) []string
}

// Serving knows which contacts each agent is serving right now (the inbox:
// a conversation of the contact is assigned or offered to the agent). An
// agent sees a contact's dossier, its stored conversations, and may merge
// it only while serving it.
type Serving interface {
	ServesContact(tenant, agentID, contactID string) bool
}

// API serves the search endpoints; mount it with Routes.
type API struct {
	cfg     Config
	idx     search.Index
	merges  MergeSets
	serving Serving
	bus     bus.Publisher
	auth    *auth.Auth
	log     *slog.Logger
}

// New builds the API on idx, publishing merges to b. Every dependency is
// required; log may be nil.
func New(cfg Config, idx search.Index, merges MergeSets, serving Serving, b bus.Bus, a *auth.Auth, log *slog.Logger) (*API, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	switch {
	case idx == nil:
		return nil, fmt.Errorf("%w: no search index", ErrInvalidConfig)
	case merges == nil:
		return nil, fmt.Errorf("%w: no merge sets", ErrInvalidConfig)
	case serving == nil:
		return nil, fmt.Errorf("%w: nothing tells which contacts agents serve", ErrInvalidConfig)
	case b == nil:
		return nil, fmt.Errorf("%w: no bus", ErrInvalidConfig)
	case a == nil:
		return nil, fmt.Errorf("%w: no auth", ErrInvalidConfig)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &API{cfg: cfg.withDefaults(), idx: idx, merges: merges, serving: serving, bus: b, auth: a, log: log}, nil
}
