package directory

import (
	"context"
	"fmt"
	"slices"

	"github.com/hotline-hub/hotline/bus/event"
	"github.com/hotline-hub/hotline/routing/hours"
)

// Ids of the starter directory EnsureDefaults writes.
const (
	StarterSkill    = "general"
	StarterQueue    = "support"
	StarterGreeting = "greeting"
	StarterScript   = "identify-caller"
)

// starterTexts are the starter canned answers in each tenant language:
// greeting title and text, script title and text.
var starterTexts = map[string][4]string{
	"en": {
		"Greeting",
		"Hello {{customer.name}}, this is {{agent.name}}. How can I help you?",
		"Identify the caller",
		"1. Greet the caller: \"Hello, this is {{agent.name}}, how may I help you?\"\n" +
			"2. Ask for their full name and their customer number or email address.\n" +
			"3. If they call about an existing case, ask for its number and check that it is case {{case.number}}.\n" +
			"4. Repeat the request back to them before you go on.",
	},
	"fr": {
		"Salutation",
		"Bonjour {{customer.name}}, je suis {{agent.name}}. Comment puis-je vous aider ?",
		"Identifier l'appelant",
		"1. Saluez l'appelant : « Bonjour, {{agent.name}} à votre écoute, que puis-je faire pour vous ? »\n" +
			"2. Demandez son nom complet et son numéro client ou son adresse e-mail.\n" +
			"3. S'il appelle pour un dossier en cours, demandez-en le numéro et vérifiez qu'il s'agit du dossier {{case.number}}.\n" +
			"4. Reformulez sa demande avant de poursuivre.",
	},
	"ru": {
		"Приветствие",
		"Здравствуйте, {{customer.name}}! Меня зовут {{agent.name}}. Чем я могу вам помочь?",
		"Идентификация звонящего",
		"1. Поприветствуйте звонящего: «Здравствуйте, меня зовут {{agent.name}}, чем могу помочь?»\n" +
			"2. Спросите полное имя и номер клиента или адрес электронной почты.\n" +
			"3. Если звонок касается открытого обращения, спросите его номер и проверьте, что это обращение {{case.number}}.\n" +
			"4. Перескажите запрос своими словами, прежде чем продолжить.",
	},
	"de": {
		"Begrüßung",
		"Guten Tag {{customer.name}}, hier ist {{agent.name}}. Wie kann ich Ihnen helfen?",
		"Anrufer identifizieren",
		"1. Begrüßen Sie den Anrufer: „Guten Tag, hier ist {{agent.name}}, was kann ich für Sie tun?“\n" +
			"2. Fragen Sie nach dem vollständigen Namen und der Kundennummer oder E-Mail-Adresse.\n" +
			"3. Geht es um einen bestehenden Vorgang, fragen Sie nach der Nummer und prüfen Sie, dass es Vorgang {{case.number}} ist.\n" +
			"4. Fassen Sie das Anliegen zusammen, bevor Sie fortfahren.",
	},
}

// EnsureDefaults writes a starter directory for a tenant that has no
// directory fact at all, so a new tenant can take chats at once: skill
// "general", queue "support" (every channel, always open), a routing
// profile for adminAccountID (skipped when empty), the widget sending to
// "support" and allowing any origin when allowAnyOrigin (else none, until
// an admin lists the sites), a greeting and an "identify the caller" script
// in language (one of event.TenantLanguages; others get English). It
// reports whether it wrote them; a tenant with any fact, even one whose
// admins removed everything, is left alone. Run must be running.
func (s *Store) EnsureDefaults(ctx context.Context, tenant, language, adminAccountID string, allowAnyOrigin bool) (bool, error) {
	release, err := s.begin(ctx, tenant)
	if err != nil {
		return false, fmt.Errorf("directory: defaults of %q: %w", tenant, err)
	}
	defer release()
	s.mu.RLock()
	td := s.tenants[tenant]
	exists := td != nil && td.facts
	s.mu.RUnlock()
	if exists {
		return false, nil
	}
	if !slices.Contains(event.TenantLanguages, language) {
		language = "en"
	}
	texts := starterTexts[language]
	origins := []string{}
	if allowAnyOrigin {
		origins = []string{"*"}
	}
	facts := []event.Payload{
		&event.SkillSavedData{SkillID: StarterSkill, Name: "General"},
		&event.QueueSavedData{QueueID: StarterQueue, Name: "Support",
			Channels: []string{event.ChannelChat, event.ChannelEmail, event.ChannelSMS, event.ChannelVoice},
			Skills:   []string{StarterSkill}, Hours: &hours.Config{TimeZone: "UTC", AlwaysOpen: true}},
	}
	if adminAccountID != "" {
		facts = append(facts, &event.AgentProfileSetData{AgentID: adminAccountID, Skills: []string{StarterSkill},
			Capacity: capacityMap(Capacity{Chat: 3, Email: 5, SMS: 3, Voice: 1})})
	}
	facts = append(facts,
		&event.WidgetConfiguredData{AllowedOrigins: origins, DefaultQueue: StarterQueue},
		&event.CannedAnswerSavedData{AnswerID: StarterGreeting, Kind: event.CannedAnswer, Title: texts[0], Text: texts[1],
			Language: language, Shortcut: "hello"},
		&event.CannedAnswerSavedData{AnswerID: StarterScript, Kind: event.CannedScript, Title: texts[2], Text: texts[3],
			Language: language, Shortcut: "identify"},
	)
	if err := s.publish(ctx, tenant, facts...); err != nil {
		return false, fmt.Errorf("directory: defaults of %q: %w", tenant, err)
	}
	s.log.Info("wrote the starter directory", "tenant", tenant, "language", language)
	return true, nil
}
