package elastic

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/hotline-hub/hotline/search"
)

// textFields are the per-language fields of an entry's text, under
// entries.text, each with the analyzer Elasticsearch applies to it (and
// to query words searched in it). langStd is for every other language.
var textFields = []struct{ lang, analyzer string }{
	{"fr", "french"},
	{"en", "english"},
	{"ru", "russian"},
	{"de", "german"},
	{langStd, "standard"},
}

const langStd = "std"

// textPath is the full name of the text field of lang.
func textPath(lang string) string { return "entries.text." + lang }

// entryLang is the text field of e in c: its own language, else the
// conversation's, if it is one of search.Languages; else langStd.
func entryLang(c *search.Conversation, e *search.Entry) string {
	l := e.Language
	if l == "" {
		l = c.Language
	}
	if slices.Contains(search.Languages, l) {
		return l
	}
	return langStd
}

// Index settings.
const (
	// nestedLimit is the most entries one conversation may have
	// (index.mapping.nested_objects.limit, 10000 by default).
	nestedLimit = 50000
	// refreshInterval makes writes searchable within about a second.
	// Setting it explicitly also keeps an idle shard refreshing.
	refreshInterval = "1s"
)

func keyword() map[string]any { return map[string]any{"type": "keyword"} }

// storedOnly is a keyword kept in _source only.
func storedOnly() map[string]any {
	return map[string]any{"type": "keyword", "index": false, "doc_values": false}
}

// indexBody is the create-index request of kind: settings and strict
// mappings (see the package comment).
func (x *Index) indexBody(kind string) map[string]any {
	settings := map[string]any{
		"number_of_shards": x.cfg.Shards,
		"refresh_interval": refreshInterval,
	}
	if x.cfg.Replicas > 0 {
		settings["number_of_replicas"] = x.cfg.Replicas
	} else {
		settings["auto_expand_replicas"] = "0-1"
	}
	var props map[string]any
	switch kind {
	case kindConversations:
		settings["mapping.nested_objects.limit"] = nestedLimit
		text := map[string]any{}
		for _, f := range textFields {
			text[f.lang] = map[string]any{"type": "text", "analyzer": f.analyzer}
		}
		props = map[string]any{
			"tenant":           keyword(),
			"id":               keyword(),
			"contact_id":       keyword(),
			"channel":          keyword(),
			"queue":            keyword(),
			"agent_id":         keyword(),
			"status":           keyword(),
			"language":         keyword(),
			"tags":             keyword(),
			"customer_name":    storedOnly(),
			"customer_address": map[string]any{"type": "keyword", "ignore_above": 256},
			"started":          map[string]any{"type": "date_nanos"},
			"last_activity":    map[string]any{"type": "date_nanos"},
			"entries": map[string]any{
				"type": "nested",
				"properties": map[string]any{
					"id":        keyword(),
					"kind":      keyword(),
					"direction": keyword(),
					"agent_id":  keyword(),
					"language":  keyword(),
					"time":      map[string]any{"type": "date_nanos"},
					"text":      map[string]any{"properties": text},
				},
			},
		}
	case kindContacts:
		props = map[string]any{
			"tenant":      keyword(),
			"id":          keyword(),
			"name":        map[string]any{"type": "text", "analyzer": "standard"},
			"name_folded": map[string]any{"type": "text", "analyzer": "standard"},
			"emails":      storedOnly(),
			"phones":      storedOnly(),
			"merged_into": keyword(),
			"email_keys":  keyword(),
			"phone_keys":  keyword(),
		}
	}
	return map[string]any{
		"settings": map[string]any{"index": settings},
		"mappings": map[string]any{"dynamic": "strict", "properties": props},
	}
}

// docID is the Elasticsearch _id of a tenant's document: the tenant
// path-escaped (so without '/'), a '/', the id. It is unambiguous, and
// ties every document to its tenant.
func docID(tenant, id string) string { return url.PathEscape(tenant) + "/" + id }

// Limits of Elasticsearch, in bytes: of an _id, and of a keyword (Lucene's
// largest term).
const (
	maxDocID   = 512
	maxKeyword = 32766
)

// convDoc is a conversation as stored (see the package comment). Zero
// times are left out: date_nanos cannot hold them.
type convDoc struct {
	Tenant          string     `json:"tenant"`
	ID              string     `json:"id"`
	ContactID       string     `json:"contact_id,omitempty"`
	Channel         string     `json:"channel"`
	Queue           string     `json:"queue,omitempty"`
	AgentID         string     `json:"agent_id,omitempty"`
	Status          string     `json:"status"`
	Language        string     `json:"language,omitempty"`
	Tags            []string   `json:"tags,omitempty"`
	CustomerName    string     `json:"customer_name,omitempty"`
	CustomerAddress string     `json:"customer_address,omitempty"`
	Started         *time.Time `json:"started,omitempty"`
	LastActivity    time.Time  `json:"last_activity"`
	Entries         []entryDoc `json:"entries,omitempty"`
}

type entryDoc struct {
	ID        string `json:"id"`
	Kind      string `json:"kind"`
	Direction string `json:"direction,omitempty"`
	AgentID   string `json:"agent_id,omitempty"`
	Language  string `json:"language,omitempty"`
	// Text has one key: the field that analyses the text.
	Text map[string]string `json:"text"`
	Time *time.Time        `json:"time,omitempty"`
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func fromOpt(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return *t
}

// newConvDoc is the stored form of c, its entries deduplicated (the last
// one written with an id, in the place of the first).
func newConvDoc(c *search.Conversation) convDoc {
	d := convDoc{
		Tenant: c.Tenant, ID: c.ID, ContactID: c.ContactID, Channel: c.Channel, Queue: c.Queue,
		AgentID: c.AgentID, Status: c.Status, Language: c.Language, Tags: c.Tags,
		CustomerName: c.CustomerName, CustomerAddress: c.CustomerAddress,
		Started: optTime(c.Started), LastActivity: c.LastActivity,
	}
	seen := make(map[string]int, len(c.Entries))
	for i := range c.Entries {
		e := &c.Entries[i]
		ed := entryDoc{
			ID: e.ID, Kind: e.Kind, Direction: e.Direction, AgentID: e.AgentID, Language: e.Language,
			Text: map[string]string{entryLang(c, e): e.Text},
			Time: optTime(e.Time),
		}
		if j, ok := seen[e.ID]; ok {
			d.Entries[j] = ed
			continue
		}
		seen[e.ID] = len(d.Entries)
		d.Entries = append(d.Entries, ed)
	}
	return d
}

// conversation is the search.Conversation d stores.
func (d *convDoc) conversation() search.Conversation {
	c := search.Conversation{
		Tenant: d.Tenant, ID: d.ID, ContactID: d.ContactID, Channel: d.Channel, Queue: d.Queue,
		AgentID: d.AgentID, Status: d.Status, Language: d.Language, Tags: d.Tags,
		CustomerName: d.CustomerName, CustomerAddress: d.CustomerAddress,
		Started: fromOpt(d.Started), LastActivity: d.LastActivity,
	}
	if len(d.Entries) > 0 {
		c.Entries = make([]search.Entry, len(d.Entries))
	}
	for i, e := range d.Entries {
		c.Entries[i] = search.Entry{
			ID: e.ID, Kind: e.Kind, Direction: e.Direction, AgentID: e.AgentID, Language: e.Language,
			Text: e.text(), Time: fromOpt(e.Time),
		}
	}
	return c
}

// text is the entry's text, whichever field holds it.
func (e *entryDoc) text() string {
	for _, t := range e.Text {
		return t
	}
	return ""
}

// contactDoc is a contact as stored: its fields and the lookup keys.
type contactDoc struct {
	search.Contact
	NameFolded string   `json:"name_folded,omitempty"`
	EmailKeys  []string `json:"email_keys,omitempty"`
	PhoneKeys  []string `json:"phone_keys,omitempty"`
}

func newContactDoc(c *search.Contact) contactDoc {
	d := contactDoc{Contact: *c, NameFolded: fold(c.Name)}
	for _, e := range c.Emails {
		d.EmailKeys = append(d.EmailKeys, strings.ToLower(strings.TrimSpace(e)))
	}
	for _, p := range c.Phones {
		if n, err := search.NormalizePhone(p, ""); err == nil {
			p = n
		}
		d.PhoneKeys = append(d.PhoneKeys, p)
	}
	return d
}

// Times date_nanos can hold: nanoseconds since 1970 in an int64.
var (
	minTime = time.Unix(0, 0)
	maxTime = time.Date(2262, 1, 1, 0, 0, 0, 0, time.UTC)
)

func checkTime(field string, t time.Time) error {
	if t.IsZero() || !t.Before(minTime) && t.Before(maxTime) {
		return nil
	}
	return fmt.Errorf("%s %s out of range (1970 to 2261)", field, t.Format(time.RFC3339))
}

// checkBatch rejects documents that cannot be stored, before anything is
// written.
func checkBatch(b *search.Batch) error {
	var errs []error
	for i := range b.Conversations {
		c := &b.Conversations[i]
		bad := func(format string, args ...any) {
			errs = append(errs, fmt.Errorf("conversation %d (%q of %q): %s", i, c.ID, c.Tenant, fmt.Sprintf(format, args...)))
		}
		switch {
		case c.Tenant == "":
			bad("tenant is required")
		case c.ID == "":
			bad("id is required")
		case len(docID(c.Tenant, c.ID)) > maxDocID:
			bad("tenant and id longer than %d bytes", maxDocID)
		case c.LastActivity.IsZero():
			bad("last activity is required")
		}
		for _, err := range []error{checkTime("started", c.Started), checkTime("last activity", c.LastActivity)} {
			if err != nil {
				bad("%v", err)
			}
		}
		if len(c.Entries) > nestedLimit {
			bad("%d entries, more than %d", len(c.Entries), nestedLimit)
		}
		for _, k := range []struct{ name, v string }{
			{"contact id", c.ContactID}, {"channel", c.Channel}, {"queue", c.Queue}, {"agent id", c.AgentID},
			{"status", c.Status}, {"language", c.Language},
		} {
			if len(k.v) > maxKeyword {
				bad("%s longer than %d bytes", k.name, maxKeyword)
			}
		}
		for _, t := range c.Tags {
			if len(t) > maxKeyword {
				bad("a tag longer than %d bytes", maxKeyword)
			}
		}
		for j := range c.Entries {
			e := &c.Entries[j]
			if e.ID == "" {
				bad("entry %d has no id", j)
			}
			if max(len(e.ID), len(e.Kind), len(e.Direction), len(e.AgentID), len(e.Language)) > maxKeyword {
				bad("entry %d: an attribute longer than %d bytes", j, maxKeyword)
			}
			if err := checkTime("time", c.Entries[j].Time); err != nil {
				bad("entry %q: %v", c.Entries[j].ID, err)
			}
		}
	}
	for i := range b.Contacts {
		c := &b.Contacts[i]
		switch {
		case c.Tenant == "":
			errs = append(errs, fmt.Errorf("contact %d (%q): tenant is required", i, c.ID))
		case c.ID == "":
			errs = append(errs, fmt.Errorf("contact %d of %q: id is required", i, c.Tenant))
		case len(docID(c.Tenant, c.ID)) > maxDocID:
			errs = append(errs, fmt.Errorf("contact %d (%q of %q): tenant and id longer than %d bytes", i, c.ID, c.Tenant, maxDocID))
		case len(c.MergedInto) > maxKeyword || slices.ContainsFunc(c.Emails, func(e string) bool { return len(e) > maxKeyword }) ||
			slices.ContainsFunc(c.Phones, func(p string) bool { return len(p) > maxKeyword }):
			errs = append(errs, fmt.Errorf("contact %d (%q of %q): an email, phone or merged id longer than %d bytes", i, c.ID, c.Tenant, maxKeyword))
		}
	}
	if n := len(errs); n > 10 {
		errs = append(errs[:10], fmt.Errorf("and %d more", n-10))
	}
	if len(errs) > 0 {
		return fmt.Errorf("elastic: write: nothing written: %w", errors.Join(errs...))
	}
	return nil
}
