package embedded

import (
	"testing"

	"github.com/hotline-hub/hotline/bus"
)

func subOpts(group string) bus.SubscribeOptions { return bus.SubscribeOptions{Group: group} }

// lag returns how many durable records the group has not committed yet
// (harvesting acknowledgements first).
func (b *Bus) lag(topicName, groupName string) int64 {
	b.mu.RLock()
	t := b.topics[topicName]
	b.mu.RUnlock()
	if t == nil {
		return -1
	}
	g := t.group(groupName)
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, m := range g.members {
		g.harvest(m)
	}
	var lag int64
	for i, p := range t.parts {
		lag += p.end.Load() - g.committed[i]
	}
	return lag
}

// flushHeld writes the bytes every active segment holds to its file, as
// the committer does once a segment holds flushAt of them: a copy of the
// directory then has every record in the partition files, as a crash
// after such a flush leaves them.
func (b *Bus) flushHeld(t testing.TB) {
	t.Helper()
	b.cm.w.mu.Lock()
	defer b.cm.w.mu.Unlock()
	for _, tp := range b.allTopics() {
		for _, p := range tp.parts {
			if err := p.active().flush(); err != nil {
				t.Fatal(err)
			}
		}
	}
}
