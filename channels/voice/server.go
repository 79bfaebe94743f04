// Package voice is the phone channel: a SIP server (on emiago/sipgo, over
// UDP, TCP and optionally TLS) that answers the hotline numbers, checks the
// number's hours, plays the voice menu (language, then service), queues
// the caller for routing with music on hold, takes voicemail out of hours,
// and registers the agents' SIP phones with digest authentication.
//
// Every fact becomes an event on the bus, in order per conversation:
// call.started is durable before the 200 OK answers the call (the
// channel's "acknowledge after durable"), then call.menu_selected,
// call.queued with conversation.queued (what routing reads, with channel
// "voice"), call.recorded for voicemail, and call.ended, with
// conversation.abandoned when the caller hangs up while queued.
//
// When routing offers a queued call to an agent (conversation.offered on
// the routing log, which the server reads when its bus is also a
// bus.Subscriber), the hub calls the agent's registered phone as a
// back-to-back user agent and bridges the two legs once it answers,
// publishing conversation.assigned and call.answered; a phone that is not
// registered, busy or not answering declines the offer (agent.go).
// While bridged, the call can be held and resumed from the agent's phone
// (re-INVITE) or the inbox (call.hold_requested), see holdctl.go, and
// transferred blind from the inbox or by REFER from the phone once
// routing accepts it, see transfer.go.
//
// Media (RTP, G.711, DTMF, prompts, recording) is package media; one
// goroutine per answered call drives it.
package voice

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
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

// allowed is the Allow header of every response that needs one.
const allowed = "INVITE, ACK, BYE, CANCEL, OPTIONS, UPDATE, REGISTER, REFER"

// Server is the voice channel. Build it with New and serve with Run.
type Server struct {
	cfg     Config
	bus     bus.Publisher
	log     *slog.Logger
	numbers map[string]*number
	reg     *registrar
	prompts *prompts
	ports   *media.Ports
	// waits, spoken and recs serve the queue announcements, the
	// callback offers and the recording retention (announce.go,
	// spoken.go, retention.go); announced counts announcements played.
	waits     *waitTracker
	spoken    *spoken
	recs      *recordings
	announced atomic.Int64

	ua     *sipgo.UserAgent
	srv    *sipgo.Server
	client *sipgo.Client
	// setup holds one token per call between INVITE and ACK.
	setup chan struct{}

	ready   chan struct{}
	mu      sync.Mutex
	addrs   map[string]net.Addr        // network -> bound address
	dialogs map[string]*sipgo.DialogUA // transport (lower case) -> UA with its Contact
	calls   map[string]*call           // by dialog id
	legs    map[string]*agentLeg       // agent legs by Call-ID
	routes  *routingView               // routing's verdicts on transfers
	callCtx context.Context            // ends every call when Run stops
	wg      sync.WaitGroup             // call goroutines
	inSetup sync.WaitGroup             // INVITEs between arrival and ACK
	stopped bool
}

// New validates cfg, loads the prompts and returns a server that listens
// once Run is called. b receives the call and conversation events.
func New(cfg Config, b bus.Publisher, log *slog.Logger) (*Server, error) {
	if b == nil {
		return nil, fmt.Errorf("%w: bus is nil", ErrConfig)
	}
	if log == nil {
		log = slog.Default()
	}
	cfg = cfg.withDefaults()
	numbers, phones, err := cfg.build()
	if err != nil {
		return nil, err
	}
	ps, err := loadPrompts(cfg.PromptsDir, languagesUsed(numbers))
	if err != nil {
		return nil, err
	}
	if err := ensureDir(cfg.RecordingsDir); err != nil {
		return nil, err
	}
	ports, err := media.NewPorts(cfg.RTPIP, cfg.RTPPortMin, cfg.RTPPortMax)
	if err != nil {
		return nil, fmt.Errorf("%w: rtp ports: %w", ErrConfig, err)
	}
	s := &Server{
		cfg: cfg, bus: b, log: log.With("channel", event.ChannelVoice),
		numbers: numbers, reg: newRegistrar(cfg, phones), prompts: ps, ports: ports,
		waits: newWaitTracker(), spoken: newSpoken(cfg.PromptsDir, log.With("channel", event.ChannelVoice)),
		recs:  &recordings{dir: cfg.RecordingsDir},
		setup: make(chan struct{}, cfg.MaxCallsInSetup),
		ready: make(chan struct{}), addrs: make(map[string]net.Addr),
		dialogs: make(map[string]*sipgo.DialogUA), calls: make(map[string]*call), legs: make(map[string]*agentLeg),
	}
	var uaOpts []sipgo.UserAgentOption
	uaOpts = append(uaOpts, sipgo.WithUserAgent("hotline"))
	s.ua, err = sipgo.NewUA(uaOpts...)
	if err != nil {
		return nil, fmt.Errorf("voice: sip user agent: %w", err)
	}
	s.srv, err = sipgo.NewServer(s.ua, sipgo.WithServerLogger(s.log))
	if err != nil {
		return nil, fmt.Errorf("voice: sip server: %w", err)
	}
	s.client, err = sipgo.NewClient(s.ua, sipgo.WithClientLogger(s.log))
	if err != nil {
		return nil, fmt.Errorf("voice: sip client: %w", err)
	}
	tenants := map[string]bool{}
	for _, n := range numbers {
		tenants[n.cfg.Tenant] = true
	}
	if s.routes, err = newRoutingView(tenants, cfg.Routing); err != nil {
		return nil, err
	}
	for _, m := range []sip.RequestMethod{sip.INVITE, sip.ACK, sip.BYE, sip.CANCEL, sip.OPTIONS, sip.UPDATE, sip.REGISTER, sip.REFER} {
		s.srv.OnRequest(m, s.handle)
	}
	s.srv.OnNoRoute(s.handle)
	return s, nil
}

// Ready is closed once Run listens on every configured address.
func (s *Server) Ready() <-chan struct{} { return s.ready }

// Addr returns the address bound for network ("udp", "tcp" or "tls"),
// or nil before Ready or for a listener that is off.
func (s *Server) Addr(network string) net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addrs[network]
}

// Contacts returns the live registrations of an agent's phones, for
// calling the agent; empty when the phone is not registered.
func (s *Server) Contacts(tenant, agentID string) []Binding { return s.reg.lookup(tenant, agentID) }

// MediaStats returns the RTP counters of every call since New, summed
// over the open and the closed media sessions (for load tests and metrics).
func (s *Server) MediaStats() media.Stats { return s.ports.Stats() }

// Run listens on the configured addresses and serves until ctx ends; then
// it hangs up the calls in progress (each publishes its call.ended) and
// returns once they are done.
func (s *Server) Run(ctx context.Context) error {
	callCtx, endCalls := context.WithCancel(context.WithoutCancel(ctx))
	defer endCalls()
	var closers []func() error
	closeAll := func() {
		for _, c := range closers {
			c()
		}
	}
	type serve struct {
		network string
		fn      func() error
	}
	var serves []serve
	if s.cfg.UDPAddr != "off" {
		pc, err := net.ListenPacket("udp", s.cfg.UDPAddr)
		if err != nil {
			closeAll()
			return fmt.Errorf("voice: listen udp %s: %w", s.cfg.UDPAddr, err)
		}
		closers = append(closers, pc.Close)
		s.bound("udp", pc.LocalAddr())
		serves = append(serves, serve{"udp", func() error { return s.srv.ServeUDP(pc) }})
	}
	if s.cfg.TCPAddr != "off" {
		l, err := net.Listen("tcp", s.cfg.TCPAddr)
		if err != nil {
			closeAll()
			return fmt.Errorf("voice: listen tcp %s: %w", s.cfg.TCPAddr, err)
		}
		closers = append(closers, l.Close)
		s.bound("tcp", l.Addr())
		serves = append(serves, serve{"tcp", func() error { return s.srv.ServeTCP(l) }})
	}
	if s.cfg.TLS.Addr != "" {
		cert, err := tls.LoadX509KeyPair(s.cfg.TLS.CertFile, s.cfg.TLS.KeyFile)
		if err != nil {
			closeAll()
			return fmt.Errorf("voice: tls certificate: %w", err)
		}
		l, err := tls.Listen("tcp", s.cfg.TLS.Addr, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
		if err != nil {
			closeAll()
			return fmt.Errorf("voice: listen tls %s: %w", s.cfg.TLS.Addr, err)
		}
		closers = append(closers, l.Close)
		s.bound("tls", l.Addr())
		serves = append(serves, serve{"tls", func() error { return s.srv.ServeTLS(l) }})
	}
	s.mu.Lock()
	s.callCtx = callCtx
	s.mu.Unlock()
	if sub, ok := s.bus.(bus.Subscriber); ok {
		if err := s.followOffers(callCtx, sub); err != nil {
			closeAll()
			return err
		}
		if err := s.followControl(callCtx, sub); err != nil {
			closeAll()
			return err
		}
		if err := s.followQueues(callCtx, sub); err != nil {
			closeAll()
			return err
		}
	}
	s.startJanitor(callCtx)
	close(s.ready)
	s.log.Info("voice channel listening", "udp", s.Addr("udp"), "tcp", s.Addr("tcp"), "tls", s.Addr("tls"))

	errs := make(chan error, len(serves))
	var lwg sync.WaitGroup
	for _, sv := range serves {
		lwg.Add(1)
		go func() {
			defer lwg.Done()
			if err := sv.fn(); err != nil && ctx.Err() == nil {
				errs <- fmt.Errorf("voice: serve %s: %w", sv.network, err)
			}
		}()
	}
	sweep := time.NewTicker(time.Minute)
	defer sweep.Stop()
	var first error
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case first = <-errs:
			break loop
		case <-sweep.C:
			s.reg.sweep()
		}
	}
	s.mu.Lock()
	s.stopped = true
	s.mu.Unlock()
	endCalls()
	// An INVITE in setup finishes (answered then hung up, or refused)
	// before the calls are waited for; it starts no call once stopped.
	s.inSetup.Wait()
	s.wg.Wait()
	closeAll()
	s.ua.Close()
	lwg.Wait()
	return first
}

func (s *Server) bound(network string, a net.Addr) {
	host := s.cfg.Host
	h, p, _ := net.SplitHostPort(a.String())
	if host == "" {
		host = h
	}
	port, _ := strconv.Atoi(p)
	contact := sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: "hotline", Host: host, Port: port}}
	if network != "udp" {
		contact.Address.UriParams = sip.NewParams()
		contact.Address.UriParams.Add("transport", network)
		if network == "tls" {
			contact.Address.Scheme = "sips"
			contact.Address.UriParams = sip.NewParams()
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.addrs[network] = a
	s.dialogs[network] = &sipgo.DialogUA{Client: s.client, ContactHDR: contact, RewriteContact: true}
}

// respond sends res on tx, logging a failure (the peer retransmits or
// gives up; nothing else can be done).
func respond(tx sip.ServerTransaction, res *sip.Response) {
	if err := tx.Respond(res); err != nil {
		slog.Debug("voice: respond failed", "status", res.StatusCode, "err", err)
	}
}

// reply answers req with a status and optional headers.
func reply(tx sip.ServerTransaction, req *sip.Request, code int, reason string, hdrs ...sip.Header) {
	res := sip.NewResponseFromRequest(req, code, reason, nil)
	for _, h := range hdrs {
		res.AppendHeader(h)
	}
	respond(tx, res)
}

// checkRequest returns why req is malformed for this server, or "".
// sipgo's transaction layer already refuses requests without Via or CSeq
// (stateless 400) and its parser drops what is not SIP at all.
func checkRequest(req *sip.Request) string {
	switch {
	case req.Via() == nil:
		return "missing Via"
	case req.From() == nil:
		return "missing From"
	case req.To() == nil:
		return "missing To"
	case req.CallID() == nil || strings.TrimSpace(req.CallID().Value()) == "":
		return "missing Call-ID"
	case req.CSeq() == nil:
		return "missing CSeq"
	case req.CSeq().MethodName != req.Method:
		return "CSeq method differs from the request method"
	}
	switch strings.ToLower(req.Recipient.Scheme) {
	case "sip", "sips", "tel":
	default:
		return "Request-URI is not sip:, sips: or tel:"
	}
	if mf := req.MaxForwards(); mf != nil && mf.Val() == 0 && req.Method != sip.ACK {
		return "max-forwards"
	}
	return ""
}

// handle is the entry point of every request sipgo's transaction layer
// passes up; it never panics on anything the parser accepted.
func (s *Server) handle(req *sip.Request, tx sip.ServerTransaction) {
	if why := checkRequest(req); why != "" {
		if req.Method == sip.ACK {
			return // an ACK is never answered
		}
		if why == "max-forwards" {
			reply(tx, req, sip.StatusTooManyHops, "Too Many Hops")
			return
		}
		s.log.Debug("malformed SIP request", "method", req.Method, "problem", why, "source", req.Source())
		reply(tx, req, sip.StatusBadRequest, "Bad Request ("+why+")")
		return
	}
	switch req.Method {
	case sip.INVITE:
		if _, tagged := req.To().Params.Get("tag"); tagged {
			s.handleReinvite(req, tx)
			return
		}
		s.handleInvite(req, tx)
	case sip.ACK:
		if c := s.findCall(req); c != nil {
			select {
			case c.ack <- req.Body(): // a late offer's answer (lateAnswer)
			default:
			}
			if err := c.dlg.ReadAck(req, tx); err != nil {
				s.log.Debug("ACK not matching the dialog", "call_id", c.callID, "err", err)
			}
		}
	case sip.BYE:
		c := s.findCall(req)
		if c == nil && s.agentBye(req, tx) {
			return
		}
		if c == nil {
			reply(tx, req, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist")
			return
		}
		c.byCaller.Store(true)
		if err := c.dlg.ReadBye(req, tx); err != nil {
			reply(tx, req, sip.StatusBadRequest, "Bad Request (BYE "+err.Error()+")")
		}
	case sip.CANCEL:
		// A CANCEL matching an INVITE in progress never gets here: the
		// transaction layer answers it and ends the INVITE with 487.
		reply(tx, req, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist")
	case sip.UPDATE:
		s.handleUpdate(req, tx)
	case sip.REFER:
		s.handleRefer(req, tx)
	case sip.OPTIONS:
		res := sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil)
		res.AppendHeader(sip.NewHeader("Allow", allowed))
		res.AppendHeader(sip.NewHeader("Accept", "application/sdp"))
		res.AppendHeader(sip.NewHeader("Supported", "timer"))
		respond(tx, res)
	case sip.REGISTER:
		s.reg.handleRegister(req, tx)
	default:
		reply(tx, req, sip.StatusMethodNotAllowed, "Method Not Allowed", sip.NewHeader("Allow", allowed))
	}
}

// findCall returns the call of an in-dialog request, or nil.
func (s *Server) findCall(req *sip.Request) *call {
	id, err := sip.DialogIDFromRequestUAS(req)
	if err != nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[id]
}

// lookupNumber returns the number dialed by req: the Request-URI's user,
// else the To user.
func (s *Server) lookupNumber(req *sip.Request) (*number, string) {
	for _, u := range []string{req.Recipient.User, req.To().Address.User} {
		if u == "" {
			continue
		}
		if n := s.numbers[normalizeNumber(u)]; n != nil {
			return n, u
		}
	}
	return nil, ""
}

// sessionTimer is the RFC 4028 session timer a call runs with.
type sessionTimer struct {
	interval time.Duration // 0: no timer
}

// readSessionExpires parses Session-Expires ("1800;refresher=uac").
func readSessionExpires(req *sip.Request) (time.Duration, bool, error) {
	h := req.GetHeader("Session-Expires")
	if h == nil {
		h = req.GetHeader("x")
		if h == nil {
			return 0, false, nil
		}
	}
	v, _, _ := strings.Cut(h.Value(), ";")
	n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 32)
	if err != nil || n == 0 {
		return 0, true, fmt.Errorf("Session-Expires %q", h.Value())
	}
	return time.Duration(n) * time.Second, true, nil
}

// supports reports whether req lists option tag in Supported or Require.
func supports(req *sip.Request, tag string) bool {
	for _, name := range []string{"Supported", "k", "Require"} {
		for _, h := range req.GetHeaders(name) {
			for _, t := range strings.Split(h.Value(), ",") {
				if strings.EqualFold(strings.TrimSpace(t), tag) {
					return true
				}
			}
		}
	}
	return false
}

// negotiateTimer checks req's Session-Expires against MinSE. It answers
// the request itself (400, 422) and returns ok=false when it cannot go on.
// The hub never refreshes: when the caller supports timers it is the
// refresher (refresher=uac); when it does not, no timer runs.
func (s *Server) negotiateTimer(req *sip.Request, tx sip.ServerTransaction) (sessionTimer, bool) {
	se, present, err := readSessionExpires(req)
	if err != nil {
		reply(tx, req, sip.StatusBadRequest, "Bad Request ("+err.Error()+")")
		return sessionTimer{}, false
	}
	if !present {
		return sessionTimer{}, true
	}
	if se < s.cfg.MinSE {
		reply(tx, req, 422, "Session Interval Too Small",
			sip.NewHeader("Min-SE", strconv.Itoa(int(s.cfg.MinSE/time.Second))))
		return sessionTimer{}, false
	}
	if !supports(req, "timer") {
		return sessionTimer{}, true
	}
	return sessionTimer{interval: se}, true
}

func (t sessionTimer) headers() []sip.Header {
	if t.interval == 0 {
		return nil
	}
	return []sip.Header{
		sip.NewHeader("Session-Expires", strconv.Itoa(int(t.interval/time.Second))+";refresher=uac"),
		sip.NewHeader("Require", "timer"),
	}
}

// readOffer validates the SDP body of req. It answers the request itself
// (400, 415, 488) and returns nil when there is no usable offer.
func readOffer(req *sip.Request, tx sip.ServerTransaction) *offer {
	body := req.Body()
	if len(body) == 0 {
		// Callers call it with a body only: an offerless INVITE is a late
		// offer (handleInvite), an offerless re-INVITE gets the same media.
		reply(tx, req, sip.StatusNotAcceptableHere, "Not Acceptable Here",
			sip.NewHeader("Warning", `399 hotline "an SDP offer is required"`))
		return nil
	}
	if ct := req.ContentType(); ct == nil || !strings.EqualFold(strings.TrimSpace(strings.Split(ct.Value(), ";")[0]), "application/sdp") {
		reply(tx, req, sip.StatusUnsupportedMediaType, "Unsupported Media Type", sip.NewHeader("Accept", "application/sdp"))
		return nil
	}
	o, err := parseOffer(body)
	switch {
	case errors.Is(err, errNoCodec):
		reply(tx, req, sip.StatusNotAcceptableHere, "Not Acceptable Here",
			sip.NewHeader("Warning", `305 hotline "only PCMU and PCMA audio are supported"`))
		return nil
	case err != nil:
		reply(tx, req, sip.StatusBadRequest, "Bad Request ("+strings.ReplaceAll(err.Error(), "\r\n", " ")+")")
		return nil
	}
	return o
}

// handleInvite answers a new call: checks, 100 Trying, an RTP port,
// call.started made durable, then 200 OK with the SDP answer. It returns
// once the caller's ACK arrived, and the call goes on in its goroutine.
func (s *Server) handleInvite(req *sip.Request, tx sip.ServerTransaction) {
	num, dialed := s.lookupNumber(req)
	if num == nil {
		reply(tx, req, sip.StatusNotFound, "Not Found")
		return
	}
	if req.Contact() == nil {
		reply(tx, req, sip.StatusBadRequest, "Bad Request (INVITE without Contact)")
		return
	}
	if _, ok := req.From().Params.Get("tag"); !ok {
		reply(tx, req, sip.StatusBadRequest, "Bad Request (From without tag)")
		return
	}
	// o stays nil for a late offer (no SDP in the INVITE): the hub offers
	// in its 200 OK and the caller answers in the ACK.
	var o *offer
	if len(req.Body()) > 0 {
		if o = readOffer(req, tx); o == nil {
			return
		}
	}
	timer, ok := s.negotiateTimer(req, tx)
	if !ok {
		return
	}
	select {
	case s.setup <- struct{}{}:
	default:
		reply(tx, req, sip.StatusServiceUnavailable, "Service Unavailable",
			sip.NewHeader("Retry-After", strconv.Itoa(max(1, int(s.cfg.RetryAfter/time.Second)))))
		return
	}
	inSetup := true
	defer func() {
		if inSetup {
			<-s.setup
		}
	}()
	s.mu.Lock()
	dua := s.dialogs[strings.ToLower(req.Transport())]
	callCtx, stopped := s.callCtx, s.stopped
	if dua != nil && !stopped {
		s.inSetup.Add(1)
	}
	s.mu.Unlock()
	if dua == nil || stopped {
		reply(tx, req, sip.StatusServiceUnavailable, "Service Unavailable")
		return
	}
	defer s.inSetup.Done()
	reply(tx, req, sip.StatusTrying, "Trying")
	dlg, err := dua.ReadInvite(req, tx)
	if err != nil {
		reply(tx, req, sip.StatusBadRequest, "Bad Request ("+err.Error()+")")
		return
	}
	c := newCall(s, num, dialed, req, dlg, o, timer)
	log := s.log.With("tenant", num.cfg.Tenant, "conversation_id", c.convID, "call_id", c.callID)
	c.log = log
	s.mu.Lock()
	s.calls[dlg.ID] = c
	s.mu.Unlock()
	forget := true
	defer func() {
		if forget {
			s.forget(c)
		}
	}()
	fail := func(code int, reason string, err error) {
		log.Warn("call refused", "status", code, "err", err)
		if err := dlg.Respond(code, reason, nil); err != nil {
			log.Debug("refusal not sent", "err", err)
		}
	}
	sess, err := s.ports.Listen()
	if err != nil {
		fail(sip.StatusServiceUnavailable, "Service Unavailable", fmt.Errorf("rtp port: %w", err))
		return
	}
	s.mu.Lock()
	c.sess = sess
	s.mu.Unlock()
	mc := media.PCMU
	if o != nil && o.codec.name == "PCMA" {
		mc = media.PCMA
	}
	c.codec = mc
	if o == nil {
		c.answer, err = agentOffer(sess.LocalAddr(), mc, c.sdpSession, 1, dirSendRecv)
	} else if err = sess.Start(o.remote, mc, o.dtmfPT); err != nil {
		sess.Close()
		fail(sip.StatusInternalServerError, "Server Internal Error", fmt.Errorf("rtp start: %w", err))
		return
	} else {
		c.answer, err = answer(o, sess.LocalAddr(), c.sdpSession, 1)
	}
	if err != nil {
		sess.Close()
		fail(sip.StatusInternalServerError, "Server Internal Error", err)
		return
	}
	// Not the dialog's context: a CANCEL during the publish must not
	// leave a call.started that may be stored without its call.ended.
	if err := c.publish(context.Background(), c.startedEvent()); err != nil {
		sess.Close()
		if dlg.Context().Err() == nil {
			fail(sip.StatusServiceUnavailable, "Service Unavailable", err)
		}
		// The publish may have stored call.started anyway; call.ended
		// (same conversation, deterministic ids) closes it if so.
		c.publishEnd(event.EndFailed)
		return
	}
	if dlg.Context().Err() != nil {
		// CANCEL arrived after call.started became durable.
		sess.Close()
		c.publishEnd(event.EndAbandoned)
		return
	}
	res := sip.NewSDPResponseFromRequest(dlg.InviteRequest, c.answer)
	for _, h := range timer.headers() {
		res.AppendHeader(h)
	}
	res.AppendHeader(sip.NewHeader("Allow", allowed))
	if err := dlg.WriteResponse(res); err != nil {
		log.Info("call not established", "err", err)
		sess.Close()
		reason := event.EndFailed
		if dlg.Context().Err() != nil {
			reason = event.EndAbandoned
		}
		c.publishEnd(reason)
		return
	}
	if o == nil && !c.lateAnswer(sess) {
		sess.Close()
		c.hangup()
		c.publishEnd(event.EndFailed)
		return
	}
	<-s.setup
	inSetup = false
	s.mu.Lock()
	if s.stopped {
		// Run is stopping and waits only for the calls it knows.
		s.mu.Unlock()
		sess.Close()
		c.hangup()
		c.publishEnd(event.EndFailed)
		return
	}
	s.wg.Add(1)
	s.mu.Unlock()
	forget = false
	go func() {
		defer s.wg.Done()
		defer s.forget(c)
		c.run(callCtx)
	}()
}

// contactFor is the hub's Contact for responses on req's transport.
func (s *Server) contactFor(req *sip.Request) *sip.ContactHeader {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d := s.dialogs[strings.ToLower(req.Transport())]; d != nil {
		return d.ContactHDR.Clone()
	}
	return &sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: "hotline", Host: "127.0.0.1"}}
}

func (s *Server) forget(c *call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.calls[c.dlg.ID] == c {
		delete(s.calls, c.dlg.ID)
	}
}

// handleReinvite answers an in-dialog INVITE (a session refresh or a new
// offer from the caller) with the same media: same port, same codec.
func (s *Server) handleReinvite(req *sip.Request, tx sip.ServerTransaction) {
	c := s.findCall(req)
	if c == nil && s.legReinvite(req, tx) {
		return
	}
	if c == nil {
		reply(tx, req, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist")
		return
	}
	if err := c.dlg.ReadRequest(req, tx); err != nil {
		reply(tx, req, sip.StatusInternalServerError, "Server Internal Error (CSeq out of order)", sip.NewHeader("Retry-After", "1"))
		return
	}
	c.reoffer(req, tx, true)
}

// handleUpdate answers UPDATE (RFC 3311): a session refresh, with or
// without a new offer.
func (s *Server) handleUpdate(req *sip.Request, tx sip.ServerTransaction) {
	c := s.findCall(req)
	if c == nil {
		reply(tx, req, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist")
		return
	}
	c.reoffer(req, tx, false)
}

// derivedID is a deterministic id from its inputs, so publishing an event
// again gives it the same id and consumers drop the duplicate.
func derivedID(kind string, parts ...string) string {
	h := sha256.New()
	h.Write([]byte(kind))
	for _, p := range parts {
		h.Write([]byte{0})
		h.Write([]byte(p))
	}
	return "voice-" + kind + "-" + hex.EncodeToString(h.Sum(nil)[:16])
}
