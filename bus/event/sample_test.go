package event

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hotline-hub/hotline/bus"
	"github.com/hotline-hub/hotline/routing/hours"
)

const testSHA = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

// samples holds one valid payload of every event type, with the envelope
// options it needs.
func samples() map[string]struct {
	payload Payload
	opts    []Option
} {
	conv := []Option{WithConversation("c-42"), WithSource("/test")}
	chat := append([]Option{WithChannel(ChannelChat)}, conv...)
	email := append([]Option{WithChannel(ChannelEmail)}, conv...)
	webui := []Option{WithSource("/webui/auth")}
	blob := BlobRef{SHA256: testSHA, Size: 1234, ContentType: "application/pdf", Name: "invoice.pdf"}
	type s = struct {
		payload Payload
		opts    []Option
	}
	return map[string]s{
		MessageReceived: {&MessageReceivedData{
			MessageID: "m-1", ExternalID: "<abc@mail.example>", ClientMessageID: "cm-1",
			From: Address{Address: "jane@example.com", Name: "Jane"}, To: []Address{{Address: "support@acme.example"}},
			Subject: "Invoice", Text: "Bonjour, ma facture est fausse.", Attachments: []BlobRef{blob}, Language: "fr",
		}, email},
		MessageSent: {&MessageSentData{
			MessageID: "m-2", ClientMessageID: "cm-2", AgentID: "a-7",
			From: Address{Address: "support@acme.example"}, To: []Address{{Address: "jane@example.com"}},
			Text: "We fixed it.", InReplyTo: "m-1",
		}, email},
		MessageDelivered: {&MessageDeliveredData{MessageID: "m-2", Status: DeliveryDelivered, ExternalID: "q-9", Attempts: 1}, email},
		CallStarted:      {&CallStartedData{CallID: "call-1", Direction: DirectionInbound, From: "+33612345678", To: "+3318000000"}, conv},
		CallMenuSelected: {&CallMenuSelectedData{CallID: "call-1", Menu: "lang", Selection: "2", Language: "de"}, conv},
		CallQueued:       {&CallQueuedData{CallID: "call-1", Queue: "billing", Position: 3}, conv},
		CallAnswered:     {&CallAnsweredData{CallID: "call-1", AgentID: "a-7", WaitMs: 42000, RingMs: 3000}, conv},
		CallTransferred:  {&CallTransferredData{CallID: "call-1", FromAgentID: "a-7", ToQueue: "tech", Kind: TransferBlind}, conv},
		CallEnded: {&CallEndedData{CallID: "call-1", Reason: EndCallerHangup, DurationMs: 300000, WaitMs: 42000,
			TalkMs: 250000, HoldMs: 10000, AgentID: "a-7"}, conv},
		CallRecorded: {&CallRecordedData{CallID: "call-1", Kind: RecordingCall, DurationMs: 250000,
			Recording: BlobRef{SHA256: testSHA, Size: 4000000, ContentType: "audio/wav"}}, conv},
		CallHoldRequested:     {&CallHoldRequestedData{CallID: "call-1", Hold: true, By: "a-7"}, conv},
		CallHeld:              {&CallHeldData{CallID: "call-1", AgentID: "a-7", Source: HoldFromInbox}, conv},
		CallResumed:           {&CallResumedData{CallID: "call-1", AgentID: "a-7", Source: HoldFromPhone, HoldMs: 12000}, conv},
		CallCallbackRequested: {&CallCallbackRequestedData{CallID: "call-1", Number: "+33612345678", Queue: "billing", Language: "fr"}, conv},
		CallRecordingDeleted: {&CallRecordingDeletedData{CallID: "call-1", Reason: RecordingExpired,
			Recording: BlobRef{SHA256: testSHA, Size: 4000000, ContentType: "audio/wav"}}, conv},
		ConversationQueued:      {&ConversationQueuedData{Queue: "billing", Priority: 5, Skills: []string{"billing", "lang:fr"}, Language: "fr"}, chat},
		ConversationOffered:     {&ConversationOfferedData{AgentID: "a-7", Queue: "billing", TimeoutMs: 20000}, chat},
		ConversationAssigned:    {&ConversationAssignedData{AgentID: "a-7", Queue: "billing"}, chat},
		ConversationTransferred: {&ConversationTransferredData{FromAgentID: "a-7", ToQueue: "tech", Note: "needs a technician"}, chat},
		ConversationResolved:    {&ConversationResolvedData{AgentID: "a-7", Resolution: "solved"}, chat},
		ConversationReopened:    {&ConversationReopenedData{Reason: ReopenCustomerReplied, MessageID: "m-3"}, chat},
		ConversationAbandoned:   {&ConversationAbandonedData{Queue: "billing", WaitMs: 90000, Reason: AbandonCustomerLeft}, chat},
		ConversationTagged:      {&ConversationTaggedData{Tags: []string{"vip", "réclamation", "доставка", "2nd-level_support"}, By: "a-7"}, chat},
		NoteAdded:               {&NoteAddedData{NoteID: "n-1", AgentID: "a-7", Text: "VIP customer"}, conv},
		AgentPresenceChanged: {&AgentPresenceChangedData{AgentID: "a-7", Presence: PresenceWrapUp, Previous: PresenceAvailable},
			[]Option{WithSource("/webui")}},
		ContactIdentified: {&ContactIdentifiedData{ContactID: "k-1", Address: "jane@example.com", Method: IdentifiedAuto},
			[]Option{WithConversation("c-42"), WithContact("k-1")}},
		ContactsMerged:   {&ContactsMergedData{IntoID: "k-1", MergedIDs: []string{"k-2", "k-3"}, AgentID: "a-7"}, []Option{WithContact("k-1")}},
		ContactsUnmerged: {&ContactsUnmergedData{ContactID: "k-1", RestoredIDs: []string{"k-3"}, AgentID: "a-7"}, []Option{WithContact("k-1")}},

		ConversationOfferDeclined: {&ConversationOfferDeclinedData{AgentID: "a-7", Queue: "billing", OfferID: "o-1", Reason: "busy"}, chat},
		ConversationOfferExpired:  {&ConversationOfferExpiredData{AgentID: "a-7", Queue: "billing", OfferID: "o-1", TimeoutMs: 20000}, chat},
		RouterStarted:             {&RouterStartedData{RouterID: "host-1/4242"}, []Option{WithSource("/routing")}},

		TenantCreated: {&TenantCreatedData{Name: "Acme SA", Language: "fr", TimeZone: "Europe/Paris", ByAccountID: "a-1"}, webui},
		TenantUpdated: {&TenantUpdatedData{Name: "Acme GmbH", Language: "de", TimeZone: "Europe/Berlin"}, webui},
		AccountCreated: {&AccountCreatedData{AccountID: "a-7", Login: "jane@acme.example", DisplayName: "Jane Doe",
			Role: RoleAgent, ByAccountID: "a-1"}, webui},
		AccountUpdated: {&AccountUpdatedData{AccountID: "a-7", Login: "jane@acme.example", DisplayName: "Jane Doe",
			Role: RoleSupervisor, ByAccountID: "a-1"}, webui},
		AccountPasswordChanged: {&AccountPasswordChangedData{AccountID: "a-7",
			PasswordHash: "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$dGhpcyBpcyBub3QgYSByZWFsIGhhc2ggYXQgYWxsIQ",
			ByAccountID:  "a-7", KeepSessionHash: testSHA}, webui},
		AccountDisabled:       {&AccountDisabledData{AccountID: "a-7", ByAccountID: "a-1", Reason: "left the company"}, webui},
		AccountLocked:         {&AccountLockedData{AccountID: "a-7", Until: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Failures: 5}, webui},
		AccountUnlocked:       {&AccountUnlockedData{AccountID: "a-7", ByAccountID: "a-1"}, webui},
		SessionStarted:        {&SessionStartedData{SessionHash: testSHA, AccountID: "a-7", ExpiresAt: time.Date(2026, 1, 2, 15, 0, 0, 0, time.UTC), UserAgent: "Mozilla/5.0"}, webui},
		SessionEnded:          {&SessionEndedData{SessionHash: testSHA, AccountID: "a-7", Reason: SessionLogout}, webui},
		AccountsReaderStarted: {&AccountsReaderStartedData{ReaderID: "host-1/4242"}, webui},

		QueueSaved: {&QueueSavedData{QueueID: "billing", Name: "Facturation", Channels: []string{ChannelChat, ChannelVoice},
			Skills: []string{"fr", "billing"}, Priority: 2,
			Hours: &hours.Config{TimeZone: "Europe/Paris", Weekly: map[string][]string{"monday": {"08:00-18:00"}},
				Holidays: []hours.Holiday{{Date: "2026-12-25", Name: "Noël"}}},
			OverflowAfterMs: 120000, OverflowQueue: "general", OfferTimeoutMs: 20000, ByAccountID: "a-1"}, webui},
		QueueRemoved:        {&QueueRemovedData{QueueID: "billing", ByAccountID: "a-1"}, webui},
		AgentProfileSet:     {&AgentProfileSetData{AgentID: "a-7", Skills: []string{"fr", "billing"}, Capacity: map[string]int{"chat": 3, "voice": 1}, ByAccountID: "a-1"}, webui},
		AgentProfileRemoved: {&AgentProfileRemovedData{AgentID: "a-7", ByAccountID: "a-1"}, webui},
		SkillSaved:          {&SkillSavedData{SkillID: "billing", Name: "Facturation", ByAccountID: "a-1"}, webui},
		SkillRemoved:        {&SkillRemovedData{SkillID: "billing", ByAccountID: "a-1"}, webui},
		CannedAnswerSaved: {&CannedAnswerSavedData{AnswerID: "greeting", Kind: CannedAnswer, Title: "Greeting",
			Text: "Hello {{customer.name}},\nthank you for calling.", Language: "en", Shortcut: "hello", Queues: []string{"billing"}, ByAccountID: "a-1"}, webui},
		CannedAnswerRemoved:    {&CannedAnswerRemovedData{AnswerID: "greeting", ByAccountID: "a-1"}, webui},
		WidgetConfigured:       {&WidgetConfiguredData{AllowedOrigins: []string{"https://www.acme.example", "http://localhost:3000"}, DefaultQueue: "billing", ByAccountID: "a-1"}, webui},
		DirectoryReaderStarted: {&DirectoryReaderStartedData{ReaderID: "host-1/4242"}, webui},
	}
}

// newSample builds a valid event of typ from samples.
func newSample(t testing.TB, typ string) *Envelope {
	t.Helper()
	s, ok := samples()[typ]
	if !ok {
		t.Fatalf("no sample for %s", typ)
	}
	e, err := New(typ, "acme", s.payload, s.opts...)
	if err != nil {
		t.Fatalf("New(%s): %v", typ, err)
	}
	return e
}

// sameEnvelope fails unless a and b carry the same event; times compare by
// instant, data by JSON meaning.
func sameEnvelope(t *testing.T, got, want *Envelope) {
	t.Helper()
	if !got.Time.Equal(want.Time) {
		t.Errorf("time = %v, want %v", got.Time, want.Time)
	}
	if !jsonEqual(got.Data, want.Data) {
		t.Errorf("data = %s, want %s", got.Data, want.Data)
	}
	if len(got.Extensions) != len(want.Extensions) {
		t.Errorf("extensions = %s, want %s", got.Extensions, want.Extensions)
	}
	for k, v := range want.Extensions {
		if !jsonEqual(got.Extensions[k], v) {
			t.Errorf("extension %s = %s, want %s", k, got.Extensions[k], v)
		}
	}
	g, w := *got, *want
	g.Time = w.Time
	g.Data, w.Data = nil, nil
	g.Extensions, w.Extensions = nil, nil
	if !reflect.DeepEqual(g, w) {
		t.Errorf("envelope = %+v\nwant       %+v", g, w)
	}
}

func jsonEqual(a, b []byte) bool {
	if len(a) == 0 || len(b) == 0 {
		return len(a) == len(b)
	}
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return string(a) == string(b)
	}
	return reflect.DeepEqual(x, y)
}

func TestEveryDesignTypeIsRegistered(t *testing.T) {
	design := []string{
		"message.received", "message.sent", "message.delivered", "call.started", "call.menu_selected",
		"call.queued", "call.answered", "call.transferred", "call.ended", "call.recorded",
		// call control, callbacks and retention (channels/voice, the inbox)
		"call.hold_requested", "call.held", "call.resumed", "call.callback_requested", "call.recording_deleted",
		"conversation.queued", "conversation.offered", "conversation.assigned", "conversation.transferred",
		"conversation.resolved", "conversation.reopened", "conversation.abandoned", "conversation.tagged", "note.added",
		"agent.presence_changed", "contact.identified", "contacts.merged", "contacts.unmerged",
		// routing's own facts on TopicRouting (docs/ROUTING.md)
		"conversation.offer_declined", "conversation.offer_expired", "router.started",
		// web UI accounts, tenants and sessions on TopicAccounts
		"tenant.created", "tenant.updated", "account.created", "account.updated", "account.password_changed",
		"account.disabled", "account.locked", "account.unlocked", "session.started", "session.ended",
		"accounts.reader_started",
		// the directory of who handles what on TopicDirectory
		"queue.saved", "queue.removed", "agent.profile_set", "agent.profile_removed", "skill.saved", "skill.removed",
		"canned_answer.saved", "canned_answer.removed", "widget.configured", "directory.reader_started",
	}
	if got := strings.Join(Types(), ","); len(Types()) != len(design) {
		t.Fatalf("Types() = %s; want the %d DESIGN.md types", got, len(design))
	}
	s := samples()
	for _, typ := range design {
		if !Known(typ) {
			t.Errorf("%s is not registered", typ)
		}
		if TopicFor(typ) == "" {
			t.Errorf("%s has no topic", typ)
		}
		sample, ok := s[typ]
		if !ok {
			t.Errorf("%s has no sample payload", typ)
			continue
		}
		if got := sample.payload.EventType(); got != typ {
			t.Errorf("sample payload %T says %s, want %s", sample.payload, got, typ)
		}
	}
}

// validTopicForBus applies the bus's own topic rule.
func validTopicForBus(name string) error { return bus.ValidTopic(name) }
