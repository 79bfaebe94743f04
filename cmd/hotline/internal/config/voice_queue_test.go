package config

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hotline-hub/hotline/channels/voice"
)

// The queue announcement, callback offer and retention keys: defaults,
// "0 disables", the environment, and clear errors for bad values.
func TestVoiceQueueKeys(t *testing.T) {
	load := func(t *testing.T, body string, env map[string]string) (Config, error) {
		t.Helper()
		cfg, _, err := Load(Sources{File: writeFile(t, body), Env: envFrom(env)})
		if err != nil {
			t.Fatal(err)
		}
		return cfg, cfg.Validate()
	}
	t.Run("defaults", func(t *testing.T) {
		cfg, err := load(t, "voice: {}\n", nil)
		if err != nil {
			t.Fatal(err)
		}
		vc := cfg.VoiceConfig()
		if vc.AnnounceEvery != voice.DefaultAnnounceEvery || vc.CallbackOfferAfter != voice.DefaultCallbackOfferAfter || vc.RecordingRetention != 0 {
			t.Errorf("announce %v, callback %v, retention %v", vc.AnnounceEvery, vc.CallbackOfferAfter, vc.RecordingRetention)
		}
	})
	t.Run("zero disables", func(t *testing.T) {
		cfg, err := load(t, "voice: {announce_every: 0s, callback_offer_after: 0s, recording_retention: 2160h}\n", nil)
		if err != nil {
			t.Fatal(err)
		}
		vc := cfg.VoiceConfig()
		if vc.AnnounceEvery >= 0 || vc.CallbackOfferAfter >= 0 || vc.RecordingRetention != 90*24*time.Hour {
			t.Errorf("announce %v, callback %v, retention %v", vc.AnnounceEvery, vc.CallbackOfferAfter, vc.RecordingRetention)
		}
	})
	t.Run("environment", func(t *testing.T) {
		cfg, err := load(t, "voice: {}\n", map[string]string{"HOTLINE_VOICE_ANNOUNCE_EVERY": "1m",
			"HOTLINE_VOICE_CALLBACK_OFFER_AFTER": "5m", "HOTLINE_VOICE_RECORDING_RETENTION": "720h"})
		if err != nil {
			t.Fatal(err)
		}
		vc := cfg.VoiceConfig()
		if vc.AnnounceEvery != time.Minute || vc.CallbackOfferAfter != 5*time.Minute || vc.RecordingRetention != 720*time.Hour {
			t.Errorf("announce %v, callback %v, retention %v", vc.AnnounceEvery, vc.CallbackOfferAfter, vc.RecordingRetention)
		}
	})
	for _, tc := range []struct{ name, body, key, msg string }{
		{"negative announce", "voice: {announce_every: -1s}\n", "voice.announce_every", "must not be negative"},
		{"negative offer", "voice: {callback_offer_after: -2m}\n", "voice.callback_offer_after", "must not be negative"},
		{"announce too often", "voice: {announce_every: 10ms}\n", "voice", "announce_every: 10ms is shorter than 1s"},
		{"negative retention", "voice: {recording_retention: -1h}\n", "voice", "recording_retention: must not be negative"},
		{"retention without unit", "voice: {recording_retention: 90}\n", "voice", "recording_retention: 90ns is shorter than 1h0m0s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := load(t, tc.body, nil)
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("Validate = %v", err)
			}
			for _, p := range ve.Problems {
				if p.Key == tc.key && strings.Contains(p.Msg, tc.msg) {
					return
				}
			}
			t.Errorf("Validate = %v, want %s: %s", err, tc.key, tc.msg)
		})
	}
}
