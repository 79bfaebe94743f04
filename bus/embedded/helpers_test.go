package embedded

import "github.com/hotline-hub/hotline/bus"

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
