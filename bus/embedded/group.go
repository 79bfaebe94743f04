package embedded

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/hotline-hub/hotline/bus"
)

// group is a consumer group on one topic: its members in join order, which
// member owns each partition, and the committed offsets.
type group struct {
	t    *topic
	name string
	path string

	mu        sync.Mutex
	committed map[int]int64 // next offset to read, per partition
	dirty     bool          // committed changed since the last write
	members   []*subscription
	owner     []*subscription // per partition; nil when no member

	wmu sync.Mutex // serializes writes of the offsets file
}

type groupFile struct {
	Group   string           `json:"group"`
	Offsets map[string]int64 `json:"offsets"`
}

// groupFileName is the group's file name: the name itself when it is a
// safe file name, else a hash (the file holds the real name either way).
func groupFileName(name string) string {
	if bus.ValidTopic(name) == nil && len(name) <= 200 && !strings.HasPrefix(name, ".") {
		return name + ".json"
	}
	sum := sha256.Sum256([]byte(name))
	return "~" + hex.EncodeToString(sum[:20]) + ".json"
}

func (t *topic) groupsDir() string { return filepath.Join(t.dir, "groups") }

// loadGroups reads every group's committed offsets.
func (t *topic) loadGroups() error {
	if err := os.Mkdir(t.groupsDir(), 0o755); err == nil {
		if err := syncDir(t.dir); err != nil {
			return err
		}
	} else if !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("embedded: create groups directory of topic %s: %w", t.name, err)
	}
	ents, err := os.ReadDir(t.groupsDir())
	if err != nil {
		return fmt.Errorf("embedded: read groups of topic %s: %w", t.name, err)
	}
	for _, e := range ents {
		name := e.Name()
		path := filepath.Join(t.groupsDir(), name)
		if strings.HasPrefix(name, ".") && strings.Contains(name, ".tmp") {
			os.Remove(path) // a write interrupted before its rename
			continue
		}
		if !strings.HasSuffix(name, ".json") {
			continue
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("embedded: read group offsets %s: %w", path, err)
		}
		var gf groupFile
		if err := json.Unmarshal(raw, &gf); err != nil {
			return fmt.Errorf("embedded: unreadable group offsets file %s: %v", path, err)
		}
		if gf.Group == "" {
			return fmt.Errorf("embedded: unreadable group offsets file %s: no group name", path)
		}
		g := t.newGroup(gf.Group)
		for ps, off := range gf.Offsets {
			p, err := strconv.Atoi(ps)
			if err != nil || p < 0 || p >= len(t.parts) || off < 0 {
				return fmt.Errorf("embedded: unreadable group offsets file %s: bad entry %q: %d", path, ps, off)
			}
			if end := t.parts[p].end.Load(); off > end {
				// The log is shorter than the group remembers: a crash of the
				// machine lost records the group had read before they were
				// synced (or segment files were removed by hand). Resume at
				// the end, where the next records will be.
				t.b.log.Warn("embedded bus: committed offset past the end of the log; resuming at the end",
					"topic", t.name, "group", gf.Group, "partition", p, "committed", off, "end", end, "file", path)
				off = end
			}
			g.committed[p] = off
		}
		t.groups[gf.Group] = g
	}
	return nil
}

func (t *topic) newGroup(name string) *group {
	return &group{
		t: t, name: name,
		path:      filepath.Join(t.groupsDir(), groupFileName(name)),
		committed: map[int]int64{},
		owner:     make([]*subscription, len(t.parts)),
	}
}

// group returns the named group, creating it on first use.
func (t *topic) group(name string) *group {
	t.gmu.Lock()
	defer t.gmu.Unlock()
	g := t.groups[name]
	if g == nil {
		g = t.newGroup(name)
		t.groups[name] = g
	}
	return g
}

func (t *topic) allGroups() []*group {
	t.gmu.Lock()
	defer t.gmu.Unlock()
	out := make([]*group, 0, len(t.groups))
	for _, g := range t.groups {
		out = append(out, g)
	}
	return out
}

// join adds s to the group and rebalances.
func (g *group) join(s *subscription) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if s.closed.Load() {
		return // closed while subscribing: Close already left the group
	}
	g.members = append(g.members, s)
	g.rebalance()
}

// leave removes s, collects its acknowledged offsets and gives its
// partitions to the remaining members.
func (g *group) leave(s *subscription) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.harvest(s)
	for i, m := range g.members {
		if m == s {
			g.members = append(g.members[:i], g.members[i+1:]...)
			break
		}
	}
	for p, o := range g.owner {
		if o == s {
			g.owner[p] = nil
		}
	}
	g.rebalance()
}

// rebalance spreads the partitions evenly over the members (the first
// P mod n members in join order take one more) and moves as few as it
// can: a partition stays with its owner while that owner is under its
// share. A partition that changes hands resumes, for its new owner, at the
// group's committed offset: what the old owner received and did not
// acknowledge is delivered again. g.mu is held.
func (g *group) rebalance() {
	n, parts := len(g.members), len(g.owner)
	want := make([]*subscription, parts)
	if n > 0 {
		quota := make(map[*subscription]int, n)
		for i, m := range g.members {
			quota[m] = parts / n
			if i < parts%n {
				quota[m]++
			}
		}
		for p, o := range g.owner {
			if o != nil && quota[o] > 0 {
				want[p] = o
				quota[o]--
			}
		}
		next := 0
		for p := range want {
			if want[p] != nil {
				continue
			}
			for quota[g.members[next]] == 0 {
				next++
			}
			want[p] = g.members[next]
			quota[g.members[next]]--
		}
	}
	for p := range g.owner {
		old := g.owner[p]
		if old == want[p] {
			continue
		}
		if old != nil {
			g.harvest(old)
			old.release(p)
		}
		g.owner[p] = want[p]
		if want[p] != nil {
			want[p].assign(p, g.startFor(p, want[p].start))
		}
	}
}

// startFor returns where partition p resumes: the committed offset, or the
// start position, which then becomes the committed offset (so a member that
// starts at the latest message and fails before acknowledging anything
// does not make the next one skip what came in between). g.mu is held.
func (g *group) startFor(p int, start bus.Start) int64 {
	if off, ok := g.committed[p]; ok {
		return off
	}
	part := g.t.parts[p]
	var off int64
	if start == bus.StartLatest {
		off = part.end.Load()
	} else {
		off = part.oldest()
	}
	g.committed[p] = off
	g.dirty = true
	return off
}

// harvest moves s's acknowledged offsets into the group's committed ones,
// for the partitions s still owns. g.mu is held.
func (g *group) harvest(s *subscription) {
	for p, off := range s.tracker.Committable() {
		if p < len(g.owner) && g.owner[p] == s && off != g.committed[p] {
			g.committed[p] = off
			g.dirty = true
		}
	}
}

// flush collects the members' acknowledgements and writes the committed
// offsets if they changed.
func (g *group) flush() error {
	g.wmu.Lock()
	defer g.wmu.Unlock()
	g.mu.Lock()
	for _, m := range g.members {
		g.harvest(m)
	}
	if !g.dirty {
		g.mu.Unlock()
		return nil
	}
	gf := groupFile{Group: g.name, Offsets: make(map[string]int64, len(g.committed))}
	for p, off := range g.committed {
		gf.Offsets[strconv.Itoa(p)] = off
	}
	g.dirty = false
	g.mu.Unlock()
	data, err := json.Marshal(gf)
	if err == nil {
		err = writeFileAtomic(g.path, append(data, '\n'))
	}
	if err != nil {
		g.mu.Lock()
		g.dirty = true
		g.mu.Unlock()
		return fmt.Errorf("embedded: commit offsets of group %q on topic %s: %w", g.name, g.t.name, err)
	}
	return nil
}
