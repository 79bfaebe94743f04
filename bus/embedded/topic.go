package embedded

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hotline-hub/hotline/bus"
)

// topic is a named set of partitions with the consumer groups reading it.
type topic struct {
	b     *Bus
	name  string
	dir   string
	parts []*partition
	rr    atomic.Uint32 // round robin for messages without a key

	// Receivers wait on wch, which the writers close (and replace) when a
	// partition's written end moves while someone waits.
	wmu     sync.Mutex
	wch     chan struct{}
	waiting bool

	gmu    sync.Mutex
	groups map[string]*group
}

type topicMeta struct {
	Version    int       `json:"version"`
	Partitions int       `json:"partitions"`
	Created    time.Time `json:"created"`
}

const metaFile = "topic.json"

// waitChan returns a channel closed at the next append written.
func (t *topic) waitChan() <-chan struct{} {
	t.wmu.Lock()
	defer t.wmu.Unlock()
	if t.wch == nil {
		t.wch = make(chan struct{})
	}
	t.waiting = true
	return t.wch
}

// wake tells waiting receivers that a partition's written end moved.
func (t *topic) wake() {
	t.wmu.Lock()
	if t.waiting {
		close(t.wch)
		t.wch = nil
		t.waiting = false
	}
	t.wmu.Unlock()
}

// partitionFor chooses m's partition: Kafka's murmur2 of the key, or round
// robin without a key.
func (t *topic) partitionFor(m *bus.Message) int {
	if len(m.Key) == 0 {
		return int(t.rr.Add(1)-1) % len(t.parts)
	}
	return keyPartition(m.Key, len(t.parts))
}

// createTopic creates a topic's directory and metadata and opens it.
func (b *Bus) createTopic(name string) (*topic, error) {
	dir := filepath.Join(b.cfg.Dir, "topics", name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("embedded: create topic %s: %w", name, err)
	}
	meta, err := json.MarshalIndent(topicMeta{Version: 1, Partitions: b.cfg.Partitions, Created: time.Now().UTC()}, "", "  ")
	if err != nil {
		return nil, err
	}
	// The metadata goes first: a topic directory without it holds no data
	// (nothing is published before it exists) and is recreated.
	if err := writeFileAtomic(filepath.Join(dir, metaFile), append(meta, '\n')); err != nil {
		return nil, fmt.Errorf("embedded: create topic %s: %w", name, err)
	}
	if err := syncDir(filepath.Dir(dir)); err != nil {
		return nil, err
	}
	return b.openTopic(name, nil)
}

// openTopic loads an existing topic: its metadata, every partition (with
// recovery; trusted holds the offsets up to which the last checkpoint made
// each partition durable) and its groups' committed offsets.
func (b *Bus) openTopic(name string, trusted []int64) (*topic, error) {
	dir := filepath.Join(b.cfg.Dir, "topics", name)
	metaPath := filepath.Join(dir, metaFile)
	raw, err := os.ReadFile(metaPath)
	if err != nil {
		return nil, fmt.Errorf("embedded: topic %s: %w", name, err)
	}
	var meta topicMeta
	if err := json.Unmarshal(raw, &meta); err != nil {
		return nil, fmt.Errorf("embedded: unreadable topic metadata %s: %v", metaPath, err)
	}
	if meta.Partitions < 1 || meta.Partitions > maxPartitions {
		return nil, fmt.Errorf("embedded: unreadable topic metadata %s: partitions %d outside 1..%d", metaPath, meta.Partitions, maxPartitions)
	}
	t := &topic{b: b, name: name, dir: dir, groups: map[string]*group{}}
	t.parts = make([]*partition, meta.Partitions)
	// Partitions recover in parallel: each reads and checks its segments.
	errs := make([]error, meta.Partitions)
	sem := make(chan struct{}, 4)
	var wg sync.WaitGroup
	for i := range t.parts {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			var tr int64
			if i < len(trusted) {
				tr = trusted[i]
			}
			t.parts[i], errs[i] = openPartition(b, t, i, tr)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		for _, p := range t.parts {
			if p != nil {
				p.stop()
			}
		}
		if _, ok := errors.AsType[*CorruptionError](err); ok {
			return nil, err
		}
		return nil, fmt.Errorf("embedded: open topic %s: %w", name, err)
	}
	if err := t.loadGroups(); err != nil {
		for _, p := range t.parts {
			p.stop()
		}
		return nil, err
	}
	return t, nil
}

// stop stops every partition's writer and closes its files.
func (t *topic) stop() error {
	var errs []error
	for _, p := range t.parts {
		errs = append(errs, p.stop())
	}
	return errors.Join(errs...)
}
