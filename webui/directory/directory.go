// Package directory is each tenant's directory of who handles what: its
// queues, skill catalogue, the routing profiles of its agents, canned
// answers and operator scripts, and the chat widget's settings. All of it
// lives as facts on the bus topic hotline.directory (see
// bus/event/directory.go), folded into memory by every web instance
// (Store), changed through the admin JSON API (Store.Routes) and read by the
// rest of the hub through the Store's read methods.
//
// The fold applies every valid fact in log order: a fact is a whole object,
// so two admins saving the same queue leave the later one (last writer
// wins). Cross-references (a queue's skills and overflow queue, a profile's
// skills, the widget's default queue, "in use" on removal) are checked
// before publishing, against the fold, with one writer per tenant at a time
// in each Store; so writers through one Store never leave a dangling
// reference. Writers on two instances can still race past each other's
// checks, so readers treat a reference to an absent queue or skill as
// absent.
//
// Wiring: build auth and the Store on one bus, Subscribe (for the chat
// channel's settings) before running both, call EnsureDefaults for new
// tenants, and mount auth.Routes and Store.Routes on one mux.
package directory

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/hotline-hub/hotline/bus"
	"github.com/hotline-hub/hotline/routing/hours"
)

// Source is the CloudEvents source of the facts the directory publishes.
const Source = "/webui/directory"

// Defaults applied to zero Config fields.
const (
	// DefaultMaxBodyBytes bounds JSON request bodies.
	DefaultMaxBodyBytes = 64 << 10
	// DefaultWaitTimeout bounds how long a write waits for its own fact to
	// be folded back before it gives up (503 over HTTP).
	DefaultWaitTimeout = 10 * time.Second
)

// MaxSeconds bounds the API's durations (overflow and offer timeouts): 30
// days, far past any sensible wait, and far from overflowing milliseconds.
const MaxSeconds = 30 * 24 * 3600

// Sentinel errors that callers test with errors.Is. Validation failures are
// *event.ValidationError values (wrapping event.ErrInvalid) whose fields
// are named as in the JSON API.
var (
	// ErrNotFound: no such queue, skill, profile or canned answer.
	ErrNotFound = errors.New("not found")
	// ErrInUse: the queue or skill is still referred to; see InUseError.
	ErrInUse = errors.New("in use")
	// ErrStopped: the store's Run has returned, so nothing more is folded.
	ErrStopped = errors.New("directory: store stopped")
	// ErrInvalidConfig is wrapped by configuration errors.
	ErrInvalidConfig = errors.New("directory: invalid configuration")
)

// InUseError says what still refers to a queue or skill being removed. It
// wraps ErrInUse.
type InUseError struct {
	// What is "queue" or "skill"; ID is its id.
	What, ID string
	// Queues are the queues using it (a skill they require, or overflowing
	// into the queue).
	Queues []string
	// Agents are the account ids whose profiles name the skill.
	Agents []string
	// Widget is set when the queue is the chat widget's default queue.
	Widget bool
}

// Error names every user.
func (e *InUseError) Error() string {
	msg := fmt.Sprintf("%s %q is in use", e.What, e.ID)
	if len(e.Queues) > 0 {
		msg += fmt.Sprintf("; queues: %v", e.Queues)
	}
	if len(e.Agents) > 0 {
		msg += fmt.Sprintf("; agent profiles: %v", e.Agents)
	}
	if e.Widget {
		msg += "; it is the chat widget's default queue"
	}
	return msg
}

// Unwrap makes errors.Is(err, ErrInUse) hold.
func (e *InUseError) Unwrap() error { return ErrInUse }

// Queue is one queue as the API and the hub's readers see it. Durations
// are whole seconds here and milliseconds in the events (facts written
// elsewhere with a fraction of a second round up).
type Queue struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// Channels whose conversations may wait here: voice, email, sms, chat.
	Channels []string `json:"channels"`
	// Skills an agent needs, all of them, to take this queue's work.
	Skills []string `json:"skills"`
	// Priority is added to each conversation's own priority.
	Priority int `json:"priority"`
	// Hours is the queue's calendar; nil means open 24/7.
	Hours *hours.Config `json:"hours"`
	// OverflowAfterSeconds and OverflowQueue move a conversation still
	// waiting after that long to another queue; both set or neither.
	OverflowAfterSeconds int64  `json:"overflow_after_seconds"`
	OverflowQueue        string `json:"overflow_queue"`
	// OfferTimeoutSeconds is how long an offer stands; 0 means routing's
	// default.
	OfferTimeoutSeconds int64 `json:"offer_timeout_seconds"`
}

// Takes reports whether the queue takes conversations of channel.
func (q Queue) Takes(channel string) bool {
	for _, c := range q.Channels {
		if c == channel {
			return true
		}
	}
	return false
}

// Skill is one skill of a tenant's catalogue.
type Skill struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// Capacity is how many conversations of each channel an agent handles at
// once.
type Capacity struct {
	Chat  int `json:"chat"`
	Voice int `json:"voice"`
	Email int `json:"email"`
	SMS   int `json:"sms"`
}

// Profile is an account's routing profile: it takes routed work with these
// skills and capacities.
type Profile struct {
	Skills   []string `json:"skills"`
	Capacity Capacity `json:"capacity"`
}

// Answer is a canned answer or an operator script.
type Answer struct {
	ID string `json:"id"`
	// Kind is event.CannedAnswer ("answer") or event.CannedScript
	// ("script").
	Kind  string `json:"kind"`
	Title string `json:"title"`
	// Text may hold placeholders the inbox fills in: {{customer.name}},
	// {{customer.address}}, {{case.number}}, {{agent.name}},
	// {{queue.name}}.
	Text string `json:"text"`
	// Language is fr, en, ru or de; empty means any.
	Language string `json:"language"`
	// Shortcut is what an agent types after "/" to insert it.
	Shortcut string `json:"shortcut"`
	// Queues limits the answer to these queues' conversations; empty means
	// every queue.
	Queues []string `json:"queues"`
}

// Widget is the chat widget's settings. The zero Widget (a tenant that
// never configured it) allows no origin.
type Widget struct {
	// AllowedOrigins are the web origins whose pages may open a chat; "*"
	// allows any.
	AllowedOrigins []string `json:"allowed_origins"`
	// DefaultQueue is where a widget naming no queue sends its
	// conversations; empty refuses such widgets.
	DefaultQueue string `json:"default_queue"`
}

// Config configures a Store. Zero values take the defaults.
type Config struct {
	// ReaderID names this instance in its catch-up markers. Default
	// host/pid.
	ReaderID string
	// MaxBodyBytes: see DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// WaitTimeout: see DefaultWaitTimeout.
	WaitTimeout time.Duration
}

func (c Config) withDefaults() Config {
	if c.ReaderID == "" {
		host, _ := os.Hostname()
		c.ReaderID = fmt.Sprintf("%s/%d", host, os.Getpid())
	}
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if c.WaitTimeout == 0 {
		c.WaitTimeout = DefaultWaitTimeout
	}
	return c
}

// Validate reports settings that cannot work, after defaults are applied.
func (c Config) Validate() error {
	c = c.withDefaults()
	var errs []error
	if c.MaxBodyBytes < 1024 {
		errs = append(errs, fmt.Errorf("max body bytes %d is below 1024", c.MaxBodyBytes))
	}
	if c.WaitTimeout < 0 {
		errs = append(errs, fmt.Errorf("wait timeout %v is negative", c.WaitTimeout))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	return nil
}

// New checks cfg and builds a Store reading and writing b. Call Run before
// reading or writing.
func New(cfg Config, b bus.Bus, log *slog.Logger) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if b == nil {
		return nil, errors.New("directory: bus is nil")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return newStore(cfg.withDefaults(), b, log), nil
}
