package inbox

import "testing"

// A transfer's note becomes an internal note of the conversation once
// routing accepts the transfer, and only then.
func TestTransferNoteIsKept(t *testing.T) {
	e, u := startEnv(t)
	a1, a2 := u["agent1"], u["agent2"]
	a1.must(200, "PUT", a1.path("me/presence"), map[string]any{"presence": "available"})
	e.queueChat("acme", "conv-h", "support", "visitor-h", "Hana Visitor", "Where is my parcel?")
	if got := offeredTo(t, "conv-h", a1); got != a1 {
		t.Fatalf("offered to %v", got)
	}
	a1.must(200, "POST", a1.path("conversations/conv-h/accept"), nil)

	// agent2 is offline: routing voids the transfer, and its note is not kept.
	xfer := map[string]any{"to_agent": a2.id, "note": "parcel lost, refund the shipping"}
	if r := a1.do("POST", a1.path("conversations/conv-h/transfer"), xfer); r.status != 409 {
		t.Fatalf("transfer to an offline agent: %d %s", r.status, r.body)
	}
	if d := a1.conv("conv-h"); len(d.Notes) != 0 {
		t.Fatalf("notes after a void transfer: %+v", d.Notes)
	}

	a2.must(200, "PUT", a2.path("me/presence"), map[string]any{"presence": "available"})
	d := a1.must(200, "POST", a1.path("conversations/conv-h/transfer"), xfer).detail(t)
	if d.AgentID != a2.id || len(d.Notes) != 1 || d.Notes[0].Text != "parcel lost, refund the shipping" || d.Notes[0].AgentID != a1.id {
		t.Fatalf("after the transfer: agent %q, notes %+v", d.AgentID, d.Notes)
	}
	if got := a2.conv("conv-h").Notes; len(got) != 1 || got[0] != d.Notes[0] {
		t.Fatalf("the receiving agent's notes = %+v, want %+v", got, d.Notes)
	}

	// A transfer without a note adds none.
	d = a2.must(200, "POST", a2.path("conversations/conv-h/transfer"), map[string]any{"to_agent": a1.id}).detail(t)
	if d.AgentID != a1.id || len(d.Notes) != 1 {
		t.Fatalf("after a transfer without a note: agent %q, notes %+v", d.AgentID, d.Notes)
	}
}
