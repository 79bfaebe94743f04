package voice

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/hotline-hub/hotline/bus"
	"github.com/hotline-hub/hotline/bus/event"
	"github.com/hotline-hub/hotline/channels/voice/media"
)

// Menu ids in call.menu_selected.
const (
	MenuLanguage = "language"
	MenuService  = "service"
)

// call is one answered inbound call and its goroutine's state.
type call struct {
	s      *Server
	num    *number
	log    *slog.Logger
	dlg    *sipgo.DialogServerSession
	sess   *media.Session
	codec  media.Codec
	offer  *offer
	answer []byte

	callID, convID, from, to, contact string
	sdpSession                        uint64
	started                           time.Time
	timer                             sessionTimer
	refreshed                         chan struct{} // a refresh (re-INVITE, UPDATE) arrived
	byCaller                          atomic.Bool

	mu       sync.Mutex // guards the negotiated media against concurrent re-offers
	lang     string
	queue    string
	queuedAt time.Time
	ended    atomic.Bool

	// stopRing (guarded by mu) ends the ringing of the latest offer;
	// answered receives the agent leg once the phone picks up (agent.go).
	stopRing context.CancelFunc
	answered chan *agentLeg
	holdDone bool // guarded by mu: hold no longer takes an answered leg
	// answeredAt is when an agent's phone was bridged; written and read
	// by the call's goroutine only.
	answeredAt time.Time

	// ctl carries hold, resume and transfer requests to the call's
	// goroutine while it talks to an agent (holdctl.go, transfer.go).
	ctl chan control
	// totals is the state of the talk with agents, for call.ended;
	// written and read by the call's goroutine only.
	totals talkTotals
	// leg is the agent leg the call is bridged to (guarded by mu).
	leg *agentLeg
	// answering is the leg whose answer is being published, until the
	// caller talks to it (guarded by mu): the assignment is on the bus
	// before its Publish returns, so routing's verdict on a transfer (or
	// a hold request) about it can arrive first, and must not be dropped.
	answering *agentLeg
	// ack receives the body of the caller's ACK of a call answered with
	// the hub's offer (late offer, no SDP in the INVITE).
	ack chan []byte
}

func newCall(s *Server, num *number, dialed string, req *sip.Request, dlg *sipgo.DialogServerSession, o *offer, t sessionTimer) *call {
	callID := req.CallID().Value()
	var b [8]byte
	rand.Read(b[:])
	c := &call{
		s: s, num: num, dlg: dlg, offer: o, timer: t,
		callID:     callID,
		convID:     derivedID("conv", num.cfg.Tenant, callID, dlg.ID),
		to:         dialed,
		from:       party(req.From()),
		sdpSession: binary.BigEndian.Uint64(b[:]) >> 1,
		started:    s.cfg.Now(),
		refreshed:  make(chan struct{}, 1),
		lang:       num.cfg.Menu.DefaultLanguage,
		answered:   make(chan *agentLeg, 1),
		ctl:        make(chan control, 8),
		ack:        make(chan []byte, 1),
	}
	if c.from != "anonymous" {
		c.contact = c.from
	}
	return c
}

// party is how a From header is written in events: the user part when it
// is a number, else the sip: URI, else "anonymous".
func party(h *sip.FromHeader) string {
	u := h.Address.User
	if strings.EqualFold(u, "anonymous") || u == "" && h.Address.Host == "anonymous.invalid" {
		return "anonymous"
	}
	if d := strings.TrimPrefix(u, "+"); d != "" && len(d) <= 20 && strings.Trim(d, "0123456789") == "" {
		return u
	}
	uri := "sip:" + u + "@" + h.Address.Host
	if u == "" {
		uri = "sip:" + h.Address.Host
	}
	if strings.ContainsAny(uri, " \"<>\\^`{|}") || h.Address.Host == "" {
		return "anonymous"
	}
	return uri
}

// event builds one of the call's events; kind makes its id deterministic.
func (c *call) event(typ, kind string, p event.Payload, at time.Time) (*event.Envelope, error) {
	opts := []event.Option{event.WithConversation(c.convID), event.WithChannel(event.ChannelVoice),
		event.WithSource(defaultSource), event.WithTime(at), event.WithSubject(c.callID),
		event.WithID(derivedID(kind, c.convID))}
	if c.contact != "" {
		opts = append(opts, event.WithContact(c.contact))
	}
	e, err := event.New(typ, c.num.cfg.Tenant, p, opts...)
	if err != nil {
		return nil, fmt.Errorf("voice: build %s: %w", typ, err)
	}
	return e, nil
}

func (c *call) startedEvent() *pending {
	return &pending{typ: event.CallStarted, kind: "started", at: c.started, data: &event.CallStartedData{
		CallID: c.callID, Direction: event.DirectionInbound, From: c.from, To: c.to}}
}

// pending is an event to build and publish.
type pending struct {
	typ, kind string
	at        time.Time
	data      event.Payload
}

// publish makes evs durable, in order, in one call. It returns only once
// they are (or ctx ended, or the bus failed).
func (c *call) publish(ctx context.Context, evs ...*pending) error {
	msgs := make([]bus.Message, 0, len(evs))
	for _, p := range evs {
		e, err := c.event(p.typ, p.kind, p.data, p.at)
		if err != nil {
			return err
		}
		m, err := event.ToMessage(e)
		if err != nil {
			return fmt.Errorf("voice: encode %s: %w", p.typ, err)
		}
		msgs = append(msgs, m)
	}
	pctx, cancel := context.WithTimeout(ctx, defaultPublishTimeout)
	defer cancel()
	if err := c.s.bus.Publish(pctx, event.TopicConversations, msgs...); err != nil {
		return fmt.Errorf("voice: publish %s: %w", evs[0].typ, err)
	}
	return nil
}

// publishLate publishes events about a call that has ended: the call's
// context is gone, so it retries a little on its own.
func (c *call) publishLate(evs ...*pending) {
	ctx := context.Background()
	c.indexRecordings(evs) // the retention janitor's index (retention.go)
	for wait := 100 * time.Millisecond; ; wait *= 2 {
		err := c.publish(ctx, evs...)
		if err == nil {
			return
		}
		if wait > 2*time.Second {
			c.log.Error("call event lost", "type", evs[0].typ, "err", err)
			return
		}
		c.log.Warn("retrying call event", "type", evs[0].typ, "err", err)
		time.Sleep(wait)
	}
}

// publishEnd writes call.ended (and conversation.abandoned for a caller
// who left the queue), once.
func (c *call) publishEnd(reason string) {
	if !c.ended.CompareAndSwap(false, true) {
		return
	}
	now := c.s.cfg.Now()
	if now.Before(c.started) {
		now = c.started
	}
	ended := &event.CallEndedData{CallID: c.callID, Reason: reason, DurationMs: now.Sub(c.started).Milliseconds()}
	evs := []*pending{}
	if !c.queuedAt.IsZero() {
		waited := now
		if !c.answeredAt.IsZero() {
			waited = c.answeredAt
		}
		ended.WaitMs = min(max(waited.Sub(c.queuedAt).Milliseconds(), 0), ended.DurationMs)
	}
	c.totals.fill(ended, now)
	evs = append(evs, &pending{typ: event.CallEnded, kind: "ended", at: now, data: ended})
	if reason == event.EndAbandoned && !c.queuedAt.IsZero() {
		evs = append(evs, &pending{typ: event.ConversationAbandoned, kind: "abandoned", at: now, data: &event.ConversationAbandonedData{
			Queue: c.queue, WaitMs: ended.WaitMs, Reason: event.AbandonCustomerLeft}})
	}
	c.publishLate(evs...)
	c.log.Info("call ended", "reason", reason, "duration_ms", ended.DurationMs, "wait_ms", ended.WaitMs)
}

// errHubHangup ends the flow when the hub itself hangs up (voicemail
// too long, session timer expired, shutdown).
var errHubHangup = errors.New("hub hangs up")

// run drives the answered call until it ends, then releases its media.
func (c *call) run(serverCtx context.Context) {
	ctx, cancel := context.WithCancelCause(serverCtx)
	defer cancel(nil)
	stop := context.AfterFunc(c.dlg.Context(), func() { cancel(context.Canceled) })
	defer stop()
	defer c.sess.Close()
	if c.timer.interval > 0 {
		go c.watchTimer(ctx, cancel)
	}

	reason := c.flow(ctx)
	cause := context.Cause(ctx)
	switch {
	case c.byCaller.Load() || c.dlg.Context().Err() != nil:
		// The caller hung up; reason says at which step.
	case errors.Is(cause, errSessionExpired):
		reason = event.EndFailed
		c.hangup()
	case serverCtx.Err() != nil:
		reason = event.EndFailed
		c.hangup()
	default:
		c.hangup()
	}
	c.publishEnd(reason)
}

var errSessionExpired = errors.New("session timer expired")

// watchTimer ends the call when the caller stops refreshing the session.
func (c *call) watchTimer(ctx context.Context, cancel context.CancelCauseFunc) {
	t := time.NewTimer(c.timer.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.refreshed:
			t.Reset(c.timer.interval)
		case <-t.C:
			c.log.Info("session timer expired, hanging up", "interval", c.timer.interval)
			cancel(errSessionExpired)
			return
		}
	}
}

// hangup sends BYE to the caller.
func (c *call) hangup() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.dlg.Bye(ctx); err != nil {
		c.log.Debug("BYE not confirmed", "err", err)
	}
}

// flow runs the steps of the call and returns the call.ended reason for
// a hang-up at the step reached.
func (c *call) flow(ctx context.Context) string {
	if !c.num.cal.IsOpen(c.s.cfg.Now()) {
		return c.closed(ctx)
	}
	menu := c.num.cfg.Menu
	if len(menu.Languages) > 1 {
		key, lang, err := c.menu(ctx, MenuLanguage, menu.Languages)
		if err != nil {
			return c.failed(ctx, err, event.EndAbandoned)
		}
		if lang != "" {
			c.lang = lang
			if err := c.publish(ctx, &pending{typ: event.CallMenuSelected, kind: "menu-" + MenuLanguage, at: c.s.cfg.Now(),
				data: &event.CallMenuSelectedData{CallID: c.callID, Menu: MenuLanguage, Selection: key, Language: lang}}); err != nil {
				return c.failed(ctx, err, event.EndAbandoned)
			}
		}
	}
	c.queue = menu.DefaultQueue
	if len(menu.Services) > 1 {
		key, q, err := c.menu(ctx, MenuService, menu.Services)
		if err != nil {
			return c.failed(ctx, err, event.EndAbandoned)
		}
		if q != "" {
			c.queue = q
			if err := c.publish(ctx, &pending{typ: event.CallMenuSelected, kind: "menu-" + MenuService, at: c.s.cfg.Now(),
				data: &event.CallMenuSelectedData{CallID: c.callID, Menu: MenuService, Selection: key}}); err != nil {
				return c.failed(ctx, err, event.EndAbandoned)
			}
		}
	} else if len(menu.Services) == 1 {
		for _, q := range menu.Services {
			c.queue = q
		}
	}
	if err := c.sess.Play(ctx, c.s.prompts.get(c.lang, PromptRecordingNotice), false); err != nil {
		return c.failed(ctx, err, event.EndAbandoned)
	}
	now := c.s.cfg.Now()
	var skills []string
	if len(menu.Skills) > 0 {
		skills = append(skills, menu.Skills...)
	}
	if err := c.publish(ctx,
		&pending{typ: event.CallQueued, kind: "queued", at: now, data: &event.CallQueuedData{CallID: c.callID, Queue: c.queue}},
		&pending{typ: event.ConversationQueued, kind: "conv-queued", at: now, data: &event.ConversationQueuedData{
			Queue: c.queue, Priority: menu.Priority, Skills: skills, Language: c.lang}},
	); err != nil {
		return c.failed(ctx, err, event.EndAbandoned)
	}
	c.mu.Lock() // the agent leg reads it (agent.go)
	c.queuedAt = now
	c.mu.Unlock()
	c.log.Info("call queued", "queue", c.queue, "language", c.lang)
	c.s.waits.queued(c.num.cfg.Tenant, c.queue, c.convID, menu.Priority, now) // before the log shows it (announce.go)
	if reason, over := c.offerCallback(ctx); over {
		return reason
	}
	return c.hold(ctx)
}

// failed logs a step's error unless it is the call ending, and returns
// reason.
func (c *call) failed(ctx context.Context, err error, reason string) string {
	if ctx.Err() == nil {
		c.log.Warn("call step failed", "err", err)
		return event.EndFailed
	}
	return reason
}

// menu plays the prompt of menu id and reads one key, repeating after a
// wrong key or silence; after the retries it returns "" (default route).
func (c *call) menu(ctx context.Context, id string, options map[string]string) (key, value string, err error) {
	name := PromptServiceMenu
	if id == MenuLanguage {
		name = PromptLanguageMenu
	}
	prompt := c.s.prompts.get(c.lang, name)
	timeout := c.num.cfg.Menu.InputTimeout
	for try := 0; try <= c.num.cfg.Menu.Retries; try++ {
		if try > 0 {
			if err := c.sess.Play(ctx, c.s.prompts.get(c.lang, PromptInvalid), true); err != nil && !errors.Is(err, media.ErrInterrupted) {
				return "", "", err
			}
		}
		if err := c.sess.Play(ctx, prompt, true); err != nil && !errors.Is(err, media.ErrInterrupted) {
			return "", "", err
		}
		d, ok := c.sess.ReadDigit(ctx, timeout)
		if ctx.Err() != nil {
			return "", "", ctx.Err()
		}
		if !ok {
			c.log.Debug("no menu input", "menu", id, "try", try+1)
			continue
		}
		if v, found := options[string(d.Key)]; found {
			return string(d.Key), v, nil
		}
		c.log.Debug("wrong menu key", "menu", id, "key", string(d.Key))
	}
	c.log.Info("menu default route", "menu", id)
	return "", "", nil
}

// closed plays the closed announcement and offers a callback
// (callback.go), else records a voicemail until the caller hangs up or
// MaxVoicemail; the voicemail is queued as a case.
func (c *call) closed(ctx context.Context) string {
	lang := c.num.cfg.Menu.DefaultLanguage
	if err := c.sess.Play(ctx, c.s.prompts.get(lang, PromptClosed), false); err != nil {
		return c.failed(ctx, err, event.EndClosed)
	}
	if reason, over := c.closedCallback(ctx); over {
		return reason
	}
	tmp := filepath.Join(c.s.cfg.RecordingsDir, "tmp-"+c.convID+".wav")
	rec, err := c.sess.StartRecording(tmp)
	if err != nil {
		c.log.Error("voicemail not recorded", "err", err)
		return event.EndClosed
	}
	start := c.s.cfg.Now()
	c.sess.Play(ctx, c.s.prompts.beep, false)
	limit := time.NewTimer(c.s.cfg.MaxVoicemail)
	select {
	case <-ctx.Done():
	case <-limit.C:
	}
	limit.Stop()
	dur, _, err := rec.Stop()
	if err != nil {
		c.log.Error("voicemail not finalized", "err", err)
		os.Remove(tmp)
		return event.EndClosed
	}
	ref, err := storeRecording(c.s.cfg.RecordingsDir, tmp)
	if err != nil {
		c.log.Error("voicemail not stored", "err", err)
		return event.EndClosed
	}
	ref.Name = "voicemail.wav"
	// The voicemail is a case in the default queue, with its audio.
	menu, now := c.num.cfg.Menu, c.s.cfg.Now()
	c.publishLate(&pending{typ: event.CallRecorded, kind: "voicemail", at: start, data: &event.CallRecordedData{
		CallID: c.callID, Recording: ref, Kind: event.RecordingVoicemail, DurationMs: dur.Milliseconds()}},
		&pending{typ: event.ConversationQueued, kind: "conv-queued", at: now, data: &event.ConversationQueuedData{
			Queue: menu.DefaultQueue, Priority: menu.Priority, Skills: menu.Skills, Language: lang}})
	return event.EndVoicemail
}

// storeRecording moves a finished WAV file to its content address,
// <dir>/<sha256>.wav, and returns the blob reference.
func storeRecording(dir, tmp string) (event.BlobRef, error) {
	f, err := os.Open(tmp)
	if err != nil {
		return event.BlobRef{}, fmt.Errorf("voice: open recording: %w", err)
	}
	h := sha256.New()
	n, err := io.Copy(h, f)
	f.Close()
	if err != nil {
		return event.BlobRef{}, fmt.Errorf("voice: hash recording: %w", err)
	}
	sum := hex.EncodeToString(h.Sum(nil))
	if err := os.Rename(tmp, filepath.Join(dir, sum+".wav")); err != nil {
		return event.BlobRef{}, fmt.Errorf("voice: store recording: %w", err)
	}
	return event.BlobRef{SHA256: sum, Size: n, ContentType: "audio/wav"}, nil
}

// reoffer answers a re-INVITE or UPDATE in the dialog: the same media
// again (a new offer must still contain the codec in use), with the
// session timer refreshed.
func (c *call) reoffer(req *sip.Request, tx sip.ServerTransaction, invite bool) {
	var body []byte
	if len(req.Body()) > 0 {
		o := readOffer(req, tx)
		if o == nil {
			return
		}
		c.mu.Lock()
		cur := c.offer
		c.mu.Unlock()
		if cur == nil {
			// A late offer's answer (in the ACK) has not arrived yet.
			reply(tx, req, sip.StatusRequestPending, "Request Pending")
			return
		}
		if o.codec != cur.codec {
			reply(tx, req, sip.StatusNotAcceptableHere, "Not Acceptable Here",
				sip.NewHeader("Warning", `305 hotline "the codec cannot change during the call"`))
			return
		}
		if err := retarget(c.sess, cur, o, c.codec); err != nil {
			c.log.Warn("caller's media not moved", "from", cur.remote, "to", o.remote, "err", err)
			reply(tx, req, sip.StatusInternalServerError, "Server Internal Error")
			return
		}
		c.mu.Lock()
		if !o.remote.IP.IsUnspecified() {
			c.offer = o
		}
		b, err := answer(o, c.sess.LocalAddr(), c.sdpSession, 1)
		c.mu.Unlock()
		if err != nil {
			reply(tx, req, sip.StatusInternalServerError, "Server Internal Error")
			return
		}
		body = b
	} else if invite {
		body = c.answer // offerless re-INVITE: our offer, the same session
	}
	timer, ok := c.s.negotiateTimer(req, tx)
	if !ok {
		return
	}
	if c.timer.interval > 0 {
		select {
		case c.refreshed <- struct{}{}:
		default:
		}
	}
	res := sip.NewResponseFromRequest(req, sip.StatusOK, "OK", body)
	if body != nil {
		res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	}
	res.AppendHeader(c.s.contactFor(req))
	for _, h := range timer.headers() {
		res.AppendHeader(h)
	}
	respond(tx, res)
}
