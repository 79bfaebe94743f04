package config

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestVoiceSectionFromFile(t *testing.T) {
	p := writeFile(t, `
data_dir: /srv/hotline
voice:
  enabled: true
  udp_addr: 127.0.0.1:5070
  tcp_addr: "off"
  numbers:
    - number: "+33123456789"
      tenant: demo
      hours:
        timezone: Europe/Paris
        weekly:
          monday: ["09:00-18:00"]
      menu:
        languages: {"1": fr, "2": en}
        services: {"1": billing, "2": support}
        input_timeout: 4s
        default_language: fr
        default_queue: support
  phones:
    - {user: alice, agent_id: agent-alice, tenant: demo, password: s3cret}
`)
	cfg, _, err := Load(Sources{File: p, Env: envFrom(nil)})
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	vc := cfg.VoiceConfig()
	if !cfg.Voice.Enabled || vc.UDPAddr != "127.0.0.1:5070" || vc.TCPAddr != "off" {
		t.Errorf("listeners = %q %q (enabled %v)", vc.UDPAddr, vc.TCPAddr, cfg.Voice.Enabled)
	}
	if vc.PromptsDir != filepath.Join("/srv/hotline", "prompts") || vc.RecordingsDir != filepath.Join("/srv/hotline", "recordings") {
		t.Errorf("dirs = %q %q", vc.PromptsDir, vc.RecordingsDir)
	}
	if len(vc.Numbers) != 1 || vc.Numbers[0].Menu.Languages["2"] != "en" || vc.Numbers[0].Menu.Services["1"] != "billing" ||
		vc.Numbers[0].Menu.InputTimeout != 4*time.Second || vc.Numbers[0].Hours.Weekly["monday"][0] != "09:00-18:00" {
		t.Errorf("numbers = %+v", vc.Numbers)
	}
	if len(vc.Phones) != 1 || vc.Phones[0].AgentID != "agent-alice" || vc.Phones[0].Password != "s3cret" {
		t.Errorf("phones = %+v", vc.Phones)
	}
}

func TestVoiceSectionValidated(t *testing.T) {
	p := writeFile(t, `
voice:
  numbers:
    - number: "+33123456789"
      tenant: demo
      menu: {languages: {"1": es}, default_language: fr, default_queue: support}
  phones:
    - {user: bob, agent_id: bob, tenant: demo}
`)
	cfg, _, err := Load(Sources{File: p, Env: envFrom(nil)})
	if err != nil {
		t.Fatal(err)
	}
	err = cfg.Validate()
	var ve *ValidationError
	if !errors.As(err, &ve) || len(ve.Problems) != 1 || ve.Problems[0].Key != "voice" ||
		!strings.Contains(ve.Problems[0].Msg, "menu.languages[1]") || !strings.Contains(ve.Problems[0].Msg, "phones[0]: password, ha1") {
		t.Fatalf("Validate = %v", err)
	}
}

func TestVoiceUnknownKeyInNumber(t *testing.T) {
	p := writeFile(t, `
voice:
  numbers:
    - {number: "1", tenant: demo, menu: {default_language: fr, default_queue: q}, colour: blue}
`)
	if _, _, err := Load(Sources{File: p, Env: envFrom(nil)}); err == nil || !strings.Contains(err.Error(), "colour") {
		t.Fatalf("Load = %v, want the unknown key named", err)
	}
}
