package voice

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/hotline-hub/hotline/bus"
	"github.com/hotline-hub/hotline/bus/event"
)

// Recording retention. Every recording and voicemail the server stores as
// <RecordingsDir>/<sha256>.wav gets a sidecar <sha256>.json, written just
// before its call.recorded is published, that says whose it is (tenant,
// conversation, call, contact, kind, when it was stored). The sidecar is
// the janitor's index: no log has to be replayed to learn a file's call.
// Identical content from two calls (two silent voicemails) is one file
// with two references.
//
// With Config.RecordingRetention set, the janitor runs when Run starts and
// every hour: a file whose newest reference is older than the retention
// (by Config.Now) is expired by, in this order, publishing one
// call.recording_deleted (reason "retention") per reference, removing the
// WAV, then removing the sidecar. Each step is repeatable: a crash in
// between leaves the sidecar, and the next run publishes the same events
// again, with the same ids (derived from conversation and content), which
// consumers drop as duplicates, and finishes the removal. WAV files
// without a sidecar (stored before this version, or a crash between
// storing and indexing, when call.recorded was never published) are kept
// and counted in the janitor's log.

// janitorEvery is how often the janitor runs after the first run at start.
const janitorEvery = time.Hour

// recentlyWritten protects a file a call has just stored again (same
// content as an expired one) from the janitor.
const recentlyWritten = time.Minute

// recordingIndex is the sidecar of one stored recording.
type recordingIndex struct {
	References []recordingRef `json:"references"`
}

// recordingRef is one call's claim on a stored recording.
type recordingRef struct {
	Tenant         string        `json:"tenant"`
	ConversationID string        `json:"conversation_id"`
	CallID         string        `json:"call_id"`
	ContactID      string        `json:"contact_id,omitempty"`
	Kind           string        `json:"kind"`
	Recording      event.BlobRef `json:"recording"`
	StoredAt       time.Time     `json:"stored_at"`
}

// recordings serializes the index writes and the janitor.
type recordings struct {
	dir string
	mu  sync.Mutex
}

func (r *recordings) wavPath(sha string) string   { return filepath.Join(r.dir, sha+".wav") }
func (r *recordings) indexPath(sha string) string { return filepath.Join(r.dir, sha+".json") }

// isBlobName reports whether name is <64 lowercase hex><ext>.
func isBlobName(name, ext string) bool {
	sha, ok := strings.CutSuffix(name, ext)
	return ok && len(sha) == 64 && strings.Trim(sha, "0123456789abcdef") == ""
}

func (r *recordings) read(sha string) (*recordingIndex, error) {
	b, err := os.ReadFile(r.indexPath(sha))
	if err != nil {
		return nil, err
	}
	var idx recordingIndex
	if err := json.Unmarshal(b, &idx); err != nil {
		return nil, fmt.Errorf("voice: recording index %s: %w", r.indexPath(sha), err)
	}
	return &idx, nil
}

// add records ref in its recording's sidecar, replacing the file
// atomically.
func (r *recordings) add(ref recordingRef) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	sha := ref.Recording.SHA256
	idx, err := r.read(sha)
	if errors.Is(err, os.ErrNotExist) {
		idx, err = &recordingIndex{}, nil
	}
	if err != nil {
		return err
	}
	for _, o := range idx.References {
		if o.Tenant == ref.Tenant && o.ConversationID == ref.ConversationID && o.Kind == ref.Kind {
			return nil // published again after a retry
		}
	}
	idx.References = append(idx.References, ref)
	b, err := json.Marshal(idx)
	if err != nil {
		return fmt.Errorf("voice: recording index: %w", err)
	}
	tmp := filepath.Join(r.dir, "tmp-index-"+sha+".json")
	if err := os.WriteFile(tmp, b, 0o640); err != nil {
		return fmt.Errorf("voice: recording index: %w", err)
	}
	if err := os.Rename(tmp, r.indexPath(sha)); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("voice: recording index: %w", err)
	}
	return nil
}

// indexRecordings writes the sidecar of every call.recorded among evs,
// before they are published. A failure is logged: the recording is then
// kept forever, as if retention were off.
func (c *call) indexRecordings(evs []*pending) {
	for _, p := range evs {
		d, ok := p.data.(*event.CallRecordedData)
		if !ok {
			continue
		}
		ref := recordingRef{Tenant: c.num.cfg.Tenant, ConversationID: c.convID, CallID: c.callID, ContactID: c.contact,
			Kind: d.Kind, Recording: d.Recording, StoredAt: c.s.cfg.Now()}
		if err := c.s.recs.add(ref); err != nil {
			c.log.Error("recording not indexed; retention will not delete it", "sha256", d.Recording.SHA256, "err", err)
		}
	}
}

// startJanitor runs the retention janitor until ctx ends, when a
// retention is configured.
func (s *Server) startJanitor(ctx context.Context) {
	if s.cfg.RecordingRetention <= 0 {
		return
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		t := time.NewTicker(janitorEvery)
		defer t.Stop()
		for {
			if _, err := s.expireRecordings(ctx); err != nil && ctx.Err() == nil {
				s.log.Error("recording retention run failed", "err", err)
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
}

// expireRecordings makes one janitor run and returns how many recordings
// it deleted.
func (s *Server) expireRecordings(ctx context.Context) (int, error) {
	entries, err := os.ReadDir(s.recs.dir)
	if err != nil {
		return 0, fmt.Errorf("voice: recordings dir: %w", err)
	}
	indexed := make(map[string]bool)
	for _, e := range entries {
		if isBlobName(e.Name(), ".json") {
			indexed[strings.TrimSuffix(e.Name(), ".json")] = true
		}
	}
	now := s.cfg.Now()
	deleted, unindexed := 0, 0
	var errs []error
	for _, e := range entries {
		if isBlobName(e.Name(), ".wav") && !indexed[strings.TrimSuffix(e.Name(), ".wav")] {
			unindexed++
		}
	}
	for sha := range indexed {
		if ctx.Err() != nil {
			return deleted, ctx.Err()
		}
		done, err := s.expireRecording(ctx, sha, now)
		if err != nil {
			errs = append(errs, err)
		}
		if done {
			deleted++
		}
	}
	s.log.Info("recording retention run", "deleted", deleted, "kept_without_index", unindexed,
		"retention", s.cfg.RecordingRetention, "failed", len(errs))
	return deleted, errors.Join(errs...)
}

// expireRecording deletes recording sha when its newest reference is
// older than the retention: events first, then the WAV, then the sidecar.
func (s *Server) expireRecording(ctx context.Context, sha string, now time.Time) (bool, error) {
	r := s.recs
	r.mu.Lock()
	defer r.mu.Unlock()
	idx, err := r.read(sha)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	var newest time.Time
	for _, ref := range idx.References {
		if ref.StoredAt.After(newest) {
			newest = ref.StoredAt
		}
	}
	if now.Sub(newest) < s.cfg.RecordingRetention {
		return false, nil
	}
	wav := r.wavPath(sha)
	st, statErr := os.Stat(wav)
	if statErr == nil && time.Since(st.ModTime()) < recentlyWritten {
		return false, nil
	}
	msgs := make([]bus.Message, 0, len(idx.References))
	for _, ref := range idx.References {
		m, err := deletedMessage(ref, now)
		if err != nil {
			return false, err
		}
		msgs = append(msgs, m)
	}
	if len(msgs) > 0 {
		pctx, cancel := context.WithTimeout(ctx, defaultPublishTimeout)
		err := s.bus.Publish(pctx, event.TopicConversations, msgs...)
		cancel()
		if err != nil {
			return false, fmt.Errorf("voice: publish %s for %s: %w", event.CallRecordingDeleted, sha, err)
		}
	}
	if statErr == nil {
		if again, err := os.Stat(wav); err == nil && !again.ModTime().Equal(st.ModTime()) {
			// A call stored the same content meanwhile; it is its file now.
			return false, nil
		}
	}
	if err := os.Remove(wav); err != nil && !errors.Is(err, os.ErrNotExist) {
		return false, fmt.Errorf("voice: delete recording: %w", err)
	}
	if err := os.Remove(r.indexPath(sha)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return false, fmt.Errorf("voice: delete recording index: %w", err)
	}
	s.log.Info("recording deleted", "sha256", sha, "references", len(idx.References), "stored_at", newest)
	return true, nil
}

// deletedMessage is the call.recording_deleted of ref; its id depends on
// the conversation and the content only, so a run repeated after a crash
// publishes the same event.
func deletedMessage(ref recordingRef, now time.Time) (bus.Message, error) {
	opts := []event.Option{event.WithConversation(ref.ConversationID), event.WithChannel(event.ChannelVoice),
		event.WithSource(defaultSource), event.WithTime(now), event.WithSubject(ref.CallID),
		event.WithID(derivedID("recording-deleted", ref.ConversationID, ref.Recording.SHA256))}
	if ref.ContactID != "" {
		opts = append(opts, event.WithContact(ref.ContactID))
	}
	e, err := event.New(event.CallRecordingDeleted, ref.Tenant, &event.CallRecordingDeletedData{
		CallID: ref.CallID, Recording: ref.Recording, Reason: event.RecordingExpired}, opts...)
	if err != nil {
		return bus.Message{}, fmt.Errorf("voice: build %s: %w", event.CallRecordingDeleted, err)
	}
	m, err := event.ToMessage(e)
	if err != nil {
		return bus.Message{}, fmt.Errorf("voice: encode %s: %w", event.CallRecordingDeleted, err)
	}
	return m, nil
}
