package inbox

import (
	"slices"

	"github.com/hotline-hub/hotline/bus/event"
)

// handOver keeps the note of a transfer that routing accepted as an
// internal note of c (under the transfer's event id, so a replay adds it
// once), for whoever takes the conversation next. A void transfer leaves
// no note: foldRouting calls this only once the verdict is known. Called
// with i.mu held.
func (i *Inbox) handOver(c *Conversation, e *event.Envelope) {
	p, err := e.Decode()
	if err != nil {
		i.log.Warn("undecodable transfer skipped", "tenant", e.Tenant, "conversation_id", e.ConversationID, "err", err)
		return
	}
	d, ok := p.(*event.ConversationTransferredData)
	if !ok || d.Note == "" || c.notes[e.ID] {
		return
	}
	if c.notes == nil {
		c.notes = map[string]bool{}
	}
	c.notes[e.ID] = true
	c.Notes = append(c.Notes, Note{NoteID: e.ID, AgentID: d.FromAgentID, Text: d.Note, Time: e.Time})
	if len(c.Notes) > i.cfg.MaxNotes {
		delete(c.notes, c.Notes[0].NoteID)
		c.Notes = slices.Delete(c.Notes, 0, 1)
	}
}
