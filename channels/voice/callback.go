package voice

import (
	"context"
	"errors"
	"strings"

	"github.com/hotline-hub/hotline/bus/event"
	"github.com/hotline-hub/hotline/channels/voice/media"
)

// Callback requests: a caller may ask to be called back instead of
// leaving a voicemail (out of hours) or instead of waiting long (in
// hours). The request is call.callback_requested, and the conversation is
// a queued case like any other (conversation.queued, or the queueing the
// caller already has), so the next agent gets it; the call ends with
// reason "callback", never as abandoned. A caller who withholds their
// number keys one in, ended by '#'.

// Lengths of a keyed-in callback number: the shortest extension to the
// longest E.164 number.
const (
	minCallbackDigits = 4
	maxCallbackDigits = 15
)

// callbackKey is the key that accepts a callback offer.
const callbackKey = '1'

// closedCallback offers a callback after the closed announcement. It
// returns the call.ended reason and true when the call is over (a callback
// was requested, or the caller hung up), false to go on to the voicemail.
func (c *call) closedCallback(ctx context.Context) (string, bool) {
	lang := c.num.cfg.Menu.DefaultLanguage
	if !c.askCallback(ctx, lang, PromptCallbackClosed) {
		if ctx.Err() != nil {
			return event.EndClosed, true
		}
		return "", false
	}
	number, ok := c.callbackNumber(ctx, lang)
	if !ok {
		if ctx.Err() != nil {
			return event.EndClosed, true
		}
		return "", false // the voicemail is still there for them
	}
	menu := c.num.cfg.Menu
	now := c.s.cfg.Now()
	if err := c.publish(ctx,
		&pending{typ: event.CallCallbackRequested, kind: "callback", at: now, data: &event.CallCallbackRequestedData{
			CallID: c.callID, Number: number, Queue: menu.DefaultQueue, Language: lang}},
		&pending{typ: event.ConversationQueued, kind: "conv-queued", at: now, data: &event.ConversationQueuedData{
			Queue: menu.DefaultQueue, Priority: menu.Priority, Skills: menu.Skills, Language: lang}},
	); err != nil {
		return c.failed(ctx, err, event.EndClosed), true
	}
	c.log.Info("callback requested", "queue", menu.DefaultQueue, "language", lang, "keyed", number != c.from)
	c.confirmCallback(ctx, lang, number)
	return event.EndCallback, true
}

// offerCallback offers a queued caller, once and right after queueing, to
// be called back when the estimated wait exceeds CallbackOfferAfter. It
// returns the call.ended reason and true when the call is over, false to
// go on waiting.
func (c *call) offerCallback(ctx context.Context) (string, bool) {
	after := c.s.cfg.CallbackOfferAfter
	if after <= 0 {
		return "", false
	}
	est, ok := c.waitEstimate()
	if !ok || !est.Known || est.Wait <= after {
		return "", false
	}
	c.sess.FlushDigits() // keys left over from the menus do not answer this
	if !c.askCallback(ctx, c.lang, PromptCallbackOffer) {
		if ctx.Err() != nil {
			return event.EndAbandoned, true
		}
		return "", false
	}
	number, ok := c.callbackNumber(ctx, c.lang)
	if !ok {
		if ctx.Err() != nil {
			return event.EndAbandoned, true
		}
		return "", false
	}
	c.mu.Lock()
	select {
	case leg := <-c.answered:
		// An agent answered while the caller was choosing: they talk.
		c.answered <- leg
		c.mu.Unlock()
		c.log.Info("callback not requested: an agent answered meanwhile")
		return "", false
	default:
		c.holdDone = true // a phone answering from now on is hung up
	}
	queue := c.queue
	c.mu.Unlock()
	if err := c.publish(ctx, &pending{typ: event.CallCallbackRequested, kind: "callback", at: c.s.cfg.Now(),
		data: &event.CallCallbackRequestedData{CallID: c.callID, Number: number, Queue: queue, Language: c.lang}}); err != nil {
		// The caller still hangs up: a failure here leaves the case
		// queued, and call.ended says the call failed.
		return c.failed(ctx, err, event.EndAbandoned), true
	}
	c.log.Info("callback requested", "queue", queue, "language", c.lang, "wait_ms", est.Wait.Milliseconds(), "keyed", number != c.from)
	c.confirmCallback(ctx, c.lang, number)
	return event.EndCallback, true
}

// askCallback plays offer and reports whether the caller pressed 1.
func (c *call) askCallback(ctx context.Context, lang, offer string) bool {
	p, err := c.s.spoken.get(ctx, lang, offer)
	if err != nil {
		if ctx.Err() == nil {
			c.log.Warn("callback not offered: prompt unavailable", "prompt", offer, "err", err)
		}
		return false
	}
	if err := c.sess.Play(ctx, p, true); err != nil && !errors.Is(err, media.ErrInterrupted) {
		return false
	}
	d, ok := c.sess.ReadDigit(ctx, c.num.cfg.Menu.InputTimeout)
	return ok && d.Key == callbackKey
}

// callbackNumber is the number to call back: the caller's own, or, when
// withheld, digits they key in and end with '#' ('*' starts again). A
// wrong number is asked again Retries times; ok is false after that.
func (c *call) callbackNumber(ctx context.Context, lang string) (string, bool) {
	if c.from != "anonymous" && c.from != "" {
		return c.from, true
	}
	ask, err := c.s.spoken.get(ctx, lang, PromptCallbackNumber)
	if err != nil {
		if ctx.Err() == nil {
			c.log.Warn("callback number not asked: prompt unavailable", "err", err)
		}
		return "", false
	}
	for try := 0; try <= c.num.cfg.Menu.Retries; try++ {
		if try > 0 {
			if err := c.sess.Play(ctx, c.s.prompts.get(lang, PromptInvalid), true); err != nil && !errors.Is(err, media.ErrInterrupted) {
				return "", false
			}
		}
		if err := c.sess.Play(ctx, ask, true); err != nil && !errors.Is(err, media.ErrInterrupted) {
			return "", false
		}
		keys, ended := c.readKeys(ctx)
		if ctx.Err() != nil {
			return "", false
		}
		if n, ok := callbackDigits(keys, ended); ok {
			return n, true
		}
		c.log.Debug("callback number refused", "keys", len(keys), "ended", ended)
	}
	return "", false
}

// readKeys reads keys until '#' (ended true), silence for InputTimeout,
// or more keys than any number has.
func (c *call) readKeys(ctx context.Context) (string, bool) {
	var b strings.Builder
	for b.Len() <= maxCallbackDigits {
		d, ok := c.sess.ReadDigit(ctx, c.num.cfg.Menu.InputTimeout)
		if !ok {
			return b.String(), false
		}
		switch d.Key {
		case '#':
			return b.String(), true
		case '*':
			b.Reset()
		default:
			b.WriteRune(d.Key)
		}
	}
	return b.String(), false
}

// callbackDigits validates a keyed-in number: ended by '#', digits only,
// minCallbackDigits to maxCallbackDigits of them.
func callbackDigits(keys string, ended bool) (string, bool) {
	if !ended || len(keys) < minCallbackDigits || len(keys) > maxCallbackDigits {
		return "", false
	}
	if strings.Trim(keys, "0123456789") != "" {
		return "", false
	}
	return keys, true
}

// confirmCallback thanks the caller before the hub hangs up; a number
// they keyed in is read back to them.
func (c *call) confirmCallback(ctx context.Context, lang, number string) {
	if number != c.from {
		p, err := c.s.spoken.once(ctx, lang, readBackText(lang, number))
		if err == nil {
			c.sess.Play(ctx, p, false)
			return
		}
		c.log.Warn("keyed number not read back", "err", err)
	}
	p, err := c.s.spoken.get(ctx, lang, PromptCallbackConfirmed)
	if err != nil {
		if ctx.Err() == nil {
			c.log.Warn("callback confirmation unavailable", "err", err)
		}
		return
	}
	c.sess.Play(ctx, p, false)
}

// readBackText confirms a keyed-in number digit by digit.
func readBackText(lang, number string) string {
	digits := strings.Join(strings.Split(number, ""), " ")
	switch lang {
	case "fr":
		return "Merci. Nous vous rappellerons au " + digits + ". Au revoir."
	case "de":
		return "Vielen Dank. Wir rufen Sie unter " + digits + " zurück. Auf Wiederhören."
	case "ru":
		return "Спасибо. Мы перезвоним вам по номеру " + digits + ". До свидания."
	}
	return "Thank you. We will call you back on " + digits + ". Goodbye."
}
