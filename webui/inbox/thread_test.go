package inbox

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

// threadEntry is the n-th test entry: both directions, agent ids on
// replies, texts of varied lengths, one empty.
func threadEntry(n int) Entry {
	en := Entry{MessageID: fmt.Sprintf("m-%d", n), Direction: DirectionIn, Text: strings.Repeat(fmt.Sprint(n%10), n%37),
		Time: time.Date(2026, 11, 24, 9, 0, n%60, n, time.UTC)}
	if n%3 == 1 {
		en.Direction, en.AgentID = DirectionOut, fmt.Sprintf("agent-%d", n%7)
	}
	return en
}

func sameEntry(t *testing.T, got, want Entry) {
	t.Helper()
	if got.MessageID != want.MessageID || got.Direction != want.Direction || got.AgentID != want.AgentID || got.Text != want.Text ||
		got.Delivered != want.Delivered || got.DeliveryError != want.DeliveryError || !got.Time.Equal(want.Time) || got.Time.Location() != time.UTC {
		t.Fatalf("entry %+v, want %+v", got, want)
	}
}

// A thread gives back what was added, finds entries by message id, drops
// the oldest past its limit, and keeps its buffer bounded by compacting;
// strings handed out before a compaction keep their bytes.
func TestThread(t *testing.T) {
	var th thread
	if th.len() != 0 || len(th.entries()) != 0 || th.entries() == nil || th.find("m-0") >= 0 || th.lastIn() != "" {
		t.Fatal("empty thread")
	}
	const limit = 10
	for n := range limit {
		en := threadEntry(n)
		if dropped, ok := th.add(&en, limit); dropped != 0 || !ok {
			t.Fatalf("add %d: dropped %d, ok %v", n, dropped, ok)
		}
	}
	for n, en := range th.entries() {
		sameEntry(t, en, threadEntry(n))
		if th.find(en.MessageID) != n || th.messageID(n) != en.MessageID {
			t.Fatalf("find %s = %d, want %d", en.MessageID, th.find(en.MessageID), n)
		}
	}
	if th.find("m-1") != 1 || th.find("m-") >= 0 || th.find("m-10") >= 0 {
		t.Fatal("find matched a prefix or a missing id")
	}
	if got := th.lastIn(); got != "m-9" {
		t.Fatalf("lastIn = %q", got)
	}

	// Deliveries: a failure sets the error, a later success keeps it (as
	// the fold always did), another failure replaces it.
	th.setDelivery(1, false, true, "smtp 550")
	th.setDelivery(4, true, false, "")
	want1 := threadEntry(1)
	want1.DeliveryError = "smtp 550"
	sameEntry(t, th.entry(1), want1)
	th.setDelivery(1, false, true, "mailbox full")
	want1.DeliveryError = "mailbox full"
	sameEntry(t, th.entry(1), want1)
	want4 := threadEntry(4)
	want4.Delivered = true
	sameEntry(t, th.entry(4), want4)

	// Past the limit the oldest go; what was handed out stays intact
	// through every compaction.
	early := th.entry(5)
	total := limit
	for n := limit; n < 5000; n++ {
		en := threadEntry(n)
		dropped, ok := th.add(&en, limit)
		if !ok || dropped != 1 {
			t.Fatalf("add %d: dropped %d, ok %v", n, dropped, ok)
		}
		total++
		if held, dropped := th.text.Len(); 2*dropped > held {
			t.Fatalf("after %d entries %d of %d buffer bytes are dropped", total, dropped, held)
		}
	}
	sameEntry(t, early, threadEntry(5))
	if th.len() != limit {
		t.Fatalf("%d entries kept, want %d", th.len(), limit)
	}
	for n, en := range th.entries() {
		sameEntry(t, en, threadEntry(5000-limit+n))
	}
	if th.find("m-1") >= 0 {
		t.Fatal("a dropped entry is still found")
	}

	// The zero time comes back as the zero time; another zone as the
	// same instant in UTC.
	var z thread
	paris := time.FixedZone("CET", 3600)
	at := time.Date(2026, 11, 24, 10, 0, 0, 0, paris)
	z.add(&Entry{MessageID: "a", Text: "x"}, 5)
	z.add(&Entry{MessageID: "b", Text: "y", Time: at}, 5)
	if en := z.entry(0); !en.Time.IsZero() {
		t.Fatalf("zero time came back as %v", en.Time)
	}
	if en := z.entry(1); !en.Time.Equal(at) || en.Time.Location() != time.UTC {
		t.Fatalf("time %v came back as %v", at, en.Time)
	}
}

// The records hold no pointers, so the collector never scans them.
func TestThreadRecordsHoldNoPointers(t *testing.T) {
	rt := reflect.TypeFor[threadRec]()
	for i := range rt.NumField() {
		switch f := rt.Field(i); f.Type.Kind() {
		case reflect.Bool, reflect.Int64, reflect.Uint32:
		default:
			t.Errorf("threadRec.%s is a %s: keep records to plain numbers", f.Name, f.Type)
		}
	}
}
