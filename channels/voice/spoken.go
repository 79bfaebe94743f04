package voice

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hotline-hub/hotline/channels/voice/media"
)

// Spoken prompts are the announcements added after the five required
// prompts: queue positions and waits, and the callback offers. Each is
// <PromptsDir>/<lang>/<name>.wav like the others, so an operator can
// replace it, but a missing file is not an error: on first use it is
// generated from the text below with espeak-ng and sox
// (media.GeneratePrompt, about 90 ms per file on the reference machine)
// and kept there. Nothing is generated at start, so start-up costs
// nothing; the queue announcements are generated while the music plays.

// Callback prompt names.
const (
	PromptCallbackClosed    = "callback_closed"    // out of hours: press 1, or stay for voicemail
	PromptCallbackOffer     = "callback_offer"     // a long wait: press 1 to be called back
	PromptCallbackNumber    = "callback_number"    // a withheld number: key it in, then #
	PromptCallbackConfirmed = "callback_confirmed" // before the hub hangs up
)

// spokenRetry is how long a failed generation is remembered before it is
// tried again, so a missing espeak-ng is not run for every caller.
const spokenRetry = 5 * time.Minute

// spokenTimeout bounds one generation.
const spokenTimeout = 30 * time.Second

// spoken loads or generates the spoken prompts, once per file, and shares
// them read-only between calls.
type spoken struct {
	dir      string
	log      *slog.Logger
	now      func() time.Time
	generate func(ctx context.Context, lang, text, path string) error
	pause    *media.Prompt // between two sentences

	mu      sync.Mutex
	entries map[string]*spokenEntry // by path
}

type spokenEntry struct {
	done   chan struct{}
	prompt *media.Prompt
	err    error
	at     time.Time // when err happened
}

func newSpoken(dir string, log *slog.Logger) *spoken {
	return &spoken{dir: dir, log: log, now: time.Now, generate: media.GeneratePrompt,
		pause: media.Silence(300 * time.Millisecond), entries: make(map[string]*spokenEntry)}
}

// get returns prompt name in lang, loading or generating it the first
// time; waiting callers give up when ctx ends, the generation goes on.
func (s *spoken) get(ctx context.Context, lang, name string) (*media.Prompt, error) {
	path := promptPath(s.dir, lang, name)
	s.mu.Lock()
	e := s.entries[path]
	if e != nil && e.err != nil && s.now().Sub(e.at) > spokenRetry {
		e = nil
	}
	if e == nil {
		e = &spokenEntry{done: make(chan struct{})}
		s.entries[path] = e
		go s.fill(e, lang, name, path)
	}
	s.mu.Unlock()
	select {
	case <-e.done:
		return e.prompt, e.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (s *spoken) fill(e *spokenEntry, lang, name, path string) {
	defer close(e.done)
	p, err := media.LoadPrompt(path)
	if err == nil {
		e.prompt = p
		return
	}
	if !errors.Is(err, os.ErrNotExist) {
		e.err, e.at = err, s.now()
		s.log.Error("prompt file unreadable", "path", path, "err", err)
		return
	}
	text, ok := spokenText(lang, name)
	if !ok {
		e.err, e.at = fmt.Errorf("voice: no text for prompt %s/%s", lang, name), s.now()
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), spokenTimeout)
	defer cancel()
	start := time.Now()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		e.err, e.at = fmt.Errorf("voice: prompts dir: %w", err), s.now()
		return
	}
	if err := s.generate(ctx, lang, text, path); err != nil {
		e.err, e.at = fmt.Errorf("voice: generate prompt %s/%s: %w", lang, name, err), s.now()
		s.log.Error("prompt not generated", "path", path, "err", err)
		return
	}
	if e.prompt, err = media.LoadPrompt(path); err != nil {
		e.err, e.at = err, s.now()
		return
	}
	s.log.Info("prompt generated", "path", path, "ms", time.Since(start).Milliseconds())
}

// once generates a prompt of text for one use (a number read back), in a
// temporary directory removed at once; nothing is kept.
func (s *spoken) once(ctx context.Context, lang, text string) (*media.Prompt, error) {
	dir, err := os.MkdirTemp("", "hotline-prompt-*")
	if err != nil {
		return nil, fmt.Errorf("voice: generate prompt: %w", err)
	}
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithTimeout(ctx, spokenTimeout)
	defer cancel()
	path := filepath.Join(dir, "prompt.wav")
	if err := s.generate(ctx, lang, text, path); err != nil {
		return nil, err
	}
	return media.LoadPrompt(path)
}

// spokenNames lists every spoken prompt of a language, for tests and
// operators who generate them ahead.
func spokenNames() []string {
	names := []string{PromptCallbackClosed, PromptCallbackOffer, PromptCallbackNumber, PromptCallbackConfirmed}
	for n := 1; n <= positionCap+1; n++ {
		names = append(names, positionPrompt(n))
	}
	for m := 1; m <= waitCapMinutes+1; m++ {
		names = append(names, waitPrompt(m))
	}
	return names
}

// spokenTexts are the fixed sentences per language.
var spokenTexts = map[string]map[string]string{
	"en": {
		PromptCallbackClosed:    "To be called back, press 1. Or stay on the line to leave a message.",
		PromptCallbackOffer:     "To be called back instead of waiting, press 1.",
		PromptCallbackNumber:    "Please key in the number we should call, then press the hash key.",
		PromptCallbackConfirmed: "Thank you. We will call you back as soon as possible. Goodbye.",
		"queue_position_more":   "More than " + strconv.Itoa(positionCap) + " callers are waiting before you.",
		"queue_wait_more":       "Your estimated waiting time is more than " + strconv.Itoa(waitCapMinutes) + " minutes.",
	},
	"fr": {
		PromptCallbackClosed:    "Pour être rappelé, appuyez sur 1. Ou restez en ligne pour laisser un message.",
		PromptCallbackOffer:     "Pour être rappelé au lieu de patienter, appuyez sur 1.",
		PromptCallbackNumber:    "Veuillez composer le numéro auquel vous rappeler, puis appuyez sur la touche dièse.",
		PromptCallbackConfirmed: "Merci. Nous vous rappellerons dès que possible. Au revoir.",
		"queue_position_more":   "Plus de " + strconv.Itoa(positionCap) + " appelants attendent avant vous.",
		"queue_wait_more":       "Votre temps d'attente estimé est de plus de " + strconv.Itoa(waitCapMinutes) + " minutes.",
	},
	"de": {
		PromptCallbackClosed:    "Für einen Rückruf drücken Sie die 1. Oder bleiben Sie in der Leitung, um eine Nachricht zu hinterlassen.",
		PromptCallbackOffer:     "Für einen Rückruf, statt zu warten, drücken Sie die 1.",
		PromptCallbackNumber:    "Bitte geben Sie die Rückrufnummer ein und drücken Sie dann die Rautetaste.",
		PromptCallbackConfirmed: "Vielen Dank. Wir rufen Sie so bald wie möglich zurück. Auf Wiederhören.",
		"queue_position_more":   "Mehr als " + strconv.Itoa(positionCap) + " Anrufer warten vor Ihnen.",
		"queue_wait_more":       "Ihre geschätzte Wartezeit beträgt mehr als " + strconv.Itoa(waitCapMinutes) + " Minuten.",
	},
	"ru": {
		PromptCallbackClosed:    "Чтобы вам перезвонили, нажмите 1. Или оставайтесь на линии, чтобы оставить сообщение.",
		PromptCallbackOffer:     "Чтобы вам перезвонили вместо ожидания, нажмите 1.",
		PromptCallbackNumber:    "Пожалуйста, наберите номер для обратного звонка и нажмите решётку.",
		PromptCallbackConfirmed: "Спасибо. Мы перезвоним вам как можно скорее. До свидания.",
		"queue_position_more":   "Перед вами в очереди более " + strconv.Itoa(positionCap) + " человек.",
		"queue_wait_more":       "Примерное время ожидания более " + strconv.Itoa(waitCapMinutes) + " минут.",
	},
}

// spokenText is the text of prompt name in lang.
func spokenText(lang, name string) (string, bool) {
	if t, ok := spokenTexts[lang][name]; ok {
		return t, true
	}
	if _, ok := spokenTexts[lang]; !ok {
		return "", false
	}
	if n, ok := strings.CutPrefix(name, "queue_position_"); ok {
		if v, err := strconv.Atoi(n); err == nil && v >= 1 && v <= positionCap {
			return positionText(lang, v), true
		}
	}
	if m, ok := strings.CutPrefix(name, "queue_wait_"); ok {
		if v, err := strconv.Atoi(m); err == nil && v >= 1 && v <= waitCapMinutes {
			return waitText(lang, v), true
		}
	}
	return "", false
}

func positionText(lang string, n int) string {
	s := strconv.Itoa(n)
	switch lang {
	case "fr":
		return "Vous êtes l'appelant numéro " + s + "."
	case "de":
		return "Sie sind Anrufer Nummer " + s + "."
	case "ru":
		return "Ваш номер в очереди: " + s + "."
	}
	return "You are caller number " + s + "."
}

func waitText(lang string, m int) string {
	s := strconv.Itoa(m)
	switch lang {
	case "fr":
		unit := "minutes"
		if m == 1 {
			unit = "minute"
		}
		return "Votre temps d'attente estimé est d'environ " + s + " " + unit + "."
	case "de":
		unit := "Minuten"
		if m == 1 {
			unit = "Minute"
		}
		return "Ihre geschätzte Wartezeit beträgt etwa " + s + " " + unit + "."
	case "ru":
		return "Примерное время ожидания: около " + s + " " + russianMinutes(m) + "."
	}
	unit := "minutes"
	if m == 1 {
		unit = "minute"
	}
	return "Your estimated waiting time is about " + s + " " + unit + "."
}

// russianMinutes is "minutes" after "около m": the genitive, singular
// after 1, 21, 31 (около 21 минуты), plural otherwise (около 5 минут).
func russianMinutes(m int) string {
	if m%10 == 1 && m%100 != 11 {
		return "минуты"
	}
	return "минут"
}
