package embedded

import (
	"sync"
	"time"
	"unsafe"

	"github.com/hotline-hub/hotline/bus"
)

// The tail cache: every subscription of the process that reads a
// partition near its end (the usual case: consumers keep up) takes the
// records from one in-memory ring instead of reading and decoding the
// segment files itself. The committer adds each record once, after it
// wrote it to the write-ahead log and before it moves the partition's
// written end, so a reader finds in the ring only what it may read anyway;
// readers check the written end first, as for the files. A record is kept
// as the message its publisher handed to Publish (the publisher's buffers,
// which it may not modify afterwards: see bus.Publisher), normalised to
// what decoding its frame gives (keepMessage): a ring hit skips pread,
// copy and CRC, and filling the ring copies nothing either. A record that
// comes without its message (written by recovery, which runs with the ring
// off) is decoded from its frame. A reader below the ring (lagging,
// replaying) reads the files as before, with their corruption checks; the
// records in the ring are always a run of consecutive offsets ending at the
// written end, never older than the oldest retained record (retention trims
// it), and the ring starts empty at Open (recovery does not fill it).
//
// Every delivery of one cached record shares its bus.Message (read-only,
// see bus.Message) and its bus.Memo, so the layer above decodes the event
// once per process. The ring forgets that decoded event once the record is
// more than tailDecodedRecords behind the written end, while it keeps the
// record's bytes: readers that keep up have read it by then, and a decoded
// event is made of pointers, which the collector scans on every cycle,
// where the bytes have none. A reader that lags that far decodes the
// record again, once for all such readers, instead of reading the files.
const (
	// tailCacheRecords is the most records a partition's ring holds.
	tailCacheRecords = 1024
	// tailCacheBytes bounds the heap a partition's ring holds (records'
	// bytes plus the bookkeeping, see recordCost), whichever of the two
	// bounds is reached first. At 1 KiB events that is ~900 records, a few
	// seconds of a busy partition: a consumer that falls further behind
	// reads the files, as it would without the ring.
	tailCacheBytes = 1 << 20
	// tailCacheFirstSlots is the ring's first allocation; it doubles up to
	// tailCacheRecords as the partition gets busy, so idle partitions cost
	// next to nothing.
	tailCacheFirstSlots = 16
	// tailDecodedRecords is how many of a partition's newest records keep
	// what the layer above decoded from them (their memo). In the chat
	// bench (2,000 messages/s, 8 partitions) readers never lag that far
	// once the conversations are set up.
	tailDecodedRecords = 64
)

// cachedRecord is one written record. Deliveries of it share its message
// and memo.
type cachedRecord struct {
	// d is the record's delivery to every subscription without a group
	// (nothing to acknowledge): one for them all, as its fields are the
	// same for each and a delivery is read-only (see bus.Delivery). Its
	// Message is the record's, which group members' deliveries share.
	d        bus.Delivery
	unixNano int64
	cost     int
	memo     bus.Memo
}

// newCachedRecord returns the record m at offset off of p, appended at
// unixNano, holding cost bytes.
func (p *partition) newCachedRecord(m bus.Message, off, unixNano int64, cost int) *cachedRecord {
	r := &cachedRecord{unixNano: unixNano, cost: cost}
	r.d = *bus.NewSharedDelivery(m, p.t.name, p.id, off, time.Unix(0, unixNano), nil, &r.memo)
	return r
}

// recordCost approximates the heap a cached record holds: its bytes (key,
// value and headers: the frame's size for a decoded record, which
// decodeMessage copies once; for a kept one the capacity of the
// publisher's buffers, see keepMessage), the record with its memo, its
// header slice and the ring slot.
func recordCost(dataSize int, m *bus.Message) int {
	return dataSize + int(unsafe.Sizeof(cachedRecord{})) + 8 +
		len(m.Headers)*int(unsafe.Sizeof(bus.Header{}))
}

// tailCache is a partition's ring of its most recent records.
// The committer adds (in offset order) and retention trims; readers get.
type tailCache struct {
	mu    sync.RWMutex
	slots []*cachedRecord // circular
	head  int             // slot of the oldest record
	n     int             // records held
	first int64           // offset of the oldest record
	bytes int             // sum of the records' cost
}

// get returns the record at offset off, or nil if the ring does not hold
// it.
func (c *tailCache) get(off int64) *cachedRecord {
	c.mu.RLock()
	defer c.mu.RUnlock()
	i := off - c.first
	if i < 0 || i >= int64(c.n) {
		return nil
	}
	return c.slots[(c.head+int(i))%len(c.slots)]
}

// add appends recs, the records from offset first on, dropping the oldest
// records past maxRecords or maxBytes. A run that does not continue the
// ring's (after a failed write, which stops the partition anyway) replaces
// it; maxRecords 0 keeps nothing.
func (c *tailCache) add(first int64, recs []*cachedRecord, maxRecords, maxBytes int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n > 0 && first != c.first+int64(c.n) {
		c.clearLocked()
	}
	for i, r := range recs {
		if c.n == 0 {
			c.first = first + int64(i)
		}
		if r.cost > maxBytes || maxRecords <= 0 {
			// Too big for the ring on its own: the run stops being
			// consecutive, so keep nothing older either.
			c.clearLocked()
			continue
		}
		for c.n > 0 && (c.n >= maxRecords || c.bytes+r.cost > maxBytes) {
			c.dropOldestLocked()
		}
		if c.n == 0 {
			c.first = first + int64(i)
		}
		if c.n == len(c.slots) {
			c.growLocked(maxRecords)
		}
		c.slots[(c.head+c.n)%len(c.slots)] = r
		c.n++
		c.bytes += r.cost
		if c.n > tailDecodedRecords {
			c.slots[(c.head+c.n-1-tailDecodedRecords)%len(c.slots)].memo.Forget()
		}
	}
}

// trimBelow drops the records before offset off (retention deleted their
// segment).
func (c *tailCache) trimBelow(off int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for c.n > 0 && c.first < off {
		c.dropOldestLocked()
	}
}

// clear drops every record.
func (c *tailCache) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.clearLocked()
}

func (c *tailCache) clearLocked() {
	for c.n > 0 {
		c.dropOldestLocked()
	}
	c.head = 0
}

func (c *tailCache) dropOldestLocked() {
	r := c.slots[c.head]
	c.slots[c.head] = nil // deliveries still holding it keep it alive, not the ring
	c.bytes -= r.cost
	c.head = (c.head + 1) % len(c.slots)
	c.n--
	c.first++
}

// growLocked doubles the ring (up to limit slots), keeping the records in
// order from slot 0.
func (c *tailCache) growLocked(limit int) {
	size := min(limit, max(tailCacheFirstSlots, 2*len(c.slots)))
	slots := make([]*cachedRecord, size)
	for i := 0; i < c.n; i++ {
		slots[i] = c.slots[(c.head+i)%len(c.slots)]
	}
	c.slots, c.head = slots, 0
}

// stats returns the number of records held, their cost and the first
// offset (tests and benchmarks).
func (c *tailCache) stats() (n, bytes int, first int64) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.n, c.bytes, c.first
}

// cacheChunk adds the frames of chunk (checked, sealed and written to the
// write-ahead log; their first offset is first) to the partition's ring.
// kept, when not nil, holds the messages the publishers handed over for
// these frames, one per frame in order: the ring keeps their bytes (see
// keepMessage). Without them (WAL replay) the frames are decoded. Called
// by the committer before it moves the written end past them.
func (p *partition) cacheChunk(chunk []byte, first int64, kept []bus.Message) {
	maxRecords, maxBytes := p.b.tailRecords, p.b.tailBytes
	if maxRecords <= 0 || maxBytes <= 0 {
		return
	}
	recs := p.cacheScratch[:0]
	for i, q := 0, 0; q < len(chunk); i++ {
		size := 4 + frameLen(chunk[q:])
		frame := chunk[q : q+size]
		q += size
		if size > maxBytes {
			// Never kept: skip decoding it. add clears what is older.
			recs = append(recs, &cachedRecord{cost: size})
			continue
		}
		unixNano := int64(le64(frame[16:]))
		if i < len(kept) {
			m, n := keepMessage(&kept[i], p.b.cm.hkeys)
			recs = append(recs, p.newCachedRecord(m, first+int64(i), unixNano, recordCost(n, &m)))
			continue
		}
		m, err := decodeMessageKeys(frame, p.b.cm.hkeys)
		if err != nil {
			// Not expected of a frame this process built; the file read
			// reports it. Nothing of this chunk is cached.
			p.tail.clear()
			clear(recs)
			p.cacheScratch = recs[:0]
			return
		}
		recs = append(recs, p.newCachedRecord(m, first+int64(i), unixNano, recordCost(size, &m)))
	}
	p.tail.add(first, recs, maxRecords, maxBytes)
	clear(recs)
	p.cacheScratch = recs[:0]
}

// keepMessage returns what the ring keeps of a published message (m is the
// batch's copy of it), and the bytes it holds for recordCost. The ring
// keeps the publisher's buffers instead of decoding its own copy of the
// frame: the publisher may not modify them after Publish (see
// bus.Publisher). The result is what decodeMessageKeys makes of the
// frame, equal under reflect.DeepEqual, so a delivery looks the same
// whether it came from the ring or the files: an empty key is nil, no
// headers is nil, an empty header value or Value is empty and not nil.
// Every kept slice is capped to its length so that a consumer's append
// cannot write into the publisher's buffer. The bytes are the publisher's
// unless a slice's capacity is much larger than its length (see
// keepBytes). The header slice is the publisher's too when every value in
// it is already as kept (not empty, capacity equal to length: what
// event.ToMessage makes), else the ring's own, with interned names.
func keepMessage(m *bus.Message, keys headerKeys) (bus.Message, int) {
	var out bus.Message
	var n int
	if len(m.Key) > 0 {
		out.Key, n = keepBytes(m.Key)
	}
	if hs, hn, ok := keptHeaders(m.Headers); ok {
		out.Headers = hs
		n += hn
	} else if len(m.Headers) > 0 {
		out.Headers = make([]bus.Header, len(m.Headers))
		for i := range m.Headers {
			h := &m.Headers[i]
			v, hn := keepBytes(h.Value)
			out.Headers[i] = bus.Header{Key: keys.internString(h.Key), Value: v}
			n += len(h.Key) + hn
		}
	}
	v, vn := keepBytes(m.Value)
	out.Value = v
	return out, n + vn
}

// keptHeaders returns hs capped to its length, and the bytes its names and
// values hold, if the ring can keep it as it is: not empty, and every value
// not empty with no capacity past its length. Otherwise ok is false.
func keptHeaders(hs []bus.Header) (_ []bus.Header, n int, ok bool) {
	if len(hs) == 0 {
		return nil, 0, false
	}
	for i := range hs {
		v := hs[i].Value
		if len(v) == 0 || cap(v) != len(v) {
			return nil, 0, false
		}
		n += len(hs[i].Key) + len(v)
	}
	return hs[:len(hs):len(hs)], n, true
}

// keepBytes returns v as the ring keeps it, and the bytes that holds: v
// capped to its length, counted by its capacity (the buffer it pins), or
// a copy if that capacity is much larger than the length, so that a small
// value does not pin a large buffer. An empty v is an empty, non-nil slice
// (holding nothing of the publisher's), as decoding gives.
func keepBytes(v []byte) ([]byte, int) {
	if len(v) == 0 {
		return []byte{}, 0
	}
	if cap(v) > 2*len(v)+256 {
		c := make([]byte, len(v))
		copy(c, v)
		return c, len(c)
	}
	return v[:len(v):len(v)], cap(v)
}
