package inbox

import (
	"github.com/hotline-hub/hotline/bus/event"
)

// thread is a conversation's thread as the view keeps it: one fixed-size
// record per entry, without pointers, and the entries' strings in one
// event.TextBuf. The collector marks the two and scans neither, however
// long the thread, where a slice of Entry had six pointers per entry to
// scan on every cycle. Entries are built on reading (entry, entries),
// their strings sharing the buffer.
type thread struct {
	recs []threadRec
	text event.TextBuf
}

// threadRec is one entry. Its message id, agent id and text are
// consecutive in the buffer from off; its delivery error, set after the
// entry was appended, is wherever it was written.
type threadRec struct {
	at                      int64 // Time, event.PackTime
	off, idLen, agentLen    uint32
	textLen, errOff, errLen uint32
	out, delivered          bool
}

func (t *thread) len() int { return len(t.recs) }

// messageID returns the message id of entry n.
func (t *thread) messageID(n int) string {
	r := &t.recs[n]
	return t.text.String(r.off, r.idLen)
}

// entry returns entry n, its strings sharing the buffer. Times come back
// in UTC.
func (t *thread) entry(n int) Entry {
	r := &t.recs[n]
	e := Entry{
		MessageID:     t.text.String(r.off, r.idLen),
		Direction:     DirectionIn,
		AgentID:       t.text.String(r.off+r.idLen, r.agentLen),
		Text:          t.text.String(r.off+r.idLen+r.agentLen, r.textLen),
		Time:          event.UnpackTime(r.at),
		Delivered:     r.delivered,
		DeliveryError: t.text.String(r.errOff, r.errLen),
	}
	if r.out {
		e.Direction = DirectionOut
	}
	return e
}

// entries returns every entry, oldest first; never nil.
func (t *thread) entries() []Entry {
	out := make([]Entry, len(t.recs))
	for n := range t.recs {
		out[n] = t.entry(n)
	}
	return out
}

// find returns the index of the newest entry of message id, -1 if none.
func (t *thread) find(id string) int {
	for n := len(t.recs) - 1; n >= 0; n-- {
		if r := &t.recs[n]; int(r.idLen) == len(id) && t.text.String(r.off, r.idLen) == id {
			return n
		}
	}
	return -1
}

// lastIn returns the message id of the newest entry from the customer, ""
// if none.
func (t *thread) lastIn() string {
	for n := len(t.recs) - 1; n >= 0; n-- {
		if !t.recs[n].out {
			return t.messageID(n)
		}
	}
	return ""
}

// add appends en (its Direction is DirectionOut or taken as DirectionIn),
// dropping the oldest entries to keep at most limit (at least 1), and
// returns how many it dropped. ok is false if en cannot be kept: more
// bytes than event.MaxTextBuf, which no channel's message comes near.
func (t *thread) add(en *Entry, limit int) (dropped int, ok bool) {
	for len(t.recs) >= max(1, limit) {
		t.dropOldest()
		dropped++
	}
	off, ok := t.text.Add(en.MessageID, en.AgentID, en.Text)
	if !ok {
		t.compact()
		if off, ok = t.text.Add(en.MessageID, en.AgentID, en.Text); !ok {
			return dropped, false
		}
	}
	r := threadRec{at: event.PackTime(en.Time), off: off, out: en.Direction == DirectionOut, delivered: en.Delivered,
		idLen: uint32(len(en.MessageID)), agentLen: uint32(len(en.AgentID)), textLen: uint32(len(en.Text))}
	if r.errOff, ok = t.text.Add(en.DeliveryError); ok {
		r.errLen = uint32(len(en.DeliveryError))
	}
	t.recs = append(t.recs, r)
	return dropped, true
}

// setDelivery records entry n's delivery: delivered, or not; a failure
// also replaces its delivery error with reason.
func (t *thread) setDelivery(n int, delivered, failed bool, reason string) {
	r := &t.recs[n]
	r.delivered = delivered
	if !failed {
		return
	}
	off, ok := t.text.Add(reason)
	if !ok {
		return
	}
	t.text.Drop(r.errLen)
	r.errOff, r.errLen = off, uint32(len(reason))
	if t.text.Wasteful() {
		t.compact()
	}
}

// dropOldest drops the first entry.
func (t *thread) dropOldest() {
	r := &t.recs[0]
	t.text.Drop(r.idLen + r.agentLen + r.textLen + r.errLen)
	// Shift rather than reslice, so that the array's head is reused and
	// it never grows past the limit.
	t.recs = t.recs[:copy(t.recs, t.recs[1:])]
	if t.text.Wasteful() {
		t.compact()
	}
}

func (t *thread) compact() {
	t.text.Compact(func(keep func(off, n uint32) uint32) {
		for n := range t.recs {
			r := &t.recs[n]
			r.off = keep(r.off, r.idLen+r.agentLen+r.textLen)
			r.errOff = keep(r.errOff, r.errLen)
		}
	})
}
