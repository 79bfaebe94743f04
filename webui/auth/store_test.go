package auth

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hotline-hub/hotline/bus"
	"github.com/hotline-hub/hotline/bus/event"
)

func TestStoreDropsRedeliveredEvents(t *testing.T) {
	b := openBus(t)
	clock := newFakeClock()
	e := startAuth(t, b, clock, Config{})
	admin, _ := e.bootstrap()
	acc := admin.mustCreateAccount("demo", "zoe", "agent", "zoe's good password")
	ctx := context.Background()
	const hash = "4bf5122f344554c53bde2ebb8cd2b7e3d1600ad631c385a5d7cce23c7785459a"
	started, err := event.New(event.SessionStarted, "demo", &event.SessionStartedData{
		SessionHash: hash, AccountID: acc.ID, ExpiresAt: clock.Now().Add(time.Hour)}, event.WithID("dup-1"), event.WithSource(Source))
	if err != nil {
		t.Fatal(err)
	}
	m, err := event.ToMessage(started)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Publish(ctx, event.TopicAccounts, m); err != nil {
		t.Fatal(err)
	}
	if err := e.a.store.publish(ctx, "demo", &event.SessionEndedData{SessionHash: hash, AccountID: acc.ID, Reason: event.SessionRevoked}); err != nil {
		t.Fatal(err)
	}
	// The bus delivers session.started again, after the end.
	if err := b.Publish(ctx, event.TopicAccounts, m); err != nil {
		t.Fatal(err)
	}
	if err := e.a.store.publish(ctx, "demo", &event.AccountsReaderStartedData{ReaderID: "test"}); err != nil {
		t.Fatal(err)
	}
	if _, ok := e.a.store.session(hash, clock.Now(), time.Hour); ok {
		t.Fatal("a redelivered session.started revived an ended session")
	}
}

func TestStoreVerdicts(t *testing.T) {
	b := openBus(t)
	e := startAuth(t, b, newFakeClock(), Config{})
	e.bootstrap()
	ctx := context.Background()
	s := e.a.store
	tests := []struct {
		name   string
		tenant string
		p      event.Payload
		want   error
	}{
		{"tenant exists", "demo", &event.TenantCreatedData{Name: "Again", Language: "en", TimeZone: "UTC"}, ErrConflict},
		{"update absent tenant", "nowhere", &event.TenantUpdatedData{Name: "X", Language: "en", TimeZone: "UTC"}, ErrNotFound},
		{"account in absent tenant", "nowhere", &event.AccountCreatedData{AccountID: "x", Login: "x", DisplayName: "X", Role: "agent"}, ErrNotFound},
		{"login taken", "demo", &event.AccountCreatedData{AccountID: "y", Login: "ADMIN", DisplayName: "Y", Role: "agent"}, ErrConflict},
		{"lock absent account", "demo", &event.AccountLockedData{AccountID: "nobody", Until: time.Now()}, ErrNotFound},
		{"session of absent account", "demo", &event.SessionStartedData{SessionHash: "4bf5122f344554c53bde2ebb8cd2b7e3d1600ad631c385a5d7cce23c7785459a",
			AccountID: "nobody", ExpiresAt: time.Now()}, ErrNotFound},
		{"invalid", "demo", &event.AccountDisabledData{}, event.ErrInvalid},
	}
	for _, tt := range tests {
		err := s.publish(ctx, tt.tenant, tt.p)
		if !errors.Is(err, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, err, tt.want)
		}
	}
	if n := s.AccountCount(); n != 1 {
		t.Errorf("accounts = %d after void facts, want 1", n)
	}
}

// eventMarker is a fact that changes nothing; publishing it through a
// store waits until that store has folded everything before it in the
// tenant's partition.
var eventMarker = event.AccountsReaderStartedData{ReaderID: "test"}

// storedButFailed stores a sync marker and then reports the Publish as
// failed, once the store has already read the marker back: the bus
// contract allows a failed Publish to have stored its messages.
type storedButFailed struct {
	bus.Bus
	store func() *Store
}

func (b *storedButFailed) Publish(ctx context.Context, topic string, msgs ...bus.Message) error {
	if err := b.Bus.Publish(ctx, topic, msgs...); err != nil {
		return err
	}
	typ, _ := msgs[0].Header(event.HeaderType)
	if string(typ) != event.AccountsReaderStarted {
		return nil
	}
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(time.Millisecond) {
		s := b.store()
		s.mu.Lock()
		read := true
		for _, st := range s.syncs {
			read = read && st.marker == ""
		}
		s.mu.Unlock()
		if read || time.Now().After(deadline) {
			return errors.New("connection reset after the write")
		}
	}
}

func TestSyncMarkerStoredDespitePublishError(t *testing.T) {
	fb := &storedButFailed{Bus: openBus(t)}
	e := startAuth(t, fb, newFakeClock(), Config{})
	fb.store = e.a.Store
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := e.a.Store().Sync(ctx, "demo"); err != nil {
		t.Fatalf("Sync after a marker that was stored though Publish failed = %v, want nil (caught up)", err)
	}
	if err := e.a.Store().Sync(ctx, "demo"); err != nil {
		t.Fatalf("second Sync = %v", err)
	}
}
