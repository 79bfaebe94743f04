package directory

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/hotline-hub/hotline/bus/event"
)

// problemList collects validation problems with the API's field names.
type problemList []event.Problem

func (p *problemList) add(field, format string, args ...any) {
	*p = append(*p, event.Problem{Field: field, Msg: fmt.Sprintf(format, args...)})
}

// addValidation appends the problems of a payload's Validate, renaming the
// event's field names to the API's.
func (p *problemList) addValidation(err error, rename map[string]string) {
	if err == nil {
		return
	}
	ve, ok := err.(*event.ValidationError)
	if !ok {
		p.add("", "%v", err)
		return
	}
	for _, q := range ve.Problems {
		if n, ok := rename[q.Field]; ok {
			q.Field = n
		}
		for from, to := range rename {
			// Only the phrases that name another field, never the
			// quoted values a message repeats.
			q.Msg = strings.Replace(q.Msg, "but "+from+" is set", "but "+to+" is set", 1)
		}
		*p = append(*p, q)
	}
}

// millis checks an API duration in seconds and converts it for an event.
// A bad value is reported here, and a stand-in that passes the event's own
// checks is returned, so the problem is reported once.
func (p *problemList) millis(field string, sec int64) int64 {
	switch {
	case sec < 0:
		p.add(field, "%d is negative", sec)
		return 1000
	case sec > MaxSeconds:
		p.add(field, "%d is more than %d (30 days)", sec, MaxSeconds)
		return 1000
	}
	return sec * 1000
}

func (p problemList) err(subject string) error {
	if len(p) == 0 {
		return nil
	}
	return &event.ValidationError{Subject: subject, Problems: p}
}

var (
	queueFields = map[string]string{"queue_id": "id", "overflow_after_ms": "overflow_after_seconds",
		"offer_timeout_ms": "offer_timeout_seconds"}
	skillFields   = map[string]string{"skill_id": "id"}
	profileFields = map[string]string{"agent_id": "account_id"}
	answerFields  = map[string]string{"answer_id": "id"}
)

// begin syncs with tenant and takes its writer token, within the wait
// timeout; the caller checks the fold, publishes, then releases.
func (s *Store) begin(ctx context.Context, tenant string) (func(), error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.WaitTimeout)
	defer cancel()
	if err := s.Sync(ctx, tenant); err != nil {
		return nil, err
	}
	return s.lockTenant(ctx, tenant)
}

// dir returns tenant's folded directory, never nil. Called with s.mu held.
func (s *Store) dir(tenant string) *tenantDir {
	if td := s.tenants[tenant]; td != nil {
		return td
	}
	return newTenantDir()
}

// checkSkills reports skills missing from the catalogue. Called with s.mu
// held.
func checkSkills(ps *problemList, td *tenantDir, field string, skills []string) {
	for i, sk := range skills {
		if event.ValidDirectoryID(sk) && td.skills[sk] == nil {
			ps.add(fmt.Sprintf("%s[%d]", field, i), "%q is not in the skills catalogue", sk)
		}
	}
}

// SaveQueue creates or replaces a queue of tenant on behalf of account by.
// Its skills must be in the catalogue, its overflow queue a queue of the
// tenant, and the widget's default queue must keep taking chat. It reports
// whether the queue is new.
func (s *Store) SaveQueue(ctx context.Context, tenant, by string, q Queue) (bool, error) {
	release, err := s.begin(ctx, tenant)
	if err != nil {
		return false, err
	}
	defer release()
	d := &event.QueueSavedData{QueueID: q.ID, Name: q.Name, Channels: q.Channels, Skills: q.Skills, Priority: q.Priority,
		Hours: q.Hours, OverflowQueue: q.OverflowQueue, ByAccountID: by}
	var ps problemList
	d.OverflowAfterMs = ps.millis("overflow_after_seconds", q.OverflowAfterSeconds)
	d.OfferTimeoutMs = ps.millis("offer_timeout_seconds", q.OfferTimeoutSeconds)
	ps.addValidation(d.Validate(), queueFields)
	s.mu.RLock()
	td := s.dir(tenant)
	checkSkills(&ps, td, "skills", q.Skills)
	if q.OverflowQueue != "" && q.OverflowQueue != q.ID && event.ValidDirectoryID(q.OverflowQueue) && td.queues[q.OverflowQueue] == nil {
		ps.add("overflow_queue", "%q is not a queue of the tenant", q.OverflowQueue)
	}
	if td.widget != nil && td.widget.DefaultQueue == q.ID && len(q.Channels) > 0 && !q.Takes(event.ChannelChat) {
		ps.add("channels", "has no chat, but the queue is the chat widget's default_queue")
	}
	old := td.queues[q.ID]
	if old != nil {
		d.Extra = maps.Clone(old.Extra) // fields a newer version wrote survive the edit
	}
	s.mu.RUnlock()
	if err := ps.err(event.QueueSaved); err != nil {
		return false, err
	}
	return old == nil, s.publish(ctx, tenant, d)
}

// RemoveQueue deletes a queue of tenant; ErrNotFound if there is none, an
// InUseError if another queue overflows into it or it is the widget's
// default queue.
func (s *Store) RemoveQueue(ctx context.Context, tenant, by, id string) error {
	release, err := s.begin(ctx, tenant)
	if err != nil {
		return err
	}
	defer release()
	s.mu.RLock()
	td := s.dir(tenant)
	if td.queues[id] == nil {
		s.mu.RUnlock()
		return fmt.Errorf("%w: queue %q", ErrNotFound, id)
	}
	use := &InUseError{What: "queue", ID: id, Widget: td.widget != nil && td.widget.DefaultQueue == id}
	for _, qid := range slices.Sorted(maps.Keys(td.queues)) {
		if td.queues[qid].OverflowQueue == id {
			use.Queues = append(use.Queues, qid)
		}
	}
	s.mu.RUnlock()
	if len(use.Queues) > 0 || use.Widget {
		return use
	}
	return s.publish(ctx, tenant, &event.QueueRemovedData{QueueID: id, ByAccountID: by})
}

// SaveSkill names or renames a skill of tenant's catalogue. It reports
// whether the skill is new.
func (s *Store) SaveSkill(ctx context.Context, tenant, by string, sk Skill) (bool, error) {
	release, err := s.begin(ctx, tenant)
	if err != nil {
		return false, err
	}
	defer release()
	d := &event.SkillSavedData{SkillID: sk.ID, Name: sk.Name, ByAccountID: by}
	var ps problemList
	ps.addValidation(d.Validate(), skillFields)
	if err := ps.err(event.SkillSaved); err != nil {
		return false, err
	}
	s.mu.RLock()
	old := s.dir(tenant).skills[sk.ID]
	if old != nil {
		d.Extra = maps.Clone(old.Extra)
	}
	s.mu.RUnlock()
	return old == nil, s.publish(ctx, tenant, d)
}

// RemoveSkill deletes a skill of tenant's catalogue; ErrNotFound if there
// is none, an InUseError naming the queues and agents that use it.
func (s *Store) RemoveSkill(ctx context.Context, tenant, by, id string) error {
	release, err := s.begin(ctx, tenant)
	if err != nil {
		return err
	}
	defer release()
	s.mu.RLock()
	td := s.dir(tenant)
	if td.skills[id] == nil {
		s.mu.RUnlock()
		return fmt.Errorf("%w: skill %q", ErrNotFound, id)
	}
	use := &InUseError{What: "skill", ID: id}
	for _, qid := range slices.Sorted(maps.Keys(td.queues)) {
		if slices.Contains(td.queues[qid].Skills, id) {
			use.Queues = append(use.Queues, qid)
		}
	}
	for _, aid := range slices.Sorted(maps.Keys(td.profiles)) {
		if slices.Contains(td.profiles[aid].Skills, id) {
			use.Agents = append(use.Agents, aid)
		}
	}
	s.mu.RUnlock()
	if len(use.Queues) > 0 || len(use.Agents) > 0 {
		return use
	}
	return s.publish(ctx, tenant, &event.SkillRemovedData{SkillID: id, ByAccountID: by})
}

// capacityMap is the event's form of c: the channels above zero (and any
// negative one, for Validate to refuse).
func capacityMap(c Capacity) map[string]int {
	m := map[string]int{}
	for ch, n := range map[string]int{event.ChannelChat: c.Chat, event.ChannelVoice: c.Voice,
		event.ChannelEmail: c.Email, event.ChannelSMS: c.SMS} {
		if n != 0 {
			m[ch] = n
		}
	}
	return m
}

// SetProfile gives account accountID of tenant routed work with p. Whether
// the account exists is the caller's check (the directory does not fold
// accounts); its skills must be in the catalogue.
func (s *Store) SetProfile(ctx context.Context, tenant, by, accountID string, p Profile) error {
	release, err := s.begin(ctx, tenant)
	if err != nil {
		return err
	}
	defer release()
	d := &event.AgentProfileSetData{AgentID: accountID, Skills: p.Skills, Capacity: capacityMap(p.Capacity), ByAccountID: by}
	var ps problemList
	ps.addValidation(d.Validate(), profileFields)
	s.mu.RLock()
	td := s.dir(tenant)
	checkSkills(&ps, td, "skills", p.Skills)
	if old := td.profiles[accountID]; old != nil {
		d.Extra = maps.Clone(old.Extra)
	}
	s.mu.RUnlock()
	if err := ps.err(event.AgentProfileSet); err != nil {
		return err
	}
	return s.publish(ctx, tenant, d)
}

// RemoveProfile stops routing work to the account; ErrNotFound if it had
// no profile.
func (s *Store) RemoveProfile(ctx context.Context, tenant, by, accountID string) error {
	release, err := s.begin(ctx, tenant)
	if err != nil {
		return err
	}
	defer release()
	s.mu.RLock()
	_, ok := s.dir(tenant).profiles[accountID]
	s.mu.RUnlock()
	if !ok {
		return fmt.Errorf("%w: profile of account %q", ErrNotFound, accountID)
	}
	return s.publish(ctx, tenant, &event.AgentProfileRemovedData{AgentID: accountID, ByAccountID: by})
}

// SaveCannedAnswer creates or replaces a canned answer or script of
// tenant; the queues it is limited to must exist. It reports whether the
// answer is new.
func (s *Store) SaveCannedAnswer(ctx context.Context, tenant, by string, a Answer) (bool, error) {
	release, err := s.begin(ctx, tenant)
	if err != nil {
		return false, err
	}
	defer release()
	d := &event.CannedAnswerSavedData{AnswerID: a.ID, Kind: a.Kind, Title: a.Title, Text: a.Text, Language: a.Language,
		Shortcut: a.Shortcut, Queues: a.Queues, ByAccountID: by}
	var ps problemList
	ps.addValidation(d.Validate(), answerFields)
	s.mu.RLock()
	td := s.dir(tenant)
	for i, q := range a.Queues {
		if event.ValidDirectoryID(q) && td.queues[q] == nil {
			ps.add(fmt.Sprintf("queues[%d]", i), "%q is not a queue of the tenant", q)
		}
	}
	old := td.answers[a.ID]
	if old != nil {
		d.Extra = maps.Clone(old.Extra)
	}
	s.mu.RUnlock()
	if err := ps.err(event.CannedAnswerSaved); err != nil {
		return false, err
	}
	return old == nil, s.publish(ctx, tenant, d)
}

// RemoveCannedAnswer deletes a canned answer or script; ErrNotFound if
// there is none.
func (s *Store) RemoveCannedAnswer(ctx context.Context, tenant, by, id string) error {
	release, err := s.begin(ctx, tenant)
	if err != nil {
		return err
	}
	defer release()
	s.mu.RLock()
	_, ok := s.dir(tenant).answers[id]
	s.mu.RUnlock()
	if !ok {
		return fmt.Errorf("%w: canned answer %q", ErrNotFound, id)
	}
	return s.publish(ctx, tenant, &event.CannedAnswerRemovedData{AnswerID: id, ByAccountID: by})
}

// ConfigureWidget replaces the chat widget's settings of tenant; the
// default queue, when set, must be a queue taking chat.
func (s *Store) ConfigureWidget(ctx context.Context, tenant, by string, w Widget) error {
	release, err := s.begin(ctx, tenant)
	if err != nil {
		return err
	}
	defer release()
	d := &event.WidgetConfiguredData{AllowedOrigins: clone(w.AllowedOrigins), DefaultQueue: w.DefaultQueue, ByAccountID: by}
	var ps problemList
	ps.addValidation(d.Validate(), nil)
	s.mu.RLock()
	td := s.dir(tenant)
	if w.DefaultQueue != "" && event.ValidDirectoryID(w.DefaultQueue) {
		if q := td.queues[w.DefaultQueue]; q == nil {
			ps.add("default_queue", "%q is not a queue of the tenant", w.DefaultQueue)
		} else if !slices.Contains(q.Channels, event.ChannelChat) {
			ps.add("default_queue", "%q does not take the chat channel", w.DefaultQueue)
		}
	}
	if td.widget != nil {
		d.Extra = maps.Clone(td.widget.Extra)
	}
	s.mu.RUnlock()
	if err := ps.err(event.WidgetConfigured); err != nil {
		return err
	}
	return s.publish(ctx, tenant, d)
}
