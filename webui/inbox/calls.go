package inbox

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/hotline-hub/hotline/bus/event"
	"github.com/hotline-hub/hotline/webui/api"
	"github.com/hotline-hub/hotline/webui/auth"
)

// Calls in the inbox. The voice channel's call.* facts are folded into the
// conversation they belong to: its current call (Summary.Call: who calls,
// where the call stands, since when, with whom), a call log that the web
// app shows among the messages (Detail.CallLog), and the recordings and
// voicemail of the conversation (Detail.Recordings), which the inbox
// streams from the voice channel's recordings directory to those who may
// read the conversation, by the digest the bus named and never by a path
// a client sent.
//
// Hold and resume are requests: the inbox publishes call.hold_requested
// and answers once the voice channel's call.held or call.resumed is
// folded back; if the channel has not answered within WaitTimeout, the
// request is answered 202 with the conversation as it stands, and the
// change reaches the agent's socket whenever it happens.

// Call states (Call.State).
const (
	// CallMenu: the caller is in the voice menu, not queued yet.
	CallMenu = "menu"
	// CallWaiting: queued, no agent's phone rings.
	CallWaiting = "waiting"
	// CallRinging: routing offered the call to an agent, whose phone rings.
	CallRinging = "ringing"
	// CallAnswered: an agent talks with the caller.
	CallAnswered = "answered"
	// CallHeld: the caller is on hold.
	CallHeld = "held"
	// CallEnded: the call is over (Call.EndReason says how).
	CallEnded = "ended"
)

// Case kinds of voice conversations that wait for an agent without a
// caller on the line (Call.Case).
const (
	CaseVoicemail = "voicemail"
	CaseCallback  = "callback"
)

// Call log entry kinds (CallEntry.Kind).
const (
	CallLogStarted          = "started"
	CallLogMenu             = "menu"
	CallLogQueued           = "queued"
	CallLogAnswered         = "answered"
	CallLogHeld             = "held"
	CallLogResumed          = "resumed"
	CallLogTransferred      = "transferred"
	CallLogEnded            = "ended"
	CallLogRecorded         = "recorded"
	CallLogCallback         = "callback"
	CallLogRecordingDeleted = "recording_deleted"
)

// Call is a conversation's current call, as lists and the conversation
// show it.
type Call struct {
	CallID    string `json:"call_id"`
	Direction string `json:"direction"`
	// From is the caller as signalled: a number, a sip: URI or "anonymous".
	From string `json:"from"`
	To   string `json:"to,omitempty"`
	// State is one of the Call* states.
	State string `json:"state"`
	// EndReason is call.ended's reason once the call is over.
	EndReason string `json:"end_reason,omitempty"`
	// AgentID is the agent on the call (answered or last answered).
	AgentID    string     `json:"agent_id,omitempty"`
	Queue      string     `json:"queue,omitempty"`
	StartedAt  time.Time  `json:"started_at"`
	QueuedAt   *time.Time `json:"queued_at,omitempty"`
	AnsweredAt *time.Time `json:"answered_at,omitempty"`
	// HeldSince is set while the call is on hold.
	HeldSince *time.Time `json:"held_since,omitempty"`
	EndedAt   *time.Time `json:"ended_at,omitempty"`
	// Durations, from call.ended once over (HoldMs also from each
	// call.resumed while the call goes on).
	DurationMs int64 `json:"duration_ms,omitempty"`
	WaitMs     int64 `json:"wait_ms,omitempty"`
	TalkMs     int64 `json:"talk_ms,omitempty"`
	HoldMs     int64 `json:"hold_ms,omitempty"`
	// Case is CaseVoicemail or CaseCallback for a case left by a caller.
	Case string `json:"case,omitempty"`
	// Callback is the caller's callback request.
	Callback *Callback `json:"callback,omitempty"`
	// Voicemail is the caller's message, for a voicemail case.
	Voicemail *Recording `json:"voicemail,omitempty"`
}

// Callback is a caller's request to be called back.
type Callback struct {
	Number      string    `json:"number"`
	Queue       string    `json:"queue,omitempty"`
	Language    string    `json:"language,omitempty"`
	RequestedAt time.Time `json:"requested_at"`
}

// Recording is a call recording or voicemail of the conversation,
// streamed by GET .../conversations/{id}/recordings/{sha256}.
type Recording struct {
	SHA256 string `json:"sha256"`
	CallID string `json:"call_id"`
	// Kind is event.RecordingCall or event.RecordingVoicemail.
	Kind        string    `json:"kind"`
	DurationMs  int64     `json:"duration_ms"`
	Size        int64     `json:"size"`
	ContentType string    `json:"content_type"`
	Time        time.Time `json:"time"`
	// Deleted is set once the recording left the store (retention); it no
	// longer plays.
	Deleted bool `json:"deleted,omitempty"`
}

// CallEntry is one line of a conversation's call log.
type CallEntry struct {
	// ID is the event's id: a replayed event adds no second line.
	ID     string    `json:"id"`
	CallID string    `json:"call_id"`
	Kind   string    `json:"kind"`
	Time   time.Time `json:"time"`
	// AgentID: who answered, held, resumed, or transferred.
	AgentID string `json:"agent_id,omitempty"`
	// From: the caller (started).
	From string `json:"from,omitempty"`
	// Queue: where the call was queued, or the callback's queue.
	Queue string `json:"queue,omitempty"`
	// Menu, Selection, Language: a voice menu choice.
	Menu      string `json:"menu,omitempty"`
	Selection string `json:"selection,omitempty"`
	Language  string `json:"language,omitempty"`
	// Transfer targets.
	ToAgentID string `json:"to_agent_id,omitempty"`
	ToQueue   string `json:"to_queue,omitempty"`
	ToNumber  string `json:"to_number,omitempty"`
	// Reason: why the call ended, or why a recording was deleted.
	Reason string `json:"reason,omitempty"`
	// DurationMs: of the call (ended), of the recording, or of the hold
	// (resumed).
	DurationMs int64 `json:"duration_ms,omitempty"`
	// Number: where to call back.
	Number string `json:"number,omitempty"`
	// Recording: the digest of the recording (recorded, recording_deleted)
	// and its kind.
	Recording     string `json:"recording,omitempty"`
	RecordingKind string `json:"recording_kind,omitempty"`
}

// callFold is what the view keeps of a conversation's calls.
type callFold struct {
	cur        Call
	answered   bool
	ended      bool
	recordings []Recording
	log        []CallEntry
	logDropped int
	// waiters are hold and resume requests waiting for the voice
	// channel's answer: closed when the call is held, resumed or ended.
	waiters []chan struct{}
}

// view is the current call as shown with status, the conversation's
// routing status: a queued call offered to an agent rings their phone.
func (f *callFold) view(status string) *Call {
	if f == nil || f.cur.CallID == "" {
		return nil
	}
	c := f.cur
	switch {
	case f.ended:
		c.State = CallEnded
	case f.cur.HeldSince != nil:
		c.State = CallHeld
	case f.answered:
		c.State = CallAnswered
	case status == StatusOffered && c.QueuedAt != nil:
		c.State = CallRinging
	case c.QueuedAt != nil:
		c.State = CallWaiting
	default:
		c.State = CallMenu
	}
	if c.Callback != nil {
		cb := *c.Callback
		c.Callback = &cb
	}
	if c.Voicemail != nil {
		v := *c.Voicemail
		c.Voicemail = &v
	}
	return &c
}

// wake answers the hold and resume requests waiting on the call.
func (f *callFold) wake() {
	for _, w := range f.waiters {
		close(w)
	}
	f.waiters = nil
}

// recording returns the recording of digest sha, or nil.
func (f *callFold) recording(sha string) *Recording {
	if f == nil {
		return nil
	}
	for n := range f.recordings {
		if f.recordings[n].SHA256 == sha {
			return &f.recordings[n]
		}
	}
	return nil
}

// addLog appends en unless its event is there already, dropping the
// oldest past limit; false for a repeat.
func (f *callFold) addLog(en CallEntry, limit int) bool {
	for n := len(f.log) - 1; n >= 0; n-- {
		if f.log[n].ID == en.ID {
			return false
		}
	}
	f.log = append(f.log, en)
	if len(f.log) > limit {
		f.log = slices.Delete(f.log, 0, 1)
		f.logDropped++
	}
	return true
}

func at(t time.Time) *time.Time { return &t }

// foldCall folds one call.* fact into c; other payloads are ignored.
// Facts about an earlier call of the conversation are logged (and their
// recordings kept) without changing the current call. Called with i.mu
// held.
func (i *Inbox) foldCall(c *Conversation, e *event.Envelope, p event.Payload) {
	var callID string
	switch d := p.(type) {
	case *event.CallStartedData:
		callID = d.CallID
	case *event.CallMenuSelectedData:
		callID = d.CallID
	case *event.CallQueuedData:
		callID = d.CallID
	case *event.CallAnsweredData:
		callID = d.CallID
	case *event.CallHeldData:
		callID = d.CallID
	case *event.CallResumedData:
		callID = d.CallID
	case *event.CallTransferredData:
		callID = d.CallID
	case *event.CallEndedData:
		callID = d.CallID
	case *event.CallRecordedData:
		callID = d.CallID
	case *event.CallCallbackRequestedData:
		callID = d.CallID
	case *event.CallRecordingDeletedData:
		callID = d.CallID
	default:
		return
	}
	if callID == "" {
		return
	}
	if c.calls == nil {
		c.calls = &callFold{}
	}
	f := c.calls
	en := CallEntry{ID: e.ID, CallID: callID, Time: e.Time}
	if _, ok := p.(*event.CallStartedData); ok && f.cur.CallID != callID {
		// A new call of the conversation (a reopened case called again).
		f.wake()
		f.cur, f.answered, f.ended = Call{CallID: callID}, false, false
	}
	if f.cur.CallID == "" {
		f.cur.CallID = callID // facts before call.started (a log read from its middle)
	}
	current := f.cur.CallID == callID
	cur := &f.cur
	if !current {
		cur = &Call{} // an earlier call: logged, not shown as current
	}
	switch d := p.(type) {
	case *event.CallStartedData:
		en.Kind, en.From, en.AgentID = CallLogStarted, d.From, d.AgentID
		cur.Direction, cur.From, cur.To, cur.StartedAt = d.Direction, d.From, d.To, e.Time
		customer := d.From
		if d.Direction == event.DirectionOutbound {
			customer = d.To
		}
		if e.ContactID != "" {
			c.ContactID = e.ContactID
		}
		if c.Customer.Address == "" && customer != "anonymous" {
			c.Customer.Address = customer
		}
	case *event.CallMenuSelectedData:
		en.Kind, en.Menu, en.Selection, en.Language = CallLogMenu, d.Menu, d.Selection, d.Language
	case *event.CallQueuedData:
		en.Kind, en.Queue = CallLogQueued, d.Queue
		cur.Queue, cur.QueuedAt = d.Queue, at(e.Time)
	case *event.CallAnsweredData:
		en.Kind, en.AgentID = CallLogAnswered, d.AgentID
		cur.AgentID, cur.AnsweredAt, cur.WaitMs = d.AgentID, at(e.Time), d.WaitMs
		if current && !f.ended {
			f.answered = true
		}
	case *event.CallHeldData:
		en.Kind, en.AgentID = CallLogHeld, d.AgentID
		if current && !f.ended {
			cur.HeldSince = at(e.Time)
			f.wake()
		}
	case *event.CallResumedData:
		en.Kind, en.AgentID, en.DurationMs = CallLogResumed, d.AgentID, d.HoldMs
		if current && !f.ended {
			cur.HeldSince = nil
			cur.HoldMs += d.HoldMs
			f.wake()
		}
	case *event.CallTransferredData:
		en.Kind, en.AgentID = CallLogTransferred, d.FromAgentID
		en.ToAgentID, en.ToQueue, en.ToNumber = d.ToAgentID, d.ToQueue, d.ToNumber
		if current && !f.ended && d.ToNumber == "" {
			// Back to waiting until the next agent answers.
			f.answered = false
			cur.HeldSince, cur.AgentID = nil, ""
			if d.ToQueue != "" {
				cur.Queue = d.ToQueue
			}
			if cur.QueuedAt == nil {
				cur.QueuedAt = at(e.Time)
			}
		}
	case *event.CallEndedData:
		en.Kind, en.Reason, en.DurationMs, en.AgentID = CallLogEnded, d.Reason, d.DurationMs, d.AgentID
		cur.EndReason, cur.EndedAt, cur.HeldSince = d.Reason, at(e.Time), nil
		cur.DurationMs, cur.WaitMs, cur.TalkMs, cur.HoldMs = d.DurationMs, d.WaitMs, d.TalkMs, d.HoldMs
		if d.AgentID != "" {
			cur.AgentID = d.AgentID
		}
		if current {
			f.ended = true
			f.wake()
		}
	case *event.CallRecordedData:
		en.Kind, en.DurationMs, en.Recording, en.RecordingKind = CallLogRecorded, d.DurationMs, d.Recording.SHA256, d.Kind
		if !validDigest(d.Recording.SHA256) {
			return
		}
		r := f.recording(d.Recording.SHA256)
		if r == nil {
			f.recordings = append(f.recordings, Recording{SHA256: d.Recording.SHA256})
			r = &f.recordings[len(f.recordings)-1]
		}
		r.CallID, r.Kind, r.DurationMs, r.Time = callID, d.Kind, d.DurationMs, e.Time
		r.Size, r.ContentType = d.Recording.Size, d.Recording.ContentType
		if d.Kind == event.RecordingVoicemail && current {
			v := *r
			cur.Case, cur.Voicemail = CaseVoicemail, &v
		}
	case *event.CallCallbackRequestedData:
		en.Kind, en.Number, en.Queue, en.Language = CallLogCallback, d.Number, d.Queue, d.Language
		cur.Case = CaseCallback
		cur.Callback = &Callback{Number: d.Number, Queue: d.Queue, Language: d.Language, RequestedAt: e.Time}
	case *event.CallRecordingDeletedData:
		en.Kind, en.Reason, en.Recording = CallLogRecordingDeleted, d.Reason, d.Recording.SHA256
		if !validDigest(d.Recording.SHA256) {
			return
		}
		r := f.recording(d.Recording.SHA256)
		if r == nil {
			// Deleted before its call.recorded was read: remembered, so a
			// late call.recorded does not make it playable.
			f.recordings = append(f.recordings, Recording{SHA256: d.Recording.SHA256, CallID: callID, Time: e.Time})
			r = &f.recordings[len(f.recordings)-1]
		}
		r.Deleted = true
		if cur.Voicemail != nil && cur.Voicemail.SHA256 == r.SHA256 {
			cur.Voicemail.Deleted = true
		}
		en.RecordingKind = r.Kind
	}
	f.addLog(en, i.cfg.MaxThread)
}

// validDigest reports whether s is a SHA-256 digest as the bus writes it:
// 64 lowercase hex digits, so that it names a file in the recordings
// directory and nothing else.
func validDigest(s string) bool {
	return len(s) == 64 && strings.Trim(s, "0123456789abcdef") == ""
}

// callDetail adds the call log and recordings to d. Called with i.mu held.
func (c *Conversation) callDetail(d *Detail) {
	if c.calls == nil {
		return
	}
	d.CallLog = slices.Clone(c.calls.log)
	d.CallLogDropped = c.calls.logDropped
	d.Recordings = slices.Clone(c.calls.recordings)
}

// handleHold serves POST .../call/hold.
func (i *Inbox) handleHold(w http.ResponseWriter, r *http.Request) { i.holdOrResume(w, r, true) }

// handleResume serves POST .../call/resume.
func (i *Inbox) handleResume(w http.ResponseWriter, r *http.Request) { i.holdOrResume(w, r, false) }

// holdOrResume publishes call.hold_requested for the conversation's
// answered call and waits for the voice channel to act on it: 200 with
// the conversation once call.held (call.resumed) is folded, 202 with the
// conversation as it stands if the channel has not answered within
// WaitTimeout, 409 when there is no answered call, it is already in the
// state asked for, or the call ended meanwhile. The assigned agent,
// supervisors and admins.
func (i *Inbox) holdOrResume(w http.ResponseWriter, r *http.Request, hold bool) {
	p, t, ok := i.tenantFor(w, r)
	if !ok {
		return
	}
	c, ok := i.conversationFor(w, r, p, t)
	if !ok {
		return
	}
	call := c.calls.view(c.Status)
	switch {
	case c.Status != StatusAssigned || c.AgentID != p.AccountID && !privileged(p):
		i.mu.Unlock()
		conflict(w, "the conversation is %s and not assigned to you", c.Status)
		return
	case call == nil || (call.State != CallAnswered && call.State != CallHeld):
		i.mu.Unlock()
		conflict(w, "the conversation has no answered call")
		return
	case hold && call.State == CallHeld:
		i.mu.Unlock()
		conflict(w, "the call is already on hold")
		return
	case !hold && call.State != CallHeld:
		i.mu.Unlock()
		conflict(w, "the call is not on hold")
		return
	}
	id := c.ID
	e, err := conversationEvent(event.CallHoldRequested, c, &event.CallHoldRequestedData{CallID: call.CallID, Hold: hold, By: p.AccountID})
	if err != nil {
		i.mu.Unlock()
		i.writeFailure(w, r, err)
		return
	}
	m, err := event.ToMessage(e)
	if err != nil {
		i.mu.Unlock()
		i.writeFailure(w, r, fmt.Errorf("inbox: encode %s: %w", e.Type, err))
		return
	}
	woken := make(chan struct{})
	f := c.calls
	f.waiters = append(f.waiters, woken)
	i.mu.Unlock()
	drop := func() {
		i.mu.Lock()
		f.waiters = slices.DeleteFunc(f.waiters, func(x chan struct{}) bool { return x == woken })
		i.mu.Unlock()
	}
	if err := i.bus.Publish(r.Context(), event.TopicConversations, m); err != nil {
		drop()
		i.writeFailure(w, r, fmt.Errorf("inbox: publish to %s: %w", event.TopicConversations, err))
		return
	}
	timer := time.NewTimer(i.cfg.WaitTimeout)
	defer timer.Stop()
	select {
	case <-woken:
	case <-timer.C:
		drop()
		i.respondStatus(w, t, id, http.StatusAccepted)
		return
	case <-r.Context().Done():
		drop()
		i.writeFailure(w, r, fmt.Errorf("inbox: waiting for the voice channel: %w", r.Context().Err()))
		return
	case <-i.done:
		drop()
		i.writeFailure(w, r, fmt.Errorf("%w: stopped", ErrNotReady))
		return
	}
	i.mu.Lock()
	now := c.calls.view(c.Status)
	i.mu.Unlock()
	switch {
	case now == nil || now.CallID != call.CallID || now.State == CallEnded:
		conflict(w, "the call ended")
	case (now.State == CallHeld) != hold:
		conflict(w, "the call changed meanwhile")
	default:
		i.respond(w, t, id)
	}
}

// handleRecording streams a recording or voicemail of the conversation,
// with Range requests, to whoever may read the conversation (as
// handleGet). Only a digest folded from the conversation's call.recorded
// is served: 404 for any other, 410 once call.recording_deleted is read.
func (i *Inbox) handleRecording(w http.ResponseWriter, r *http.Request) {
	p, t, ok := i.tenantFor(w, r)
	if !ok {
		return
	}
	c, ok := i.lookup(w, r, p, t, func(p auth.Principal, c *Conversation) bool {
		return mayRead(p, c) || c.ContactID != "" && servesContact(p, t, c.ContactID)
	})
	if !ok {
		return
	}
	sha := r.PathValue("sha256")
	rec := c.calls.recording(sha)
	var found Recording
	if rec != nil {
		found = *rec
	}
	id := c.ID
	i.mu.Unlock()
	switch {
	case rec == nil || !validDigest(found.SHA256):
		api.WriteError(w, http.StatusNotFound, "not_found", "no such recording in this conversation", "")
		return
	case found.Deleted:
		api.WriteError(w, http.StatusGone, "gone", "the recording was deleted (retention period)", "")
		return
	case found.Kind == "":
		api.WriteError(w, http.StatusNotFound, "not_found", "no such recording in this conversation", "")
		return
	case i.cfg.RecordingsDir == "":
		api.WriteError(w, http.StatusNotFound, "not_found", "recordings are not served: no recordings directory is configured", "")
		return
	}
	path := filepath.Join(i.cfg.RecordingsDir, found.SHA256+".wav")
	file, err := os.Open(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			i.log.Warn("recording missing from the recordings directory", "tenant", t.id, "conversation_id", id, "sha256", found.SHA256)
			api.WriteError(w, http.StatusNotFound, "not_found", "the recording file is missing", "")
			return
		}
		i.writeFailure(w, r, fmt.Errorf("inbox: open recording: %w", err))
		return
	}
	defer file.Close()
	st, err := file.Stat()
	if err != nil {
		i.writeFailure(w, r, fmt.Errorf("inbox: stat recording: %w", err))
		return
	}
	h := w.Header()
	ct := found.ContentType
	if ct == "" || !strings.HasPrefix(ct, "audio/") {
		ct = "audio/wav"
	}
	h.Set("Content-Type", ct)
	// Re-validated each time: who may listen can change, the content
	// (named by its digest) never does.
	h.Set("Cache-Control", "private, no-cache")
	h.Set("ETag", `"`+found.SHA256+`"`)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Disposition", fmt.Sprintf(`inline; filename="%s-%s.wav"`, found.Kind, found.SHA256[:12]))
	http.ServeContent(w, r, "", st.ModTime(), file)
}
