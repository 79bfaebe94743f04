// Package embedded is the default search backend: a bleve index (scorch)
// on local disk, for a hub that runs on one machine.
//
// # Documents
//
// One bleve document per conversation, holding the conversation's
// attributes and, per entry, its text in the field of its language (see
// mapping.go); contacts are documents of their own. A Write replaces whole
// conversations, so a conversation written again holds exactly its new
// entries.
//
// # Durability
//
// Write is one bleve batch. Scorch's Batch returns only once the new
// segment is persisted (unsafe_batch stays off): the segment file is
// fsynced, then the root bolt file is committed and fsynced; Write then
// fsyncs the directory so that the new file's name is durable too. After
// Write returns, a crash loses nothing.
//
// # Generations and reindexing
//
// Under the directory given to Open live generations (g000001, g000002,
// …), each a complete bleve index, and a file "current" naming the one
// that answers. A reindex builds a new generation while the current one
// keeps answering, then switches:
//
//	next, err := embedded.Create(dir)   // a new, empty generation
//	// … replay the bus into next with next.Write …
//	err = next.Switch()                 // "current" now names it (atomic rename)
//	err = next.Close()
//	err = live.Reload()                 // the serving *Index follows "current"
//
// Reload opens the current generation, makes it answer every later call,
// closes the old one once its running calls are done and deletes it. Open
// deletes generations older than the current one (a finished or abandoned
// reindex); newer ones may be a reindex in progress and are left alone.
package embedded

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/index/scorch"
	index "github.com/blevesearch/bleve_index_api"

	"github.com/hotline-hub/hotline/search"
)

// Index is a search.Index on a bleve index under a directory. It is safe
// for concurrent use.
type Index struct {
	dir string
	log *slog.Logger

	mu  sync.RWMutex // held for reading by every call that uses gen
	gen *generation
}

// generation is one open bleve index.
type generation struct {
	name string // "g000001"
	path string
	bi   bleve.Index
}

var _ search.Index = (*Index)(nil)

// Option configures Open and Create.
type Option func(*options)

type options struct {
	log *slog.Logger
}

// WithLogger logs to l (the default discards).
func WithLogger(l *slog.Logger) Option {
	return func(o *options) { o.log = l }
}

const currentFile = "current"

// Open opens the current generation under dir, creating dir and a first
// generation if there is none (the hub passes <data_dir>/search).
func Open(dir string, opts ...Option) (*Index, error) {
	o := applyOptions(opts)
	if dir == "" {
		return nil, errors.New("embedded: dir is required")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("embedded: create %s: %w", dir, err)
	}
	cur, err := readCurrent(dir)
	if err != nil {
		return nil, err
	}
	if cur == "" {
		x, err := create(dir, o)
		if err != nil {
			return nil, err
		}
		if err := x.Switch(); err != nil {
			_ = x.Close()
			return nil, err
		}
		return x, nil
	}
	g, err := openGeneration(dir, cur)
	if err != nil {
		return nil, err
	}
	x := &Index{dir: dir, log: o.log, gen: g}
	x.removeOlder(cur)
	return x, nil
}

// Create makes a new, empty generation under dir (which must already hold
// a current one, or be new) and opens it; the current generation is left
// as it is until Switch.
func Create(dir string, opts ...Option) (*Index, error) {
	if dir == "" {
		return nil, errors.New("embedded: dir is required")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("embedded: create %s: %w", dir, err)
	}
	return create(dir, applyOptions(opts))
}

func applyOptions(opts []Option) options {
	o := options{log: slog.New(slog.DiscardHandler)}
	for _, f := range opts {
		f(&o)
	}
	if o.log == nil {
		o.log = slog.New(slog.DiscardHandler)
	}
	return o
}

func create(dir string, o options) (*Index, error) {
	gens, err := generations(dir)
	if err != nil {
		return nil, err
	}
	n := 1
	if len(gens) > 0 {
		last, _ := strconv.Atoi(strings.TrimPrefix(gens[len(gens)-1], "g"))
		n = last + 1
	}
	name := fmt.Sprintf("g%06d", n)
	path := filepath.Join(dir, name)
	m, err := newMapping()
	if err != nil {
		return nil, err
	}
	bi, err := bleve.NewUsing(path, m, scorch.Name, scorch.Name, nil)
	if err != nil {
		return nil, fmt.Errorf("embedded: create %s: %w", path, err)
	}
	if err := syncDir(path); err != nil {
		_ = bi.Close()
		return nil, err
	}
	if err := syncDir(dir); err != nil {
		_ = bi.Close()
		return nil, err
	}
	o.log.Info("search index generation created", "path", path)
	return &Index{dir: dir, log: o.log, gen: &generation{name: name, path: path, bi: bi}}, nil
}

func openGeneration(dir, name string) (*generation, error) {
	path := filepath.Join(dir, name)
	bi, err := bleve.OpenUsing(path, nil)
	if err != nil {
		return nil, fmt.Errorf("embedded: open %s: %w", path, err)
	}
	return &generation{name: name, path: path, bi: bi}, nil
}

// generations lists the generation directories under dir, oldest first.
func generations(dir string) ([]string, error) {
	des, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("embedded: list %s: %w", dir, err)
	}
	var out []string
	for _, de := range des {
		if validGeneration(de.Name()) && de.IsDir() {
			out = append(out, de.Name())
		}
	}
	slices.Sort(out) // fixed width: lexical order is numeric order
	return out, nil
}

func validGeneration(name string) bool {
	if len(name) != 7 || name[0] != 'g' {
		return false
	}
	_, err := strconv.Atoi(name[1:])
	return err == nil
}

// readCurrent returns the generation "current" names, or "" if there is no
// such file.
func readCurrent(dir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dir, currentFile))
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("embedded: read current generation: %w", err)
	}
	name := strings.TrimSpace(string(b))
	if !validGeneration(name) {
		return "", fmt.Errorf("embedded: %s names no generation: %q", filepath.Join(dir, currentFile), name)
	}
	return name, nil
}

// Generation is the name of the generation x answers from.
func (x *Index) Generation() string {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.gen.name
}

// Switch makes x's generation the current one of its directory: it writes
// "current" to a temporary file, fsyncs it, renames it over the old one
// and fsyncs the directory, so a crash leaves either the old or the new
// pointer. Indexes open on the old generation keep answering from it until
// Reload.
func (x *Index) Switch() error {
	x.mu.RLock()
	name := x.gen.name
	x.mu.RUnlock()
	tmp := filepath.Join(x.dir, currentFile+".tmp")
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("embedded: switch to %s: %w", name, err)
	}
	_, err = f.WriteString(name + "\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(x.dir, currentFile))
	}
	if err == nil {
		err = syncDir(x.dir)
	}
	if err != nil {
		return fmt.Errorf("embedded: switch to %s: %w", name, err)
	}
	x.log.Info("search index generation switched", "generation", name)
	return nil
}

// Reload makes x answer from the generation "current" names, if it is not
// already the one x uses; the old generation is closed once the calls
// using it are done, then deleted. The new generation must not be open
// elsewhere (close the reindexing *Index first).
func (x *Index) Reload() error {
	cur, err := readCurrent(x.dir)
	if err != nil {
		return err
	}
	if cur == "" || cur == x.Generation() {
		return nil
	}
	g, err := openGeneration(x.dir, cur)
	if err != nil {
		return err
	}
	x.mu.Lock()
	old := x.gen
	x.gen = g
	x.mu.Unlock()
	if err := old.bi.Close(); err != nil {
		x.log.Warn("search index: close old generation", "generation", old.name, "err", err)
	}
	x.removeOlder(cur)
	x.log.Info("search index reloaded", "generation", cur, "previous", old.name)
	return nil
}

// removeOlder deletes the generations older than cur.
func (x *Index) removeOlder(cur string) {
	gens, err := generations(x.dir)
	if err != nil {
		x.log.Warn("search index: list generations", "err", err)
		return
	}
	for _, g := range gens {
		if g < cur {
			if err := os.RemoveAll(filepath.Join(x.dir, g)); err != nil {
				x.log.Warn("search index: remove old generation", "generation", g, "err", err)
			}
		}
	}
}

// Close closes the index; later calls fail.
func (x *Index) Close() error {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.gen == nil {
		return nil
	}
	err := x.gen.bi.Close()
	x.gen = nil
	if err != nil {
		return fmt.Errorf("embedded: close: %w", err)
	}
	return nil
}

// use runs f with the open generation, holding it open meanwhile.
func (x *Index) use(f func(g *generation) error) error {
	x.mu.RLock()
	defer x.mu.RUnlock()
	if x.gen == nil {
		return fmt.Errorf("embedded: index closed: %w", search.ErrUnavailable)
	}
	return f(x.gen)
}

// Ping reports whether the index is open and answers.
func (x *Index) Ping(ctx context.Context) error {
	return x.use(func(g *generation) error {
		if _, err := g.bi.DocCount(); err != nil {
			return fmt.Errorf("embedded: %v: %w", err, search.ErrUnavailable)
		}
		return nil
	})
}

// Write stores b in one durable batch; see the package comment. It checks
// the whole batch first and writes nothing of an invalid one.
func (x *Index) Write(ctx context.Context, b search.Batch) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := checkBatch(&b); err != nil {
		return err
	}
	if b.Len() == 0 {
		return nil
	}
	return x.use(func(g *generation) error {
		batch := g.bi.NewBatch()
		for i := range b.Conversations {
			id, doc, err := conversationDoc(&b.Conversations[i])
			if err != nil {
				return err
			}
			if err := batch.Index(id, doc); err != nil {
				return fmt.Errorf("embedded: index conversation %q: %w", b.Conversations[i].ID, err)
			}
		}
		for i := range b.Contacts {
			id, doc, err := contactDoc(&b.Contacts[i])
			if err != nil {
				return err
			}
			if err := batch.Index(id, doc); err != nil {
				return fmt.Errorf("embedded: index contact %q: %w", b.Contacts[i].ID, err)
			}
		}
		if err := g.bi.Batch(batch); err != nil {
			return fmt.Errorf("embedded: write %d documents: %v: %w", b.Len(), err, search.ErrUnavailable)
		}
		return syncDir(g.path)
	})
}

// checkBatch rejects documents that cannot be stored.
func checkBatch(b *search.Batch) error {
	bad := func(s string) bool { return s == "" || strings.ContainsRune(s, 0) }
	for i := range b.Conversations {
		c := &b.Conversations[i]
		switch {
		case bad(c.Tenant):
			return fmt.Errorf("embedded: conversation %d (%q): tenant is required (without NUL)", i, c.ID)
		case bad(c.ID):
			return fmt.Errorf("embedded: conversation %d: id is required (without NUL)", i)
		case c.LastActivity.IsZero():
			return fmt.Errorf("embedded: conversation %q: last activity is required", c.ID)
		}
		if err := checkTime("started", c.Started); err != nil {
			return fmt.Errorf("embedded: conversation %q: %w", c.ID, err)
		}
		if err := checkTime("last_activity", c.LastActivity); err != nil {
			return fmt.Errorf("embedded: conversation %q: %w", c.ID, err)
		}
		for j := range c.Entries {
			if c.Entries[j].ID == "" {
				return fmt.Errorf("embedded: conversation %q: entry %d has no id", c.ID, j)
			}
		}
	}
	for i := range b.Contacts {
		c := &b.Contacts[i]
		switch {
		case bad(c.Tenant):
			return fmt.Errorf("embedded: contact %d (%q): tenant is required (without NUL)", i, c.ID)
		case bad(c.ID):
			return fmt.Errorf("embedded: contact %d: id is required (without NUL)", i)
		}
	}
	return nil
}

// dedupeEntries keeps the last entry written with each ID, in the place of
// the first.
func dedupeEntries(es []search.Entry) []search.Entry {
	seen := make(map[string]int, len(es))
	out := make([]search.Entry, 0, len(es))
	for _, e := range es {
		if i, ok := seen[e.ID]; ok {
			out[i] = e
			continue
		}
		seen[e.ID] = len(out)
		out = append(out, e)
	}
	return out
}

// conversationDoc is the bleve document of c (see mapping.go).
func conversationDoc(c *search.Conversation) (string, map[string]any, error) {
	entries := dedupeEntries(c.Entries)
	head := *c
	head.Entries = nil
	convJSON, err := json.Marshal(&head)
	if err != nil {
		return "", nil, fmt.Errorf("embedded: encode conversation %q: %w", c.ID, err)
	}
	var entriesJSON []byte
	if len(entries) > 0 {
		if entriesJSON, err = json.Marshal(entries); err != nil {
			return "", nil, fmt.Errorf("embedded: encode conversation %q: %w", c.ID, err)
		}
	}
	doc := map[string]any{
		fieldType:         typeConversation,
		fieldTenant:       c.Tenant,
		fieldChannel:      c.Channel,
		fieldStatus:       c.Status,
		fieldDay:          day(c.LastActivity),
		fieldStarted:      c.Started,
		fieldLastActivity: c.LastActivity,
		fieldConv:         string(convJSON),
	}
	if len(entriesJSON) > 0 {
		doc[fieldEntries] = string(entriesJSON)
	}
	for k, v := range map[string]string{fieldContactID: c.ContactID, fieldQueue: c.Queue, fieldAgent: c.AgentID} {
		if v != "" {
			doc[k] = v
		}
	}
	if len(c.Tags) > 0 {
		doc[fieldTags] = c.Tags
	}
	texts := entryTexts(&head, entries)
	for l, ts := range texts {
		doc[textField(l)] = ts
	}
	return convDocID(c.Tenant, c.ID), doc, nil
}

// entryTexts groups the entries' texts by language in entry order; the
// index of a text in its language's list is its array position, which
// entryAt maps back.
func entryTexts(c *search.Conversation, entries []search.Entry) map[string][]string {
	out := make(map[string][]string, 2)
	for i := range entries {
		l := entryLang(c, &entries[i])
		out[l] = append(out[l], entries[i].Text)
	}
	return out
}

// entryAt returns the index in entries of the pos-th entry of language l.
func entryAt(c *search.Conversation, entries []search.Entry, l string, pos int) int {
	n := 0
	for i := range entries {
		if entryLang(c, &entries[i]) == l {
			if n == pos {
				return i
			}
			n++
		}
	}
	return -1
}

func contactDoc(c *search.Contact) (string, map[string]any, error) {
	b, err := json.Marshal(c)
	if err != nil {
		return "", nil, fmt.Errorf("embedded: encode contact %q: %w", c.ID, err)
	}
	emails := make([]string, len(c.Emails))
	for i, e := range c.Emails {
		emails[i] = strings.ToLower(strings.TrimSpace(e))
	}
	doc := map[string]any{
		fieldType:    typeContact,
		fieldCTenant: c.Tenant,
		fieldContact: string(b),
	}
	if c.Name != "" {
		doc[fieldCName] = c.Name
	}
	if len(emails) > 0 {
		doc[fieldCEmail] = emails
	}
	if len(c.Phones) > 0 {
		doc[fieldCPhone] = c.Phones
	}
	return contactDocID(c.Tenant, c.ID), doc, nil
}

// Conversation returns the stored conversation, entries included.
func (x *Index) Conversation(ctx context.Context, tenant, id string) (search.Conversation, bool, error) {
	var c search.Conversation
	if tenant == "" {
		return c, false, search.Invalid("tenant", "required")
	}
	var found bool
	err := x.use(func(g *generation) error {
		fields, err := storedFields(g.bi, convDocID(tenant, id))
		if err != nil || fields == nil {
			return err
		}
		found = true
		c, err = decodeConversation(fields[fieldConv], fields[fieldEntries])
		return err
	})
	return c, found, err
}

// Contact returns the stored contact.
func (x *Index) Contact(ctx context.Context, tenant, id string) (search.Contact, bool, error) {
	var c search.Contact
	if tenant == "" {
		return c, false, search.Invalid("tenant", "required")
	}
	var found bool
	err := x.use(func(g *generation) error {
		fields, err := storedFields(g.bi, contactDocID(tenant, id))
		if err != nil || fields == nil {
			return err
		}
		found = true
		if err := json.Unmarshal([]byte(fields[fieldContact]), &c); err != nil {
			return fmt.Errorf("embedded: decode contact %q: %w", id, err)
		}
		return nil
	})
	return c, found, err
}

// storedFields returns the stored fields of a document, nil if there is
// none.
func storedFields(bi bleve.Index, id string) (map[string]string, error) {
	doc, err := bi.Document(id)
	if err != nil {
		return nil, fmt.Errorf("embedded: get %q: %v: %w", id, err, search.ErrUnavailable)
	}
	if doc == nil {
		return nil, nil
	}
	out := map[string]string{}
	doc.VisitFields(func(f index.Field) {
		switch f.Name() {
		case fieldConv, fieldEntries, fieldContact:
			out[f.Name()] = string(f.Value())
		}
	})
	return out, nil
}

func decodeConversation(conv, entries string) (search.Conversation, error) {
	var c search.Conversation
	if err := json.Unmarshal([]byte(conv), &c); err != nil {
		return c, fmt.Errorf("embedded: decode conversation: %w", err)
	}
	if entries != "" {
		if err := json.Unmarshal([]byte(entries), &c.Entries); err != nil {
			return c, fmt.Errorf("embedded: decode conversation %q: %w", c.ID, err)
		}
	}
	return c, nil
}

// syncDir fsyncs a directory so that the names of files created in it are
// durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("embedded: sync %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("embedded: sync %s: %w", dir, err)
	}
	return nil
}
