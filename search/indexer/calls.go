package indexer

import (
	"fmt"
	"strings"
	"time"

	"github.com/hotline-hub/hotline/bus/event"
	"github.com/hotline-hub/hotline/search"
)

// A call record is one entry (its id is the call id) whose text has one
// line per fact: the line's label says which, so that a record read back
// from the index is parsed into the same facts and a fact applied again
// replaces its own line. Lines are written in a fixed order.
const (
	lineStarted     = "Call"
	lineQueued      = "Queued"
	lineAnswered    = "Answered"
	lineTransferred = "Transferred"
	lineEnded       = "Ended"
	lineRecorded    = "Recording"
	lineVoicemail   = "Voicemail"
)

var lineOrder = []string{lineStarted, lineQueued, lineAnswered, lineTransferred, lineEnded, lineRecorded, lineVoicemail}

// callRecord is the facts of one call.
type callRecord struct {
	lines   map[string]string
	agentID string
}

func parseCall(en search.Entry) *callRecord {
	r := &callRecord{lines: map[string]string{}, agentID: en.AgentID}
	for _, l := range strings.Split(en.Text, "\n") {
		if label, rest, ok := strings.Cut(l, ": "); ok {
			r.lines[label] = rest
		}
	}
	return r
}

func (r *callRecord) text() string {
	var b strings.Builder
	for _, label := range lineOrder {
		if v, ok := r.lines[label]; ok {
			if b.Len() > 0 {
				b.WriteByte('\n')
			}
			b.WriteString(label + ": " + v)
		}
	}
	return b.String()
}

func (r *callRecord) set(label, v string) { r.lines[label] = strings.ReplaceAll(v, "\n", " ") }

func (r *callRecord) started(d *event.CallStartedData) {
	r.set(lineStarted, fmt.Sprintf("%s from %s to %s", d.Direction, d.From, d.To))
	if d.AgentID != "" {
		r.agentID = d.AgentID
	}
}

func (r *callRecord) answered(d *event.CallAnsweredData) {
	r.set(lineAnswered, fmt.Sprintf("by %s after waiting %s", d.AgentID, ms(d.WaitMs)))
	r.agentID = d.AgentID
}

func (r *callRecord) transferred(d *event.CallTransferredData) {
	to := d.ToAgentID + d.ToQueue + d.ToNumber
	r.set(lineTransferred, fmt.Sprintf("%s to %s", d.Kind, to))
	if d.ToAgentID != "" {
		r.agentID = d.ToAgentID
	}
}

func (r *callRecord) ended(d *event.CallEndedData) {
	r.set(lineEnded, fmt.Sprintf("%s, duration %s, wait %s, talk %s, hold %s",
		d.Reason, ms(d.DurationMs), ms(d.WaitMs), ms(d.TalkMs), ms(d.HoldMs)))
	if d.AgentID != "" {
		r.agentID = d.AgentID
	}
}

func (r *callRecord) recorded(d *event.CallRecordedData) {
	label := lineRecorded
	if d.Kind == event.RecordingVoicemail {
		label = lineVoicemail
	}
	r.set(label, fmt.Sprintf("%s, %s", ms(d.DurationMs), d.Recording.SHA256))
}

func ms(n int64) string { return (time.Duration(n) * time.Millisecond).String() }

// call applies one call fact to the call's record in c. The record's time
// is the earliest fact's.
func (f *fold) call(c *conv, callID string, at time.Time, apply func(*callRecord)) {
	if callID == "" {
		return
	}
	en := search.Entry{ID: callID, Kind: search.KindCall, Time: at.UTC()}
	if i, ok := c.entries[callID]; ok {
		en = c.doc.Entries[i]
		if at.Before(en.Time) {
			en.Time = at.UTC()
		}
	}
	r := parseCall(en)
	apply(r)
	en.Text, en.AgentID = r.text(), r.agentID
	c.set(en)
}
