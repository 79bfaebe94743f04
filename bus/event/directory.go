package event

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/hotline-hub/hotline/routing/hours"
)

// TopicDirectory carries each tenant's directory of who handles what: its
// queues, the routing profiles of its agents (skills and capacities), its
// skill catalogue, canned answers and operator scripts, and the chat
// widget's settings. Admins change it through the web UI; every change is a
// whole-object fact keyed by tenant alone, so a tenant's directory is the
// fold of its partition in order. Routing copies the queue and profile
// facts onto TopicRouting, where they take effect at one position that
// every router and inbox agrees on. Like TopicAccounts it must not be
// subject to time-based retention.
const TopicDirectory = "hotline.directory"

// Event types of TopicDirectory.
const (
	// QueueSaved: a queue was created or changed; the payload is the whole
	// queue.
	QueueSaved = "queue.saved"
	// QueueRemoved: a queue was deleted. Conversations waiting in it stay
	// where they are until transferred.
	QueueRemoved = "queue.removed"
	// AgentProfileSet: an account takes routed work, with these skills and
	// capacities; the payload is the whole profile.
	AgentProfileSet = "agent.profile_set"
	// AgentProfileRemoved: the account no longer takes routed work.
	AgentProfileRemoved = "agent.profile_removed"
	// SkillSaved: a skill of the tenant's catalogue was named or renamed.
	SkillSaved = "skill.saved"
	// SkillRemoved: a skill left the catalogue (queues and profiles naming
	// it keep it until edited).
	SkillRemoved = "skill.removed"
	// CannedAnswerSaved: a canned answer or operator script was created or
	// changed; the payload is the whole answer.
	CannedAnswerSaved = "canned_answer.saved"
	// CannedAnswerRemoved: a canned answer or script was deleted.
	CannedAnswerRemoved = "canned_answer.removed"
	// WidgetConfigured: the chat widget's settings changed.
	WidgetConfigured = "widget.configured"
	// DirectoryReaderStarted: a reader began folding a tenant's part of
	// TopicDirectory; it changes nothing and tells the reader that wrote it
	// when it has caught up.
	DirectoryReaderStarted = "directory.reader_started"
)

// Canned answer kinds.
const (
	// CannedAnswer is a reply an agent inserts into the composer.
	CannedAnswer = "answer"
	// CannedScript is an operator script: what to say and ask, step by
	// step, shown beside a conversation (on the phone, read aloud).
	CannedScript = "script"
)

// Limits of directory payloads.
const (
	MaxDirectoryIDLen = 64
	MaxCannedTextLen  = 5000
	maxTitleLen       = 200
)

// ValidDirectoryID reports whether s can name a queue, a skill or a canned
// answer: 1 to 64 lowercase letters, digits, '-', '_', '.' or ':'
// ("lang:fr"), starting with a letter or digit. Such ids are safe in URLs, logs and widget
// attributes.
func ValidDirectoryID(s string) bool {
	if s == "" || len(s) > MaxDirectoryIDLen {
		return false
	}
	for i, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
		case (r == '-' || r == '_' || r == '.' || r == ':') && i > 0:
		default:
			return false
		}
	}
	return true
}

func (p *problems) directoryID(field, id string) {
	if p.required(field, id) && !ValidDirectoryID(id) {
		p.add(field, "%q is not an id (lowercase letters, digits, '-', '_', '.', ':'; at most %d)", id, MaxDirectoryIDLen)
	}
}

// directoryIDs checks an optional list of directory ids: each valid, none
// repeated.
func (p *problems) directoryIDs(field string, ids []string) {
	for i, id := range ids {
		f := fmt.Sprintf("%s[%d]", field, i)
		p.directoryID(f, id)
		if j := indexOf(ids[:i], id); j >= 0 && id != "" {
			p.add(f, "%q repeats %s[%d]", id, field, j)
		}
	}
}

// QueueSavedData is the data of queue.saved: the whole queue.
type QueueSavedData struct {
	QueueID string `json:"queue_id"`
	Name    string `json:"name"`
	// Channels are the channels whose conversations may be queued here
	// (the chat widget offers the queues with "chat").
	Channels []string `json:"channels"`
	// Skills an agent needs, all of them, to take this queue's work.
	Skills []string `json:"skills,omitempty"`
	// Priority is added to each conversation's own priority.
	Priority int `json:"priority,omitempty"`
	// Hours is the queue's calendar; nil means open 24/7.
	Hours *hours.Config `json:"hours,omitempty"`
	// OverflowAfterMs and OverflowQueue move a conversation still waiting
	// after that long to another queue; both set or neither.
	OverflowAfterMs int64  `json:"overflow_after_ms,omitempty"`
	OverflowQueue   string `json:"overflow_queue,omitempty"`
	// OfferTimeoutMs is how long an offer stands; 0 means the default.
	OfferTimeoutMs int64  `json:"offer_timeout_ms,omitempty"`
	ByAccountID    string `json:"by_account_id,omitempty"`
	// Extra keeps fields this version does not know; see package doc.
	Extra map[string]json.RawMessage `json:"-"`
}

// Validate checks the queue on its own; whether its overflow queue exists
// is decided where the directory is folded.
func (d *QueueSavedData) Validate() error {
	var p problems
	p.directoryID("queue_id", d.QueueID)
	checkText(&p, "name", d.Name, maxTitleLen, true)
	if len(d.Channels) == 0 {
		p.add("channels", "is empty")
	}
	for i, ch := range d.Channels {
		f := fmt.Sprintf("channels[%d]", i)
		if !validChannel(ch) {
			p.add(f, "%q is not a channel (voice, email, sms, chat)", ch)
		} else if j := indexOf(d.Channels[:i], ch); j >= 0 {
			p.add(f, "%q repeats channels[%d]", ch, j)
		}
	}
	p.directoryIDs("skills", d.Skills)
	p.nonNegative("priority", int64(d.Priority))
	if d.Hours != nil {
		if _, err := hours.New(*d.Hours); err != nil {
			p.add("hours", "%s", strings.TrimPrefix(err.Error(), hours.ErrInvalid.Error()+": "))
		}
	}
	p.nonNegative("overflow_after_ms", d.OverflowAfterMs)
	switch {
	case d.OverflowAfterMs > 0 && d.OverflowQueue == "":
		p.add("overflow_queue", "is empty but overflow_after_ms is set")
	case d.OverflowAfterMs == 0 && d.OverflowQueue != "":
		p.add("overflow_after_ms", "is zero but overflow_queue is set")
	case d.OverflowQueue != "":
		p.directoryID("overflow_queue", d.OverflowQueue)
		if d.OverflowQueue == d.QueueID {
			p.add("overflow_queue", "%q is the queue itself", d.OverflowQueue)
		}
	}
	p.nonNegative("offer_timeout_ms", d.OfferTimeoutMs)
	return p.err(QueueSaved)
}

// QueueRemovedData is the data of queue.removed.
type QueueRemovedData struct {
	QueueID     string `json:"queue_id"`
	ByAccountID string `json:"by_account_id,omitempty"`
	// Extra keeps fields this version does not know; see package doc.
	Extra map[string]json.RawMessage `json:"-"`
}

// Validate requires the queue id.
func (d *QueueRemovedData) Validate() error {
	var p problems
	p.directoryID("queue_id", d.QueueID)
	return p.err(QueueRemoved)
}

// AgentProfileSetData is the data of agent.profile_set: the whole routing
// profile of one account.
type AgentProfileSetData struct {
	// AgentID is the account id.
	AgentID string   `json:"agent_id"`
	Skills  []string `json:"skills,omitempty"`
	// Capacity is how many conversations of each channel the agent handles
	// at once (offers included); at least one channel above 0.
	Capacity    map[string]int `json:"capacity"`
	ByAccountID string         `json:"by_account_id,omitempty"`
	// Extra keeps fields this version does not know; see package doc.
	Extra map[string]json.RawMessage `json:"-"`
}

// Validate requires the agent, valid skills and a usable capacity.
func (d *AgentProfileSetData) Validate() error {
	var p problems
	p.required("agent_id", d.AgentID)
	p.directoryIDs("skills", d.Skills)
	total := 0
	for _, ch := range slices.Sorted(maps.Keys(d.Capacity)) {
		n := d.Capacity[ch]
		switch {
		case !validChannel(ch):
			p.add("capacity."+ch, "%q is not a channel (voice, email, sms, chat)", ch)
		case n < 0:
			p.add("capacity."+ch, "%d is negative", n)
		case n > 1000:
			p.add("capacity."+ch, "%d is more than 1000", n)
		default:
			total += n
		}
	}
	if total == 0 {
		p.add("capacity", "no channel above 0, so the agent would never be routed to")
	}
	return p.err(AgentProfileSet)
}

// AgentProfileRemovedData is the data of agent.profile_removed.
type AgentProfileRemovedData struct {
	AgentID     string `json:"agent_id"`
	ByAccountID string `json:"by_account_id,omitempty"`
	// Extra keeps fields this version does not know; see package doc.
	Extra map[string]json.RawMessage `json:"-"`
}

// Validate requires the agent.
func (d *AgentProfileRemovedData) Validate() error {
	var p problems
	p.required("agent_id", d.AgentID)
	return p.err(AgentProfileRemoved)
}

// SkillSavedData is the data of skill.saved.
type SkillSavedData struct {
	SkillID     string `json:"skill_id"`
	Name        string `json:"name"`
	ByAccountID string `json:"by_account_id,omitempty"`
	// Extra keeps fields this version does not know; see package doc.
	Extra map[string]json.RawMessage `json:"-"`
}

// Validate requires an id and a name.
func (d *SkillSavedData) Validate() error {
	var p problems
	p.directoryID("skill_id", d.SkillID)
	checkText(&p, "name", d.Name, maxTitleLen, true)
	return p.err(SkillSaved)
}

// SkillRemovedData is the data of skill.removed.
type SkillRemovedData struct {
	SkillID     string `json:"skill_id"`
	ByAccountID string `json:"by_account_id,omitempty"`
	// Extra keeps fields this version does not know; see package doc.
	Extra map[string]json.RawMessage `json:"-"`
}

// Validate requires the id.
func (d *SkillRemovedData) Validate() error {
	var p problems
	p.directoryID("skill_id", d.SkillID)
	return p.err(SkillRemoved)
}

// CannedAnswerSavedData is the data of canned_answer.saved: the whole
// answer or script. Text may hold placeholders in double braces
// ({{customer.name}}, {{case.number}}, {{agent.name}}) that the inbox
// fills in when an agent inserts it.
type CannedAnswerSavedData struct {
	AnswerID string `json:"answer_id"`
	// Kind is CannedAnswer or CannedScript.
	Kind  string `json:"kind"`
	Title string `json:"title"`
	Text  string `json:"text"`
	// Language is one of TenantLanguages, or empty for any.
	Language string `json:"language,omitempty"`
	// Shortcut is what an agent types after "/" to insert it.
	Shortcut string `json:"shortcut,omitempty"`
	// Queues limits the answer to conversations of these queues; empty
	// means every queue.
	Queues      []string `json:"queues,omitempty"`
	ByAccountID string   `json:"by_account_id,omitempty"`
	// Extra keeps fields this version does not know; see package doc.
	Extra map[string]json.RawMessage `json:"-"`
}

// Validate checks every field.
func (d *CannedAnswerSavedData) Validate() error {
	var p problems
	p.directoryID("answer_id", d.AnswerID)
	p.oneOf("kind", d.Kind, CannedAnswer, CannedScript)
	checkText(&p, "title", d.Title, maxTitleLen, true)
	switch {
	case strings.TrimSpace(d.Text) == "":
		p.add("text", "is empty")
	case !utf8.ValidString(d.Text):
		p.add("text", "is not valid UTF-8")
	case utf8.RuneCountInString(d.Text) > MaxCannedTextLen:
		p.add("text", "is longer than %d characters", MaxCannedTextLen)
	case strings.ContainsRune(d.Text, 0):
		p.add("text", "contains a NUL character")
	}
	if d.Language != "" {
		p.oneOf("language", d.Language, TenantLanguages...)
	}
	if d.Shortcut != "" && !ValidDirectoryID(d.Shortcut) {
		p.add("shortcut", "%q is not a shortcut (lowercase letters, digits, '-', '_', '.')", d.Shortcut)
	}
	p.directoryIDs("queues", d.Queues)
	return p.err(CannedAnswerSaved)
}

// CannedAnswerRemovedData is the data of canned_answer.removed.
type CannedAnswerRemovedData struct {
	AnswerID    string `json:"answer_id"`
	ByAccountID string `json:"by_account_id,omitempty"`
	// Extra keeps fields this version does not know; see package doc.
	Extra map[string]json.RawMessage `json:"-"`
}

// Validate requires the id.
func (d *CannedAnswerRemovedData) Validate() error {
	var p problems
	p.directoryID("answer_id", d.AnswerID)
	return p.err(CannedAnswerRemoved)
}

// WidgetConfiguredData is the data of widget.configured: the chat widget's
// whole settings for the tenant.
type WidgetConfiguredData struct {
	// AllowedOrigins are the web origins ("https://www.example.com") whose
	// pages may open a chat; "*" allows any. Empty allows none, so a tenant
	// that never configured its widget cannot be embedded by strangers.
	AllowedOrigins []string `json:"allowed_origins"`
	// DefaultQueue is where a widget naming no queue sends its
	// conversations; it must be a queue taking chat.
	DefaultQueue string `json:"default_queue,omitempty"`
	ByAccountID  string `json:"by_account_id,omitempty"`
	// Extra keeps fields this version does not know; see package doc.
	Extra map[string]json.RawMessage `json:"-"`
}

// Validate checks each origin.
func (d *WidgetConfiguredData) Validate() error {
	var p problems
	for i, o := range d.AllowedOrigins {
		f := fmt.Sprintf("allowed_origins[%d]", i)
		if err := checkOrigin(o); err != "" {
			p.add(f, "%q %s", o, err)
		} else if j := indexOf(d.AllowedOrigins[:i], o); j >= 0 {
			p.add(f, "%q repeats allowed_origins[%d]", o, j)
		}
	}
	if d.DefaultQueue != "" {
		p.directoryID("default_queue", d.DefaultQueue)
	}
	return p.err(WidgetConfigured)
}

// checkOrigin returns why o is not "*" or a web origin, or "".
func checkOrigin(o string) string {
	if o == "*" {
		return ""
	}
	u, err := url.Parse(o)
	switch {
	case err != nil || u.Host == "":
		return "is not an origin (scheme://host[:port])"
	case u.Scheme != "http" && u.Scheme != "https":
		return "is not an http or https origin"
	case u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil:
		return "has more than scheme, host and port"
	case strings.ToLower(o) != o:
		return "is not lowercase"
	}
	return ""
}

// DirectoryReaderStartedData is the data of directory.reader_started.
type DirectoryReaderStartedData struct {
	ReaderID string `json:"reader_id"`
	// Extra keeps fields this version does not know; see package doc.
	Extra map[string]json.RawMessage `json:"-"`
}

// Validate requires the reader id.
func (d *DirectoryReaderStartedData) Validate() error {
	var p problems
	p.required("reader_id", d.ReaderID)
	return p.err(DirectoryReaderStarted)
}

// EventType returns QueueSaved.
func (*QueueSavedData) EventType() string { return QueueSaved }

// MarshalJSON writes the fields and any kept unknown ones.
func (d QueueSavedData) MarshalJSON() ([]byte, error) {
	type plain QueueSavedData
	return marshalKeeping(plain(d), d.Extra)
}

// UnmarshalJSON reads the fields and keeps unknown ones in Extra.
func (d *QueueSavedData) UnmarshalJSON(data []byte) error {
	type plain QueueSavedData
	return unmarshalKeeping(data, (*plain)(d), &d.Extra)
}

// EventType returns QueueRemoved.
func (*QueueRemovedData) EventType() string { return QueueRemoved }

// MarshalJSON writes the fields and any kept unknown ones.
func (d QueueRemovedData) MarshalJSON() ([]byte, error) {
	type plain QueueRemovedData
	return marshalKeeping(plain(d), d.Extra)
}

// UnmarshalJSON reads the fields and keeps unknown ones in Extra.
func (d *QueueRemovedData) UnmarshalJSON(data []byte) error {
	type plain QueueRemovedData
	return unmarshalKeeping(data, (*plain)(d), &d.Extra)
}

// EventType returns AgentProfileSet.
func (*AgentProfileSetData) EventType() string { return AgentProfileSet }

// MarshalJSON writes the fields and any kept unknown ones.
func (d AgentProfileSetData) MarshalJSON() ([]byte, error) {
	type plain AgentProfileSetData
	return marshalKeeping(plain(d), d.Extra)
}

// UnmarshalJSON reads the fields and keeps unknown ones in Extra.
func (d *AgentProfileSetData) UnmarshalJSON(data []byte) error {
	type plain AgentProfileSetData
	return unmarshalKeeping(data, (*plain)(d), &d.Extra)
}

// EventType returns AgentProfileRemoved.
func (*AgentProfileRemovedData) EventType() string { return AgentProfileRemoved }

// MarshalJSON writes the fields and any kept unknown ones.
func (d AgentProfileRemovedData) MarshalJSON() ([]byte, error) {
	type plain AgentProfileRemovedData
	return marshalKeeping(plain(d), d.Extra)
}

// UnmarshalJSON reads the fields and keeps unknown ones in Extra.
func (d *AgentProfileRemovedData) UnmarshalJSON(data []byte) error {
	type plain AgentProfileRemovedData
	return unmarshalKeeping(data, (*plain)(d), &d.Extra)
}

// EventType returns SkillSaved.
func (*SkillSavedData) EventType() string { return SkillSaved }

// MarshalJSON writes the fields and any kept unknown ones.
func (d SkillSavedData) MarshalJSON() ([]byte, error) {
	type plain SkillSavedData
	return marshalKeeping(plain(d), d.Extra)
}

// UnmarshalJSON reads the fields and keeps unknown ones in Extra.
func (d *SkillSavedData) UnmarshalJSON(data []byte) error {
	type plain SkillSavedData
	return unmarshalKeeping(data, (*plain)(d), &d.Extra)
}

// EventType returns SkillRemoved.
func (*SkillRemovedData) EventType() string { return SkillRemoved }

// MarshalJSON writes the fields and any kept unknown ones.
func (d SkillRemovedData) MarshalJSON() ([]byte, error) {
	type plain SkillRemovedData
	return marshalKeeping(plain(d), d.Extra)
}

// UnmarshalJSON reads the fields and keeps unknown ones in Extra.
func (d *SkillRemovedData) UnmarshalJSON(data []byte) error {
	type plain SkillRemovedData
	return unmarshalKeeping(data, (*plain)(d), &d.Extra)
}

// EventType returns CannedAnswerSaved.
func (*CannedAnswerSavedData) EventType() string { return CannedAnswerSaved }

// MarshalJSON writes the fields and any kept unknown ones.
func (d CannedAnswerSavedData) MarshalJSON() ([]byte, error) {
	type plain CannedAnswerSavedData
	return marshalKeeping(plain(d), d.Extra)
}

// UnmarshalJSON reads the fields and keeps unknown ones in Extra.
func (d *CannedAnswerSavedData) UnmarshalJSON(data []byte) error {
	type plain CannedAnswerSavedData
	return unmarshalKeeping(data, (*plain)(d), &d.Extra)
}

// EventType returns CannedAnswerRemoved.
func (*CannedAnswerRemovedData) EventType() string { return CannedAnswerRemoved }

// MarshalJSON writes the fields and any kept unknown ones.
func (d CannedAnswerRemovedData) MarshalJSON() ([]byte, error) {
	type plain CannedAnswerRemovedData
	return marshalKeeping(plain(d), d.Extra)
}

// UnmarshalJSON reads the fields and keeps unknown ones in Extra.
func (d *CannedAnswerRemovedData) UnmarshalJSON(data []byte) error {
	type plain CannedAnswerRemovedData
	return unmarshalKeeping(data, (*plain)(d), &d.Extra)
}

// EventType returns WidgetConfigured.
func (*WidgetConfiguredData) EventType() string { return WidgetConfigured }

// MarshalJSON writes the fields and any kept unknown ones.
func (d WidgetConfiguredData) MarshalJSON() ([]byte, error) {
	type plain WidgetConfiguredData
	return marshalKeeping(plain(d), d.Extra)
}

// UnmarshalJSON reads the fields and keeps unknown ones in Extra.
func (d *WidgetConfiguredData) UnmarshalJSON(data []byte) error {
	type plain WidgetConfiguredData
	return unmarshalKeeping(data, (*plain)(d), &d.Extra)
}

// EventType returns DirectoryReaderStarted.
func (*DirectoryReaderStartedData) EventType() string { return DirectoryReaderStarted }

// MarshalJSON writes the fields and any kept unknown ones.
func (d DirectoryReaderStartedData) MarshalJSON() ([]byte, error) {
	type plain DirectoryReaderStartedData
	return marshalKeeping(plain(d), d.Extra)
}

// UnmarshalJSON reads the fields and keeps unknown ones in Extra.
func (d *DirectoryReaderStartedData) UnmarshalJSON(data []byte) error {
	type plain DirectoryReaderStartedData
	return unmarshalKeeping(data, (*plain)(d), &d.Extra)
}
