package chat

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

// histEntry is the n-th test message at seq: visitor messages with client
// ids, agent replies with names, texts of varied lengths.
func histEntry(n int, seq int64) entry {
	e := entry{seq: seq, messageID: fmt.Sprintf("m-%d", n), from: "visitor", clientID: fmt.Sprintf("c-%d", n),
		text: strings.Repeat("é", n%23), time: time.Date(2026, 11, 24, 9, 0, 0, n, time.UTC)}
	if n%2 == 1 {
		e.from, e.clientID, e.agentName = "agent", "", fmt.Sprintf("Agent %d", n%5)
	}
	return e
}

func sameHistEntry(t *testing.T, got, want entry) {
	t.Helper()
	if got.seq != want.seq || got.messageID != want.messageID || got.clientID != want.clientID || got.from != want.from ||
		got.agentName != want.agentName || got.text != want.text || !got.time.Equal(want.time) || got.time.Location() != time.UTC {
		t.Fatalf("entry %+v, want %+v", got, want)
	}
}

// A history keeps messages in (seq, message id) order whatever order they
// come in, drops the oldest past its limit (a message older than all of a
// full history is not kept), finds them by id, and keeps strings handed
// out intact through compactions.
func TestHistory(t *testing.T) {
	var h history
	if h.len() != 0 || h.find("m-0") >= 0 {
		t.Fatal("empty history")
	}
	const limit = 8
	// Seqs 10, 20, … inserted out of order; m-3 and m-4 share a seq.
	seqs := []int64{30, 10, 40, 40, 20, 50}
	for n, seq := range seqs {
		e := histEntry(n, seq)
		if i := h.insert(&e, limit); i < 0 || h.messageID(i) != e.messageID {
			t.Fatalf("insert %d at %d", n, i)
		}
	}
	var order []string
	for n := range h.len() {
		order = append(order, h.messageID(n))
		if h.find(h.messageID(n)) != n {
			t.Fatalf("find %s", h.messageID(n))
		}
		en := h.entry(n)
		f := h.pooledFrame(n)
		if h.clientID(n) != en.clientID || string(f.B) != string(messageFrameOf(&en)) {
			t.Fatalf("message %d: client id %q or frame %s differ from its entry's", n, h.clientID(n), f.B)
		}
		f.Release()
	}
	if got := strings.Join(order, " "); got != "m-1 m-4 m-0 m-2 m-3 m-5" {
		t.Fatalf("order %s", got)
	}
	sameHistEntry(t, h.entry(1), histEntry(4, 20))
	sameHistEntry(t, h.entry(4), histEntry(3, 40))

	// Flags live in the records.
	h.rec(h.find("m-3")).delivered = true
	if en := h.entry(h.find("m-3")); !en.delivered || en.pushed || en.delivering {
		t.Fatalf("flags %+v", en)
	}

	early := h.entry(0)
	for n := 6; n < 3000; n++ {
		e := histEntry(n, int64(100+n))
		if i, want := h.insert(&e, limit), min(n, limit-1); i != want {
			t.Fatalf("insert %d at %d, want %d", n, i, want)
		}
		if held, dropped := h.text.Len(); 2*dropped > held {
			t.Fatalf("after %d messages %d of %d buffer bytes are dropped", n, dropped, held)
		}
	}
	sameHistEntry(t, early, histEntry(1, 10))
	if h.len() != limit || h.find("m-5") >= 0 {
		t.Fatalf("%d kept; m-5 found: %v", h.len(), h.find("m-5") >= 0)
	}
	for n := range h.len() {
		sameHistEntry(t, h.entry(n), histEntry(3000-limit+n, int64(100+3000-limit+n)))
	}
	// Older than all of a full history: not kept, nothing dropped.
	old := histEntry(9999, 1)
	if i := h.insert(&old, limit); i != -1 || h.len() != limit || h.find("m-9999") >= 0 {
		t.Fatalf("an old message was kept at %d", i)
	}
	if h.messageID(0) != "m-2992" {
		t.Fatalf("oldest is %s", h.messageID(0))
	}

	var z history
	z.insert(&entry{seq: 1, messageID: "z", from: "visitor"}, 3)
	if en := z.entry(0); !en.time.IsZero() || en.text != "" || en.clientID != "" {
		t.Fatalf("zero entry came back as %+v", en)
	}
}

// The records hold no pointers, so the collector never scans them.
func TestHistoryRecordsHoldNoPointers(t *testing.T) {
	rt := reflect.TypeFor[histRec]()
	for i := range rt.NumField() {
		switch f := rt.Field(i); f.Type.Kind() {
		case reflect.Bool, reflect.Int64, reflect.Uint32:
		default:
			t.Errorf("histRec.%s is a %s: keep records to plain numbers", f.Name, f.Type)
		}
	}
}
