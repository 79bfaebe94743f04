package config

import (
	"path/filepath"
	"time"

	"github.com/hotline-hub/hotline/channels/voice"
	"github.com/hotline-hub/hotline/routing/hours"
)

// Voice configures the phone channel (package channels/voice): SIP
// listeners, RTP ports, the hotline numbers with their hours and menus, and
// the agents' phones. Numbers and phones are lists of sections, so they are
// set in the file only.
type Voice struct {
	// Enabled starts the SIP server with `hotline serve`.
	Enabled bool `mapstructure:"enabled" yaml:"enabled"`
	// UDPAddr and TCPAddr are the SIP listen addresses; "off" disables one.
	UDPAddr string   `mapstructure:"udp_addr" yaml:"udp_addr"`
	TCPAddr string   `mapstructure:"tcp_addr" yaml:"tcp_addr"`
	TLS     VoiceTLS `mapstructure:"tls" yaml:"tls"`
	// Host is written in Contact headers; empty means the listener's IP.
	Host string `mapstructure:"host" yaml:"host"`
	// RTPIP is bound for media and advertised in SDP; RTP ports come from
	// [RTPPortMin, RTPPortMax].
	RTPIP      string `mapstructure:"rtp_ip" yaml:"rtp_ip"`
	RTPPortMin int    `mapstructure:"rtp_port_min" yaml:"rtp_port_min"`
	RTPPortMax int    `mapstructure:"rtp_port_max" yaml:"rtp_port_max"`
	// PromptsDir and RecordingsDir default under DataDir.
	PromptsDir    string `mapstructure:"prompts_dir" yaml:"prompts_dir"`
	RecordingsDir string `mapstructure:"recordings_dir" yaml:"recordings_dir"`
	// Realm is the digest realm agents' phones are challenged with.
	Realm           string        `mapstructure:"realm" yaml:"realm"`
	MaxCallsInSetup int           `mapstructure:"max_calls_in_setup" yaml:"max_calls_in_setup"`
	RetryAfter      time.Duration `mapstructure:"retry_after" yaml:"retry_after"`
	MaxVoicemail    time.Duration `mapstructure:"max_voicemail" yaml:"max_voicemail"`
	MinSE           time.Duration `mapstructure:"min_se" yaml:"min_se"`
	// AnnounceEvery is how often waiting callers hear their position and
	// estimated wait; 0 disables the announcements.
	AnnounceEvery time.Duration `mapstructure:"announce_every" yaml:"announce_every"`
	// CallbackOfferAfter: callers whose estimated wait exceeds it are
	// offered a callback; 0 disables the offer.
	CallbackOfferAfter time.Duration `mapstructure:"callback_offer_after" yaml:"callback_offer_after"`
	// RecordingRetention is how long recordings and voicemail are kept;
	// 0 keeps them forever.
	RecordingRetention time.Duration `mapstructure:"recording_retention" yaml:"recording_retention"`

	Numbers []VoiceNumber `mapstructure:"numbers" yaml:"numbers"`
	Phones  []VoicePhone  `mapstructure:"phones" yaml:"phones"`
}

// VoiceTLS is the optional SIP over TLS listener.
type VoiceTLS struct {
	Addr     string `mapstructure:"addr" yaml:"addr"`
	CertFile string `mapstructure:"cert_file" yaml:"cert_file"`
	KeyFile  string `mapstructure:"key_file" yaml:"key_file"`
}

// VoiceNumber mirrors voice.NumberConfig.
type VoiceNumber struct {
	Number string       `mapstructure:"number" yaml:"number"`
	Tenant string       `mapstructure:"tenant" yaml:"tenant"`
	Hours  hours.Config `mapstructure:"hours" yaml:"hours"`
	Menu   VoiceMenu    `mapstructure:"menu" yaml:"menu"`
}

// VoiceMenu mirrors voice.MenuConfig.
type VoiceMenu struct {
	Languages       map[string]string `mapstructure:"languages" yaml:"languages"`
	Services        map[string]string `mapstructure:"services" yaml:"services"`
	InputTimeout    time.Duration     `mapstructure:"input_timeout" yaml:"input_timeout"`
	Retries         int               `mapstructure:"retries" yaml:"retries"`
	DefaultLanguage string            `mapstructure:"default_language" yaml:"default_language"`
	DefaultQueue    string            `mapstructure:"default_queue" yaml:"default_queue"`
	Priority        int               `mapstructure:"priority" yaml:"priority"`
	Skills          []string          `mapstructure:"skills" yaml:"skills"`
}

// VoicePhone mirrors voice.PhoneConfig: give password or ha1.
type VoicePhone struct {
	User     string `mapstructure:"user" yaml:"user"`
	AgentID  string `mapstructure:"agent_id" yaml:"agent_id"`
	Tenant   string `mapstructure:"tenant" yaml:"tenant"`
	Password string `mapstructure:"password" yaml:"password"`
	HA1      string `mapstructure:"ha1" yaml:"ha1"`
}

func defaultVoice() Voice {
	return Voice{
		UDPAddr:         voice.DefaultUDPAddr,
		TCPAddr:         voice.DefaultTCPAddr,
		RTPIP:           voice.DefaultRTPIP,
		RTPPortMin:      voice.DefaultRTPPortMin,
		RTPPortMax:      voice.DefaultRTPPortMax,
		Realm:           voice.DefaultRealm,
		MaxCallsInSetup: voice.DefaultMaxCallsInSetup,
		RetryAfter:      voice.DefaultRetryAfter,
		MaxVoicemail:    voice.DefaultMaxVoicemail,
		MinSE:           voice.DefaultMinSE,

		AnnounceEvery:      voice.DefaultAnnounceEvery,
		CallbackOfferAfter: voice.DefaultCallbackOfferAfter,
	}
}

// VoiceConfig is the voice channel's own configuration, with its
// directories defaulted under DataDir.
func (c Config) VoiceConfig() voice.Config {
	v := c.Voice
	out := voice.Config{
		UDPAddr: v.UDPAddr, TCPAddr: v.TCPAddr,
		TLS:  voice.TLSConfig{Addr: v.TLS.Addr, CertFile: v.TLS.CertFile, KeyFile: v.TLS.KeyFile},
		Host: v.Host, RTPIP: v.RTPIP, RTPPortMin: v.RTPPortMin, RTPPortMax: v.RTPPortMax,
		PromptsDir: v.PromptsDir, RecordingsDir: v.RecordingsDir, Realm: v.Realm,
		MaxCallsInSetup: v.MaxCallsInSetup, RetryAfter: v.RetryAfter, MaxVoicemail: v.MaxVoicemail, MinSE: v.MinSE,
		AnnounceEvery: offIfZero(v.AnnounceEvery), CallbackOfferAfter: offIfZero(v.CallbackOfferAfter),
		RecordingRetention: v.RecordingRetention,
	}
	if out.PromptsDir == "" {
		out.PromptsDir = filepath.Join(c.DataDir, "prompts")
	}
	if out.RecordingsDir == "" {
		out.RecordingsDir = filepath.Join(c.DataDir, "recordings")
	}
	for _, n := range v.Numbers {
		out.Numbers = append(out.Numbers, voice.NumberConfig{Number: n.Number, Tenant: n.Tenant, Hours: n.Hours,
			Menu: voice.MenuConfig{Languages: n.Menu.Languages, Services: n.Menu.Services, InputTimeout: n.Menu.InputTimeout,
				Retries: n.Menu.Retries, DefaultLanguage: n.Menu.DefaultLanguage, DefaultQueue: n.Menu.DefaultQueue,
				Priority: n.Menu.Priority, Skills: n.Menu.Skills}})
	}
	for _, p := range v.Phones {
		out.Phones = append(out.Phones, voice.PhoneConfig{User: p.User, AgentID: p.AgentID, Tenant: p.Tenant, Password: p.Password, HA1: p.HA1})
	}
	return out
}

// validateVoice checks the voice section with the channel's own rules,
// whether or not it is enabled.
func validateVoice(ck *checker, c Config) {
	for _, d := range []struct {
		key string
		v   time.Duration
	}{{"voice.announce_every", c.Voice.AnnounceEvery}, {"voice.callback_offer_after", c.Voice.CallbackOfferAfter}} {
		if d.v < 0 {
			ck.add(d.key, "must not be negative (0 disables it), got %v", d.v)
		}
	}
	if err := c.VoiceConfig().Validate(); err != nil {
		ck.add("voice", "%v", err)
	}
}

// offIfZero maps the file's "0 disables" to the channel's negative
// (its zero means the default).
func offIfZero(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}
