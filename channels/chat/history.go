package chat

import (
	"slices"
	"strings"
	"time"

	"github.com/hotline-hub/hotline/bus/event"
	"github.com/hotline-hub/hotline/webui/wsock"
)

// history is a conversation's messages as the channel keeps them, in seq
// order: one fixed-size record per message, without pointers, and the
// messages' strings in one event.TextBuf. The collector marks the two and
// scans neither, however long the history. An entry is built when it is
// read (entry), its strings sharing the buffer.
type history struct {
	recs []histRec
	text event.TextBuf
}

// histRec is one message. Its message id, client id, agent name and text
// are consecutive in the buffer from off.
type histRec struct {
	seq, at                              int64 // at: time, event.PackTime
	off, idLen, clientLen, agentLen      uint32
	textLen                              uint32
	agent, pushed, delivered, delivering bool
}

// entry is one message: what a history keeps of it (insert), or a copy of
// it read from one (history.entry), whose strings share the history's
// buffer. Changing the copy changes nothing in the history: its flags are
// set on its record (history.rec).
type entry struct {
	seq        int64
	messageID  string
	clientID   string
	from       string // "visitor" or "agent"
	agentName  string
	text       string
	time       time.Time
	pushed     bool // written to at least one socket queue
	delivered  bool // message.delivered seen or published
	delivering bool // message.delivered being published
}

func (h *history) len() int { return len(h.recs) }

// entry returns message n.
func (h *history) entry(n int) entry {
	r := &h.recs[n]
	e := entry{
		seq:        r.seq,
		messageID:  h.text.String(r.off, r.idLen),
		clientID:   h.text.String(r.off+r.idLen, r.clientLen),
		from:       "visitor",
		agentName:  h.text.String(r.off+r.idLen+r.clientLen, r.agentLen),
		text:       h.text.String(r.off+r.idLen+r.clientLen+r.agentLen, r.textLen),
		time:       event.UnpackTime(r.at),
		pushed:     r.pushed,
		delivered:  r.delivered,
		delivering: r.delivering,
	}
	if r.agent {
		e.from = "agent"
	}
	return e
}

// messageID returns the message id of message n.
func (h *history) messageID(n int) string {
	r := &h.recs[n]
	return h.text.String(r.off, r.idLen)
}

// clientID returns the client id of message n.
func (h *history) clientID(n int) string {
	r := &h.recs[n]
	return h.text.String(r.off+r.idLen, r.clientLen)
}

// pooledFrame returns the message frame of message n in a pooled buffer,
// with one reference, the caller's.
func (h *history) pooledFrame(n int) *wsock.Frame {
	e := h.entry(n)
	f := wsock.NewFrame(messageFrameSize(&e))
	f.B = appendMessageFrame(f.B, &e)
	return f
}

// find returns the index of message id, -1 if the history does not hold
// it. Lookups come with new messages, which are mostly recent, so it
// looks from the newest.
func (h *history) find(id string) int {
	for n := len(h.recs) - 1; n >= 0; n-- {
		r := &h.recs[n]
		if int(r.idLen) == len(id) && h.text.String(r.off, r.idLen) == id {
			return n
		}
	}
	return -1
}

// rec returns message n's record, for its flags; the pointer is good
// until the history changes.
func (h *history) rec(n int) *histRec { return &h.recs[n] }

// insert adds e in (seq, message id) order, dropping the oldest messages
// to keep at most limit (at least 1), and returns its index, -1 if it was
// dropped at once (older than all of a full history) or cannot be kept
// (more bytes than event.MaxTextBuf, which no message comes near). The
// caller checked that the message id is not there yet.
func (h *history) insert(e *entry, limit int) int {
	off, ok := h.text.Add(e.messageID, e.clientID, e.agentName, e.text)
	if !ok {
		h.compact()
		if off, ok = h.text.Add(e.messageID, e.clientID, e.agentName, e.text); !ok {
			return -1
		}
	}
	r := histRec{seq: e.seq, at: event.PackTime(e.time), off: off, agent: e.from == "agent", pushed: e.pushed, delivered: e.delivered, delivering: e.delivering,
		idLen: uint32(len(e.messageID)), clientLen: uint32(len(e.clientID)), agentLen: uint32(len(e.agentName)), textLen: uint32(len(e.text))}
	i, _ := slices.BinarySearchFunc(h.recs, &r, func(a histRec, b *histRec) int {
		if a.seq != b.seq {
			if a.seq < b.seq {
				return -1
			}
			return 1
		}
		return strings.Compare(h.text.String(a.off, a.idLen), h.text.String(b.off, b.idLen))
	})
	h.recs = slices.Insert(h.recs, i, r)
	if over := len(h.recs) - max(1, limit); over > 0 {
		for _, old := range h.recs[:over] {
			h.text.Drop(old.idLen + old.clientLen + old.agentLen + old.textLen)
		}
		h.recs = h.recs[:copy(h.recs, h.recs[over:])]
		if i -= over; i < 0 {
			i = -1
		}
		if h.text.Wasteful() {
			h.compact()
		}
	}
	return i
}

func (h *history) compact() {
	h.text.Compact(func(keep func(off, n uint32) uint32) {
		for n := range h.recs {
			r := &h.recs[n]
			r.off = keep(r.off, r.idLen+r.clientLen+r.agentLen+r.textLen)
		}
	})
}
