package embedded

import (
	"cmp"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
)

// The write-ahead log is a directory of segment files, <Dir>/wal/<pos>.wal,
// each named by the WAL position (bytes since the log began) of its first
// byte. A segment holds entries back to back, then zeros or stale entries
// of an earlier use of the file (segments are recycled). Every integer is
// little-endian.
//
//	0   u32  length of the rest of the entry
//	4   u32  CRC-32C of bytes 8..4+length
//	8   u64  WAL position of this entry
//	16  u64  WAL position up to which the log was synced when it was written
//	24  i64  offset of the first record
//	32  u32  record count
//	36  u32  partition
//	40  u16  topic length, then the topic
//	    the records, framed and sealed exactly as in the partition's segment
//
// The position field tells a stale entry of a recycled file (or the
// remains of an earlier write) from a live one: an entry is live only if
// it names the position it is read at. The synced position tells a torn
// tail from corruption. Writes go out before they are synced, several may
// be unsynced at once, and a crash may keep any of their pages and lose
// others. Damage followed only by live entries written when the log was
// synced up to the damage, or less, is cut as a torn tail: nothing proves
// the damaged bytes were ever synced (acknowledged). A live entry written
// when the log was synced past the damage proves they were, and that is
// corruption. (Files written before writes were pipelined carry the start
// of the entry's own write here, which was synced up to then, so they read
// the same way.)
const (
	walHeader       = 42
	walMaxEntry     = 1 << 30
	walFirstSegment = 1 << 20
	walKeepSpares   = 2
	checkpointFile  = "checkpoint.json"
)

// walSegmentBytes is the size WAL segments grow to (doubling from 1 MiB);
// walCheckpointBytes is how much WAL triggers a checkpoint before the
// interval is up. Variables so tests can make them small.
var (
	walSegmentBytes    int64 = 64 << 20
	walCheckpointBytes int64 = 64 << 20
)

// walZeroFill says whether new WAL segments are zero-filled (written and
// synced) after fallocate. The WAL is the file every publish syncs: writes
// into blocks that are allocated but unwritten make each fdatasync also
// commit the extent conversion in the journal, which zero-filled blocks
// do not. Recycled segments are written blocks anyway.
var walZeroFill = true

// walSegment is one file of the WAL.
type walSegment struct {
	base     int64 // WAL position of byte 0
	path     string
	f        *os.File
	capacity int64
	// released is set before a checkpoint closes the segment: what it
	// holds is in synced partition files, so the syncer need not sync it.
	released atomic.Bool
}

// wal is the bus-wide write-ahead log, written by the committer.
type wal struct {
	dir string
	// mu is held by the committer for a whole cycle (collect, WAL write,
	// partition writes) and by a checkpoint while it takes its snapshot,
	// so a snapshot never sees half a cycle.
	mu   sync.Mutex
	segs []*walSegment // oldest first; the last one is written
	pos  int64         // WAL position of the next entry
	// synced is the WAL position up to which everything written is synced
	// (the syncer and a segment change move it; it never goes back).
	synced atomic.Int64
	ckpt   int64    // WAL position of the last checkpoint
	spares []string // recycled files, ready to become segments
	prep   *spare   // a new segment file being made in the background
	buf    []byte
	failed error
}

func walName(base int64) string { return fmt.Sprintf("%020d.wal", base) }

// walEntrySize is the size of an entry for a topic and records.
func walEntrySize(topic string, records int) int { return walHeader + len(topic) + records }

// appendWALEntry appends a sealed entry at WAL position pos, written when
// the WAL was synced up to position ws, to buf.
func appendWALEntry(buf []byte, pos, ws int64, topic string, part int, first int64, n int, records []byte) []byte {
	size := walEntrySize(topic, len(records))
	start := len(buf)
	buf = grow(buf, size)
	b := buf[start : start+size]
	le := binary.LittleEndian
	le.PutUint32(b[0:], uint32(size-4))
	le.PutUint64(b[8:], uint64(pos))
	le.PutUint64(b[16:], uint64(ws))
	le.PutUint64(b[24:], uint64(first))
	le.PutUint32(b[32:], uint32(n))
	le.PutUint32(b[36:], uint32(part))
	le.PutUint16(b[40:], uint16(len(topic)))
	copy(b[walHeader:], topic)
	copy(b[walHeader+len(topic):], records)
	le.PutUint32(b[4:], crc32.Checksum(b[8:], castagnoli))
	return buf
}

// walEntry is a checked entry.
type walEntry struct {
	size    int
	pos     int64
	synced  int64 // the WAL was synced up to here when it was written
	first   int64
	n       int
	part    int
	topic   string
	records []byte
}

var errStaleEntry = errors.New("entry written at another position (stale)")

// checkWALEntry validates the entry at the start of b, expected at WAL
// position pos.
func checkWALEntry(b []byte, pos int64) (walEntry, error) {
	if len(b) < 4 {
		return walEntry{}, errShortFrame
	}
	l := int(binary.LittleEndian.Uint32(b))
	if l < walHeader-4 || l > walMaxEntry {
		return walEntry{}, errBadLength
	}
	if len(b) < 4+l {
		return walEntry{}, errShortFrame
	}
	le := binary.LittleEndian
	if le.Uint32(b[4:]) != crc32.Checksum(b[8:4+l], castagnoli) {
		return walEntry{}, errBadCRC
	}
	if int64(le.Uint64(b[8:])) != pos {
		return walEntry{}, errStaleEntry
	}
	tl := int(le.Uint16(b[40:]))
	if walHeader+tl > 4+l {
		return walEntry{}, errBadLayout
	}
	return walEntry{
		size:    4 + l,
		pos:     pos,
		synced:  int64(le.Uint64(b[16:])),
		first:   int64(le.Uint64(b[24:])),
		n:       int(le.Uint32(b[32:])),
		part:    int(le.Uint32(b[36:])),
		topic:   string(b[walHeader : walHeader+tl]),
		records: b[walHeader+tl : 4+l],
	}, nil
}

// checkpoint is the durable record of how far the partition files are
// synced: the WAL is needed only from WAL position WAL on, and each
// partition's records before its offset in Partitions are on disk.
type checkpoint struct {
	Version    int                `json:"version"`
	WAL        int64              `json:"wal"`
	Partitions map[string][]int64 `json:"partitions"`
}

// readCheckpoint loads dir's checkpoint; a missing file is an empty one.
func readCheckpoint(dir string) (checkpoint, error) {
	path := filepath.Join(dir, checkpointFile)
	raw, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return checkpoint{Version: 1, Partitions: map[string][]int64{}}, nil
	}
	if err != nil {
		return checkpoint{}, fmt.Errorf("embedded: read %s: %w", path, err)
	}
	var c checkpoint
	if err := json.Unmarshal(raw, &c); err != nil {
		return checkpoint{}, fmt.Errorf("embedded: unreadable checkpoint %s: %v", path, err)
	}
	if c.Version != 1 || c.WAL < 0 {
		return checkpoint{}, fmt.Errorf("embedded: unreadable checkpoint %s: version %d, wal position %d", path, c.Version, c.WAL)
	}
	if c.Partitions == nil {
		c.Partitions = map[string][]int64{}
	}
	return c, nil
}

// openWAL opens the WAL directory, removing what an interrupted run left
// half made, and lists its segments and spares. Nothing is read yet.
func openWAL(dir string) (*wal, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("embedded: create %s: %w", dir, err)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("embedded: %w", err)
	}
	w := &wal{dir: dir}
	for _, e := range ents {
		name := e.Name()
		path := filepath.Join(dir, name)
		switch {
		case strings.HasSuffix(name, ".tmp"):
			os.Remove(path)
		case strings.HasSuffix(name, ".free"):
			w.spares = append(w.spares, path)
		case strings.HasSuffix(name, ".wal"):
			base, err := strconv.ParseInt(strings.TrimSuffix(name, ".wal"), 10, 64)
			if err != nil || base < 0 || len(name) != 24 {
				continue
			}
			f, err := os.OpenFile(path, os.O_RDWR, 0)
			if err != nil {
				w.close()
				return nil, fmt.Errorf("embedded: open %s: %w", path, err)
			}
			st, err := f.Stat()
			if err != nil {
				f.Close()
				w.close()
				return nil, fmt.Errorf("embedded: %w", err)
			}
			w.segs = append(w.segs, &walSegment{base: base, path: path, f: f, capacity: st.Size()})
		}
	}
	sort.Slice(w.segs, func(i, j int) bool { return w.segs[i].base < w.segs[j].base })
	return w, nil
}

func (w *wal) close() error {
	if sp := w.prep; sp != nil {
		<-sp.done
		if sp.f != nil {
			sp.f.Close()
			os.Remove(sp.path)
		}
		w.prep = nil
	}
	var first error
	for _, s := range w.segs {
		if err := s.f.Close(); err != nil && first == nil {
			first = err
		}
	}
	w.segs = nil
	return first
}

// replay reads the WAL from position from on and calls apply for each live
// entry in order. It leaves w.pos at the end of the last live entry. A torn
// last entry (damage with nothing live after it: a write a crash cut, never
// acknowledged) ends the WAL and is reported through torn; damage followed
// by a live entry is corruption of acknowledged data.
func (w *wal) replay(from int64, apply func(e walEntry, file string, at int64) error, torn func(file string, at int64, why string)) error {
	w.pos = from
	i := len(w.segs) - 1
	for i >= 0 && w.segs[i].base > from {
		i--
	}
	if i < 0 {
		if len(w.segs) > 0 {
			s := w.segs[0]
			return &CorruptionError{File: s.path, Pos: 0, Offset: -1,
				Reason: fmt.Sprintf("the write-ahead log starts at position %d but the checkpoint needs it from %d", s.base, from)}
		}
		if from > 0 {
			return fmt.Errorf("embedded: the write-ahead log in %s is missing (the checkpoint needs it from position %d): restore it", w.dir, from)
		}
		return nil
	}
	for ; i < len(w.segs); i++ {
		s := w.segs[i]
		last := i == len(w.segs)-1
		rd := &windowReader{r: s.f, size: s.capacity}
		for {
			at := w.pos - s.base
			if at >= s.capacity {
				break
			}
			hdr, err := rd.view(at, 4)
			if err != nil {
				return fmt.Errorf("embedded: read %s: %w", s.path, err)
			}
			var e walEntry
			var why error = errShortFrame
			if len(hdr) == 4 {
				l := int(binary.LittleEndian.Uint32(hdr))
				if l >= walHeader-4 && l <= walMaxEntry {
					b, err := rd.view(at, 4+l)
					if err != nil {
						return fmt.Errorf("embedded: read %s: %w", s.path, err)
					}
					e, why = checkWALEntry(b, w.pos)
					if why == nil {
						// Copy: the window is reused by the next view.
						e.records = append([]byte(nil), e.records...)
					}
				} else if l == 0 {
					why = io.EOF
				} else {
					why = errBadLength
				}
			}
			if why == nil {
				if err := apply(e, s.path, at); err != nil {
					return err
				}
				w.pos += int64(e.size)
				continue
			}
			// The end of the live entries in this segment.
			if !last {
				if w.segs[i+1].base != w.pos {
					return &CorruptionError{File: s.path, Pos: at, Offset: -1,
						Reason: fmt.Sprintf("write-ahead log entry at position %d: %v, and the next segment starts at %d", w.pos, why, w.segs[i+1].base)}
				}
				break
			}
			if q, ok := w.liveAfter(s, at); ok {
				if why == io.EOF {
					why = errors.New("end of data")
				}
				return &CorruptionError{File: s.path, Pos: at, Offset: -1,
					Reason: fmt.Sprintf("write-ahead log entry: %v, yet an entry of a later write at byte %d is intact", why, q)}
			}
			if why != io.EOF && !errors.Is(why, errStaleEntry) {
				torn(s.path, at, why.Error())
			}
			return nil
		}
		if last {
			return nil
		}
		if next := w.segs[i+1]; next.base != w.pos {
			return &CorruptionError{File: next.path, Pos: 0, Offset: -1,
				Reason: fmt.Sprintf("write-ahead log segment starts at position %d, but the previous one ends at %d", next.base, w.pos)}
		}
	}
	return nil
}

// liveAfter reports whether a live entry (CRC good, naming its own
// position) written when the log was synced past byte at starts anywhere
// in s after at.
func (w *wal) liveAfter(s *walSegment, at int64) (int64, bool) {
	const chunk = 4 << 20
	buf := make([]byte, chunk+walHeader)
	for start := at + 1; start < s.capacity; start += chunk {
		n, err := s.f.ReadAt(buf, start)
		if err != nil && !errors.Is(err, io.EOF) {
			return 0, false
		}
		b := buf[:n]
		for q := 0; q+walHeader <= len(b) && q < chunk; q++ {
			pos := s.base + start + int64(q)
			if int64(binary.LittleEndian.Uint64(b[q+8:])) != pos {
				continue
			}
			l := int(binary.LittleEndian.Uint32(b[q:]))
			if l < walHeader-4 || l > walMaxEntry || start+int64(q)+4+int64(l) > s.capacity {
				continue
			}
			e := make([]byte, 4+l)
			if _, err := s.f.ReadAt(e, start+int64(q)); err != nil {
				continue
			}
			if ent, err := checkWALEntry(e, pos); err == nil && ent.synced > s.base+at {
				return start + int64(q), true
			}
		}
	}
	return 0, false
}

// active returns the segment to write n more bytes at w.pos into: the
// last one if it has room, else a new one (a recycled spare if one is big
// enough, else a new file), after syncing what the last one holds.
func (w *wal) active(n int64) (*walSegment, error) {
	if k := len(w.segs); k > 0 {
		s := w.segs[k-1]
		if w.pos >= s.base && w.pos-s.base+n <= s.capacity {
			return s, nil
		}
		// Only the last segment may hold unsynced writes (see write).
		if w.synced.Load() < w.pos {
			if err := w.sync(s, w.pos); err != nil {
				return nil, err
			}
		}
	}
	size := int64(walFirstSegment)
	if k := len(w.segs); k > 0 {
		size = min(walSegmentBytes, 2*w.segs[k-1].capacity)
	}
	size = max(size, n)
	path := filepath.Join(w.dir, walName(w.pos))
	var f *os.File
	if sp := w.prep; sp != nil {
		<-sp.done
		w.prep = nil
		if sp.err == nil && sp.size >= n {
			if err := os.Rename(sp.path, path); err == nil {
				f, size = sp.f, sp.size
			}
		}
		if f == nil {
			if sp.f != nil {
				sp.f.Close()
			}
			os.Remove(sp.path)
		}
	}
	for len(w.spares) > 0 && f == nil {
		sp := w.spares[len(w.spares)-1]
		w.spares = w.spares[:len(w.spares)-1]
		st, err := os.Stat(sp)
		if err != nil || st.Size() < n {
			os.Remove(sp)
			continue
		}
		if err := os.Rename(sp, path); err != nil {
			os.Remove(sp)
			continue
		}
		if f, err = os.OpenFile(path, os.O_RDWR, 0); err != nil {
			return nil, fmt.Errorf("open %s: %w", path, err)
		}
		size = st.Size()
	}
	if f == nil {
		tmp, err := w.newFile(size)
		if err != nil {
			return nil, err
		}
		if err := os.Rename(tmp.Name(), path); err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
			return nil, fmt.Errorf("create write-ahead log segment: %w", err)
		}
		f = tmp
	}
	if err := syncDir(w.dir); err != nil {
		f.Close()
		return nil, err
	}
	s := &walSegment{base: w.pos, path: path, f: f, capacity: size}
	w.segs = append(w.segs, s)
	return s, nil
}

// newFile makes a preallocated file of size bytes under a temporary name.
func (w *wal) newFile(size int64) (*os.File, error) {
	tmp, err := os.CreateTemp(w.dir, "wal-*.tmp")
	if err != nil {
		return nil, fmt.Errorf("create write-ahead log segment: %w", err)
	}
	if err := preallocate(tmp.Name(), tmp, size, walZeroFill); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return nil, fmt.Errorf("create write-ahead log segment: %w", err)
	}
	return tmp, nil
}

// prepare starts making the next segment in the background once the
// active one is half full and no recycled file is ready, so that a roll
// rarely waits for a file to be allocated and zero-filled.
func (w *wal) prepare(s *walSegment) {
	if w.prep != nil || len(w.spares) > 0 || w.pos-s.base < s.capacity/2 {
		return
	}
	sp := &spare{size: min(walSegmentBytes, 2*s.capacity), done: make(chan struct{})}
	w.prep = sp
	go func() {
		defer close(sp.done)
		sp.f, sp.err = w.newFile(sp.size)
		if sp.f != nil {
			sp.path = sp.f.Name()
		}
	}()
}

// testHookSync, if set (tests only), runs before each fdatasync of the
// write-ahead log.
var testHookSync func()

// write appends buf (whole entries encoded for position w.pos) without
// syncing it, and returns the segment it went to; the syncer syncs it.
// Only the last segment is ever written unsynced: before a write goes to
// a new segment, the one before is synced, so a crash can damage nothing
// but the end of the last segment.
func (w *wal) write(buf []byte) (*walSegment, error) {
	s, err := w.active(int64(len(buf)))
	if err != nil {
		return nil, err
	}
	if _, err := s.f.WriteAt(buf, w.pos-s.base); err != nil {
		return nil, fmt.Errorf("write %s: %w", s.path, err)
	}
	w.pos += int64(len(buf))
	w.prepare(s)
	return s, nil
}

// sync makes what was written to s durable and moves w.synced to at least
// end. A segment a checkpoint released (whose records the checkpoint made
// durable in the partition files) counts as synced. Safe to call without
// w.mu, and concurrently with writes and other syncs.
func (w *wal) sync(s *walSegment, end int64) error {
	if testHookSync != nil {
		testHookSync()
	}
	if err := fdatasync(s.f, s.path); err != nil && !s.released.Load() {
		return err
	}
	for {
		cur := w.synced.Load()
		if end <= cur || w.synced.CompareAndSwap(cur, end) {
			return nil
		}
	}
}

// release drops the segments wholly before WAL position upto (the
// checkpoint), keeping up to walKeepSpares of them as recycled files.
func (w *wal) release(upto int64) {
	for len(w.segs) > 1 && w.segs[1].base <= upto {
		s := w.segs[0]
		w.segs = w.segs[1:]
		s.released.Store(true)
		s.f.Close()
		if len(w.spares) < walKeepSpares {
			sp := filepath.Join(w.dir, fmt.Sprintf("spare-%d.free", s.base))
			if err := os.Rename(s.path, sp); err == nil {
				w.spares = append(w.spares, sp)
				continue
			}
		}
		os.Remove(s.path)
	}
	_ = syncDir(w.dir)
}

// fdatasync flushes f's data (and the metadata needed to read it back),
// holding f's descriptor open for the call, so a concurrent Close cannot
// hand the number to another file meanwhile.
func fdatasync(f *os.File, path string) error {
	var serr error
	rc, err := f.SyscallConn()
	if err == nil {
		err = rc.Control(func(fd uintptr) {
			for {
				if serr = syscall.Fdatasync(int(fd)); serr != syscall.EINTR {
					return
				}
			}
		})
	}
	if err = cmp.Or(err, serr); err != nil {
		return fmt.Errorf("fdatasync %s: %w", path, err)
	}
	return nil
}
