package routing

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hotline-hub/hotline/routing/hours"
)

func TestConfigValidate(t *testing.T) {
	good := func() Config {
		return Config{Tenants: []TenantConfig{{
			ID: "acme",
			Queues: []QueueConfig{
				{ID: "billing", Skills: []string{"billing"}, OverflowAfter: time.Minute, OverflowQueue: "general",
					Hours: &hours.Config{TimeZone: "Europe/Paris", Weekly: map[string][]string{"monday": {"08:00-18:00"}}}},
				{ID: "general"},
			},
			Agents: []AgentConfig{{ID: "a1", Skills: []string{"billing"}, Capacity: map[string]int{"chat": 3, "voice": 1}}},
		}}}
	}
	tests := []struct {
		name   string
		change func(c *Config)
		want   []string // substrings of the error, one per problem
	}{
		{"valid", func(*Config) {}, nil},
		{"no static tenants (all from the directory)", func(c *Config) { c.Tenants = nil }, nil},
		{"negative durations", func(c *Config) { c.PendingTimeout, c.DedupeWindow = -1, -1 },
			[]string{"pending_timeout: -1ns is negative", "dedupe_window: -1ns is negative"}},
		{"bad tenant id", func(c *Config) { c.Tenants[0].ID = "Acme Corp" }, []string{`tenants[0].id: "Acme Corp" is not a tenant slug`}},
		{"duplicate tenant", func(c *Config) { c.Tenants = append(c.Tenants, c.Tenants[0]) }, []string{`tenants[1].id: "acme" repeats tenants[0]`}},
		{"queue without id", func(c *Config) { c.Tenants[0].Queues[1].ID = "" },
			[]string{"tenants[0].queues[1].id: is empty", `tenants[0].queues[0].overflow_queue: "general" is not a queue`}},
		{"duplicate queue", func(c *Config) { c.Tenants[0].Queues[1].ID = "billing" },
			[]string{`tenants[0].queues[1].id: "billing" repeats queues[0]`, `tenants[0].queues[0].overflow_queue: "general" is not a queue`}},
		{"repeated skill", func(c *Config) { c.Tenants[0].Queues[0].Skills = []string{"x", "x", ""} },
			[]string{`tenants[0].queues[0].skills[1]: "x" repeats`, "tenants[0].queues[0].skills[2]: is empty"}},
		{"bad hours", func(c *Config) { c.Tenants[0].Queues[0].Hours.TimeZone = "Mars/Olympus" },
			[]string{`tenants[0].queues[0].hours: timezone: unknown zone "Mars/Olympus"`}},
		{"overflow without queue", func(c *Config) { c.Tenants[0].Queues[0].OverflowQueue = "" },
			[]string{"tenants[0].queues[0].overflow_queue: is empty but overflow_after is set"}},
		{"overflow without time", func(c *Config) { c.Tenants[0].Queues[0].OverflowAfter = 0 },
			[]string{"tenants[0].queues[0].overflow_after: is zero but overflow_queue is set"}},
		{"overflow to itself", func(c *Config) { c.Tenants[0].Queues[0].OverflowQueue = "billing" },
			[]string{`tenants[0].queues[0].overflow_queue: "billing" is the queue itself`}},
		{"overflow loop", func(c *Config) {
			c.Tenants[0].Queues[1].OverflowAfter, c.Tenants[0].Queues[1].OverflowQueue = time.Minute, "billing"
		}, []string{"tenants[0].queues[0].overflow_queue: overflow loops: billing -> general -> billing",
			"tenants[0].queues[1].overflow_queue: overflow loops: general -> billing -> general"}},
		{"negative timeouts", func(c *Config) {
			c.Tenants[0].Queues[1].OfferTimeout, c.Tenants[0].Queues[1].ReofferAfter, c.Tenants[0].Queues[1].Priority = -1, -1, -1
		}, []string{"queues[1].offer_timeout: -1ns is negative", "queues[1].reoffer_after: -1ns is negative", "queues[1].priority: -1 is negative"}},
		{"agent without id", func(c *Config) { c.Tenants[0].Agents[0].ID = "" }, []string{"tenants[0].agents[0].id: is empty"}},
		{"duplicate agent", func(c *Config) { c.Tenants[0].Agents = append(c.Tenants[0].Agents, c.Tenants[0].Agents[0]) },
			[]string{`tenants[0].agents[1].id: "a1" repeats agents[0]`}},
		{"unknown channel", func(c *Config) { c.Tenants[0].Agents[0].Capacity["fax"] = 1 },
			[]string{`tenants[0].agents[0].capacity.fax: "fax" is not a channel`}},
		{"negative capacity", func(c *Config) { c.Tenants[0].Agents[0].Capacity["chat"] = -2 },
			[]string{"tenants[0].agents[0].capacity.chat: -2 is negative"}},
		{"no capacity at all", func(c *Config) { c.Tenants[0].Agents[0].Capacity = nil },
			[]string{"tenants[0].agents[0].capacity: no channel with a capacity above 0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := good()
			tt.change(&c)
			err := c.Validate()
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("Validate = %v", err)
				}
				return
			}
			if !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("Validate = %v, want ErrInvalidConfig", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\nlacks %q", err, w)
				}
			}
			if got := strings.Count(err.Error(), "; ") + 1; got != len(tt.want) {
				t.Errorf("%d problems reported, want %d: %v", got, len(tt.want), err)
			}
		})
	}
}

func TestNewStateRejectsInvalidConfig(t *testing.T) {
	if _, err := NewState(TenantConfig{ID: "acme", Agents: []AgentConfig{{ID: "a1"}}}); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("NewState = %v, want ErrInvalidConfig", err)
	}
	st, err := NewState(TenantConfig{ID: "acme"})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.SetConfig(TenantConfig{ID: "globex"}); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("SetConfig of another tenant = %v", err)
	}
}

func TestNewRouterRejectsInvalidConfig(t *testing.T) {
	if _, err := New(Config{PendingTimeout: -time.Second}, nil, nil); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("New = %v, want ErrInvalidConfig", err)
	}
}
