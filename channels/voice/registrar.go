package voice

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"
)

// Binding is one registered contact of an agent's phone.
type Binding struct {
	Tenant, AgentID, User string
	// Contact is the phone's Contact URI, where the hub sends INVITEs.
	Contact sip.Uri
	// Transport is the transport the REGISTER came over ("UDP", "TCP", ...)
	// and Source its source address, for phones behind NAT.
	Transport, Source string
	Expires           time.Time
}

// registrar authenticates REGISTERs (RFC 3261 §10, digest MD5 per RFC
// 2617/7616) and keeps the bindings in memory: phones register again at
// least every MaxExpires, so a restart is healed by their next REGISTER.
type registrar struct {
	phones   map[string]*phone // by user
	realm    string
	nonceKey []byte
	nonceTTL time.Duration
	defExp   time.Duration
	minExp   time.Duration
	maxExp   time.Duration
	now      func() time.Time

	mu       sync.Mutex
	bindings map[string]map[string]*Binding // tenant/agent -> contact uri -> binding
}

func newRegistrar(cfg Config, phones map[string]*phone) *registrar {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return &registrar{phones: phones, realm: cfg.Realm, nonceKey: key, nonceTTL: cfg.NonceTTL,
		defExp: cfg.DefaultExpires, minExp: cfg.MinExpires, maxExp: cfg.MaxExpires, now: cfg.Now,
		bindings: make(map[string]map[string]*Binding)}
}

// nonce is a stateless challenge: issue time and random bytes, signed, so
// any nonce the hub did not issue or that is older than nonceTTL fails.
func (r *registrar) nonce() string {
	b := make([]byte, 8+8+16)
	binary.BigEndian.PutUint64(b, uint64(r.now().UnixNano()))
	if _, err := rand.Read(b[8:16]); err != nil {
		panic(err)
	}
	m := hmac.New(sha256.New, r.nonceKey)
	m.Write(b[:16])
	copy(b[16:], m.Sum(nil))
	return base64.RawURLEncoding.EncodeToString(b)
}

// checkNonce reports whether n is the hub's, and whether it is still fresh.
func (r *registrar) checkNonce(n string) (ours, fresh bool) {
	b, err := base64.RawURLEncoding.DecodeString(n)
	if err != nil || len(b) != 32 {
		return false, false
	}
	m := hmac.New(sha256.New, r.nonceKey)
	m.Write(b[:16])
	if !hmac.Equal(m.Sum(nil)[:16], b[16:]) {
		return false, false
	}
	issued := time.Unix(0, int64(binary.BigEndian.Uint64(b)))
	age := r.now().Sub(issued)
	return true, age >= -time.Second && age <= r.nonceTTL
}

func (r *registrar) challenge(req *sip.Request, tx sip.ServerTransaction, stale bool) {
	ch := digest.Challenge{Realm: r.realm, Nonce: r.nonce(), Algorithm: "MD5", QOP: []string{"auth"}, Stale: stale}
	res := sip.NewResponseFromRequest(req, sip.StatusUnauthorized, "Unauthorized", nil)
	res.AppendHeader(sip.NewHeader("WWW-Authenticate", ch.String()))
	respond(tx, res)
}

// authenticate checks req's digest credentials. It answers the request
// itself (401 or 403) and returns nil when they do not hold.
//
// No credentials, a nonce the hub did not issue or an expired one get a
// fresh 401 challenge (stale=true for an expired nonce of ours, so the
// phone retries without asking its user). Credentials that are wrong (an
// unknown user, a bad response, a realm or uri that do not match) get 403:
// answering 401 again would let a phone with a wrong password loop.
func (r *registrar) authenticate(req *sip.Request, tx sip.ServerTransaction) *phone {
	h := req.GetHeader("Authorization")
	if h == nil {
		r.challenge(req, tx, false)
		return nil
	}
	cr, err := digest.ParseCredentials(h.Value())
	if err != nil || !strings.HasPrefix(strings.TrimSpace(h.Value()), "Digest") {
		respond(tx, sip.NewResponseFromRequest(req, sip.StatusBadRequest, "Bad Request (Authorization is not Digest)", nil))
		return nil
	}
	ours, fresh := r.checkNonce(cr.Nonce)
	if !ours || !fresh {
		r.challenge(req, tx, ours)
		return nil
	}
	ph := r.phones[cr.Username]
	if ph == nil || cr.Realm != r.realm || (cr.Algorithm != "" && !strings.EqualFold(cr.Algorithm, "MD5")) ||
		!hmac.Equal([]byte(strings.ToLower(cr.Response)), []byte(digestResponse(ph.ha1, string(req.Method), cr))) {
		respond(tx, sip.NewResponseFromRequest(req, sip.StatusForbidden, "Forbidden", nil))
		return nil
	}
	return ph
}

// digestResponse computes the RFC 2617 request-digest for credentials cr.
func digestResponse(ha1, method string, cr *digest.Credentials) string {
	ha2 := md5hex(method + ":" + cr.URI)
	if cr.QOP == "" {
		return md5hex(ha1 + ":" + cr.Nonce + ":" + ha2)
	}
	return md5hex(ha1 + ":" + cr.Nonce + ":" + fmt.Sprintf("%08x", cr.Nc) + ":" + cr.Cnonce + ":" + cr.QOP + ":" + ha2)
}

// handleRegister serves one REGISTER.
func (r *registrar) handleRegister(req *sip.Request, tx sip.ServerTransaction) {
	to := req.To()
	if to == nil || to.Address.User == "" {
		respond(tx, sip.NewResponseFromRequest(req, sip.StatusBadRequest, "Bad Request (To has no user)", nil))
		return
	}
	ph := r.authenticate(req, tx)
	if ph == nil {
		return
	}
	if to.Address.User != ph.cfg.User {
		// One phone may only register its own address of record.
		respond(tx, sip.NewResponseFromRequest(req, sip.StatusForbidden, "Forbidden (To is not the authenticated user)", nil))
		return
	}
	defExp := r.defExp
	if h := req.GetHeader("Expires"); h != nil {
		n, err := strconv.ParseUint(strings.TrimSpace(h.Value()), 10, 32)
		if err != nil {
			respond(tx, sip.NewResponseFromRequest(req, sip.StatusBadRequest, "Bad Request (Expires)", nil))
			return
		}
		defExp = time.Duration(n) * time.Second
	}
	type change struct {
		uri     sip.Uri
		expires time.Duration
	}
	var changes []change
	star := false
	for _, h := range req.GetHeaders("Contact") {
		c, ok := h.(*sip.ContactHeader)
		if !ok {
			respond(tx, sip.NewResponseFromRequest(req, sip.StatusBadRequest, "Bad Request (Contact)", nil))
			return
		}
		if c.Address.Wildcard {
			star = true
			continue
		}
		exp := defExp
		if v, ok := c.Params.Get("expires"); ok {
			n, err := strconv.ParseUint(v, 10, 32)
			if err != nil {
				respond(tx, sip.NewResponseFromRequest(req, sip.StatusBadRequest, "Bad Request (Contact expires)", nil))
				return
			}
			exp = time.Duration(n) * time.Second
		}
		changes = append(changes, change{uri: c.Address, expires: exp})
	}
	if star && (len(changes) > 0 || defExp != 0) {
		respond(tx, sip.NewResponseFromRequest(req, sip.StatusBadRequest, "Bad Request (Contact: * needs Expires: 0 and no other contact)", nil))
		return
	}
	for _, c := range changes {
		if c.expires > 0 && c.expires < r.minExp {
			res := sip.NewResponseFromRequest(req, sip.StatusIntervalToBrief, "Interval Too Brief", nil)
			res.AppendHeader(sip.NewHeader("Min-Expires", strconv.Itoa(int(r.minExp/time.Second))))
			respond(tx, res)
			return
		}
	}
	key := ph.cfg.Tenant + "/" + ph.cfg.AgentID
	now := r.now()
	r.mu.Lock()
	bs := r.bindings[key]
	if bs == nil {
		bs = make(map[string]*Binding)
		r.bindings[key] = bs
	}
	if star {
		clear(bs)
	}
	for _, c := range changes {
		k := c.uri.String()
		if c.expires == 0 {
			delete(bs, k)
			continue
		}
		bs[k] = &Binding{Tenant: ph.cfg.Tenant, AgentID: ph.cfg.AgentID, User: ph.cfg.User, Contact: c.uri,
			Transport: req.Transport(), Source: req.Source(), Expires: now.Add(min(c.expires, r.maxExp))}
	}
	current := r.liveLocked(key, now)
	r.mu.Unlock()

	res := sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil)
	for _, b := range current {
		ch := &sip.ContactHeader{Address: b.Contact, Params: sip.NewParams()}
		ch.Params.Add("expires", strconv.Itoa(int(b.Expires.Sub(now).Round(time.Second)/time.Second)))
		res.AppendHeader(ch)
	}
	res.AppendHeader(sip.NewHeader("Date", now.UTC().Format(time.RFC1123)))
	respond(tx, res)
}

// liveLocked returns key's unexpired bindings, dropping the expired. r.mu
// is held.
func (r *registrar) liveLocked(key string, now time.Time) []Binding {
	bs := r.bindings[key]
	out := make([]Binding, 0, len(bs))
	for k, b := range bs {
		if !b.Expires.After(now) {
			delete(bs, k)
			continue
		}
		out = append(out, *b)
	}
	if len(bs) == 0 {
		delete(r.bindings, key)
	}
	slices.SortFunc(out, func(a, b Binding) int { return strings.Compare(a.Contact.String(), b.Contact.String()) })
	return out
}

// lookup returns the agent's live bindings.
func (r *registrar) lookup(tenant, agentID string) []Binding {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.liveLocked(tenant+"/"+agentID, r.now())
}

// sweep drops every expired binding.
func (r *registrar) sweep() {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	for k := range r.bindings {
		r.liveLocked(k, now)
	}
}
