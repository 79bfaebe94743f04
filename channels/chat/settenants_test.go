package chat

import (
	"errors"
	"strings"
	"testing"
)

// TestSetTenantsWhileRunning starts a channel that knows no tenant, as a
// fresh hub does before an admin configures the widget, then adds one,
// changes its origins and default queue, and removes it, checking what
// each hello meets.
func TestSetTenantsWhileRunning(t *testing.T) {
	dir := t.TempDir()
	cfg := baseConfig(t, dir)
	cfg.Tenants = nil
	b := newBus(t)
	h := startHub(t, b, cfg)

	c := h.dial(t, "https://shop.example")
	c.send(map[string]any{"type": "hello", "tenant": "demo", "queue": "support"})
	if f := c.next("error"); f.Code != CodeUnknownTenant {
		t.Fatalf("hello before configuration: %+v, want %s", f, CodeUnknownTenant)
	}

	if err := h.ch.SetTenants([]TenantConfig{{ID: "demo", AllowedOrigins: []string{"https://shop.example"},
		Queues: []QueueConfig{{Name: "support"}}, DefaultQueue: "support"}}); err != nil {
		t.Fatal(err)
	}
	c = h.dial(t, "https://shop.example")
	w := c.hello("demo", "", "", nil) // no data-queue: the default queue
	c.message("m-1", "Bonjour")
	if f := c.next("ack"); f.ClientID != "m-1" {
		t.Fatalf("ack = %+v", f)
	}
	_ = w

	other := h.dial(t, "https://elsewhere.example")
	other.send(map[string]any{"type": "hello", "tenant": "demo", "queue": "support"})
	if f := other.next("error"); f.Code != CodeOriginForbidden {
		t.Fatalf("hello from another origin: %+v, want %s", f, CodeOriginForbidden)
	}

	// Origins widened, default queue dropped: a queue-less hello is refused
	// with a message saying why.
	if err := h.ch.SetTenants([]TenantConfig{{ID: "demo", AllowedOrigins: []string{"*"},
		Queues: []QueueConfig{{Name: "support"}}}}); err != nil {
		t.Fatal(err)
	}
	other = h.dial(t, "https://elsewhere.example")
	other.send(map[string]any{"type": "hello", "tenant": "demo"})
	if f := other.next("error"); f.Code != CodeUnknownQueue || !strings.Contains(f.Message, "default") {
		t.Fatalf("queue-less hello without a default: %+v", f)
	}
	other = h.dial(t, "https://elsewhere.example")
	other.hello("demo", "support", "", nil)

	// A broken configuration is refused whole and changes nothing.
	err := h.ch.SetTenants([]TenantConfig{{ID: "Bad Tenant"}})
	if !errors.Is(err, ErrConfig) {
		t.Fatalf("SetTenants(bad) = %v, want ErrConfig", err)
	}
	again := h.dial(t, "https://elsewhere.example")
	again.hello("demo", "support", "", nil)

	if err := h.ch.SetTenants(nil); err != nil {
		t.Fatal(err)
	}
	gone := h.dial(t, "https://shop.example")
	gone.send(map[string]any{"type": "hello", "tenant": "demo", "queue": "support"})
	if f := gone.next("error"); f.Code != CodeUnknownTenant {
		t.Fatalf("hello after removal: %+v, want %s", f, CodeUnknownTenant)
	}
}

// TestSetTenantsKeepsDedupeOfANewTenant restarts a channel over the same
// bus with no tenant, adds the tenant back, and resends an acknowledged
// client id: the channel must have caught up with the tenant's part of its
// state log before serving it, so the resend is recognised, not stored
// twice.
func TestSetTenantsKeepsDedupeOfANewTenant(t *testing.T) {
	dir := t.TempDir()
	cfg := baseConfig(t, dir)
	b := newBus(t)
	h := startHub(t, b, cfg)
	c := h.dial(t, "")
	w := c.hello("demo", "support", "", nil)
	c.message("m-1", "Bonjour")
	first := c.next("ack")
	h.stop()

	cfg.Tenants = nil
	h = startHub(t, b, cfg)
	if err := h.ch.SetTenants(baseConfig(t, dir).Tenants); err != nil {
		t.Fatal(err)
	}
	c = h.dial(t, "")
	c.hello("demo", "support", w.Token, nil)
	c.message("m-1", "Bonjour")
	again := c.next("ack")
	if again.MessageID != first.MessageID {
		t.Fatalf("resend after restart acked as %q, first %q: stored twice", again.MessageID, first.MessageID)
	}
}
