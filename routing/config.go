package routing

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/hotline-hub/hotline/bus/event"
	"github.com/hotline-hub/hotline/routing/hours"
)

// Defaults applied to zero fields.
const (
	// DefaultOfferTimeout is how long an offer stands when a queue sets none:
	// long enough to notice a ringing phone or a blinking tab.
	DefaultOfferTimeout = 30 * time.Second
	// DefaultReofferAfter is how long an agent who declined or let an offer
	// expire is passed over for that conversation when a queue sets none.
	DefaultReofferAfter = time.Minute
	// DefaultGroup is the consumer group that copies requests onto the
	// routing topic.
	DefaultGroup = "hotline-routing"
	// DefaultPendingTimeout bounds how long a router waits to read back its
	// own proposals before deciding again (a publish that was lost).
	DefaultPendingTimeout = 10 * time.Second
	// DefaultDedupeWindow is how long event ids are remembered to drop
	// copies delivered again (at-least-once forwarding).
	DefaultDedupeWindow = 24 * time.Hour
)

// ErrInvalidConfig is wrapped by every configuration error; the message
// lists each problem with the field it is about.
var ErrInvalidConfig = errors.New("routing: invalid configuration")

// Config configures a Router. Like every Hotline package config it is plain
// data that cmd/ fills from files and flags.
type Config struct {
	// RouterID names this instance in logs and in its router.started
	// markers; default host name and process id.
	RouterID string `json:"router_id" yaml:"router_id" mapstructure:"router_id"`
	// Group is the consumer group copying requests from the conversation,
	// agent and contact topics onto the routing topic; default
	// DefaultGroup. Every router of a deployment uses the same group so each
	// request is copied once (duplicates are dropped anyway).
	Group string `json:"group" yaml:"group" mapstructure:"group"`
	// Tenants are the static configuration of the client companies routed:
	// their queues and agents. Every router of a deployment must be given
	// the same tenants, since whether a fact is valid depends on skills and
	// capacities. It may be empty: queues and agents set through the
	// directory (event.TopicDirectory) are overlaid on it, and a tenant
	// with none here is routed once the directory gives it a queue or an
	// agent.
	Tenants []TenantConfig `json:"tenants" yaml:"tenants" mapstructure:"tenants"`
	// PendingTimeout: see DefaultPendingTimeout.
	PendingTimeout time.Duration `json:"pending_timeout" yaml:"pending_timeout" mapstructure:"pending_timeout"`
	// DedupeWindow: see DefaultDedupeWindow. Part of the fold's rules: every
	// reader of the routing log must use the same value.
	DedupeWindow time.Duration `json:"dedupe_window" yaml:"dedupe_window" mapstructure:"dedupe_window"`
}

// TenantConfig is one tenant's routing setup.
type TenantConfig struct {
	// ID is the tenant slug events carry.
	ID     string        `json:"id" yaml:"id" mapstructure:"id"`
	Queues []QueueConfig `json:"queues" yaml:"queues" mapstructure:"queues"`
	Agents []AgentConfig `json:"agents" yaml:"agents" mapstructure:"agents"`
	// DedupeWindow: see Config.DedupeWindow; 0 means DefaultDedupeWindow.
	// Router copies Config.DedupeWindow here.
	DedupeWindow time.Duration `json:"dedupe_window" yaml:"dedupe_window" mapstructure:"dedupe_window"`
}

// QueueConfig is one queue.
type QueueConfig struct {
	ID   string `json:"id" yaml:"id" mapstructure:"id"`
	Name string `json:"name" yaml:"name" mapstructure:"name"`
	// Skills an agent needs, all of them, to take this queue's conversations.
	Skills []string `json:"skills" yaml:"skills" mapstructure:"skills"`
	// Priority is added to each conversation's own priority: an agent who
	// serves several queues takes the higher sum first.
	Priority int `json:"priority" yaml:"priority" mapstructure:"priority"`
	// Hours is the queue's calendar; nil means open 24/7. Conversations
	// queued while closed wait and are offered once it opens.
	Hours *hours.Config `json:"hours" yaml:"hours" mapstructure:"hours"`
	// OverflowAfter moves a conversation still waiting after this long
	// (counted from when it entered this queue) to OverflowQueue. Both are
	// set or neither.
	OverflowAfter time.Duration `json:"overflow_after" yaml:"overflow_after" mapstructure:"overflow_after"`
	OverflowQueue string        `json:"overflow_queue" yaml:"overflow_queue" mapstructure:"overflow_queue"`
	// OfferTimeout: see DefaultOfferTimeout.
	OfferTimeout time.Duration `json:"offer_timeout" yaml:"offer_timeout" mapstructure:"offer_timeout"`
	// ReofferAfter: see DefaultReofferAfter.
	ReofferAfter time.Duration `json:"reoffer_after" yaml:"reoffer_after" mapstructure:"reoffer_after"`
}

// AgentConfig is one agent.
type AgentConfig struct {
	ID     string   `json:"id" yaml:"id" mapstructure:"id"`
	Name   string   `json:"name" yaml:"name" mapstructure:"name"`
	Skills []string `json:"skills" yaml:"skills" mapstructure:"skills"`
	// Capacity is how many conversations of each channel (voice, email,
	// sms, chat) the agent handles at once, offers included. A channel
	// absent or 0 is never routed to the agent.
	Capacity map[string]int `json:"capacity" yaml:"capacity" mapstructure:"capacity"`
}

// problems collects configuration problems by field.
type problems []string

func (p *problems) add(field, format string, args ...any) {
	*p = append(*p, field+": "+fmt.Sprintf(format, args...))
}

func (p problems) err() error {
	if len(p) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %s", ErrInvalidConfig, strings.Join(p, "; "))
}

// Validate lists every problem of the router configuration, each with the
// field it is about.
func (c Config) Validate() error {
	var p problems
	if c.PendingTimeout < 0 {
		p.add("pending_timeout", "%s is negative", c.PendingTimeout)
	}
	if c.DedupeWindow < 0 {
		p.add("dedupe_window", "%s is negative", c.DedupeWindow)
	}
	seen := map[string]int{}
	for i, t := range c.Tenants {
		if j, dup := seen[t.ID]; dup && t.ID != "" {
			p.add(fmt.Sprintf("tenants[%d].id", i), "%q repeats tenants[%d]", t.ID, j)
		}
		seen[t.ID] = i
		t.check(&p, fmt.Sprintf("tenants[%d].", i))
	}
	return p.err()
}

// Validate lists every problem of one tenant's configuration.
func (t TenantConfig) Validate() error {
	var p problems
	t.check(&p, "")
	return p.err()
}

func (t TenantConfig) check(p *problems, prefix string) {
	if t.ID == "" {
		p.add(prefix+"id", "is empty")
	} else if !event.ValidTenant(t.ID) {
		p.add(prefix+"id", "%q is not a tenant slug (lowercase letters, digits, hyphens)", t.ID)
	}
	if t.DedupeWindow < 0 {
		p.add(prefix+"dedupe_window", "%s is negative", t.DedupeWindow)
	}
	queues := map[string]int{}
	for i, q := range t.Queues {
		f := fmt.Sprintf("%squeues[%d].", prefix, i)
		if q.ID == "" {
			p.add(f+"id", "is empty")
		} else if j, dup := queues[q.ID]; dup {
			p.add(f+"id", "%q repeats queues[%d]", q.ID, j)
		} else {
			queues[q.ID] = i
		}
		checkSkills(p, f+"skills", q.Skills)
		if q.Priority < 0 {
			p.add(f+"priority", "%d is negative", q.Priority)
		}
		if q.Hours != nil {
			if _, err := hours.New(*q.Hours); err != nil {
				p.add(f+"hours", "%s", strings.TrimPrefix(err.Error(), hours.ErrInvalid.Error()+": "))
			}
		}
		switch {
		case q.OverflowAfter < 0:
			p.add(f+"overflow_after", "%s is negative", q.OverflowAfter)
		case q.OverflowAfter > 0 && q.OverflowQueue == "":
			p.add(f+"overflow_queue", "is empty but overflow_after is set")
		case q.OverflowAfter == 0 && q.OverflowQueue != "":
			p.add(f+"overflow_after", "is zero but overflow_queue is set")
		}
		if q.OfferTimeout < 0 {
			p.add(f+"offer_timeout", "%s is negative", q.OfferTimeout)
		}
		if q.ReofferAfter < 0 {
			p.add(f+"reoffer_after", "%s is negative", q.ReofferAfter)
		}
	}
	for i, q := range t.Queues {
		if q.OverflowQueue == "" {
			continue
		}
		f := fmt.Sprintf("%squeues[%d].overflow_queue", prefix, i)
		if q.OverflowQueue == q.ID {
			p.add(f, "%q is the queue itself", q.OverflowQueue)
			continue
		}
		if _, ok := queues[q.OverflowQueue]; !ok {
			p.add(f, "%q is not a queue of this tenant", q.OverflowQueue)
			continue
		}
		if cycle := overflowCycle(t.Queues, queues, i); cycle != "" {
			p.add(f, "overflow loops: %s", cycle)
		}
	}
	agents := map[string]int{}
	for i, a := range t.Agents {
		f := fmt.Sprintf("%sagents[%d].", prefix, i)
		if a.ID == "" {
			p.add(f+"id", "is empty")
		} else if j, dup := agents[a.ID]; dup {
			p.add(f+"id", "%q repeats agents[%d]", a.ID, j)
		} else {
			agents[a.ID] = i
		}
		checkSkills(p, f+"skills", a.Skills)
		total := 0
		for _, ch := range slices.Sorted(maps.Keys(a.Capacity)) {
			n := a.Capacity[ch]
			switch {
			case !validChannel(ch):
				p.add(f+"capacity."+ch, "%q is not a channel (voice, email, sms, chat)", ch)
			case n < 0:
				p.add(f+"capacity."+ch, "%d is negative", n)
			}
			if n > 0 {
				total += n
			}
		}
		if total == 0 {
			p.add(f+"capacity", "no channel with a capacity above 0, so the agent is never routed to")
		}
	}
}

// overflowCycle follows overflow_queue from queue i and describes the loop
// if it comes back to a queue already visited.
func overflowCycle(qs []QueueConfig, index map[string]int, i int) string {
	path := []string{qs[i].ID}
	seen := map[string]bool{qs[i].ID: true}
	for cur := i; qs[cur].OverflowQueue != ""; {
		next, ok := index[qs[cur].OverflowQueue]
		if !ok {
			return ""
		}
		path = append(path, qs[next].ID)
		if seen[qs[next].ID] {
			if qs[next].ID != qs[i].ID {
				return "" // the loop does not pass through i; reported at its own queues
			}
			return strings.Join(path, " -> ")
		}
		seen[qs[next].ID] = true
		cur = next
	}
	return ""
}

func checkSkills(p *problems, field string, skills []string) {
	seen := map[string]int{}
	for i, s := range skills {
		switch {
		case strings.TrimSpace(s) == "":
			p.add(fmt.Sprintf("%s[%d]", field, i), "is empty")
		case seen[s] > 0:
			p.add(fmt.Sprintf("%s[%d]", field, i), "%q repeats %s[%d]", s, field, seen[s]-1)
		default:
			seen[s] = i + 1
		}
	}
}

func validChannel(c string) bool {
	switch c {
	case event.ChannelVoice, event.ChannelEmail, event.ChannelSMS, event.ChannelChat:
		return true
	}
	return false
}

// withDefaults fills zero fields of the router configuration.
func (c Config) withDefaults() Config {
	if c.RouterID == "" {
		host, _ := os.Hostname()
		if host == "" {
			host = "router"
		}
		c.RouterID = fmt.Sprintf("%s/%d", host, os.Getpid())
	}
	if c.Group == "" {
		c.Group = DefaultGroup
	}
	if c.PendingTimeout == 0 {
		c.PendingTimeout = DefaultPendingTimeout
	}
	if c.DedupeWindow == 0 {
		c.DedupeWindow = DefaultDedupeWindow
	}
	return c
}
