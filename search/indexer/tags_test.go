package indexer

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/hotline-hub/hotline/bus/event"
	"github.com/hotline-hub/hotline/search"
)

// tagged is conversation.tagged of conv at t0+sec seconds, by a1.
func tagged(t testing.TB, conv string, sec int, tags ...string) *event.Envelope {
	return ev(t, event.ConversationTagged, conv, sec, &event.ConversationTaggedData{Tags: tags, By: "a1"},
		event.WithChannel(event.ChannelChat))
}

// hitsFor returns the ids of the conversations a tag filter finds.
func hitsFor(t testing.TB, idx search.Index, tags ...string) []string {
	t.Helper()
	res, err := idx.Search(context.Background(), search.Query{Tenant: tenant, Tags: tags})
	if err != nil {
		t.Fatalf("Search(tags %q): %v", tags, err)
	}
	var ids []string
	for _, h := range res.Hits {
		ids = append(ids, h.Conversation.ID)
	}
	slices.Sort(ids)
	return ids
}

// TestTagsAreFiltered: conversation.tagged sets the document's tags to the
// event's whole set, so the search filter finds the conversation by its
// current tags only; redelivery and a replay into a new index agree.
func TestTagsAreFiltered(t *testing.T) {
	b, idx := openBus(t), openIndex(t)
	r := start(t, Config{}, b, idx)
	publish(t, b, chatConversation(t, "c1", 0)...)
	publish(t, b, chatConversation(t, "c2", 100)...)
	publish(t, b,
		tagged(t, "c1", 10, "vip", "colis"),
		tagged(t, "c2", 110, "vip", "доставка"),
		tagged(t, "c1", 20, "colis", "réclamation"),
	)
	eventually(t, "tags indexed", func() (bool, string) {
		c1, _ := stored(t, idx, "c1")
		c2, _ := stored(t, idx, "c2")
		return slices.Equal(c1.Tags, []string{"colis", "réclamation"}) && slices.Equal(c2.Tags, []string{"vip", "доставка"}),
			fmt.Sprintf("c1 %q, c2 %q", c1.Tags, c2.Tags)
	})
	for _, tc := range []struct {
		tags []string
		want []string
	}{
		{[]string{"vip"}, []string{"c2"}}, // c1 lost vip with its second event
		{[]string{"colis"}, []string{"c1"}},
		{[]string{"доставка"}, []string{"c2"}},
		{[]string{"colis", "réclamation"}, []string{"c1"}},
		{[]string{"colis", "vip"}, nil},
		{[]string{"unknown"}, nil},
	} {
		if got := hitsFor(t, idx, tc.tags...); !slices.Equal(got, tc.want) {
			t.Errorf("tags %q find %q, want %q", tc.tags, got, tc.want)
		}
	}
	c1, _ := stored(t, idx, "c1")
	if c1.Status != search.StatusResolved || len(c1.Entries) != 3 {
		t.Errorf("tagging changed more than the tags: %+v", c1)
	}

	// An empty set clears them.
	publish(t, b, tagged(t, "c2", 120))
	eventually(t, "c2's tags cleared", func() (bool, string) {
		c2, _ := stored(t, idx, "c2")
		return len(c2.Tags) == 0, fmt.Sprintf("%q", c2.Tags)
	})
	if got := hitsFor(t, idx, "vip"); got != nil {
		t.Errorf("vip finds %q after c2's tags were cleared", got)
	}
	if err := r.stop(); err != nil {
		t.Fatalf("Run = %v", err)
	}

	// The latest event redelivered changes nothing.
	again := tagged(t, "c1", 20, "colis", "réclamation")
	publish(t, b, again)
	rec := newRecorder(idx)
	r = start(t, Config{}, b, rec)
	eventually(t, "redelivery applied", func() (bool, string) {
		s := r.ix.Stats()
		return s.Events == 1 && s.Replaying == 0 && s.InFlight == 0, fmt.Sprintf("%+v", s)
	})
	if w := rec.written1(); len(w) != 0 {
		t.Errorf("a redelivered conversation.tagged rewrote %v", w)
	}
	if err := r.stop(); err != nil {
		t.Fatalf("Run = %v", err)
	}

	// The whole log replayed into a new index gives the same tags.
	fresh := openIndex(t)
	start(t, Config{Group: "replay"}, b, fresh)
	eventually(t, "replayed tags", func() (bool, string) {
		c1, _ := stored(t, fresh, "c1")
		c2, ok := stored(t, fresh, "c2")
		return slices.Equal(c1.Tags, []string{"colis", "réclamation"}) && ok && len(c2.Tags) == 0 && len(c2.Entries) == 3,
			fmt.Sprintf("c1 %q, c2 %q", c1.Tags, c2.Tags)
	})
	if got := hitsFor(t, fresh, "colis"); !slices.Equal(got, []string{"c1"}) {
		t.Errorf("colis finds %q in the replayed index, want c1", got)
	}
}
