package embedded

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// segment is one file of a partition's log, named by the offset of its
// first record.
type segment struct {
	base int64
	path string
	f    *os.File
	fd   int

	// size is the number of bytes of records written (to the write-ahead
	// log, then here: to held or the file): readers read only [0, size).
	size atomic.Int64
	// next is the offset after the last record written.
	next atomic.Int64
	// maxTime is the append time (Unix ns) of the newest record, 0 if none.
	maxTime atomic.Int64
	// sealed is set once the segment is full and trimmed: size is final.
	sealed atomic.Bool
	// deleted is set (under partition.segMu) when retention removed it.
	deleted bool

	// idx maps offsets to positions every indexEvery bytes, oldest first.
	// Guarded by partition.segMu; appended by the writer.
	idx     []indexEntry
	lastIdx int64 // position of the last index entry, -1 if none (writer)

	// capacity is the allocated, zero-filled size of the file: the writer
	// rolls to a new segment rather than write past it (unless one record
	// is larger).
	capacity int64

	// The newest bytes of the active segment, [heldAt, size), wait in held
	// until flush writes them to the file in one pwrite (see flushAt).
	// Readers copy them from held. The committer alone appends and
	// flushes; heldMu guards held and heldAt against readers.
	heldMu sync.Mutex
	held   []byte
	heldAt int64
}

// flushAt is how many bytes the active segment holds before the committer
// writes them to the file. The records are in the write-ahead log before
// they reach a segment, and a segment's file only needs them before the
// checkpoint syncs it, before the segment is sealed and before the bus
// closes (all of which flush): written as they came, a pwrite per cycle
// of one to three records, they cost the hub 5 % of its CPU at 2,000 chat
// messages a second. A partition holds at most flushAt bytes plus its
// last chunk in memory (its buffer is kept between flushes unless a large
// chunk grew it past twice flushAt), only once it has been written to.
const flushAt = 64 << 10

// append adds the frames of chunk, which start at position size, to the
// segment: into held, or straight to the file when nothing is held and
// chunk alone reaches flushAt. Called by the committer.
func (s *segment) append(chunk []byte, size int64) error {
	if len(s.held) == 0 && len(chunk) >= flushAt {
		if _, err := s.f.WriteAt(chunk, size); err != nil {
			return fmt.Errorf("write %s: %w", s.path, err)
		}
		s.heldMu.Lock()
		s.heldAt = size + int64(len(chunk))
		s.heldMu.Unlock()
		return nil
	}
	s.heldMu.Lock()
	if len(s.held) == 0 {
		s.heldAt = size
	}
	s.held = append(s.held, chunk...)
	s.heldMu.Unlock()
	if len(s.held) >= flushAt {
		return s.flush()
	}
	return nil
}

// flush writes the held bytes to the file. Called by the committer, or
// with the committer excluded (the checkpoint holds the WAL's lock; roll
// and stop run in or after it).
func (s *segment) flush() error {
	if len(s.held) == 0 {
		return nil
	}
	// Readers may copy held meanwhile: nothing writes it but this goroutine.
	if _, err := s.f.WriteAt(s.held, s.heldAt); err != nil {
		return fmt.Errorf("write %s: %w", s.path, err)
	}
	s.heldMu.Lock()
	s.heldAt += int64(len(s.held))
	if cap(s.held) > 2*flushAt {
		s.held = nil // a large chunk's buffer
	} else {
		s.held = s.held[:0]
	}
	s.heldMu.Unlock()
	return nil
}

// dropHeld frees the buffer of a segment flushed for the last time (being
// sealed): a sealed segment is never appended to again.
func (s *segment) dropHeld() {
	s.heldMu.Lock()
	s.held = nil
	s.heldMu.Unlock()
}

// readAt fills b with the segment's bytes from position pos, which the
// writer has appended: the held part from held, the rest from the file,
// which has it once heldAt is past it.
func (s *segment) readAt(b []byte, pos int64) error {
	s.heldMu.Lock()
	if end := pos + int64(len(b)); len(s.held) > 0 && end > s.heldAt {
		from := max(pos, s.heldAt)
		copy(b[from-pos:], s.held[from-s.heldAt:end-s.heldAt])
		b = b[:from-pos]
	}
	s.heldMu.Unlock()
	if len(b) == 0 {
		return nil
	}
	if _, err := s.f.ReadAt(b, pos); err != nil {
		return fmt.Errorf("read %s: %w", s.path, err)
	}
	return nil
}

type indexEntry struct{ off, pos int64 }

func segmentName(base int64) string { return fmt.Sprintf("%020d.log", base) }

// parseSegmentName returns the base offset of a segment file name.
func parseSegmentName(name string) (int64, bool) {
	s, ok := strings.CutSuffix(name, ".log")
	if !ok || len(s) != 20 {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil && n >= 0
}

// listSegments returns the base offsets of the segment files in dir, oldest
// first.
func listSegments(dir string) ([]int64, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var bases []int64
	for _, e := range ents {
		if base, ok := parseSegmentName(e.Name()); ok && e.Type().IsRegular() {
			bases = append(bases, base)
		}
	}
	sort.Slice(bases, func(i, j int) bool { return bases[i] < bases[j] })
	return bases, nil
}

func openSegment(dir string, base int64) (*segment, error) {
	path := filepath.Join(dir, segmentName(base))
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, err
	}
	s := &segment{base: base, path: path, f: f, fd: int(f.Fd()), lastIdx: -1}
	s.next.Store(base)
	return s, nil
}

func (s *segment) close() error { return s.f.Close() }

// addIndex records that the frame at pos holds offset off, if pos is far
// enough from the previous entry. The caller holds partition.segMu for
// writing (or owns s exclusively).
func (s *segment) addIndex(off, pos int64) {
	if s.lastIdx < 0 || pos-s.lastIdx >= indexEvery {
		s.idx = append(s.idx, indexEntry{off, pos})
		s.lastIdx = pos
	}
}

// seek returns the position of a frame at or before offset off (which is in
// s) and that frame's offset. The caller holds partition.segMu.
func (s *segment) seek(off int64) (pos, from int64) {
	i := sort.Search(len(s.idx), func(i int) bool { return s.idx[i].off > off })
	if i == 0 {
		return 0, s.base
	}
	return s.idx[i-1].pos, s.idx[i-1].off
}

func (s *segment) fdatasync() error { return fdatasync(s.f, s.path) }

// CorruptionError reports damaged data that recovery must not cut off,
// because records acknowledged to publishers may be in or after it.
type CorruptionError struct {
	File   string
	Pos    int64 // byte position in File
	Offset int64 // offset of the record expected at Pos; -1 in the write-ahead log
	Reason string
}

func (e *CorruptionError) Error() string {
	if e.Offset < 0 {
		return fmt.Sprintf("embedded: corrupt write-ahead log %s at byte %d: %s; refusing to drop acknowledged data, restore the file or move it away", e.File, e.Pos, e.Reason)
	}
	return fmt.Sprintf("embedded: corrupt log %s at byte %d (record offset %d): %s; refusing to drop acknowledged data, restore the file or move it away", e.File, e.Pos, e.Offset, e.Reason)
}

// tornTail describes the unsynced end of the last segment that recovery cut.
type tornTail struct {
	offset int64 // offset of the first record cut
	pos    int64 // byte position of the cut
	bytes  int64 // non-zero bytes cut
}

// windowReader reads a file sequentially through a large buffer, handing
// out views of [pos, pos+n).
type windowReader struct {
	r     io.ReaderAt
	size  int64
	buf   []byte
	start int64 // file position of buf[0]
}

func (w *windowReader) view(pos int64, n int) ([]byte, error) {
	if pos+int64(n) > w.size {
		n = int(w.size - pos)
	}
	if pos >= w.start && pos+int64(n) <= w.start+int64(len(w.buf)) {
		return w.buf[pos-w.start : pos-w.start+int64(n)], nil
	}
	want := max(n, 1<<20)
	if pos+int64(want) > w.size {
		want = int(w.size - pos)
	}
	if cap(w.buf) < want {
		w.buf = make([]byte, want)
	}
	w.buf = w.buf[:want]
	if _, err := w.r.ReadAt(w.buf, pos); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	w.start = pos
	return w.buf[:n], nil
}

// scan reads the whole segment, checking every record's framing, CRC and
// offset, and builds its index. It sets size, next and maxTime.
//
// Records before offset trusted were made durable by a checkpoint: the
// last segment must reach it intact, or it is corruption. In a segment
// other than the last (sealed and synced when the next one began), any
// damage is corruption. After trusted, the last segment may end in
// anything a crash left of writes never synced on their own (they are in
// the write-ahead log): from the first damaged record on it is zeroed (and
// synced) so the log continues cleanly, and reported.
func (s *segment) scan(last bool, trusted int64) (*tornTail, error) {
	st, err := s.f.Stat()
	if err != nil {
		return nil, err
	}
	fileSize := st.Size()
	s.capacity = fileSize
	w := &windowReader{r: s.f, size: fileSize}
	pos, expect := int64(0), s.base
	reason := ""
	for pos < fileSize {
		b, err := w.view(pos, 4)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", s.path, err)
		}
		if len(b) < 4 {
			reason = "truncated length field"
			break
		}
		l := frameLen(b)
		if l == 0 {
			reason = "end of data"
			break
		}
		if l >= frameMinLen && l <= maxFrameLen {
			if b, err = w.view(pos, 4+l); err != nil {
				return nil, fmt.Errorf("read %s: %w", s.path, err)
			}
		}
		h, err := checkFrame(b)
		if err != nil {
			reason = err.Error()
			break
		}
		if h.offset != expect {
			reason = fmt.Sprintf("record holds offset %d", h.offset)
			break
		}
		s.addIndex(h.offset, pos)
		if h.unixNano > s.maxTime.Load() {
			s.maxTime.Store(h.unixNano)
		}
		pos += int64(h.size)
		expect++
	}
	s.size.Store(pos)
	s.next.Store(expect)
	corrupt := func(why string) error {
		return &CorruptionError{File: s.path, Pos: pos, Offset: expect, Reason: why}
	}
	if last && expect < trusted {
		if pos == fileSize {
			reason = "end of file"
		}
		return nil, corrupt(fmt.Sprintf("%s before offset %d, which a checkpoint recorded as durable", reason, trusted))
	}
	if pos == fileSize {
		return nil, nil
	}
	// Something other than a record at pos: zeros up to the end are the
	// unwritten (preallocated) rest of the file.
	zbuf := make([]byte, 1<<20)
	end, err := dataEnd(s.f, pos, fileSize, zbuf)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", s.path, err)
	}
	if end == pos {
		return nil, nil
	}
	if !last {
		return nil, corrupt(reason + " in a segment that is not the last")
	}
	// An unsynced tail: zero it so the next append starts clean.
	if _, err := s.f.WriteAt(make([]byte, end-pos), pos); err != nil {
		return nil, fmt.Errorf("cut torn tail of %s: %w", s.path, err)
	}
	if err := s.fdatasync(); err != nil {
		return nil, err
	}
	return &tornTail{offset: expect, pos: pos, bytes: end - pos}, nil
}

func le64(b []byte) uint64 {
	_ = b[7]
	return uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
		uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
}
