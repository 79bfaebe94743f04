package voice

import (
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/hotline-hub/hotline/bus/event"
	"github.com/hotline-hub/hotline/routing"
	"github.com/hotline-hub/hotline/routing/hours"
)

// Defaults applied by New to zero fields of Config.
const (
	DefaultUDPAddr         = "127.0.0.1:5060"
	DefaultTCPAddr         = "127.0.0.1:5060"
	DefaultRTPIP           = "127.0.0.1"
	DefaultRTPPortMin      = 10000
	DefaultRTPPortMax      = 20000
	DefaultRealm           = "hotline"
	DefaultMaxCallsInSetup = 200
	DefaultRetryAfter      = 5 * time.Second
	DefaultMaxVoicemail    = 2 * time.Minute
	DefaultInputTimeout    = 5 * time.Second
	DefaultMenuRetries     = 2
	DefaultRegisterExpires = time.Hour
	DefaultMinExpires      = time.Minute
	DefaultMaxExpires      = 2 * time.Hour
	DefaultNonceTTL        = 5 * time.Minute
	DefaultMinSE           = 90 * time.Second
	defaultSource          = "/channels/voice"
	defaultPublishTimeout  = 10 * time.Second
)

// Defaults and bounds of the queue announcements, callback offers and
// recording retention (announce.go, callback.go, retention.go).
const (
	DefaultAnnounceEvery      = 45 * time.Second
	DefaultCallbackOfferAfter = 2 * time.Minute
	// MinAnnounceEvery and MinRecordingRetention catch a duration written
	// without a unit.
	MinAnnounceEvery      = time.Second
	MinRecordingRetention = time.Hour
)

// Prompt file names, looked up as <PromptsDir>/<language>/<name>.wav.
// HoldPrompt is looked up as <PromptsDir>/hold.wav and is optional: without
// it callers in the queue hear a generated tone sequence.
const (
	PromptClosed          = "closed"           // out of hours; voicemail follows
	PromptLanguageMenu    = "language_menu"    // read in the number's default language
	PromptServiceMenu     = "service_menu"     // read in the chosen language
	PromptInvalid         = "invalid"          // a wrong key or no input, before the menu again
	PromptRecordingNotice = "recording_notice" // "this call may be recorded"
	PromptHold            = "hold"
)

// Languages a menu may offer.
var menuLanguages = []string{"fr", "en", "ru", "de"}

// ErrConfig wraps every configuration problem New reports.
var ErrConfig = errors.New("voice: invalid config")

// Config configures the voice channel: where SIP listens, the RTP ports,
// the hotline numbers with their hours and menus, and the agents' phones.
// Zero fields take the defaults above.
type Config struct {
	// UDPAddr and TCPAddr are the SIP listen addresses (host:port); "off"
	// disables one. Port 0 picks a free port (see Server.Addr).
	UDPAddr, TCPAddr string
	// TLS, when Addr is set, adds a SIP over TLS listener.
	TLS TLSConfig
	// Host is the host written in Contact headers; empty means the host of
	// the address a request arrived on.
	Host string
	// RTPIP is the address RTP binds and SDP advertises; RTP ports are
	// taken from [RTPPortMin, RTPPortMax], two per call (RTP, RTCP).
	RTPIP                  string
	RTPPortMin, RTPPortMax int
	// Numbers are the hotline numbers callers dial.
	Numbers []NumberConfig
	// PromptsDir holds the announcements: for every language a number
	// uses (its default language and its menu's), the five files
	// <lang>/{closed,language_menu,service_menu,invalid,recording_notice}.wav,
	// 8 kHz mono 16-bit PCM (media.GeneratePrompt writes them from text);
	// hold.wav at the top is optional. Operators replace the files to
	// change the wording; they are read once, at start.
	PromptsDir string
	// RecordingsDir receives voicemail, named by the SHA-256 of the WAV
	// file (content-addressed); created if missing.
	RecordingsDir string
	// Phones are the agents' SIP phones allowed to REGISTER.
	Phones []PhoneConfig
	// Realm is the digest authentication realm phones are challenged with.
	// Changing it invalidates every HA1 written for the old realm.
	Realm string
	// MaxCallsInSetup bounds the INVITEs between arrival and the caller's
	// ACK; more get 503 with Retry-After, so a flood cannot starve the
	// calls already in progress.
	MaxCallsInSetup int
	// RetryAfter is the Retry-After of those 503s.
	RetryAfter time.Duration
	// MaxVoicemail bounds one voicemail; the hub hangs up after it.
	MaxVoicemail time.Duration
	// Registration lifetimes: a phone asking less than MinExpires gets 423,
	// more than MaxExpires is cut down; DefaultExpires applies when it asks
	// nothing. NonceTTL is how long a digest challenge stays valid.
	DefaultExpires, MinExpires, MaxExpires, NonceTTL time.Duration
	// MinSE is the shortest session refresh interval (RFC 4028) accepted;
	// a shorter Session-Expires gets 422.
	MinSE time.Duration
	// AnnounceEvery is how often a caller waiting in a queue hears their
	// position and estimated wait (announce.go); negative disables it.
	AnnounceEvery time.Duration
	// CallbackOfferAfter: a caller whose estimated wait exceeds it is
	// offered, once, right after queueing, to be called back instead
	// (callback.go); negative disables the offer. Callers out of hours are
	// always offered a callback before the voicemail.
	CallbackOfferAfter time.Duration
	// RecordingRetention is how long recordings and voicemail are kept;
	// older ones are deleted, each with call.recording_deleted
	// (retention.go). Zero keeps them forever.
	RecordingRetention time.Duration
	// Routing is the static routing configuration of the tenants, when
	// routing runs with one (the same): the server folds the routing log
	// of its numbers' tenants to learn routing's verdict on transfers of
	// its calls (transfer.go). Empty suits routers configured from the
	// directory only, as `hotline serve` runs them.
	Routing []routing.TenantConfig
	// Now is the clock, for tests; nil means time.Now.
	Now func() time.Time
}

// TLSConfig is the optional SIP over TLS listener.
type TLSConfig struct {
	Addr              string // host:port; empty disables TLS
	CertFile, KeyFile string // PEM files
}

// NumberConfig is one hotline number: whose it is, when it is open and
// what its callers are asked.
type NumberConfig struct {
	// Number is the dialed number as it appears in the Request-URI's user
	// part ("+33123456789" or "0123456789"); a leading '+' is optional on
	// either side.
	Number string
	// Tenant owns the number.
	Tenant string
	// Hours of operation; the zero value means always open. Closed calls
	// hear PromptClosed and may leave a voicemail.
	Hours hours.Config
	// Menu is the voice menu of open hours.
	Menu MenuConfig
}

// MenuConfig is a number's voice menu: the language first, then the
// service, each chosen by one DTMF key.
type MenuConfig struct {
	// Languages maps a key ("1") to a language: fr, en, ru or de. With
	// fewer than two entries the language menu is skipped.
	Languages map[string]string
	// Services maps a key to the queue id callers are put in. With fewer
	// than two entries the service menu is skipped.
	Services map[string]string
	// InputTimeout is how long the menu waits for a key after a prompt.
	InputTimeout time.Duration
	// Retries is how many times a menu is repeated after no input or a
	// wrong key before the default route is taken.
	Retries int
	// DefaultLanguage is the language of the first prompts and of callers
	// who choose none; DefaultQueue is where callers who choose no service
	// go. Both are required.
	DefaultLanguage, DefaultQueue string
	// Priority and Skills are given to routing with the queued call.
	Priority int
	Skills   []string
}

// PhoneConfig is an agent's SIP phone. Give either Password or HA1, the
// RFC 2617 hash hex(MD5(user ":" realm ":" password)), which keeps the
// password itself out of the configuration.
type PhoneConfig struct {
	// User is the SIP user name the phone registers as (the To user of its
	// REGISTER and the digest username).
	User     string
	AgentID  string
	Tenant   string
	Password string
	HA1      string
}

func (c Config) withDefaults() Config {
	setStr := func(d *string, v string) {
		if *d == "" {
			*d = v
		}
	}
	setDur := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	setStr(&c.UDPAddr, DefaultUDPAddr)
	setStr(&c.TCPAddr, DefaultTCPAddr)
	setStr(&c.RTPIP, DefaultRTPIP)
	if c.RTPPortMin == 0 && c.RTPPortMax == 0 {
		c.RTPPortMin, c.RTPPortMax = DefaultRTPPortMin, DefaultRTPPortMax
	}
	setStr(&c.Realm, DefaultRealm)
	if c.MaxCallsInSetup == 0 {
		c.MaxCallsInSetup = DefaultMaxCallsInSetup
	}
	setDur(&c.RetryAfter, DefaultRetryAfter)
	setDur(&c.MaxVoicemail, DefaultMaxVoicemail)
	setDur(&c.DefaultExpires, DefaultRegisterExpires)
	setDur(&c.MinExpires, DefaultMinExpires)
	setDur(&c.MaxExpires, DefaultMaxExpires)
	setDur(&c.NonceTTL, DefaultNonceTTL)
	setDur(&c.MinSE, DefaultMinSE)
	setDur(&c.AnnounceEvery, DefaultAnnounceEvery)
	setDur(&c.CallbackOfferAfter, DefaultCallbackOfferAfter)
	c.Numbers = slices.Clone(c.Numbers)
	for i := range c.Numbers {
		m := &c.Numbers[i].Menu
		setDur(&m.InputTimeout, DefaultInputTimeout)
		if m.Retries == 0 {
			m.Retries = DefaultMenuRetries
		}
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Validate reports every problem of c (with defaults applied), each
// naming its field; it does not read the prompt files (New does).
func (c Config) Validate() error {
	c = c.withDefaults()
	_, _, err := c.build()
	return err
}

// number is a compiled NumberConfig.
type number struct {
	cfg NumberConfig
	cal *hours.Calendar
}

// phone is a compiled PhoneConfig.
type phone struct {
	cfg PhoneConfig
	ha1 string // lowercase hex
}

// build validates c (with defaults applied) and compiles numbers and phones.
func (c Config) build() (map[string]*number, map[string]*phone, error) {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	for _, a := range []struct{ name, v string }{{"udp_addr", c.UDPAddr}, {"tcp_addr", c.TCPAddr}} {
		if a.v == "off" {
			continue
		}
		if _, _, err := net.SplitHostPort(a.v); err != nil {
			bad("%s: %q is not host:port: %v", a.name, a.v, err)
		}
	}
	if c.UDPAddr == "off" && c.TCPAddr == "off" && c.TLS.Addr == "" {
		bad("udp_addr, tcp_addr, tls.addr: every SIP listener is off")
	}
	if c.TLS.Addr != "" {
		if _, _, err := net.SplitHostPort(c.TLS.Addr); err != nil {
			bad("tls.addr: %q is not host:port: %v", c.TLS.Addr, err)
		}
		if c.TLS.CertFile == "" || c.TLS.KeyFile == "" {
			bad("tls: cert_file and key_file are required with tls.addr")
		}
	}
	if ip := net.ParseIP(c.RTPIP); ip == nil || ip.IsUnspecified() {
		bad("rtp_ip: %q is not a unicast IP address (SDP advertises it)", c.RTPIP)
	}
	switch {
	case c.RTPPortMin < 1024 || c.RTPPortMax > 65535:
		bad("rtp_port_min, rtp_port_max: %d-%d is outside 1024-65535", c.RTPPortMin, c.RTPPortMax)
	case c.RTPPortMax-c.RTPPortMin < 3:
		bad("rtp_port_min, rtp_port_max: %d-%d leaves room for no call (two ports each)", c.RTPPortMin, c.RTPPortMax)
	}
	if c.PromptsDir == "" {
		bad("prompts_dir: required")
	}
	if c.RecordingsDir == "" {
		bad("recordings_dir: required")
	}
	if c.Realm == "" || strings.ContainsAny(c.Realm, "\"\\\r\n") {
		bad("realm: %q is empty or has quotes, backslashes or line breaks", c.Realm)
	}
	if c.MaxCallsInSetup < 0 {
		bad("max_calls_in_setup: must be positive, got %d", c.MaxCallsInSetup)
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"retry_after", c.RetryAfter}, {"max_voicemail", c.MaxVoicemail}, {"default_expires", c.DefaultExpires},
		{"min_expires", c.MinExpires}, {"max_expires", c.MaxExpires}, {"nonce_ttl", c.NonceTTL}, {"min_se", c.MinSE}} {
		if d.v < 0 {
			bad("%s: must be positive, got %s", d.name, d.v)
		}
	}
	if c.MinExpires > c.MaxExpires {
		bad("min_expires: %s is above max_expires %s", c.MinExpires, c.MaxExpires)
	}
	if c.AnnounceEvery > 0 && c.AnnounceEvery < MinAnnounceEvery {
		bad("announce_every: %s is shorter than %s (negative disables the announcements)", c.AnnounceEvery, MinAnnounceEvery)
	}
	switch {
	case c.RecordingRetention < 0:
		bad("recording_retention: must not be negative (0 keeps recordings forever), got %s", c.RecordingRetention)
	case c.RecordingRetention > 0 && c.RecordingRetention < MinRecordingRetention:
		bad("recording_retention: %s is shorter than %s; write e.g. 2160h for 90 days", c.RecordingRetention, MinRecordingRetention)
	}
	numbers := make(map[string]*number, len(c.Numbers))
	for i, nc := range c.Numbers {
		n, err := buildNumber(nc)
		if err != nil {
			bad("numbers[%d]: %w", i, err)
			continue
		}
		key := normalizeNumber(nc.Number)
		if _, dup := numbers[key]; dup {
			bad("numbers[%d]: number %q listed twice", i, nc.Number)
			continue
		}
		numbers[key] = n
	}
	phones := make(map[string]*phone, len(c.Phones))
	for i, pc := range c.Phones {
		p, err := buildPhone(pc, c.Realm)
		if err != nil {
			bad("phones[%d]: %w", i, err)
			continue
		}
		if _, dup := phones[pc.User]; dup {
			bad("phones[%d]: user %q listed twice", i, pc.User)
			continue
		}
		phones[pc.User] = p
	}
	if len(errs) > 0 {
		return nil, nil, fmt.Errorf("%w: %w", ErrConfig, errors.Join(errs...))
	}
	return numbers, phones, nil
}

func buildNumber(nc NumberConfig) (*number, error) {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if d := strings.TrimPrefix(nc.Number, "+"); d == "" || strings.IndexFunc(d, func(r rune) bool {
		return !(r >= '0' && r <= '9' || r == '*' || r == '#')
	}) >= 0 {
		bad("number: %q is not a dialable number (digits, optional leading +)", nc.Number)
	}
	if !event.ValidTenant(nc.Tenant) {
		bad("tenant: %q is not a valid tenant id", nc.Tenant)
	}
	n := &number{cfg: nc}
	if nc.Hours.TimeZone == "" && !nc.Hours.AlwaysOpen && len(nc.Hours.Weekly) == 0 && len(nc.Hours.Holidays) == 0 {
		n.cal = hours.AlwaysOpen()
	} else {
		cal, err := hours.New(nc.Hours)
		if err != nil {
			bad("hours: %w", err)
		}
		n.cal = cal
	}
	m := nc.Menu
	if !slices.Contains(menuLanguages, m.DefaultLanguage) {
		bad("menu.default_language: %q is not one of %s", m.DefaultLanguage, strings.Join(menuLanguages, ", "))
	}
	if m.DefaultQueue == "" {
		bad("menu.default_queue: required")
	}
	for key, lang := range m.Languages {
		if !validKey(key) {
			bad("menu.languages: key %q is not one DTMF key (0-9, *, #)", key)
		}
		if !slices.Contains(menuLanguages, lang) {
			bad("menu.languages[%s]: %q is not one of %s", key, lang, strings.Join(menuLanguages, ", "))
		}
	}
	for key, q := range m.Services {
		if !validKey(key) {
			bad("menu.services: key %q is not one DTMF key (0-9, *, #)", key)
		}
		if q == "" {
			bad("menu.services[%s]: queue is empty", key)
		}
	}
	if m.InputTimeout <= 0 {
		bad("menu.input_timeout: must be positive, got %s", m.InputTimeout)
	}
	if m.Retries < 0 {
		bad("menu.retries: must not be negative, got %d", m.Retries)
	}
	if m.Priority < 0 {
		bad("menu.priority: must not be negative, got %d", m.Priority)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return n, nil
}

func validKey(k string) bool {
	return len(k) == 1 && (k[0] >= '0' && k[0] <= '9' || k[0] == '*' || k[0] == '#')
}

func buildPhone(pc PhoneConfig, realm string) (*phone, error) {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if pc.User == "" || strings.ContainsAny(pc.User, "\"\\:@ \t\r\n") {
		bad("user: %q is empty or has quotes, ':', '@' or spaces", pc.User)
	}
	if pc.AgentID == "" {
		bad("agent_id: required")
	}
	if !event.ValidTenant(pc.Tenant) {
		bad("tenant: %q is not a valid tenant id", pc.Tenant)
	}
	var ha1 string
	switch {
	case pc.Password != "" && pc.HA1 != "":
		bad("password, ha1: give one, not both")
	case pc.Password != "":
		ha1 = HA1(pc.User, realm, pc.Password)
	case pc.HA1 != "":
		ha1 = strings.ToLower(pc.HA1)
		if b, err := hex.DecodeString(ha1); err != nil || len(b) != md5.Size {
			bad("ha1: is not 32 hex digits (MD5 of user:realm:password)")
		}
	default:
		bad("password, ha1: one is required")
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return &phone{cfg: pc, ha1: ha1}, nil
}

// HA1 is the digest hash hex(MD5(user:realm:password)) to store in
// PhoneConfig.HA1 instead of the password.
func HA1(user, realm, password string) string {
	return md5hex(user + ":" + realm + ":" + password)
}

func md5hex(s string) string {
	h := md5.Sum([]byte(s))
	return hex.EncodeToString(h[:])
}

// normalizeNumber is the lookup key of a dialed number.
func normalizeNumber(n string) string { return strings.TrimPrefix(n, "+") }

// promptPath is where prompt name of language lang is read from.
func promptPath(dir, lang, name string) string {
	if lang == "" {
		return filepath.Join(dir, name+".wav")
	}
	return filepath.Join(dir, lang, name+".wav")
}

// languagesUsed lists the languages whose prompts numbers need.
func languagesUsed(numbers map[string]*number) []string {
	var out []string
	for _, n := range numbers {
		for _, l := range append([]string{n.cfg.Menu.DefaultLanguage}, mapValues(n.cfg.Menu.Languages)...) {
			if !slices.Contains(out, l) {
				out = append(out, l)
			}
		}
	}
	slices.Sort(out)
	return out
}

func mapValues(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

// ensureDir creates dir if missing.
func ensureDir(dir string) error {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("voice: recordings dir: %w", err)
	}
	return nil
}
