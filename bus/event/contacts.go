package event

import "encoding/json"

// How a contact was identified (ContactIdentifiedData.Method).
const (
	IdentifiedAuto  = "auto"  // the sender's address or number matched one contact
	IdentifiedAgent = "agent" // an agent chose the contact
)

// ContactIdentifiedData is the data of contact.identified: a conversation's
// customer is now known to be this contact, so the dossier shows the
// conversation in the contact's history. The conversation is the envelope's
// conversationid.
type ContactIdentifiedData struct {
	ContactID string `json:"contact_id"`
	// Address is the email address, number or chat id that matched.
	Address string `json:"address,omitempty"`
	// Method is IdentifiedAuto or IdentifiedAgent.
	Method  string `json:"method"`
	AgentID string `json:"agent_id,omitempty"`
	// Extra keeps fields this version does not know; see package doc.
	Extra map[string]json.RawMessage `json:"-"`
}

// EventType returns ContactIdentified.
func (*ContactIdentifiedData) EventType() string { return ContactIdentified }

// MarshalJSON writes the fields and any kept unknown ones.
func (d ContactIdentifiedData) MarshalJSON() ([]byte, error) {
	type plain ContactIdentifiedData
	return marshalKeeping(plain(d), d.Extra)
}

// UnmarshalJSON reads the fields and keeps unknown ones in Extra.
func (d *ContactIdentifiedData) UnmarshalJSON(data []byte) error {
	type plain ContactIdentifiedData
	return unmarshalKeeping(data, (*plain)(d), &d.Extra)
}

// Validate requires the contact and a method; an agent's choice names the agent.
func (d *ContactIdentifiedData) Validate() error {
	var p problems
	p.required("contact_id", d.ContactID)
	p.oneOf("method", d.Method, IdentifiedAuto, IdentifiedAgent)
	if d.Method == IdentifiedAgent && d.AgentID == "" {
		p.add("agent_id", "is empty for an identification by an agent")
	}
	return p.err(ContactIdentified)
}

// ContactsMergedData is the data of contacts.merged: MergedIDs are folded
// into IntoID, whose dossier now holds all their history.
type ContactsMergedData struct {
	IntoID    string   `json:"into_id"`
	MergedIDs []string `json:"merged_ids"`
	// AgentID did the merge; empty for an automatic merge.
	AgentID string `json:"agent_id,omitempty"`
	// Extra keeps fields this version does not know; see package doc.
	Extra map[string]json.RawMessage `json:"-"`
}

// EventType returns ContactsMerged.
func (*ContactsMergedData) EventType() string { return ContactsMerged }

// MarshalJSON writes the fields and any kept unknown ones.
func (d ContactsMergedData) MarshalJSON() ([]byte, error) {
	type plain ContactsMergedData
	return marshalKeeping(plain(d), d.Extra)
}

// UnmarshalJSON reads the fields and keeps unknown ones in Extra.
func (d *ContactsMergedData) UnmarshalJSON(data []byte) error {
	type plain ContactsMergedData
	return unmarshalKeeping(data, (*plain)(d), &d.Extra)
}

// Validate requires a survivor and distinct merged ids other than it.
func (d *ContactsMergedData) Validate() error {
	var p problems
	p.required("into_id", d.IntoID)
	p.ids("merged_ids", d.MergedIDs)
	if i := indexOf(d.MergedIDs, d.IntoID); i >= 0 && d.IntoID != "" {
		p.add("merged_ids", "contains into_id %q", d.IntoID)
	}
	return p.err(ContactsMerged)
}

// ContactsUnmergedData is the data of contacts.unmerged: RestoredIDs are
// split out of ContactID again, undoing a merge.
type ContactsUnmergedData struct {
	ContactID   string   `json:"contact_id"`
	RestoredIDs []string `json:"restored_ids"`
	// MergeEventID is the id of the contacts.merged event undone, if known.
	MergeEventID string `json:"merge_event_id,omitempty"`
	AgentID      string `json:"agent_id,omitempty"`
	// Extra keeps fields this version does not know; see package doc.
	Extra map[string]json.RawMessage `json:"-"`
}

// EventType returns ContactsUnmerged.
func (*ContactsUnmergedData) EventType() string { return ContactsUnmerged }

// MarshalJSON writes the fields and any kept unknown ones.
func (d ContactsUnmergedData) MarshalJSON() ([]byte, error) {
	type plain ContactsUnmergedData
	return marshalKeeping(plain(d), d.Extra)
}

// UnmarshalJSON reads the fields and keeps unknown ones in Extra.
func (d *ContactsUnmergedData) UnmarshalJSON(data []byte) error {
	type plain ContactsUnmergedData
	return unmarshalKeeping(data, (*plain)(d), &d.Extra)
}

// Validate requires the contact and distinct restored ids other than it.
func (d *ContactsUnmergedData) Validate() error {
	var p problems
	p.required("contact_id", d.ContactID)
	p.ids("restored_ids", d.RestoredIDs)
	if i := indexOf(d.RestoredIDs, d.ContactID); i >= 0 && d.ContactID != "" {
		p.add("restored_ids", "contains contact_id %q", d.ContactID)
	}
	return p.err(ContactsUnmerged)
}
