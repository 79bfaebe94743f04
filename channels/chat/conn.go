package chat

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/gorilla/websocket"

	"github.com/hotline-hub/hotline/webui/wsock"
)

// conn is one widget socket. Its reader runs in a goroutine of its own
// (the HTTP handler returns after the upgrade, freeing the server's
// per-request state); frames reach the peer through a wsock.Writer, which
// has a goroutine only while it has something to write and disconnects a
// slow peer instead of blocking anyone.
type conn struct {
	ch  *Channel
	ws  *websocket.Conn
	out *wsock.Writer
	ip  string

	t     *tenant
	q     *queue
	v     *visitor
	info  visitorInfo
	bad   int
	typed time.Time
}

// enqueue queues f for the peer; it never blocks. A full queue means the
// peer does not read: the connection is closed. Safe under Channel.mu.
func (s *conn) enqueue(f []byte) bool { return s.out.Send(f) }

// enqueueOwned is enqueue for a pooled frame the caller built for this
// socket alone: it gives up the caller's reference.
func (s *conn) enqueueOwned(f *wsock.Frame) bool {
	defer f.Release()
	return s.out.SendFrame(f)
}

// shutdown writes what is queued, then a close frame with code, and closes
// the socket.
func (s *conn) shutdown(code int, text string) { s.out.Close(code, text) }

func (s *conn) sendFrame(v any) { s.enqueue(encode(v)) }

func (s *conn) sendError(code, msg string) {
	s.sendFrame(errorFrame{Type: frameError, Code: code, Message: msg})
}

// fail sends an error frame, then closes with closeCode.
func (s *conn) fail(code, msg string, closeCode int) {
	s.sendError(code, msg)
	s.shutdown(closeCode, code)
}

// badFrame counts a bad frame and reports whether the connection goes on.
func (s *conn) badFrame(msg string) bool {
	s.bad++
	if s.bad >= s.ch.cfg.MaxBadFrames {
		s.fail(CodeTooManyBad, "too many bad frames: "+msg, websocket.ClosePolicyViolation)
		return false
	}
	s.sendError(CodeBadFrame, msg)
	return true
}

// readBuffer is a visitor socket's read buffer, in bytes.
const readBuffer = 1 << 10

// The upgrader lends write buffers from a pool only while a frame is
// written, and reads through a buffer of readBuffer bytes instead of the
// HTTP server's 4 KiB: with thousands of mostly idle visitors, per-socket
// buffers would be most of the memory. A visitor's frames are small; a
// larger one (up to MaxFrameBytes) takes a few more reads.
var upgrader = websocket.Upgrader{
	ReadBufferSize:  readBuffer,
	WriteBufferPool: &sync.Pool{},
	// The origin is checked per tenant once hello names it.
	CheckOrigin: func(*http.Request) bool { return true },
}

// serveWS is the /chat/ws endpoint. It returns once the socket is set up;
// readLoop serves it from then on.
func (c *Channel) serveWS(w http.ResponseWriter, r *http.Request) {
	ws, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // Upgrade has answered with an HTTP error
	}
	ip, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		ip = r.RemoteAddr
	}
	s := &conn{ch: c, ws: ws, ip: ip, out: wsock.New(ws, wsock.Config{
		Queue: c.cfg.SendQueue, WriteTimeout: c.cfg.WriteTimeout, PingInterval: c.cfg.PingInterval})}
	c.liveMu.Lock()
	stopped := c.stopped
	if !stopped {
		c.live[s] = struct{}{}
		c.conns.Add(1)
	}
	c.liveMu.Unlock()
	if stopped {
		s.fail(CodeUnavailable, "the chat is stopping", websocket.CloseTryAgainLater)
		return
	}
	// The request's context ends when this handler returns; the socket
	// lives on, until it closes or the channel stops (every wait on its
	// behalf has a timeout of its own).
	go c.readLoop(context.Background(), s, r.Header.Get("Origin"))
}

// readLoop reads the visitor's frames until the socket closes.
func (c *Channel) readLoop(ctx context.Context, s *conn, origin string) {
	defer c.conns.Done()
	defer c.unregister(s)
	defer func() { <-s.out.Done() }()
	defer s.shutdown(websocket.CloseNormalClosure, "")
	ws, ip := s.ws, s.ip
	if !c.ipConns.allow(ip, c.cfg.Now()) {
		s.fail(CodeRateLimited, "too many connections from this address", websocket.CloseTryAgainLater)
		return
	}
	ws.SetReadLimit(c.cfg.MaxFrameBytes)
	deadline := func() { ws.SetReadDeadline(time.Now().Add(2*c.cfg.PingInterval + c.cfg.WriteTimeout)) }
	deadline()
	ws.SetPongHandler(func(string) error { deadline(); return nil })
	var rd wsock.Reader // frames are decoded at once: one buffer serves them all
	for {
		typ, data, err := rd.Read(ws)
		if err != nil {
			c.readFailed(s, err)
			return
		}
		deadline()
		s.out.Heard()
		select {
		case <-s.out.Closing():
			return
		default:
		}
		if !c.serveFrame(ctx, s, typ, data, origin) {
			return
		}
	}
}

// readFailed closes s after a failed read.
func (c *Channel) readFailed(s *conn, err error) {
	if errors.Is(err, websocket.ErrReadLimit) {
		// gorilla has sent close 1009; read the rest of the frame away so
		// closing does not reset the connection before the peer reads why.
		c.log.Info("closing chat socket: frame over the limit", "ip", s.ip, "limit", c.cfg.MaxFrameBytes)
		s.ws.SetReadDeadline(time.Now().Add(2 * time.Second))
		io.Copy(io.Discard, s.ws.NetConn())
	}
	s.shutdown(websocket.CloseAbnormalClosure, "")
}

// serveFrame serves one frame of the visitor's and reports whether the
// socket stays open. It is a function of its own so that the frame's
// decoded fields live on the stack only while it is served: a visitor's
// socket spends its life parked in readLoop, whose frame the collector
// scans on every cycle, ten thousand times over.
func (c *Channel) serveFrame(ctx context.Context, s *conn, typ int, data []byte, origin string) bool {
	if typ != websocket.TextMessage {
		return s.badFrame("frames are JSON text")
	}
	f, err := readFrame(data)
	if err != nil {
		return s.badFrame("malformed JSON: " + err.Error())
	}
	if s.v == nil && f.Type != frameHello {
		if f.Type == frameMessage || f.Type == frameTyping {
			s.fail(CodeHelloRequired, "send hello first", websocket.ClosePolicyViolation)
			return false
		}
	}
	switch f.Type {
	case frameHello:
		return c.hello(ctx, s, &f, origin)
	case frameMessage:
		return c.message(ctx, s, &f)
	case frameTyping:
		return c.typing(ctx, s, &f)
	default:
		return s.badFrame("unknown frame type " + quote(f.Type))
	}
}

func quote(s string) string {
	if len(s) > 40 {
		s = s[:40]
	}
	b, _ := json.Marshal(s)
	return string(b)
}

var langRe = regexp.MustCompile(`^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$`)

// validClientID reports whether id is 1 to 64 ASCII letters, digits, '_',
// '.', ':' or '-'. It is checked on every message, so by hand: the
// regexp it replaces was 0.85 % of the hub's CPU under `hotline bench chat`.
func validClientID(id string) bool {
	if len(id) == 0 || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		switch c := id[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9',
			c == '_', c == '.', c == ':', c == '-':
		default:
			return false
		}
	}
	return true
}

// identify takes the name and email a frame carries, if any, into info;
// a value that is not acceptable is reported to the visitor and ignored.
func (s *conn) identify(f *clientFrame, info *visitorInfo) {
	if name := strings.TrimSpace(f.Name); name != "" {
		if utf8.RuneCountInString(name) > 100 || strings.ContainsAny(name, "\r\n\x00") {
			s.sendError(CodeBadFrame, "name is over 100 characters or has line breaks; ignored")
		} else {
			info.name = name
		}
	}
	if email := strings.TrimSpace(f.Email); email != "" {
		if len(email) > 254 || !strings.Contains(email, "@") || strings.ContainsAny(email, " \r\n\x00") {
			s.sendError(CodeBadFrame, "email "+quote(email)+" is not an address; ignored")
		} else {
			info.email = email
		}
	}
}

func (c *Channel) hello(ctx context.Context, s *conn, f *clientFrame, origin string) bool {
	if s.v != nil {
		return s.badFrame("hello was already sent")
	}
	rctx, cancel := context.WithTimeout(ctx, c.cfg.ReadyTimeout)
	defer cancel()
	select {
	case <-c.tenantReady(f.Tenant):
	case <-s.out.Closing():
		return false
	case <-rctx.Done():
		s.fail(CodeUnavailable, "the chat is starting, try again shortly", websocket.CloseTryAgainLater)
		return false
	}
	t := c.tenant(f.Tenant)
	if t == nil {
		s.fail(CodeUnknownTenant, "unknown tenant "+quote(f.Tenant), websocket.ClosePolicyViolation)
		return false
	}
	queue := f.Queue
	if queue == "" {
		queue = t.defaultQueue
	}
	q := t.queues[queue]
	if q == nil {
		msg := "unknown queue " + quote(queue)
		if queue == "" {
			msg = "no queue named (data-queue) and the tenant has no default chat queue"
		}
		s.fail(CodeUnknownQueue, msg, websocket.ClosePolicyViolation)
		return false
	}
	if len(t.origins) > 0 && !slices.Contains(t.origins, origin) {
		s.fail(CodeOriginForbidden, "origin "+quote(origin)+" may not embed this chat", websocket.ClosePolicyViolation)
		return false
	}
	var info visitorInfo
	s.identify(f, &info)
	if langRe.MatchString(f.Lang) {
		info.lang = f.Lang
	}
	now := c.cfg.Now()
	var token, vid string
	if f.Token != "" {
		id, err := c.tokens.verify(t.id, f.Token, now)
		if err != nil {
			c.log.Info("refused visitor token", "tenant", t.id, "ip", s.ip, "err", err)
			s.sendError(CodeBadToken, "the visitor token is not valid; a new one is issued")
		} else {
			vid, token = id, c.tokens.reissue(t.id, id, now)
		}
	}
	if vid == "" {
		var err error
		if token, vid, err = c.tokens.issue(t.id, now); err != nil {
			s.fail(CodeUnavailable, "cannot issue a token", websocket.CloseInternalServerErr)
			return false
		}
	}
	if !c.visitorConns.allow(vkey(t.id, vid), now) {
		s.fail(CodeRateLimited, "too many connections for this visitor", websocket.CloseTryAgainLater)
		return false
	}
	st := q.cal.Status(now)
	wf := welcomeFrame{Type: frameWelcome, Token: token, Visitor: vid, Open: st.Open, Holiday: st.Holiday}
	if !st.Until.IsZero() {
		if st.Open {
			wf.OpenUntil = st.Until.UTC().Format(time.RFC3339)
		} else {
			wf.NextOpen = st.Until.UTC().Format(time.RFC3339)
		}
	}
	s.t, s.q, s.info = t, q, info

	// The socket joins its visitor while the open conversation's shard is
	// held, so that none of that conversation's messages can reach the
	// socket ahead of the welcome and the history, nor be missed between.
	vk := tkey{t.id, vid}
	vs := c.visitorShard(vk)
	var cs *convShard
	var cv *conv
	for {
		vs.mu.Lock()
		cur := vs.visitor(vk).current
		vs.mu.Unlock()
		cs, cv = nil, nil
		if cur != "" {
			cs = c.convShard(tkey{t.id, cur})
			cs.mu.Lock()
			if cv = cs.convs[tkey{t.id, cur}]; cv != nil && cv.closed {
				cv = nil
			}
		}
		vs.mu.Lock()
		v := vs.visitors[vk]
		if v == nil || v.current != cur {
			// Evicted, or moved on to another conversation, meanwhile.
			vs.mu.Unlock()
			if cs != nil {
				cs.mu.Unlock()
			}
			continue
		}
		if cv != nil {
			wf.ConversationID = cv.id
		}
		s.sendFrame(wf)
		v.socks[s] = struct{}{}
		v.last = later(v.last, now)
		s.v = v
		vs.mu.Unlock()
		break
	}
	var owed []string // message ids of replies this socket delivers
	if cv != nil {
		from := int64(-1 << 62)
		if f.LastSeq != nil {
			from = *f.LastSeq - c.cfg.ResumeSlack.Microseconds()
		}
		for n := range cv.hist.len() {
			r := cv.hist.rec(n)
			if r.seq <= from {
				continue
			}
			if s.enqueueOwned(cv.hist.pooledFrame(n)) {
				r.pushed = true
				if r.agent && !r.delivered && !r.delivering {
					r.delivering = true
					owed = append(owed, cv.hist.messageID(n))
				}
			}
		}
	}
	if cs != nil {
		cs.mu.Unlock()
	}
	for _, msgID := range owed {
		if err := c.publishDelivered(ctx, t.id, cv.id, msgID); err != nil {
			c.log.Warn("message.delivered not published", "tenant", t.id, "conversation_id", cv.id, "err", err)
		}
	}
	return true
}

func (c *Channel) message(ctx context.Context, s *conn, f *clientFrame) bool {
	if !validClientID(f.ClientID) {
		return s.badFrame("client_id must be 1 to 64 letters, digits, '_', '.', ':' or '-'")
	}
	if f.Text == nil {
		return s.badFrame("message without text")
	}
	text := strings.TrimSpace(*f.Text)
	if text == "" {
		s.sendError(CodeEmpty, "the message is empty")
		return true
	}
	if n := utf8.RuneCountInString(text); n > c.cfg.MaxTextChars || !utf8.ValidString(text) {
		s.sendError(CodeTooLong, "the message is over the limit of characters")
		return true
	}
	now := c.cfg.Now()
	// A resend of a taken message is answered without spending tokens.
	s.v.sh.mu.Lock()
	prev, seen := s.v.lookup(f.ClientID)
	s.v.sh.mu.Unlock()
	if !seen && (!c.visitorMsgs.allow(vkey(s.t.id, s.v.id), now) || !c.ipMsgs.allow(s.ip, now)) {
		s.sendFrame(struct {
			errorFrame
			ClientID string `json:"client_id"`
		}{errorFrame{Type: frameError, Code: CodeRateLimited, Message: "too many messages, slow down"}, f.ClientID})
		return true
	}
	a := prev
	if !seen {
		// A name or email typed after the widget connected travels on
		// the message.
		s.identify(f, &s.info)
		var err error
		a, _, err = c.acceptMessage(ctx, s.t, s.q, s.v, s.info, f.ClientID, text, s)
		if err != nil {
			c.log.Error("chat message not accepted", "tenant", s.t.id, "err", err)
			s.sendError(CodeUnavailable, "the message could not be stored, it will be retried")
			return true
		}
	}
	ack := ackFrame{Type: frameAck, ClientID: a.ClientID, MessageID: a.MessageID, ConversationID: a.ConversationID,
		Seq: a.Time.UnixMicro()}
	fr := wsock.NewFrame(ack.size())
	fr.B = ack.appendTo(fr.B)
	s.enqueueOwned(fr)
	return true
}

func (c *Channel) typing(ctx context.Context, s *conn, f *clientFrame) bool {
	if f.Active == nil {
		return s.badFrame("typing without active")
	}
	now := c.cfg.Now()
	if *f.Active && now.Sub(s.typed) < defaultTypingThrottle {
		return true
	}
	if *f.Active {
		s.typed = now
	} else {
		s.typed = time.Time{}
	}
	s.v.sh.mu.Lock()
	convID := s.v.current
	s.v.sh.mu.Unlock()
	if convID == "" {
		return true // nobody to tell yet
	}
	if err := c.publishTyping(ctx, s.t.id, convID, *f.Active); err != nil {
		c.log.Warn("typing signal lost", "tenant", s.t.id, "conversation_id", convID, "err", err)
	}
	return true
}

// unregister forgets a closed socket.
func (c *Channel) unregister(s *conn) {
	c.liveMu.Lock()
	delete(c.live, s)
	c.liveMu.Unlock()
	if s.v != nil {
		s.v.sh.mu.Lock()
		delete(s.v.socks, s)
		s.v.sh.mu.Unlock()
	}
}
