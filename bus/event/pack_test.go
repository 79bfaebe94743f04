package event

import (
	"testing"
	"unsafe"
)

// follows reports whether b starts where a ends, in the same memory.
func follows(a, b string) bool {
	return unsafe.StringData(b) == (*byte)(unsafe.Add(unsafe.Pointer(unsafe.StringData(a)), len(a)))
}

func TestPack(t *testing.T) {
	id, empty, agent, text := "msg-1", "", "agent-7", "Bonjour, j'ai un problème"
	Pack(&id, &empty, &agent, &text)
	if id != "msg-1" || empty != "" || agent != "agent-7" || text != "Bonjour, j'ai un problème" {
		t.Fatalf("values changed: %q %q %q %q", id, empty, agent, text)
	}
	if !follows(id, agent) || !follows(agent, text) {
		t.Fatal("the parts do not share one allocation")
	}
	parts := []string{"message-id", "some text", "agent-1"}
	if allocs := testing.AllocsPerRun(100, func() {
		a, b, c := parts[0], parts[1], parts[2]
		Pack(&a, &b, &c)
	}); allocs != 1 {
		t.Fatalf("Pack allocated %.0f times, want 1", allocs)
	}
	var none string
	Pack(&none)
	if none != "" {
		t.Fatalf("empty input became %q", none)
	}
}
