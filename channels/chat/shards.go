package chat

import (
	"sync"

	"github.com/hotline-hub/hotline/webui/wsock"
)

// The channel's state is split over shards so that the sockets of
// different visitors, and the readers folding different conversations,
// seldom wait for one another: at 2,000 messages a second one lock for
// everything was the channel's hottest wait. A conversation lives in the
// shard its id hashes to, a visitor in the one theirs does. Code that
// needs both locks the conversation's shard first and then the visitor's,
// and never holds two shards of one kind.
const shardCount = 64

// convShard holds some of the conversations, with their histories and the
// entries' delivery flags.
type convShard struct {
	mu    sync.Mutex
	convs map[tkey]*conv
	// taken holds the ids of message.received events of this shard's
	// conversations that the channel published and already applied,
	// until the fold reads them back: the fold then skips decoding them
	// again.
	taken map[string]struct{}
}

// visitorShard holds some of the visitors, with their sockets, client ids
// and open conversation.
type visitorShard struct {
	mu       sync.Mutex
	visitors map[tkey]*visitor
}

// tkey is a visitor or conversation of a tenant, as a map key: a struct
// rather than a joined string, so that looking one up for each message
// allocates nothing.
type tkey struct{ tenant, id string }

// shard is k's shard number: FNV-1a over tenant, a separator and id.
func (k tkey) shard() uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(k.tenant); i++ {
		h = (h ^ uint32(k.tenant[i])) * 16777619
	}
	h *= 16777619 // the separator, a zero byte
	for i := 0; i < len(k.id); i++ {
		h = (h ^ uint32(k.id[i])) * 16777619
	}
	return h % shardCount
}

func (c *Channel) initShards() {
	for i := range c.cshards {
		c.cshards[i] = convShard{convs: make(map[tkey]*conv), taken: make(map[string]struct{})}
		c.vshards[i] = visitorShard{visitors: make(map[tkey]*visitor)}
	}
}

// convShard returns the shard of conversation k.
func (c *Channel) convShard(k tkey) *convShard { return &c.cshards[k.shard()] }

// visitorShard returns the shard of visitor k.
func (c *Channel) visitorShard(k tkey) *visitorShard { return &c.vshards[k.shard()] }

// conv returns the conversation, creating it. cs.mu is held.
func (cs *convShard) conv(k tkey) *conv {
	cv := cs.convs[k]
	if cv == nil {
		cv = &conv{tenant: k.tenant, id: k.id}
		cs.convs[k] = cv
	}
	return cv
}

// visitor returns the visitor, creating it. vs.mu is held.
func (vs *visitorShard) visitor(k tkey) *visitor {
	v := vs.visitors[k]
	if v == nil {
		v = &visitor{tenant: k.tenant, id: k.id, sh: vs, cids: make(map[string]cidOutcome), socks: make(map[*conn]struct{})}
		vs.visitors[k] = v
	}
	return v
}

// pushLocked queues the frame that frame builds (at most once) to every
// open socket of cv's visitor but skip, and reports whether any socket
// took it. The conversation's shard is held; pushLocked takes the
// visitor's.
func (c *Channel) pushLocked(cv *conv, skip *conn, frame func() *wsock.Frame) bool {
	if cv.visitor == "" {
		return false
	}
	vs := c.visitorShard(tkey{cv.tenant, cv.visitor})
	vs.mu.Lock()
	defer vs.mu.Unlock()
	v := vs.visitors[tkey{cv.tenant, cv.visitor}]
	if v == nil {
		return false
	}
	var f *wsock.Frame
	pushed := false
	for s := range v.socks {
		if s == skip {
			continue
		}
		if f == nil {
			f = frame()
			defer f.Release()
		}
		if s.out.SendFrame(f) {
			pushed = true
		}
	}
	return pushed
}
