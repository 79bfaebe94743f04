package directory

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hotline-hub/hotline/bus"
	"github.com/hotline-hub/hotline/bus/event"
	"github.com/hotline-hub/hotline/routing/hours"
)

// snapshot is everything a Store shows of one tenant.
type snapshot struct {
	Queues   []Queue
	Skills   []Skill
	Profiles map[string]Profile
	Answers  []Answer
	Widget   Widget
}

func snap(s *Store, tenant string) snapshot {
	return snapshot{s.Queues(tenant), s.Skills(tenant), s.Profiles(tenant), s.CannedAnswers(tenant), s.Widget(tenant)}
}

// fill writes a little of everything for tenant, removals included.
func fill(t *testing.T, s *Store, tenant string) {
	t.Helper()
	ctx := ctxT(t)
	steps := []func() error{
		func() error {
			_, err := s.SaveSkill(ctx, tenant, "admin", Skill{ID: "billing", Name: "Billing"})
			return err
		},
		func() error { _, err := s.SaveSkill(ctx, tenant, "admin", Skill{ID: "old", Name: "Old"}); return err },
		func() error { return s.RemoveSkill(ctx, tenant, "admin", "old") },
		func() error {
			_, err := s.SaveQueue(ctx, tenant, "admin", Queue{ID: "back", Name: "Back office", Channels: []string{"email"}})
			return err
		},
		func() error {
			_, err := s.SaveQueue(ctx, tenant, "admin", Queue{ID: "front", Name: "Front", Channels: []string{"chat", "voice"},
				Skills: []string{"billing"}, Priority: 3, OverflowAfterSeconds: 60, OverflowQueue: "back", OfferTimeoutSeconds: 15,
				Hours: &hours.Config{TimeZone: "Europe/Berlin", Weekly: map[string][]string{"friday": {"09:00-17:00"}}}})
			return err
		},
		func() error {
			_, err := s.SaveQueue(ctx, tenant, "admin", Queue{ID: "gone", Name: "Gone", Channels: []string{"sms"}})
			return err
		},
		func() error { return s.RemoveQueue(ctx, tenant, "admin", "gone") },
		func() error {
			return s.SetProfile(ctx, tenant, "admin", "acc-1", Profile{Skills: []string{"billing"}, Capacity: Capacity{Chat: 2, Voice: 1}})
		},
		func() error {
			return s.SetProfile(ctx, tenant, "admin", "acc-2", Profile{Capacity: Capacity{Email: 4}})
		},
		func() error { return s.RemoveProfile(ctx, tenant, "admin", "acc-2") },
		func() error {
			_, err := s.SaveCannedAnswer(ctx, tenant, "admin", Answer{ID: "hi", Kind: "answer", Title: "Hi", Text: "Hi {{customer.name}}",
				Language: "en", Shortcut: "hi", Queues: []string{"front"}})
			return err
		},
		func() error {
			_, err := s.SaveCannedAnswer(ctx, tenant, "admin", Answer{ID: "tmp", Kind: "script", Title: "Tmp", Text: "x"})
			return err
		},
		func() error { return s.RemoveCannedAnswer(ctx, tenant, "admin", "tmp") },
		func() error {
			return s.ConfigureWidget(ctx, tenant, "admin", Widget{AllowedOrigins: []string{"https://" + tenant + ".example"}, DefaultQueue: "front"})
		},
	}
	for i, step := range steps {
		if err := step(); err != nil {
			t.Fatalf("%s step %d: %v", tenant, i, err)
		}
	}
}

// TestReplay: a new Store over the same bus, and one over the bus reopened
// from its directory, fold the same state.
func TestReplay(t *testing.T) {
	dir := t.TempDir()
	b := openBusAt(t, dir)
	s1 := runStore(t, b, "first")
	for _, tenant := range []string{"acme", "globex"} {
		fill(t, s1, tenant)
	}
	if !reflect.DeepEqual(s1.Tenants(), []string{"acme", "globex"}) {
		t.Fatalf("Tenants = %v", s1.Tenants())
	}
	want := map[string]snapshot{"acme": snap(s1, "acme"), "globex": snap(s1, "globex")}
	if len(want["acme"].Queues) != 2 || len(want["acme"].Profiles) != 1 || len(want["acme"].Answers) != 1 || len(want["acme"].Skills) != 1 {
		t.Fatalf("the fold missed facts: %+v", want["acme"])
	}
	check := func(name string, s *Store) {
		t.Helper()
		for tenant, w := range want {
			if err := s.Sync(ctxT(t), tenant); err != nil {
				t.Fatal(err)
			}
			if got := snap(s, tenant); !reflect.DeepEqual(got, w) {
				t.Errorf("%s, %s:\n got %+v\nwant %+v", name, tenant, got, w)
			}
		}
		if got := s.Tenants(); !reflect.DeepEqual(got, []string{"acme", "globex"}) {
			t.Errorf("%s: Tenants = %v", name, got)
		}
	}
	check("second store", runStore(t, b, "second"))
	// The same log, read after a restart of the bus.
	b2 := reopen(t, b, dir)
	check("after restart", runStore(t, b2, "third"))
}

// TestConcurrentSaves: writers on two instances saving the same queue
// leave one whole version that every instance agrees on; writers racing a
// skill's removal through one instance never leave a queue naming a
// removed skill.
func TestConcurrentSaves(t *testing.T) {
	b := openBus(t)
	s1, s2 := runStore(t, b, "one"), runStore(t, b, "two")
	ctx := ctxT(t)
	const writers = 8
	var wg sync.WaitGroup
	errs := make(chan error, 4*writers)
	for i := range writers {
		s := s1
		if i%2 == 1 {
			s = s2
		}
		wg.Go(func() {
			for j := range 5 {
				name := fmt.Sprintf("Shared %d.%d", i, j)
				if _, err := s.SaveQueue(ctx, "acme", "", Queue{ID: "shared", Name: name, Channels: []string{"chat"}, Priority: i}); err != nil {
					errs <- err
				}
				if _, err := s.SaveQueue(ctx, "acme", "", Queue{ID: fmt.Sprintf("own-%d-%d", i, j), Name: name, Channels: []string{"sms"}}); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("save: %v", err)
	}
	// A store started now has folded all of it; the two writers' stores
	// converge to the same state.
	s3 := runStore(t, b, "three")
	if err := s3.Sync(ctx, "acme"); err != nil {
		t.Fatal(err)
	}
	final := s3.Queues("acme")
	if len(final) != writers*5+1 {
		t.Fatalf("%d queues, want %d", len(final), writers*5+1)
	}
	shared, _ := s3.Queue("acme", "shared")
	var i, j int
	if _, err := fmt.Sscanf(shared.Name, "Shared %d.%d", &i, &j); err != nil || shared.Priority != i {
		t.Errorf("the shared queue mixes two writes: %+v", shared)
	}
	for _, s := range []*Store{s1, s2} {
		deadline := time.Now().Add(waitLimit)
		for !reflect.DeepEqual(s.Queues("acme"), final) {
			if time.Now().After(deadline) {
				t.Fatalf("a writer's store never agreed with the log:\n got %+v\nwant %+v", s.Queues("acme"), final)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}

	// One instance, many races of a queue save naming a skill against
	// that skill's removal: one of the two must see the other, so no queue
	// is left naming a removed skill.
	const pairs = 40
	for i := range pairs {
		if _, err := s1.SaveSkill(ctx, "globex", "", Skill{ID: fmt.Sprint("s", i), Name: "S"}); err != nil {
			t.Fatal(err)
		}
	}
	start := make(chan struct{})
	for i := range pairs {
		wg.Go(func() {
			<-start
			_, err := s1.SaveQueue(ctx, "globex", "", Queue{ID: fmt.Sprint("q", i), Name: "Q", Channels: []string{"chat"},
				Skills: []string{fmt.Sprint("s", i)}})
			if err != nil && !errors.Is(err, event.ErrInvalid) {
				t.Errorf("save: %v", err)
			}
		})
		wg.Go(func() {
			<-start
			if err := s1.RemoveSkill(ctx, "globex", "", fmt.Sprint("s", i)); err != nil && !errors.Is(err, ErrInUse) {
				t.Errorf("remove: %v", err)
			}
		})
	}
	close(start)
	wg.Wait()
	skills := map[string]bool{}
	for _, sk := range s1.Skills("globex") {
		skills[sk.ID] = true
	}
	queues := s1.Queues("globex")
	for _, q := range queues {
		for _, sk := range q.Skills {
			if !skills[sk] {
				t.Errorf("queue %s names skill %q, which was removed", q.ID, sk)
			}
		}
	}
	t.Logf("%d of %d queues saved, %d skills left", len(queues), pairs, len(skills))
}

func TestEnsureDefaults(t *testing.T) {
	b := openBus(t)
	s := runStore(t, b, "one")
	ctx := ctxT(t)
	created, err := s.EnsureDefaults(ctx, "demo", "fr", "admin-id", true)
	if err != nil || !created {
		t.Fatalf("EnsureDefaults = %v, %v", created, err)
	}
	if got := s.Skills("demo"); !reflect.DeepEqual(got, []Skill{{ID: "general", Name: "General"}}) {
		t.Errorf("skills %+v", got)
	}
	q, ok := s.Queue("demo", "support")
	if !ok || q.Name != "Support" || !reflect.DeepEqual(q.Skills, []string{"general"}) || len(q.Channels) != 4 ||
		!q.Takes("chat") || !q.Takes("email") || !q.Takes("sms") || !q.Takes("voice") || q.Hours != nil && !q.Hours.AlwaysOpen {
		t.Errorf("queue %+v", q)
	}
	if q.Hours != nil {
		if _, err := hours.New(*q.Hours); err != nil {
			t.Errorf("hours: %v", err)
		}
	}
	p, ok := s.Profile("demo", "admin-id")
	if !ok || !reflect.DeepEqual(p, Profile{Skills: []string{"general"}, Capacity: Capacity{Chat: 3, Email: 5, SMS: 3, Voice: 1}}) {
		t.Errorf("profile %+v %v", p, ok)
	}
	if w := s.Widget("demo"); !reflect.DeepEqual(w, Widget{AllowedOrigins: []string{"*"}, DefaultQueue: "support"}) {
		t.Errorf("widget %+v", w)
	}
	answers := s.CannedAnswers("demo")
	if len(answers) != 2 {
		t.Fatalf("answers %+v", answers)
	}
	kinds := map[string]Answer{}
	for _, a := range answers {
		kinds[a.Kind] = a
		if a.Language != "fr" {
			t.Errorf("answer %s in %q, want fr", a.ID, a.Language)
		}
	}
	if g := kinds["answer"]; !strings.Contains(g.Text, "{{customer.name}}") || !strings.Contains(g.Text, "{{agent.name}}") || !strings.HasPrefix(g.Text, "Bonjour") {
		t.Errorf("greeting %+v", g)
	}
	if sc := kinds["script"]; !strings.Contains(sc.Text, "{{case.number}}") || sc.Title != "Identifier l'appelant" {
		t.Errorf("script %+v", sc)
	}
	before := snap(s, "demo")

	// Idempotent, even after the admin emptied the directory.
	if created, err := s.EnsureDefaults(ctx, "demo", "fr", "admin-id", true); err != nil || created {
		t.Errorf("second EnsureDefaults = %v, %v", created, err)
	}
	if !reflect.DeepEqual(snap(s, "demo"), before) {
		t.Error("the second call changed the directory")
	}
	for _, id := range []string{StarterGreeting, StarterScript} {
		if err := s.RemoveCannedAnswer(ctx, "demo", "", id); err != nil {
			t.Fatal(err)
		}
	}
	s2 := runStore(t, b, "two")
	if created, err := s2.EnsureDefaults(ctx, "demo", "fr", "admin-id", true); err != nil || created {
		t.Errorf("EnsureDefaults on another instance = %v, %v", created, err)
	}
	if got := s2.CannedAnswers("demo"); len(got) != 0 {
		t.Errorf("removed answers came back: %+v", got)
	}

	// Other languages; no widget origins unless asked; no admin profile
	// without an admin.
	for lang, greeting := range map[string]string{"en": "Hello", "ru": "Здравствуйте", "de": "Guten Tag", "xx": "Hello"} {
		tenant := "t-" + lang
		if created, err := s.EnsureDefaults(ctx, tenant, lang, "", false); err != nil || !created {
			t.Fatalf("%s: %v, %v", lang, created, err)
		}
		if w := s.Widget(tenant); len(w.AllowedOrigins) != 0 || w.AllowedOrigins == nil || w.DefaultQueue != "support" {
			t.Errorf("%s: widget %+v", lang, w)
		}
		if len(s.Profiles(tenant)) != 0 {
			t.Errorf("%s: profiles %+v", lang, s.Profiles(tenant))
		}
		found := false
		for _, a := range s.CannedAnswers(tenant) {
			found = found || a.Kind == "answer" && strings.HasPrefix(a.Text, greeting)
		}
		if !found {
			t.Errorf("%s: no greeting starting %q in %+v", lang, greeting, s.CannedAnswers(tenant))
		}
	}
	if got := s.Tenants(); !reflect.DeepEqual(got, []string{"demo", "t-de", "t-en", "t-ru", "t-xx"}) {
		t.Errorf("Tenants = %v", got)
	}
}

func TestSubscribe(t *testing.T) {
	b := openBus(t)
	s := runStore(t, b, "one")
	ctx := ctxT(t)
	ch, cancel := s.Subscribe()
	// Nobody reads yet: changes of two tenants queue up, coalesced.
	for i := range 3 {
		for _, tenant := range []string{"acme", "globex"} {
			if _, err := s.SaveSkill(ctx, tenant, "", Skill{ID: "s", Name: fmt.Sprint("S", i)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	// A marker is no change.
	if err := s.Sync(ctx, "initech"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SaveSkill(ctx, "initech", "", Skill{ID: "s", Name: "S"}); err != nil {
		t.Fatal(err)
	}
	// Read until initech: acme and globex come first, each at most once
	// per change and once more for changes made while it was being sent.
	count := map[string]int{}
	for count["initech"] == 0 {
		select {
		case tenant := <-ch:
			count[tenant]++
		case <-ctx.Done():
			t.Fatalf("heard %v, then nothing", count)
		}
	}
	if len(count) != 3 || count["acme"] < 1 || count["acme"] > 3 || count["globex"] < 1 || count["globex"] > 3 || count["initech"] != 1 {
		t.Errorf("notifications %v, want acme and globex 1 to 3 times, then initech", count)
	}
	cancel()
	cancel()
	for range ch { // closed after cancel
	}
	// A subscriber of a store that starts later hears of every tenant
	// the replay folds.
	s2, err := New(Config{ReaderID: "two"}, b, nil)
	if err != nil {
		t.Fatal(err)
	}
	ch2, cancel2 := s2.Subscribe()
	defer cancel2()
	run(t, "directory", s2.Run)
	heard := map[string]bool{}
	for len(heard) < 3 {
		select {
		case tenant := <-ch2:
			heard[tenant] = true
		case <-ctx.Done():
			t.Fatalf("heard of %v, then nothing", heard)
		}
	}
	if !heard["acme"] || !heard["globex"] || !heard["initech"] {
		t.Errorf("heard of %v", heard)
	}
}

// TestForeignFacts: facts written by another writer fold as written: a
// duration with a fraction of a second rounds up, a redelivered fact is
// dropped, an invalid one is skipped, and unknown fields survive an edit.
func TestForeignFacts(t *testing.T) {
	b := openBus(t)
	s := runStore(t, b, "one")
	ctx := ctxT(t)
	publish := func(p event.Payload, opts ...event.Option) {
		t.Helper()
		e, err := event.New(p.EventType(), "acme", p, opts...)
		if err != nil {
			t.Fatal(err)
		}
		m, err := event.ToMessage(e)
		if err != nil {
			t.Fatal(err)
		}
		if err := b.Publish(ctx, event.TopicDirectory, m, m); err != nil {
			t.Fatal(err)
		}
	}
	q := &event.QueueSavedData{QueueID: "q", Name: "Q", Channels: []string{"chat"}, OverflowAfterMs: 1500, OverflowQueue: "q2", OfferTimeoutMs: 1,
		Extra: map[string]json.RawMessage{"colour": json.RawMessage(`"red"`)}}
	publish(q)
	if err := s.Sync(ctx, "acme"); err != nil {
		t.Fatal(err)
	}
	got, ok := s.Queue("acme", "q")
	if !ok || got.OverflowAfterSeconds != 2 || got.OfferTimeoutSeconds != 1 {
		t.Errorf("queue %+v", got)
	}
	// An admin edits it: the unknown field stays.
	if _, err := s.SaveQueue(ctx, "acme", "", Queue{ID: "q2", Name: "Q2", Channels: []string{"chat"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SaveQueue(ctx, "acme", "", Queue{ID: "q", Name: "Renamed", Channels: []string{"chat"}}); err != nil {
		t.Fatal(err)
	}
	s.mu.RLock()
	extra := string(s.tenants["acme"].queues["q"].Extra["colour"])
	s.mu.RUnlock()
	if extra != `"red"` {
		t.Errorf("unknown field after an edit: %q", extra)
	}
	// A message on the topic that is not a directory fact is skipped.
	if err := b.Publish(ctx, event.TopicDirectory, bus.Message{Key: []byte("acme"), Value: []byte("not an event")}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SaveSkill(ctx, "acme", "", Skill{ID: "after", Name: "After"}); err != nil {
		t.Fatalf("the fold stopped at a bad message: %v", err)
	}
	if got := s.Skills("acme"); len(got) != 1 {
		t.Errorf("skills %+v", got)
	}
	if got := s.Queues("acme"); len(got) != 2 || got[0].Name != "Renamed" {
		t.Errorf("queues %+v", got)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	b := openBus(t)
	if _, err := New(Config{MaxBodyBytes: 10}, b, nil); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("tiny body limit: %v", err)
	}
	if _, err := New(Config{WaitTimeout: -time.Second}, b, nil); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("negative wait: %v", err)
	}
	if _, err := New(Config{}, nil, nil); err == nil {
		t.Error("nil bus accepted")
	}
}

// TestNotRunning: writes to a store that is not folding give up after the
// wait timeout, and fail with ErrStopped once Run has returned.
func TestNotRunning(t *testing.T) {
	b := openBus(t)
	s, err := New(Config{WaitTimeout: 50 * time.Millisecond}, b, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.SaveSkill(context.Background(), "acme", "", Skill{ID: "s", Name: "S"}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("save without Run: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run after cancel: %v", err)
	}
	if _, err := s.SaveSkill(context.Background(), "globex", "", Skill{ID: "s", Name: "S"}); !errors.Is(err, ErrStopped) {
		t.Errorf("save after Run returned: %v", err)
	}
	if _, err := s.EnsureDefaults(context.Background(), "Not A Tenant", "en", "", false); !errors.Is(err, ErrNotFound) {
		t.Errorf("defaults for a bad tenant id: %v", err)
	}
}
