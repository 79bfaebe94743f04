package chatbench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/hotline-hub/hotline/cmd/hotline/internal/benchstat"
	"github.com/hotline-hub/hotline/cmd/hotline/internal/procstat"
	"github.com/hotline-hub/hotline/webui/auth"
	"github.com/hotline-hub/hotline/webui/inbox"
)

// Worker tuning. A worker holds thousands of sockets; these bound how much
// of the setup runs at once so the hub sees a ramp, not a stampede.
const (
	dialParallel   = 64
	loginParallel  = 16
	replyWorkers   = 64
	senders        = 16
	offerPoll      = time.Second
	assignedReport = 500 * time.Millisecond
	stepTimeout    = 60 * time.Second // one login, dial or hello; a safety net
	writeTimeout   = 5 * time.Second
	maxErrors      = 5
)

// RunWorker is the body of a worker process: it reads its plan and the
// coordinator's commands as JSON lines from in and writes its events and
// result as JSON lines to out. It returns when the result is written, or
// on the first error (also reported on out).
func RunWorker(ctx context.Context, in io.Reader, out io.Writer) error {
	w := &worker{enc: json.NewEncoder(out)}
	err := w.run(ctx, bufio.NewScanner(in))
	if err != nil {
		w.emit(workerEvent{Ev: evError, Error: err.Error()})
	}
	return err
}

type worker struct {
	p    plan
	base *url.URL
	http *http.Client

	encMu sync.Mutex
	enc   *json.Encoder

	agents    []*agent
	customers []*customer

	assigned atomic.Int64
	stopping atomic.Bool

	replies chan reply

	mu        sync.Mutex
	counts    Counts
	c2a, a2c  []int64
	c2aSent   []int64
	acks      []int64
	pending   map[int64]int64 // measured message key → send time, until acked
	lag       []int64
	seenMsg   map[int64]struct{}
	seenReply map[int64]struct{}
	errs      []string
}

type agent struct {
	idx      int
	login    string
	cookie   string
	csrf     string
	accepted map[string]bool
	ws       *websocket.Conn
	// socketID is the inbox socket's id (its hello frame), sent with the
	// agent's replies as a browser tab does, so the hub does not echo them.
	socketID string
	got      int // messages seen on the socket, for ReplyEvery
}

type customer struct {
	idx  int
	conv string
	wmu  sync.Mutex
	ws   *websocket.Conn
	seq  int
}

type reply struct {
	a    *agent
	conv string
	st   stamp
}

func (w *worker) emit(e workerEvent) {
	w.encMu.Lock()
	defer w.encMu.Unlock()
	_ = w.enc.Encode(e)
}

// noteErr records an error message, keeping the first few distinct ones.
func (w *worker) noteErr(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.errs) < maxErrors && !slices.Contains(w.errs, msg) {
		w.errs = append(w.errs, msg)
	}
}

func (w *worker) run(ctx context.Context, sc *bufio.Scanner) error {
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	if !sc.Scan() {
		return fmt.Errorf("worker: no plan on stdin: %v", sc.Err())
	}
	if err := json.Unmarshal(sc.Bytes(), &w.p); err != nil {
		return fmt.Errorf("worker: bad plan: %w", err)
	}
	base, err := url.Parse(w.p.URL)
	if err != nil {
		return fmt.Errorf("worker: bad hub url: %w", err)
	}
	if w.p.ReplyEvery < 1 {
		w.p.ReplyEvery = 1
	}
	w.base = base
	w.http = &http.Client{Timeout: stepTimeout, Transport: &http.Transport{
		MaxIdleConnsPerHost: replyWorkers, IdleConnTimeout: time.Minute,
		DialContext: (&net.Dialer{Timeout: 10 * time.Second}).DialContext,
	}}
	defer w.http.CloseIdleConnections()
	w.seenMsg = map[int64]struct{}{}
	w.seenReply = map[int64]struct{}{}
	w.pending = map[int64]int64{}
	w.replies = make(chan reply, 1<<16)
	defer w.closeAll()

	cmds := make(chan command)
	go func() {
		defer close(cmds)
		for sc.Scan() {
			var c command
			if json.Unmarshal(sc.Bytes(), &c) == nil {
				cmds <- c
			}
		}
	}()
	pollCtx, stopPolling := context.WithCancel(ctx)
	defer stopPolling()
	var polling sync.WaitGroup
	for {
		var c command
		var ok bool
		select {
		case c, ok = <-cmds:
		case <-ctx.Done():
			return ctx.Err()
		}
		if !ok {
			return errors.New("worker: stdin closed before the run")
		}
		switch c.Cmd {
		case cmdAgents:
			if err := w.startAgents(ctx); err != nil {
				return err
			}
			w.emit(workerEvent{Ev: evAgentsReady, N: len(w.agents)})
			if w.p.Mode == modeHub {
				polling.Add(1)
				go func() { defer polling.Done(); w.takeOffers(pollCtx) }()
			}
		case cmdCustomers:
			if err := w.startCustomers(ctx); err != nil {
				return err
			}
			w.emit(workerEvent{Ev: evCustomersReady, N: len(w.customers)})
		case cmdSockets:
			stopPolling()
			polling.Wait()
			if err := w.openAgentSockets(ctx); err != nil {
				return err
			}
			w.emit(workerEvent{Ev: evSocketsReady, N: len(w.agents)})
		case cmdStart:
			res, err := w.measure(ctx, time.Unix(0, c.T0))
			if err != nil {
				return err
			}
			w.emit(workerEvent{Ev: evResult, Result: res})
			return nil
		default:
			return fmt.Errorf("worker: unknown command %q", c.Cmd)
		}
	}
}

func (w *worker) closeAll() {
	w.stopping.Store(true)
	for _, a := range w.agents {
		if a.ws != nil {
			_ = a.ws.Close()
		}
	}
	for _, c := range w.customers {
		if c.ws != nil {
			_ = c.ws.Close()
		}
	}
}

// parallel runs f for 0..n-1 with at most par at once and returns the
// first error.
func parallel(ctx context.Context, n, par int, f func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg    sync.WaitGroup
		once  sync.Once
		first error
		next  atomic.Int64
	)
	for range min(n, par) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				if err := f(ctx, i); err != nil {
					once.Do(func() { first = err; cancel() })
					return
				}
			}
		}()
	}
	wg.Wait()
	return first
}

func (w *worker) wsURL(path string) string {
	u := *w.base
	u.Scheme = "ws"
	return u.String() + path
}

func (w *worker) tenantPath(rest string) string {
	return "/api/v1/tenants/" + w.p.Tenant + "/" + rest
}

// call makes one API request as a (nil: anonymous) and decodes a 2xx JSON
// answer into out (if not nil). It returns the status.
func (w *worker) call(ctx context.Context, a *agent, method, path string, body, out any) (int, error) {
	return w.callWith(ctx, a, method, path, nil, body, out)
}

// callWith is call with more request headers.
func (w *worker) callWith(ctx context.Context, a *agent, method, path string, hdr http.Header, body, out any) (int, error) {
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return 0, err
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, w.p.URL+path, rd)
	if err != nil {
		return 0, err
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if a != nil && a.cookie != "" {
		req.AddCookie(&http.Cookie{Name: auth.CookieName, Value: a.cookie})
		if method != http.MethodGet {
			req.Header.Set("X-CSRF-Token", a.csrf)
		}
	}
	res, err := w.http.Do(req)
	if err != nil {
		return 0, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		return res.StatusCode, fmt.Errorf("%s %s: read answer: %w", method, path, err)
	}
	if res.StatusCode/100 != 2 {
		return res.StatusCode, fmt.Errorf("%s %s: %d %s", method, path, res.StatusCode, bytes.TrimSpace(raw))
	}
	if a != nil && method == http.MethodPost && path == "/api/v1/auth/login" {
		for _, c := range res.Cookies() {
			if c.Name == auth.CookieName {
				a.cookie = c.Value
			}
		}
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return res.StatusCode, fmt.Errorf("%s %s: decode answer: %w", method, path, err)
		}
	}
	return res.StatusCode, nil
}

// startAgents logs the agents in and makes them available (hub), or
// connects their sockets (relay).
func (w *worker) startAgents(ctx context.Context) error {
	w.agents = make([]*agent, len(w.p.Agents))
	for n, idx := range w.p.Agents {
		w.agents[n] = &agent{idx: idx, login: agentLogin(idx), accepted: map[string]bool{}}
	}
	if w.p.Mode == modeRelay {
		return parallel(ctx, len(w.agents), dialParallel, func(ctx context.Context, n int) error {
			a := w.agents[n]
			ws, err := w.dial(ctx, w.wsURL("/relay/agent?agent="+strconv.Itoa(a.idx)), nil)
			if err != nil {
				return fmt.Errorf("agent %s: %w", a.login, err)
			}
			a.ws = ws
			go w.readAgent(a)
			return nil
		})
	}
	return parallel(ctx, len(w.agents), loginParallel, func(ctx context.Context, n int) error {
		a := w.agents[n]
		var v struct {
			CSRFToken string `json:"csrf_token"`
		}
		if _, err := w.call(ctx, a, http.MethodPost, "/api/v1/auth/login",
			map[string]string{"tenant": w.p.Tenant, "login": a.login, "password": w.p.Password}, &v); err != nil {
			return fmt.Errorf("agent %s: log in: %w", a.login, err)
		}
		if a.cookie == "" {
			return fmt.Errorf("agent %s: log in: no session cookie", a.login)
		}
		a.csrf = v.CSRFToken
		if _, err := w.call(ctx, a, http.MethodPut, w.tenantPath("me/presence"), map[string]string{"presence": "available"}, nil); err != nil {
			return fmt.Errorf("agent %s: presence: %w", a.login, err)
		}
		return nil
	})
}

// takeOffers polls each agent's load and accepts what is offered to it,
// until ctx ends. Agents do not hold sockets meanwhile: the inbox pushes
// every waiting conversation to every agent who could take it, which for
// the initial burst of conversations is agents × conversations frames.
func (w *worker) takeOffers(ctx context.Context) {
	var wg sync.WaitGroup
	for _, a := range w.agents {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := time.NewTimer(rand.N(offerPoll))
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
				}
				w.acceptOffers(ctx, a)
				t.Reset(offerPoll/2 + rand.N(offerPoll))
			}
		}()
	}
	tick := time.NewTicker(assignedReport)
	defer tick.Stop()
	last := int64(-1)
	for {
		select {
		case <-ctx.Done():
			wg.Wait()
			return
		case <-tick.C:
			if n := w.assigned.Load(); n != last {
				last = n
				w.emit(workerEvent{Ev: evAssigned, N: int(n)})
			}
		}
	}
}

func (w *worker) acceptOffers(ctx context.Context, a *agent) {
	var me struct {
		Capacity map[string]struct {
			Load int `json:"load"`
		} `json:"capacity"`
	}
	if _, err := w.call(ctx, a, http.MethodGet, w.tenantPath("me"), nil, &me); err != nil {
		if ctx.Err() == nil {
			w.noteErr("agent %s: %v", a.login, err)
		}
		return
	}
	if me.Capacity["chat"].Load <= len(a.accepted) {
		return
	}
	var list struct {
		Conversations []struct {
			ID string `json:"id"`
		} `json:"conversations"`
	}
	if _, err := w.call(ctx, a, http.MethodGet, w.tenantPath("conversations?view=mine&status=offered"), nil, &list); err != nil {
		if ctx.Err() == nil {
			w.noteErr("agent %s: %v", a.login, err)
		}
		return
	}
	for _, c := range list.Conversations {
		if a.accepted[c.ID] {
			continue
		}
		status, err := w.call(ctx, a, http.MethodPost, w.tenantPath("conversations/"+url.PathEscape(c.ID)+"/accept"), nil, nil)
		switch {
		case err == nil:
			a.accepted[c.ID] = true
			w.assigned.Add(1)
		case status == http.StatusConflict:
			// The offer lapsed meanwhile; routing offers it again.
		case ctx.Err() == nil:
			w.noteErr("agent %s: %v", a.login, err)
		}
	}
}

// openAgentSockets opens each agent's inbox socket with its session cookie.
func (w *worker) openAgentSockets(ctx context.Context) error {
	if w.p.Mode == modeRelay {
		return nil // connected at the start
	}
	return parallel(ctx, len(w.agents), dialParallel, func(ctx context.Context, n int) error {
		a := w.agents[n]
		h := http.Header{}
		h.Set("Cookie", auth.CookieName+"="+a.cookie)
		ws, err := w.dial(ctx, w.wsURL(w.tenantPath("ws")), h)
		if err != nil {
			return fmt.Errorf("agent %s: socket: %w", a.login, err)
		}
		a.ws = ws
		// The hub's first frame names the socket, for the replies.
		_ = ws.SetReadDeadline(time.Now().Add(stepTimeout))
		var hello struct {
			Type     string `json:"type"`
			SocketID string `json:"socket_id"`
		}
		if err := ws.ReadJSON(&hello); err != nil {
			return fmt.Errorf("agent %s: socket: waiting for the hello frame: %w", a.login, err)
		}
		if hello.Type != "hello" || hello.SocketID == "" {
			return fmt.Errorf("agent %s: socket: first frame is %q, not hello with a socket id", a.login, hello.Type)
		}
		_ = ws.SetReadDeadline(time.Time{})
		a.socketID = hello.SocketID
		go w.readAgent(a)
		return nil
	})
}

var dialer = websocket.Dialer{HandshakeTimeout: stepTimeout, ReadBufferSize: 4096, WriteBufferSize: 4096}

func (w *worker) dial(ctx context.Context, u string, h http.Header) (*websocket.Conn, error) {
	ws, res, err := dialer.DialContext(ctx, u, h)
	if err != nil {
		if res != nil {
			raw, _ := io.ReadAll(io.LimitReader(res.Body, 512))
			return nil, fmt.Errorf("dial %s: %w: %d %s", u, err, res.StatusCode, bytes.TrimSpace(raw))
		}
		return nil, fmt.Errorf("dial %s: %w", u, err)
	}
	return ws, nil
}

// agentFrame is what agents read of an inbox (or relay) frame.
type agentFrame struct {
	Type           string `json:"type"`
	ConversationID string `json:"conversation_id"`
	Entry          struct {
		Direction string `json:"direction"`
		Text      string `json:"text"`
	} `json:"entry"`
}

func (w *worker) readAgent(a *agent) {
	for {
		_, data, err := a.ws.ReadMessage()
		now := time.Now().UnixNano()
		if err != nil {
			if !w.stopping.Load() {
				w.mu.Lock()
				w.counts.Disconnects++
				w.mu.Unlock()
				w.noteErr("agent %s: socket closed: %v", a.login, err)
			}
			return
		}
		if bytes.HasPrefix(data, replyAnswerPrefix) {
			w.replyAnswer(a, data)
			continue
		}
		if !bytes.Contains(data, []byte(`"message"`)) {
			continue // conversation summaries and typing
		}
		var f agentFrame
		if json.Unmarshal(data, &f) != nil || f.Type != "message" || f.Entry.Direction != "in" {
			continue
		}
		st, err := parseStamp(f.Entry.Text)
		if err != nil {
			continue // a conversation's first message
		}
		w.mu.Lock()
		if _, dup := w.seenMsg[st.key()]; dup {
			w.counts.Duplicates++
			w.mu.Unlock()
			continue
		}
		w.seenMsg[st.key()] = struct{}{}
		if st.Phase == phaseMeasured {
			w.counts.Received++
			w.c2a = append(w.c2a, now-st.Sent)
			w.c2aSent = append(w.c2aSent, st.Sent)
		}
		w.mu.Unlock()
		a.got++
		if a.got%w.p.ReplyEvery != 0 || w.stopping.Load() {
			continue
		}
		if w.p.ReplyVia == ReplyViaSocket {
			w.replyOnSocket(a, f.ConversationID, st)
		} else {
			select {
			case w.replies <- reply{a: a, conv: f.ConversationID, st: st}:
			default:
				w.mu.Lock()
				w.counts.ReplyErrors++
				w.mu.Unlock()
				w.noteErr("reply queue full")
			}
		}
	}
}

// replyAnswerPrefix starts the hub's (and the relay's) answers to reply
// frames: {"type":"reply_result",…} and {"type":"reply_error",…}.
var replyAnswerPrefix = []byte(`{"type":"reply_`)

// replyOnSocket answers a message with a reply frame on the agent's
// socket, from the socket's read loop (its only writer). The reply's send
// time is taken just before the write; its request id is its client id.
func (w *worker) replyOnSocket(a *agent, conv string, in stamp) {
	st := stamp{Phase: in.Phase, Customer: in.Customer, Seq: in.Seq, Sent: time.Now().UnixNano()}
	id := st.clientID("r")
	b := make([]byte, 0, 160)
	b = append(b, `{"type":"reply","request_id":"`...)
	b = append(b, id...)
	b = append(b, `","conversation_id":`...)
	b = appendJSONString(b, conv)
	b = append(b, `,"client_id":"`...)
	b = append(b, id...)
	b = append(b, `","text":"`...)
	b = append(b, st.text()...)
	b = append(b, `"}`...)
	_ = a.ws.SetWriteDeadline(time.Now().Add(writeTimeout))
	if err := a.ws.WriteMessage(websocket.TextMessage, b); err != nil {
		w.mu.Lock()
		w.counts.ReplyErrors++
		w.mu.Unlock()
		w.noteErr("agent %s: reply frame: %v", a.login, err)
	}
}

// appendJSONString appends s as a JSON string: as is when it needs no
// escaping (the hub's conversation ids), else by encoding/json.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= 0x7f {
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// replyAnswer counts the answer to a reply frame: a reply_result is a
// reply made (its request id, the reply's client id, tells its phase), a
// reply_error a reply error.
func (w *worker) replyAnswer(a *agent, data []byte) {
	const result = `{"type":"reply_result","request_id":"`
	if bytes.HasPrefix(data, []byte(result)) {
		measured := len(data) > len(result)+1 && data[len(result)] == 'r' && data[len(result)+1] == phaseMeasured
		if measured {
			w.mu.Lock()
			w.counts.Replies++
			w.mu.Unlock()
		}
		return
	}
	var e struct {
		Type      string `json:"type"`
		RequestID string `json:"request_id"`
		Status    int    `json:"status"`
		Error     struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(data, &e) != nil || e.Type != "reply_error" {
		return
	}
	w.mu.Lock()
	w.counts.ReplyErrors++
	w.mu.Unlock()
	w.noteErr("agent %s: reply: %d %s: %s", a.login, e.Status, e.Error.Code, e.Error.Message)
}

// sendReplies answers queued messages through the HTTP API until quit is
// closed; a reply under way then still gets its answer, so that the hub is
// not left with requests cancelled half-way.
func (w *worker) sendReplies(ctx context.Context, quit <-chan struct{}) {
	for {
		var r reply
		select {
		case <-quit:
			return
		case <-ctx.Done():
			return
		case r = <-w.replies:
		}
		st := stamp{Phase: r.st.Phase, Customer: r.st.Customer, Seq: r.st.Seq, Sent: time.Now().UnixNano()}
		body := map[string]string{"client_id": st.clientID("r"), "text": st.text()}
		path := w.tenantPath("conversations/" + url.PathEscape(r.conv) + "/messages")
		var hdr http.Header
		if w.p.Mode == modeRelay {
			path = "/relay/conversations/" + url.PathEscape(r.conv) + "/messages"
		} else if r.a.socketID != "" {
			// As the web app: the answer is the reply, the socket need not echo it.
			hdr = http.Header{inbox.SocketHeader: {r.a.socketID}}
		}
		_, err := w.callWith(ctx, r.a, http.MethodPost, path, hdr, body, nil)
		if ctx.Err() != nil {
			return
		}
		w.mu.Lock()
		switch {
		case err != nil:
			w.counts.ReplyErrors++
		case st.Phase == phaseMeasured:
			w.counts.Replies++
		}
		w.mu.Unlock()
		if err != nil {
			w.noteErr("reply: %v", err)
		}
	}
}

// customerFrame is what customers read of a chat (or relay) frame.
type customerFrame struct {
	Type           string `json:"type"`
	ClientID       string `json:"client_id"`
	ConversationID string `json:"conversation_id"`
	From           string `json:"from"`
	Text           string `json:"text"`
	Code           string `json:"code"`
	Message        string `json:"message"`
}

// startCustomers connects the customers; on the hub each says hello and
// sends a first message, which queues its conversation.
func (w *worker) startCustomers(ctx context.Context) error {
	w.customers = make([]*customer, len(w.p.Customers))
	for n, idx := range w.p.Customers {
		w.customers[n] = &customer{idx: idx}
	}
	err := parallel(ctx, len(w.customers), dialParallel, func(ctx context.Context, n int) error {
		c := w.customers[n]
		if w.p.Mode == modeRelay {
			ws, err := w.dial(ctx, w.wsURL("/relay/customer?customer="+strconv.Itoa(c.idx)), nil)
			if err != nil {
				return fmt.Errorf("customer %d: %w", c.idx, err)
			}
			c.ws, c.conv = ws, relayConversation(c.idx)
			w.assigned.Add(1)
			go w.readCustomer(c)
			return nil
		}
		ws, err := w.dial(ctx, w.wsURL("/chat/ws"), nil)
		if err != nil {
			return fmt.Errorf("customer %d: %w", c.idx, err)
		}
		c.ws = ws
		_ = ws.SetReadDeadline(time.Now().Add(stepTimeout))
		first := "q-" + strconv.Itoa(c.idx)
		for _, f := range []map[string]any{
			{"type": "hello", "tenant": w.p.Tenant, "queue": w.p.Queue, "name": "Customer " + strconv.Itoa(c.idx)},
			{"type": "message", "client_id": first, "text": "Hello, I need help (customer " + strconv.Itoa(c.idx) + ")"},
		} {
			if err := ws.WriteJSON(f); err != nil {
				return fmt.Errorf("customer %d: %w", c.idx, err)
			}
		}
		for c.conv == "" {
			var f customerFrame
			if err := ws.ReadJSON(&f); err != nil {
				return fmt.Errorf("customer %d: waiting for the ack of the first message: %w", c.idx, err)
			}
			switch {
			case f.Type == "error":
				return fmt.Errorf("customer %d: %s: %s", c.idx, f.Code, f.Message)
			case f.Type == "ack" && f.ClientID == first:
				c.conv = f.ConversationID
			}
		}
		_ = ws.SetReadDeadline(time.Time{})
		go w.readCustomer(c)
		return nil
	})
	if err == nil && w.p.Mode == modeRelay {
		w.emit(workerEvent{Ev: evAssigned, N: int(w.assigned.Load())})
	}
	return err
}

func (w *worker) readCustomer(c *customer) {
	for {
		_, data, err := c.ws.ReadMessage()
		now := time.Now().UnixNano()
		if err != nil {
			if !w.stopping.Load() {
				w.mu.Lock()
				w.counts.Disconnects++
				w.mu.Unlock()
				w.noteErr("customer %d: socket closed: %v", c.idx, err)
			}
			return
		}
		var f customerFrame
		if err := json.Unmarshal(data, &f); err != nil {
			continue
		}
		switch {
		case f.Type == "ack" && strings.HasPrefix(f.ClientID, string(phaseMeasured)+"-"):
			_, seq, _ := strings.Cut(f.ClientID[2:], "-")
			n, _ := strconv.Atoi(seq)
			key := stamp{Customer: c.idx, Seq: n}.key()
			w.mu.Lock()
			w.counts.Acked++
			if sent, ok := w.pending[key]; ok {
				delete(w.pending, key)
				w.acks = append(w.acks, now-sent)
			}
			w.mu.Unlock()
		case f.Type == "error":
			w.mu.Lock()
			w.counts.ErrorFrames++
			w.mu.Unlock()
			w.noteErr("customer %d: error frame %s: %s", c.idx, f.Code, f.Message)
		case f.Type == "message" && f.From == "agent":
			st, err := parseStamp(f.Text)
			if err != nil {
				continue
			}
			w.mu.Lock()
			if _, dup := w.seenReply[st.key()]; dup {
				w.counts.Duplicates++
			} else {
				w.seenReply[st.key()] = struct{}{}
				if st.Phase == phaseMeasured {
					w.counts.RepliesReceived++
					w.a2c = append(w.a2c, now-st.Sent)
				}
			}
			w.mu.Unlock()
		}
	}
}

// send is one scheduled customer message.
type send struct {
	c  *customer
	st stamp // Sent is filled in just before the write
	at time.Time
}

// measure runs the open-loop schedule from t0: this worker's customers
// send their share of the aggregate rate, evenly spread, whether or not
// earlier messages were answered. Each message carries the wall-clock time
// taken just before its write, so a write held up by the hub's socket
// counts in the latency, while a timer that fires late in this process
// (generator lag, reported apart) does not. It then waits for the drain
// and returns what was measured.
func (w *worker) measure(ctx context.Context, t0 time.Time) (*workerResult, error) {
	quit := make(chan struct{})
	var quitOnce sync.Once
	stopReplies := func() { quitOnce.Do(func() { close(quit) }) }
	defer stopReplies()
	var bg sync.WaitGroup
	if w.p.ReplyVia != ReplyViaSocket {
		for range replyWorkers {
			bg.Add(1)
			go func() { defer bg.Done(); w.sendReplies(ctx, quit) }()
		}
	}
	queue := make(chan send, 1<<16)
	for range senders {
		bg.Add(1)
		go func() { defer bg.Done(); w.sendLoop(queue) }()
	}

	warmEnd := t0.Add(w.p.Warmup)
	end := warmEnd.Add(w.p.Duration)
	var cpu0, cpu1 time.Duration
	bg.Add(1)
	go func() {
		defer bg.Done()
		sleepUntil(ctx, warmEnd)
		cpu0 = procstat.CPU()
		sleepUntil(ctx, end)
		cpu1 = procstat.CPU()
	}()

	if n := len(w.customers); n > 0 && w.p.Rate > 0 {
		local := w.p.Rate * float64(n) / float64(w.p.AllCust)
		interval := time.Duration(float64(time.Second) / local)
		offset := time.Duration(float64(time.Second) * float64(w.p.Worker) / (float64(w.p.Workers) * w.p.Rate))
		for j := 0; ; j++ {
			at := t0.Add(offset + time.Duration(j)*interval)
			if !at.Before(end) || ctx.Err() != nil {
				break
			}
			sleepUntil(ctx, at)
			c := w.customers[j%n]
			ph := byte(phaseMeasured)
			if at.Before(warmEnd) {
				ph = phaseWarm
			}
			c.seq++
			queue <- send{c: c, st: stamp{Phase: ph, Customer: c.idx, Seq: c.seq}, at: at}
		}
	}
	close(queue)
	sleepUntil(ctx, end.Add(w.p.Drain))
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	w.stopping.Store(true)
	stopReplies()
	bg.Wait()

	w.mu.Lock()
	defer w.mu.Unlock()
	res := &workerResult{Counts: w.counts, C2A: w.c2a, C2ASent: w.c2aSent, A2C: w.a2c, Acks: w.acks, CPU: int64(cpu1 - cpu0), Errors: w.errs}
	if len(w.lag) > 0 {
		slices.Sort(w.lag)
		res.LagP99, res.LagMax = benchstat.Percentile(w.lag, 99), w.lag[len(w.lag)-1]
	}
	return res, nil
}

func (w *worker) sendLoop(queue <-chan send) {
	for s := range queue {
		s.c.wmu.Lock()
		now := time.Now()
		s.st.Sent = now.UnixNano()
		if s.st.Phase == phaseMeasured {
			w.mu.Lock()
			w.pending[s.st.key()] = s.st.Sent // before the write: the ack may come first
			w.mu.Unlock()
		}
		frame := `{"type":"message","client_id":"` + s.st.clientID("") + `","text":"` + s.st.text() + `"}`
		_ = s.c.ws.SetWriteDeadline(now.Add(writeTimeout))
		err := s.c.ws.WriteMessage(websocket.TextMessage, []byte(frame))
		s.c.wmu.Unlock()
		lag := int64(now.Sub(s.at))
		w.mu.Lock()
		switch {
		case err != nil:
			w.counts.SendErrors++
			delete(w.pending, s.st.key())
		case s.st.Phase == phaseMeasured:
			w.counts.Sent++
			w.lag = append(w.lag, lag)
		}
		w.mu.Unlock()
		if err != nil {
			w.noteErr("customer %d: send: %v", s.c.idx, err)
		}
	}
}

func sleepUntil(ctx context.Context, t time.Time) {
	d := time.Until(t)
	if d <= 0 {
		return
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
	case <-ctx.Done():
	}
}

// agentLogin is agent i's login.
func agentLogin(i int) string { return "agent" + strconv.Itoa(i) }

// relayConversation is customer k's conversation id on the relay.
func relayConversation(k int) string { return "r" + strconv.Itoa(k) }
