// Package auth is who may use the web UI: tenants, agent accounts, password
// logins, sessions, CSRF protection and role checks, all kept as facts on
// the bus topic hotline.accounts and folded into memory by every web
// instance (see Store). Other webui packages mount their handlers behind
// Auth.Authenticate and Require, and read the caller with PrincipalFrom.
package auth

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/hotline-hub/hotline/bus"
	"github.com/hotline-hub/hotline/bus/event"
)

// Sentinel errors that callers test with errors.Is.
var (
	// ErrInvalidCredentials: unknown login, wrong password, no password set
	// or disabled account; deliberately one error so that a login attempt
	// learns nothing about which accounts exist.
	ErrInvalidCredentials = errors.New("invalid login or password")
	// ErrLocked: the password was right but the account is locked after too
	// many failures.
	ErrLocked = errors.New("account locked after too many failed logins")
	// ErrRateLimited: too many login attempts from one address.
	ErrRateLimited = errors.New("too many login attempts, try again later")
	// ErrWeakPassword: a new password breaks the password policy.
	ErrWeakPassword = errors.New("password rejected")
	// ErrBadHash: a stored password hash is not a readable argon2id PHC string.
	ErrBadHash = errors.New("auth: malformed password hash")
	// ErrNotFound: no such tenant, account or session.
	ErrNotFound = errors.New("not found")
	// ErrConflict: the fact contradicts the state (a taken login, an
	// existing tenant), possibly because a concurrent writer came first.
	ErrConflict = errors.New("conflict")
	// ErrUnauthenticated: no valid session.
	ErrUnauthenticated = errors.New("not logged in")
	// ErrStopped: the store's Run has returned, so nothing more is applied.
	ErrStopped = errors.New("auth: store stopped")
)

// Source is the CloudEvents source of the facts auth publishes.
const Source = "/webui/auth"

// CookieName is the session cookie.
const CookieName = "hotline_session"

// Config configures Auth. Zero values take the defaults given.
type Config struct {
	// DefaultTenant is the tenant a login without one goes to, and the one
	// EnsureBootstrap creates. Default "demo".
	DefaultTenant string
	// SessionIdle ends a session after this long without a request.
	// Default 2h. Idle time is tracked per web instance, in memory.
	SessionIdle time.Duration
	// SessionLifetime ends a session this long after login, whatever its
	// use. Default 12h: one long shift.
	SessionLifetime time.Duration
	// SecureCookies marks the cookie Secure even on plain HTTP requests, for
	// deployments behind a TLS-terminating proxy. Requests that came over
	// TLS always get Secure cookies.
	SecureCookies bool
	// LockoutThreshold failed logins within LockoutWindow lock the account
	// for LockoutDuration. Defaults 5, 15m, 15m.
	LockoutThreshold int
	LockoutWindow    time.Duration
	LockoutDuration  time.Duration
	// LoginRatePerMinute and LoginBurst bound login attempts per client IP
	// (a token bucket). Defaults 10 and 10.
	LoginRatePerMinute int
	LoginBurst         int
	// Hash is the argon2id cost for new hashes. Default DefaultHashParams.
	Hash HashParams
	// MaxBodyBytes bounds JSON request bodies. Default 64 KiB.
	MaxBodyBytes int64
	// ReaderID names this instance in its catch-up markers. Default
	// host/pid.
	ReaderID string
}

func (c Config) withDefaults() Config {
	if c.DefaultTenant == "" {
		c.DefaultTenant = "demo"
	}
	if c.SessionIdle == 0 {
		c.SessionIdle = 2 * time.Hour
	}
	if c.SessionLifetime == 0 {
		c.SessionLifetime = 12 * time.Hour
	}
	if c.LockoutThreshold == 0 {
		c.LockoutThreshold = 5
	}
	if c.LockoutWindow == 0 {
		c.LockoutWindow = 15 * time.Minute
	}
	if c.LockoutDuration == 0 {
		c.LockoutDuration = 15 * time.Minute
	}
	if c.LoginRatePerMinute == 0 {
		c.LoginRatePerMinute = 10
	}
	if c.LoginBurst == 0 {
		c.LoginBurst = 10
	}
	if c.Hash == (HashParams{}) {
		c.Hash = DefaultHashParams
	}
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = 64 << 10
	}
	if c.ReaderID == "" {
		host, _ := os.Hostname()
		c.ReaderID = fmt.Sprintf("%s/%d", host, os.Getpid())
	}
	return c
}

// Validate reports settings that cannot work, after defaults are applied.
func (c Config) Validate() error {
	c = c.withDefaults()
	var errs []error
	if !event.ValidTenant(c.DefaultTenant) {
		errs = append(errs, fmt.Errorf("default tenant %q is not a tenant slug", c.DefaultTenant))
	}
	if c.SessionIdle < 0 || c.SessionLifetime < 0 || c.LockoutWindow < 0 || c.LockoutDuration < 0 {
		errs = append(errs, errors.New("durations must not be negative"))
	}
	if c.SessionIdle > c.SessionLifetime {
		errs = append(errs, fmt.Errorf("session idle timeout %v exceeds the session lifetime %v", c.SessionIdle, c.SessionLifetime))
	}
	if c.LockoutThreshold < 1 || c.LoginRatePerMinute < 1 || c.LoginBurst < 1 {
		errs = append(errs, errors.New("lockout threshold, login rate and burst must be positive"))
	}
	if c.MaxBodyBytes < 1024 {
		errs = append(errs, fmt.Errorf("max body bytes %d is below 1024", c.MaxBodyBytes))
	}
	if err := c.Hash.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("auth: config: %w", err)
	}
	return nil
}

// Option changes how Auth runs, for tests.
type Option func(*Auth)

// WithClock replaces the wall clock (session expiry, lockout windows, rate
// limits), so tests move time without sleeping.
func WithClock(now func() time.Time) Option { return func(a *Auth) { a.now = now } }

// Auth logs people in and out and tells every request who is asking.
type Auth struct {
	cfg   Config
	log   *slog.Logger
	store *Store
	now   func() time.Time

	hashSem  chan struct{} // bounds concurrent argon2 runs, and so memory
	failures *failureCounter
	limiter  *ipLimiter
	// dummyHash is verified against when there is no account, so that an
	// unknown login costs the same time as a wrong password.
	dummyHash string
}

// New checks cfg and builds an Auth reading and writing b. Call Run before
// serving requests.
func New(cfg Config, b bus.Bus, log *slog.Logger, opts ...Option) (*Auth, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if b == nil {
		return nil, errors.New("auth: bus is nil")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg = cfg.withDefaults()
	a := &Auth{cfg: cfg, log: log, now: time.Now, hashSem: make(chan struct{}, runtime.NumCPU())}
	for _, o := range opts {
		o(a)
	}
	a.store = newStore(b, log, Source, cfg.ReaderID, a.now)
	a.failures = newFailureCounter(cfg.LockoutWindow)
	a.limiter = newIPLimiter(cfg.LoginRatePerMinute, cfg.LoginBurst)
	pw, err := randomPassword(24)
	if err != nil {
		return nil, err
	}
	if a.dummyHash, err = HashPassword(pw, cfg.Hash); err != nil {
		return nil, err
	}
	return a, nil
}

// Store returns the fold of accounts, for read-only views.
func (a *Auth) Store() *Store { return a.store }

// Run folds the accounts topic and prunes expired state until ctx ends
// (nil) or the bus fails.
func (a *Auth) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(time.Minute)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				now := a.now()
				a.store.pruneSessions(now)
				a.failures.prune(now)
				a.limiter.prune(now)
			}
		}
	}()
	err := a.store.run(ctx)
	cancel()
	wg.Wait()
	return err
}

// verify checks password against hash with bounded concurrency.
func (a *Auth) verify(ctx context.Context, password, hash string) (bool, error) {
	select {
	case a.hashSem <- struct{}{}:
	case <-ctx.Done():
		return false, ctx.Err()
	}
	defer func() { <-a.hashSem }()
	return VerifyPassword(password, hash)
}

// hash hashes password with bounded concurrency.
func (a *Auth) hash(ctx context.Context, password string) (string, error) {
	select {
	case a.hashSem <- struct{}{}:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	defer func() { <-a.hashSem }()
	return HashPassword(password, a.cfg.Hash)
}

// LoginResult is a started session: the cookie value to hand the browser
// and the CSRF token its scripts must echo.
type LoginResult struct {
	Token     string
	CSRFToken string
	ExpiresAt time.Time
	Account   Account
}

// Login checks a login and password of tenant (DefaultTenant if empty)
// and starts a session. It returns ErrRateLimited, ErrInvalidCredentials
// (whatever was wrong) or, only once the password proved right, ErrLocked.
func (a *Auth) Login(ctx context.Context, ip, tenant, login, password, userAgent string) (LoginResult, error) {
	now := a.now()
	if !a.limiter.allow(ip, now) {
		return LoginResult{}, ErrRateLimited
	}
	if tenant == "" {
		tenant = a.cfg.DefaultTenant
	}
	if err := a.store.Sync(ctx, tenant); err != nil {
		return LoginResult{}, err
	}
	acc, found := a.store.AccountByLogin(tenant, login)
	hash := a.dummyHash
	if found && acc.HasPassword && !acc.Disabled {
		hash = a.store.passwordHash(tenant, acc.ID)
	}
	if len(password) > maxPasswordLength {
		password = password[:maxPasswordLength]
		found = false
	}
	ok, err := a.verify(ctx, password, hash)
	if err != nil {
		return LoginResult{}, fmt.Errorf("auth: verify password: %w", err)
	}
	if !found || !acc.HasPassword || acc.Disabled || !ok {
		if found && !acc.Disabled {
			a.failed(ctx, acc, now)
		}
		a.log.Info("login failed", "tenant", tenant, "ip", ip)
		return LoginResult{}, ErrInvalidCredentials
	}
	if now.Before(acc.LockedUntil) {
		return LoginResult{}, ErrLocked
	}
	a.failures.reset(acc.Tenant, acc.ID)
	res, err := a.startSession(ctx, acc, userAgent, now)
	if err != nil {
		return LoginResult{}, err
	}
	a.log.Info("login", "tenant", tenant, "account_id", acc.ID, "ip", ip)
	return res, nil
}

// failed counts a failed login and locks the account at the threshold.
func (a *Auth) failed(ctx context.Context, acc Account, now time.Time) {
	n := a.failures.add(acc.Tenant, acc.ID, now)
	if n < a.cfg.LockoutThreshold || now.Before(acc.LockedUntil) {
		return
	}
	err := a.store.publish(ctx, acc.Tenant, &event.AccountLockedData{
		AccountID: acc.ID, Until: now.Add(a.cfg.LockoutDuration).UTC(), Failures: n})
	if err != nil {
		a.log.Error("cannot lock account", "tenant", acc.Tenant, "account_id", acc.ID, "err", err)
		return
	}
	a.failures.reset(acc.Tenant, acc.ID)
	a.log.Warn("account locked", "tenant", acc.Tenant, "account_id", acc.ID, "failures", n)
}

func (a *Auth) startSession(ctx context.Context, acc Account, userAgent string, now time.Time) (LoginResult, error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return LoginResult{}, fmt.Errorf("auth: session token: %w", err)
	}
	secret := base64.RawURLEncoding.EncodeToString(raw)
	token := acc.Tenant + "." + secret
	expires := now.Add(a.cfg.SessionLifetime).UTC()
	if len(userAgent) > 512 {
		userAgent = userAgent[:512]
	}
	if !utf8.ValidString(userAgent) {
		userAgent = ""
	}
	h := tokenHash(secret)
	err := a.store.publish(ctx, acc.Tenant, &event.SessionStartedData{
		SessionHash: h, AccountID: acc.ID, ExpiresAt: expires, UserAgent: userAgent})
	if err != nil {
		return LoginResult{}, fmt.Errorf("auth: start session: %w", err)
	}
	a.store.touch(h, now)
	return LoginResult{Token: token, CSRFToken: csrfToken(secret), ExpiresAt: expires, Account: acc}, nil
}

// tokenHash is what the bus and the store know of a session token.
func tokenHash(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// csrfToken derives the session's CSRF token: an HMAC keyed by the session
// secret itself. Only the server (holding the cookie on each request) and
// the page (told it by /auth/me) know it; it needs no stored key, so every
// web instance computes the same one, and it is never on the bus.
func csrfToken(secret string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("hotline csrf v1"))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// splitToken parses a cookie value "tenant.secret".
func splitToken(token string) (tenant, secret string, ok bool) {
	tenant, secret, ok = strings.Cut(token, ".")
	if !ok || !event.ValidTenant(tenant) {
		return "", "", false
	}
	raw, err := base64.RawURLEncoding.DecodeString(secret)
	if err != nil || len(raw) != 32 {
		return "", "", false
	}
	return tenant, secret, true
}

// session resolves a cookie value to a live session and its account.
func (a *Auth) session(ctx context.Context, token string) (Session, Account, string, error) {
	tenant, secret, ok := splitToken(token)
	if !ok {
		return Session{}, Account{}, "", ErrUnauthenticated
	}
	ss, acc, err := a.liveSession(ctx, tenant, tokenHash(secret))
	return ss, acc, secret, err
}

// liveSession finds the session stored under hash in tenant, once the
// store has caught up with the bus, and its account; ErrUnauthenticated
// when the session has ended or expired or the account is disabled.
func (a *Auth) liveSession(ctx context.Context, tenant, hash string) (Session, Account, error) {
	if err := a.store.Sync(ctx, tenant); err != nil {
		return Session{}, Account{}, err
	}
	ss, ok := a.store.session(hash, a.now(), a.cfg.SessionIdle)
	if !ok || ss.Tenant != tenant {
		return Session{}, Account{}, ErrUnauthenticated
	}
	acc, ok := a.store.Account(tenant, ss.AccountID)
	if !ok || acc.Disabled {
		return Session{}, Account{}, ErrUnauthenticated
	}
	return ss, acc, nil
}

// Logout ends the session of token.
func (a *Auth) Logout(ctx context.Context, token string) error {
	ss, _, _, err := a.session(ctx, token)
	if err != nil {
		return err
	}
	return a.store.publish(ctx, ss.Tenant, &event.SessionEndedData{
		SessionHash: ss.Hash, AccountID: ss.AccountID, Reason: event.SessionLogout})
}

// Bootstrap is the first-start admin's credentials, to print once.
type Bootstrap struct {
	Tenant   string
	Login    string
	Password string
}

// EnsureBootstrap creates the default tenant and an "admin" account (a
// tenant admin and hub operator) with a random password, if the default
// tenant does not exist yet and no account exists at all. It returns the
// credentials and true when it created them; the caller prints them once.
// Run must be running. Two instances starting together create one admin:
// the fold keeps the first tenant.created and voids the other.
func (a *Auth) EnsureBootstrap(ctx context.Context) (Bootstrap, bool, error) {
	tenant := a.cfg.DefaultTenant
	if err := a.store.Sync(ctx, tenant); err != nil {
		return Bootstrap{}, false, err
	}
	if _, exists := a.store.Tenant(tenant); exists || a.store.AccountCount() > 0 {
		return Bootstrap{}, false, nil
	}
	pw, err := randomPassword(20)
	if err != nil {
		return Bootstrap{}, false, err
	}
	hash, err := a.hash(ctx, pw)
	if err != nil {
		return Bootstrap{}, false, err
	}
	id := uuid.NewString()
	err = a.store.publish(ctx, tenant,
		&event.TenantCreatedData{Name: "Demo", Language: "en", TimeZone: "UTC"},
		&event.AccountCreatedData{AccountID: id, Login: "admin", DisplayName: "Administrator", Role: event.RoleAdmin, Operator: true},
		&event.AccountPasswordChangedData{AccountID: id, PasswordHash: hash})
	if errors.Is(err, ErrConflict) || errors.Is(err, ErrNotFound) {
		return Bootstrap{}, false, nil // another instance bootstrapped first
	}
	if err != nil {
		return Bootstrap{}, false, fmt.Errorf("auth: bootstrap: %w", err)
	}
	a.log.Info("created the first-start admin", "tenant", tenant, "account_id", id)
	return Bootstrap{Tenant: tenant, Login: "admin", Password: pw}, true, nil
}

// failureCounter counts failed logins per account within a window, in
// memory: it is a rate, not a fact; the lock it leads to is the fact.
type failureCounter struct {
	window time.Duration
	mu     sync.Mutex
	times  map[string][]time.Time
}

func newFailureCounter(window time.Duration) *failureCounter {
	return &failureCounter{window: window, times: make(map[string][]time.Time)}
}

func (f *failureCounter) add(tenant, id string, now time.Time) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	k := tenant + "/" + id
	kept := f.times[k][:0]
	for _, t := range f.times[k] {
		if now.Sub(t) < f.window {
			kept = append(kept, t)
		}
	}
	kept = append(kept, now)
	f.times[k] = kept
	return len(kept)
}

func (f *failureCounter) reset(tenant, id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.times, tenant+"/"+id)
}

func (f *failureCounter) prune(now time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for k, ts := range f.times {
		if len(ts) == 0 || now.Sub(ts[len(ts)-1]) >= f.window {
			delete(f.times, k)
		}
	}
}

// ipLimiter is a token bucket per client IP for the login endpoint.
type ipLimiter struct {
	rate  float64 // tokens per second
	burst float64
	mu    sync.Mutex
	b     map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newIPLimiter(perMinute, burst int) *ipLimiter {
	return &ipLimiter{rate: float64(perMinute) / 60, burst: float64(burst), b: make(map[string]*bucket)}
}

func (l *ipLimiter) allow(ip string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.b[ip]
	if b == nil {
		b = &bucket{tokens: l.burst, last: now}
		l.b[ip] = b
	}
	if el := now.Sub(b.last).Seconds(); el > 0 {
		b.tokens = min(l.burst, b.tokens+el*l.rate)
		b.last = now
	}
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

func (l *ipLimiter) prune(now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for ip, b := range l.b {
		if b.tokens+now.Sub(b.last).Seconds()*l.rate >= l.burst {
			delete(l.b, ip)
		}
	}
}
