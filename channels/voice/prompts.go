package voice

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/hotline-hub/hotline/channels/voice/media"
)

// languagePrompts are the prompts every language a number uses must have.
var languagePrompts = []string{PromptClosed, PromptLanguageMenu, PromptServiceMenu, PromptInvalid, PromptRecordingNotice}

// prompts are loaded once and shared read-only by every call.
type prompts struct {
	byLang map[string]map[string]*media.Prompt
	hold   *media.Prompt
	beep   *media.Prompt // before voicemail
}

// loadPrompts reads <dir>/<lang>/<name>.wav for each language and prompt,
// and the optional <dir>/hold.wav, reporting every missing or bad file.
func loadPrompts(dir string, langs []string) (*prompts, error) {
	p := &prompts{byLang: make(map[string]map[string]*media.Prompt)}
	var errs []error
	for _, l := range langs {
		p.byLang[l] = make(map[string]*media.Prompt)
		for _, name := range languagePrompts {
			pr, err := media.LoadPrompt(promptPath(dir, l, name))
			if err != nil {
				errs = append(errs, fmt.Errorf("prompt %s/%s: %w", l, name, err))
				continue
			}
			p.byLang[l][name] = pr
		}
	}
	holdPath := promptPath(dir, "", PromptHold)
	if _, err := os.Stat(holdPath); err == nil {
		if p.hold, err = media.LoadPrompt(holdPath); err != nil {
			errs = append(errs, fmt.Errorf("prompt hold: %w", err))
		}
	} else {
		// A gentle three-note chime, then silence, as music on hold.
		p.hold = media.Tone([]float64{523.25, 659.25, 783.99, 0, 0, 0}, 400*time.Millisecond)
	}
	p.beep = media.Tone([]float64{1000}, 400*time.Millisecond)
	if len(errs) > 0 {
		return nil, fmt.Errorf("%w: prompts_dir %s: %w", ErrConfig, dir, errors.Join(errs...))
	}
	return p, nil
}

func (p *prompts) get(lang, name string) *media.Prompt { return p.byLang[lang][name] }
