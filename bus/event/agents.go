package event

import "encoding/json"

// Agent presence values. Routing offers work only to available agents;
// wrap-up is the after-contact time an agent needs before the next one.
const (
	PresenceAvailable = "available"
	PresenceAway      = "away"
	PresenceWrapUp    = "wrap-up"
	PresenceOffline   = "offline"
)

var presences = []string{PresenceAvailable, PresenceAway, PresenceWrapUp, PresenceOffline}

// AgentPresenceChangedData is the data of agent.presence_changed.
type AgentPresenceChangedData struct {
	AgentID  string `json:"agent_id"`
	Presence string `json:"presence"`
	// Previous is the presence before the change; empty at first login.
	Previous string `json:"previous,omitempty"`
	// Reason is the agent's away reason ("lunch", "training"), for reports.
	Reason string `json:"reason,omitempty"`
	// Extra keeps fields this version does not know; see package doc.
	Extra map[string]json.RawMessage `json:"-"`
}

// EventType returns AgentPresenceChanged.
func (*AgentPresenceChangedData) EventType() string { return AgentPresenceChanged }

// MarshalJSON writes the fields and any kept unknown ones.
func (d AgentPresenceChangedData) MarshalJSON() ([]byte, error) {
	type plain AgentPresenceChangedData
	return marshalKeeping(plain(d), d.Extra)
}

// UnmarshalJSON reads the fields and keeps unknown ones in Extra.
func (d *AgentPresenceChangedData) UnmarshalJSON(data []byte) error {
	type plain AgentPresenceChangedData
	return unmarshalKeeping(data, (*plain)(d), &d.Extra)
}

// Validate requires the agent and known presence values.
func (d *AgentPresenceChangedData) Validate() error {
	var p problems
	p.required("agent_id", d.AgentID)
	p.oneOf("presence", d.Presence, presences...)
	if d.Previous != "" {
		p.oneOf("previous", d.Previous, presences...)
	}
	return p.err(AgentPresenceChanged)
}
