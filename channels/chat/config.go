package chat

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/hotline-hub/hotline/bus"
	"github.com/hotline-hub/hotline/bus/event"
	"github.com/hotline-hub/hotline/routing/hours"
)

// Defaults applied by New to zero fields of Config.
const (
	DefaultMaxFrameBytes    = 16 << 10
	DefaultMaxTextChars     = 4000
	DefaultHistoryPerConv   = 500
	DefaultIdleEvict        = 24 * time.Hour
	DefaultTokenTTL         = 180 * 24 * time.Hour
	DefaultSendQueue        = 64
	DefaultWriteTimeout     = 10 * time.Second
	DefaultMaxBadFrames     = 5
	DefaultTypingMaxAge     = 5 * time.Second
	DefaultResumeSlack      = 30 * time.Second
	DefaultMessageRate      = 1.0 // messages per second per visitor, refilled
	DefaultMessageBurst     = 10
	DefaultIPMessageRate    = 5.0
	DefaultIPMessageBurst   = 50
	DefaultConnectRate      = 1.0 // connections per second per IP
	DefaultConnectBurst     = 30
	DefaultReadyTimeout     = 30 * time.Second
	DefaultDeliveryGroup    = "chat-delivery"
	DefaultStateTopic       = "hotline.chat"
	DefaultSignalsTopic     = "hotline.signals"
	DefaultPingInterval     = 30 * time.Second
	defaultSource           = "/channels/chat"
	defaultTypingThrottle   = time.Second
	defaultPublishTimeout   = 10 * time.Second
	defaultMaxVisitorCIDs   = 2000
	defaultEvictionPeriod   = time.Minute
	defaultDeliveredPublish = 10 * time.Second
)

// ErrConfig wraps every configuration problem New reports.
var ErrConfig = errors.New("chat: invalid config")

// Config configures the chat channel. Zero fields take the defaults above;
// Tenants and SecretFile are required.
type Config struct {
	// Tenants lists who may embed the widget, with their chat queues; the
	// list may start empty and change while the channel runs (SetTenants).
	Tenants []TenantConfig
	// SecretFile holds the HMAC key of visitor tokens. It is created with
	// 32 random bytes and mode 0600 at first start (e.g. data/chat.secret);
	// replacing it invalidates every visitor token.
	SecretFile string
	// TokenTTL is how long a visitor token stays valid; a visitor coming
	// back later starts afresh.
	TokenTTL time.Duration
	// MaxFrameBytes bounds one WebSocket frame; a larger one closes the
	// connection with 1009.
	MaxFrameBytes int64
	// MaxTextChars bounds a message's text in characters (runes).
	MaxTextChars int
	// HistoryPerConversation is how many messages a conversation's history
	// view keeps for reconnecting widgets.
	HistoryPerConversation int
	// IdleEvict drops a conversation's history, and a visitor's dedupe set,
	// from memory after this long without activity and with no socket open.
	IdleEvict time.Duration
	// SendQueue is the per-connection queue of outgoing frames; a
	// connection whose queue is full is a slow reader and is closed.
	SendQueue int
	// WriteTimeout bounds every frame write.
	WriteTimeout time.Duration
	// PingInterval is how long a socket may stay quiet (nothing heard
	// from the visitor) before the server pings it.
	PingInterval time.Duration
	// MaxBadFrames closes a connection (1008) after this many bad frames.
	MaxBadFrames int
	// TypingMaxAge drops typing signals older than this, so a replay or a
	// lagging reader never shows stale typing.
	TypingMaxAge time.Duration
	// ResumeSlack widens the replay on reconnect: entries with seq newer
	// than last_seq minus this are sent again (the widget drops the ones it
	// has by message_id), so a reply stamped earlier but published later
	// than the widget's last message is not missed.
	ResumeSlack time.Duration
	// Per-visitor and per-IP token buckets on messages, and per-IP on new
	// connections: Rate tokens per second, up to Burst.
	MessageRate, IPMessageRate, ConnectRate    float64
	MessageBurst, IPMessageBurst, ConnectBurst int
	// ReadyTimeout bounds how long a hello waits for the channel to catch
	// up with its state log after a start.
	ReadyTimeout time.Duration
	// DeliveryGroup is the consumer group reading TopicOutbox.
	DeliveryGroup string
	// StateTopic is the channel's own log of accepted visitor messages
	// (visitor, conversation, client id), keyed by tenant; it is what makes
	// dedupe survive a restart. SignalsTopic carries typing indicators.
	StateTopic, SignalsTopic string
	// Now is the clock, for tests; nil means time.Now.
	Now func() time.Time
}

// TenantConfig is one tenant's chat setup.
type TenantConfig struct {
	// ID is the tenant id, as in data-tenant.
	ID string
	// AllowedOrigins lists the web origins ("https://www.example.com")
	// allowed to open a chat socket for this tenant; "*" or an empty list
	// allows any origin.
	AllowedOrigins []string
	// Queues are the chat queues a widget may name in data-queue.
	Queues []QueueConfig
	// DefaultQueue is the queue of a widget that names none; empty means
	// such a widget is refused.
	DefaultQueue string
}

// QueueConfig is one chat queue: where a new conversation is queued, with
// which priority and skills, and when it is staffed.
type QueueConfig struct {
	Name     string
	Priority int
	Skills   []string
	// Hours of operation; the zero value means always open.
	Hours hours.Config
}

type tenant struct {
	id           string
	origins      []string // empty: any
	queues       map[string]*queue
	defaultQueue string
}

type queue struct {
	cfg QueueConfig
	cal *hours.Calendar
}

func (c Config) withDefaults() Config {
	setDur := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	setInt := func(d *int, v int) {
		if *d == 0 {
			*d = v
		}
	}
	setF := func(d *float64, v float64) {
		if *d == 0 {
			*d = v
		}
	}
	setStr := func(d *string, v string) {
		if *d == "" {
			*d = v
		}
	}
	setDur(&c.TokenTTL, DefaultTokenTTL)
	if c.MaxFrameBytes == 0 {
		c.MaxFrameBytes = DefaultMaxFrameBytes
	}
	setInt(&c.MaxTextChars, DefaultMaxTextChars)
	setInt(&c.HistoryPerConversation, DefaultHistoryPerConv)
	setDur(&c.IdleEvict, DefaultIdleEvict)
	setInt(&c.SendQueue, DefaultSendQueue)
	setDur(&c.WriteTimeout, DefaultWriteTimeout)
	setDur(&c.PingInterval, DefaultPingInterval)
	setInt(&c.MaxBadFrames, DefaultMaxBadFrames)
	setDur(&c.TypingMaxAge, DefaultTypingMaxAge)
	setDur(&c.ResumeSlack, DefaultResumeSlack)
	setF(&c.MessageRate, DefaultMessageRate)
	setInt(&c.MessageBurst, DefaultMessageBurst)
	setF(&c.IPMessageRate, DefaultIPMessageRate)
	setInt(&c.IPMessageBurst, DefaultIPMessageBurst)
	setF(&c.ConnectRate, DefaultConnectRate)
	setInt(&c.ConnectBurst, DefaultConnectBurst)
	setDur(&c.ReadyTimeout, DefaultReadyTimeout)
	setStr(&c.DeliveryGroup, DefaultDeliveryGroup)
	setStr(&c.StateTopic, DefaultStateTopic)
	setStr(&c.SignalsTopic, DefaultSignalsTopic)
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// build validates c (with defaults applied) and compiles the tenants.
func (c Config) build() (map[string]*tenant, error) {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if c.SecretFile == "" {
		bad("secret file is required")
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"token ttl", c.TokenTTL}, {"idle evict", c.IdleEvict}, {"write timeout", c.WriteTimeout},
		{"ping interval", c.PingInterval}, {"typing max age", c.TypingMaxAge}, {"resume slack", c.ResumeSlack},
		{"ready timeout", c.ReadyTimeout}} {
		if d.v < 0 {
			bad("%s must be positive, got %s", d.name, d.v)
		}
	}
	for _, n := range []struct {
		name string
		v    int
	}{{"max text chars", c.MaxTextChars}, {"history per conversation", c.HistoryPerConversation},
		{"send queue", c.SendQueue}, {"max bad frames", c.MaxBadFrames}, {"message burst", c.MessageBurst},
		{"ip message burst", c.IPMessageBurst}, {"connect burst", c.ConnectBurst}} {
		if n.v < 0 {
			bad("%s must be positive, got %d", n.name, n.v)
		}
	}
	if c.MaxFrameBytes < 256 {
		bad("max frame bytes must be at least 256, got %d", c.MaxFrameBytes)
	}
	if c.MessageRate < 0 || c.IPMessageRate < 0 || c.ConnectRate < 0 {
		bad("rates must be positive")
	}
	for _, t := range []string{c.StateTopic, c.SignalsTopic} {
		if err := bus.ValidTopic(t); err != nil {
			bad("%v", err)
		}
	}
	tenants, err := buildTenants(c.Tenants)
	if err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("%w: %w", ErrConfig, errors.Join(errs...))
	}
	return tenants, nil
}

// buildTenants validates and compiles tenant configurations.
func buildTenants(tcs []TenantConfig) (map[string]*tenant, error) {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	tenants := make(map[string]*tenant, len(tcs))
	for i, tc := range tcs {
		if !event.ValidTenant(tc.ID) {
			bad("tenants[%d]: %q is not a valid tenant id", i, tc.ID)
			continue
		}
		if _, dup := tenants[tc.ID]; dup {
			bad("tenants[%d]: tenant %q listed twice", i, tc.ID)
			continue
		}
		t := &tenant{id: tc.ID, queues: make(map[string]*queue), defaultQueue: tc.DefaultQueue}
		if !slices.Contains(tc.AllowedOrigins, "*") {
			t.origins = tc.AllowedOrigins
		}
		for j, qc := range tc.Queues {
			if qc.Name == "" {
				bad("tenant %q: queues[%d]: name is empty", tc.ID, j)
				continue
			}
			if _, dup := t.queues[qc.Name]; dup {
				bad("tenant %q: queue %q listed twice", tc.ID, qc.Name)
				continue
			}
			if qc.Priority < 0 {
				bad("tenant %q: queue %q: priority must not be negative", tc.ID, qc.Name)
			}
			var cal *hours.Calendar
			if qc.Hours.TimeZone == "" && !qc.Hours.AlwaysOpen && len(qc.Hours.Weekly) == 0 && len(qc.Hours.Holidays) == 0 {
				cal = hours.AlwaysOpen()
			} else {
				var err error
				if cal, err = hours.New(qc.Hours); err != nil {
					bad("tenant %q: queue %q: hours: %w", tc.ID, qc.Name, err)
					continue
				}
			}
			t.queues[qc.Name] = &queue{cfg: qc, cal: cal}
		}
		if t.defaultQueue != "" && t.queues[t.defaultQueue] == nil {
			bad("tenant %q: default queue %q is not one of its chat queues", tc.ID, t.defaultQueue)
		}
		tenants[tc.ID] = t
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return tenants, nil
}
