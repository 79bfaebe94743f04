// Package elastic is the production search backend: Elasticsearch 8,
// through github.com/elastic/go-elasticsearch/v8.
//
// # Indices and aliases
//
// Two indices hold the documents: conversations and contacts. Every read and
// write goes through an alias, <prefix>-conversations and <prefix>-contacts,
// that points at a versioned index of a generation: <prefix>-conversations-1,
// <prefix>-contacts-1, then -2 after a reindex, and so on. Ensure creates the
// first generation with its alias when there is none. A reindex builds the
// next generation while the aliases keep answering, then switches both
// aliases in one atomic _aliases request:
//
//	gen, err := idx.CreateGeneration(ctx)   // new, empty indices
//	next, err := idx.Generation(gen)        // reads and writes go to them
//	// … replay the bus into next with next.Write …
//	err = idx.SwitchAlias(ctx, gen)         // the aliases now point at gen
//	err = idx.DeleteGeneration(ctx, old)    // once nothing reads the old one
//
// Every index also has an alias of its own, <index>-gen, which a view of
// that generation uses. Writes always go to an alias, with require_alias,
// so that a missing alias (Ensure not run, a deleted generation) is an
// error rather than a new index with guessed mappings; the mappings are
// strict for the same reason.
//
// # Documents
//
// A conversation is one document whose _source is the conversation itself,
// except that each entry's text sits under the name of the field that
// analyses it: {"text": {"fr": "…"}} for an entry in French (or in a French
// conversation, when the entry has no language of its own), "en", "ru",
// "de" likewise, and {"text": {"std": "…"}} analysed by the standard
// analyzer for every other language. Entries are nested documents, so a
// phrase matches within one entry and a highlight names its entry; a query
// word is matched in every language's field, each analysing it its own way
// (stemming). Conversation returns the document exactly as written.
//
// A contact is a document with its fields plus lookup keys computed here:
// lower-cased emails, phones in E.164, and the name folded (see fold.go)
// because Elasticsearch's asciifolding filter lives in the analysis-common
// module, which a cluster may lack.
//
// # Visibility and durability
//
// Write sends _bulk requests: Elasticsearch fsyncs its translog before it
// answers (durability "request"), and the indices refresh every second, so
// documents are searchable about a second after Write returns without a
// refresh per write.
//
// # Errors
//
// Connection failures, timeouts and answers 429 and 5xx wrap
// search.ErrUnavailable; a query Elasticsearch rejects (400) wraps
// search.ErrInvalidQuery with its reason.
package elastic

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/elastic/go-elasticsearch/v8"

	"github.com/hotline-hub/hotline/search"
)

// Config says which cluster to use and how to name the indices.
type Config struct {
	// Addresses are the cluster's HTTP endpoints, e.g.
	// "http://127.0.0.1:9200". At least one is required.
	Addresses []string
	// Username and Password authenticate with HTTP basic authentication,
	// or APIKey (base64, as Elasticsearch gives it), not both; all empty
	// for an open cluster.
	Username string
	Password string
	APIKey   string
	// IndexPrefix starts the name of every index and alias; default
	// DefaultPrefix. Lower-case letters, digits, '-', '_' and '.', starting
	// with a letter or digit.
	IndexPrefix string
	// RequestTimeout bounds each request; default DefaultTimeout.
	RequestTimeout time.Duration
	// Shards is number_of_shards of new indices; default 1.
	Shards int
	// Replicas is number_of_replicas of new indices; 0 means
	// auto_expand_replicas "0-1": none on a single node, one as soon as the
	// cluster has two.
	Replicas int
}

// Defaults of Config.
const (
	DefaultPrefix  = "hotline"
	DefaultTimeout = 10 * time.Second
)

// Index is a search.Index on an Elasticsearch cluster. It is safe for
// concurrent use.
type Index struct {
	cfg       Config
	client    *elasticsearch.BaseClient
	transport *http.Transport
	closed    *atomic.Bool

	// convs and contacts are the aliases reads and writes use: those of
	// the current generation, or of one generation in a view made by
	// Generation.
	convs, contacts string
	view            bool
}

var _ search.Index = (*Index)(nil)

var prefixRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,99}$`)

// New checks cfg and returns an Index; it does not contact the cluster
// (Ensure and Ping do).
func New(cfg Config) (*Index, error) {
	if cfg.IndexPrefix == "" {
		cfg.IndexPrefix = DefaultPrefix
	}
	if !prefixRE.MatchString(cfg.IndexPrefix) {
		return nil, fmt.Errorf("elastic: index prefix %q: want lower-case letters, digits, '-', '_' or '.', starting with a letter or digit, at most 100", cfg.IndexPrefix)
	}
	if cfg.RequestTimeout == 0 {
		cfg.RequestTimeout = DefaultTimeout
	}
	if cfg.RequestTimeout < 0 {
		return nil, fmt.Errorf("elastic: negative request timeout %s", cfg.RequestTimeout)
	}
	if cfg.APIKey != "" && (cfg.Username != "" || cfg.Password != "") {
		return nil, errors.New("elastic: set either an API key or a username and password, not both")
	}
	if cfg.Shards == 0 {
		cfg.Shards = 1
	}
	if cfg.Shards < 0 || cfg.Replicas < 0 {
		return nil, fmt.Errorf("elastic: shards (%d) and replicas (%d) cannot be negative", cfg.Shards, cfg.Replicas)
	}
	if len(cfg.Addresses) == 0 {
		return nil, errors.New("elastic: at least one address is required")
	}
	for _, a := range cfg.Addresses {
		u, err := url.Parse(a)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("elastic: address %q: want http(s)://host:port", a)
		}
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 32
	tr.ResponseHeaderTimeout = cfg.RequestTimeout
	client, err := elasticsearch.NewBaseClient(elasticsearch.Config{
		Addresses: slices.Clone(cfg.Addresses),
		Username:  cfg.Username,
		Password:  cfg.Password,
		APIKey:    cfg.APIKey,
		Transport: tr,
		// One retry for a node that restarts or a dropped connection:
		// the callers retry what fails (the indexer resumes from its
		// offset), and a dead cluster must be reported promptly.
		MaxRetries:   1,
		RetryBackoff: func(int) time.Duration { return 100 * time.Millisecond },
	})
	if err != nil {
		return nil, fmt.Errorf("elastic: %w", err)
	}
	x := &Index{cfg: cfg, client: client, transport: tr, closed: new(atomic.Bool)}
	x.convs, x.contacts = x.alias(kindConversations), x.alias(kindContacts)
	return x, nil
}

// The two kinds of documents, each with its alias and indices.
const (
	kindConversations = "conversations"
	kindContacts      = "contacts"
)

// alias is the name of the alias of kind.
func (x *Index) alias(kind string) string { return x.cfg.IndexPrefix + "-" + kind }

// indexName is the concrete index of kind in generation gen.
func (x *Index) indexName(kind, gen string) string { return x.alias(kind) + "-" + gen }

// genAlias is the alias of generation gen's index of kind alone, which a
// view writes to: like the main alias, it makes writes to a deleted
// generation fail instead of creating an index.
func (x *Index) genAlias(kind, gen string) string { return x.indexName(kind, gen) + "-gen" }

// Close releases the connections. A view made by Generation shares them:
// closing it does nothing.
func (x *Index) Close() error {
	if x.view {
		return nil
	}
	x.closed.Store(true)
	x.transport.CloseIdleConnections()
	return nil
}

// Ping asks for the cluster's health: an unreachable or red cluster is
// search.ErrUnavailable.
func (x *Index) Ping(ctx context.Context) error {
	var h struct {
		Status string `json:"status"`
	}
	if err := x.call(ctx, "ping", http.MethodGet, "/_cluster/health", nil, nil, &h); err != nil {
		return err
	}
	if h.Status == "red" {
		return fmt.Errorf("elastic: ping: cluster health is red: %w", search.ErrUnavailable)
	}
	return nil
}

// Ensure creates the first generation of the indices, with their
// mappings and aliases, unless the aliases exist. It is safe to call at
// every start and from several processes at once.
func (x *Index) Ensure(ctx context.Context) error {
	for _, kind := range []string{kindConversations, kindContacts} {
		if err := x.ensure(ctx, kind); err != nil {
			return err
		}
	}
	return nil
}

func (x *Index) ensure(ctx context.Context, kind string) error {
	alias := x.alias(kind)
	exists, err := x.aliasExists(ctx, alias)
	if err != nil || exists {
		return err
	}
	body := x.indexBody(kind)
	body["aliases"] = map[string]any{alias: map[string]any{"is_write_index": true}, x.genAlias(kind, "1"): map[string]any{}}
	err = x.call(ctx, "ensure "+alias, http.MethodPut, "/"+x.indexName(kind, "1"), nil, body, nil)
	if err != nil && isAlreadyExists(err) {
		// Another process created it at the same time, or the index is
		// there without its alias.
		if exists, aerr := x.aliasExists(ctx, alias); aerr != nil || exists {
			return aerr
		}
		return fmt.Errorf("elastic: ensure: index %s exists but alias %s does not point at any index: repair with SwitchAlias", x.indexName(kind, "1"), alias)
	}
	return err
}

func (x *Index) aliasExists(ctx context.Context, alias string) (bool, error) {
	status, _, err := x.do(ctx, "alias "+alias, http.MethodHead, "/_alias/"+alias, nil, nil)
	if err != nil {
		return false, err
	}
	switch status {
	case http.StatusOK:
		return true, nil
	case http.StatusNotFound:
		return false, nil
	}
	return false, statusError("alias "+alias, status, nil)
}

// Generation returns a view of x that reads and writes the indices of
// generation gen instead of the current ones: a reindex writes into it
// before SwitchAlias. The view shares x's connections.
func (x *Index) Generation(gen string) (*Index, error) {
	if !validGeneration(gen) {
		return nil, fmt.Errorf("elastic: generation %q: want a positive number", gen)
	}
	v := *x
	v.view = true
	v.convs, v.contacts = x.genAlias(kindConversations, gen), x.genAlias(kindContacts, gen)
	return &v, nil
}

func validGeneration(gen string) bool {
	n, err := strconv.Atoi(gen)
	return err == nil && n > 0 && strconv.Itoa(n) == gen
}

// Generations lists the generations that exist, in order, and the one the
// aliases point at ("" if none).
func (x *Index) Generations(ctx context.Context) (all []string, current string, err error) {
	var res map[string]struct {
		Aliases map[string]json.RawMessage `json:"aliases"`
	}
	pattern := x.indexName(kindConversations, "*") + "," + x.indexName(kindContacts, "*")
	if err := x.call(ctx, "generations", http.MethodGet, "/"+pattern+"/_alias", nil, nil, &res); err != nil {
		return nil, "", err
	}
	seen := map[int]bool{}
	for name, ix := range res {
		for _, kind := range []string{kindConversations, kindContacts} {
			gen, ok := strings.CutPrefix(name, x.alias(kind)+"-")
			if !ok || !validGeneration(gen) {
				continue
			}
			n, _ := strconv.Atoi(gen)
			seen[n] = true
			if _, ok := ix.Aliases[x.alias(kind)]; ok && kind == kindConversations {
				current = gen
			}
		}
	}
	ns := make([]int, 0, len(seen))
	for n := range seen {
		ns = append(ns, n)
	}
	slices.Sort(ns)
	for _, n := range ns {
		all = append(all, strconv.Itoa(n))
	}
	return all, current, nil
}

// CreateGeneration creates the indices of a new generation, numbered after
// every existing one, and returns its name. The aliases are left alone.
func (x *Index) CreateGeneration(ctx context.Context) (string, error) {
	for range 5 {
		all, _, err := x.Generations(ctx)
		if err != nil {
			return "", err
		}
		n := 1
		if len(all) > 0 {
			n, _ = strconv.Atoi(all[len(all)-1])
			n++
		}
		gen := strconv.Itoa(n)
		err = x.call(ctx, "create generation", http.MethodPut, "/"+x.indexName(kindConversations, gen), nil, x.genBody(kindConversations, gen), nil)
		if isAlreadyExists(err) {
			continue // another process took this number
		}
		if err != nil {
			return "", err
		}
		if err := x.call(ctx, "create generation", http.MethodPut, "/"+x.indexName(kindContacts, gen), nil, x.genBody(kindContacts, gen), nil); err != nil {
			_ = x.call(ctx, "create generation", http.MethodDelete, "/"+x.indexName(kindConversations, gen), nil, nil, nil)
			return "", err
		}
		return gen, nil
	}
	return "", errors.New("elastic: create generation: other processes keep creating generations")
}

// genBody is the create-index request of kind in generation gen, with the
// generation's own alias.
func (x *Index) genBody(kind, gen string) map[string]any {
	body := x.indexBody(kind)
	body["aliases"] = map[string]any{x.genAlias(kind, gen): map[string]any{}}
	return body
}

// SwitchAlias points both aliases at generation gen, atomically: every
// search sees either the old generation or the new one.
func (x *Index) SwitchAlias(ctx context.Context, gen string) error {
	if !validGeneration(gen) {
		return fmt.Errorf("elastic: switch alias: generation %q: want a positive number", gen)
	}
	var actions []any
	for _, kind := range []string{kindConversations, kindContacts} {
		alias, target := x.alias(kind), x.indexName(kind, gen)
		var holders map[string]json.RawMessage
		status, body, err := x.do(ctx, "switch alias", http.MethodGet, "/_alias/"+alias, nil, nil)
		if err != nil {
			return err
		}
		switch status {
		case http.StatusOK:
			if err := json.Unmarshal(body, &holders); err != nil {
				return fmt.Errorf("elastic: switch alias: decode %s: %w", alias, err)
			}
		case http.StatusNotFound:
		default:
			return statusError("switch alias", status, body)
		}
		for name := range holders {
			if name != target {
				actions = append(actions, map[string]any{"remove": map[string]any{"index": name, "alias": alias}})
			}
		}
		actions = append(actions, map[string]any{"add": map[string]any{"index": target, "alias": alias, "is_write_index": true}})
	}
	return x.call(ctx, "switch alias", http.MethodPost, "/_aliases", nil, map[string]any{"actions": actions}, nil)
}

// DeleteGeneration deletes the indices of generation gen, which must not
// be the one the aliases point at.
func (x *Index) DeleteGeneration(ctx context.Context, gen string) error {
	if !validGeneration(gen) {
		return fmt.Errorf("elastic: delete generation: %q: want a positive number", gen)
	}
	_, current, err := x.Generations(ctx)
	if err != nil {
		return err
	}
	if gen == current {
		return fmt.Errorf("elastic: delete generation %s: the aliases point at it", gen)
	}
	names := x.indexName(kindConversations, gen) + "," + x.indexName(kindContacts, gen)
	return x.call(ctx, "delete generation", http.MethodDelete, "/"+names, url.Values{"ignore_unavailable": {"true"}}, nil, nil)
}

// do sends one request and returns the answer's status and body. body is
// JSON-encoded unless it is a []byte (sent as NDJSON). Transport failures
// are search.ErrUnavailable, or the context's error.
func (x *Index) do(ctx context.Context, op, method, path string, query url.Values, body any) (int, []byte, error) {
	if x.closed.Load() {
		return 0, nil, fmt.Errorf("elastic: %s: index closed", op)
	}
	ctx, cancel := context.WithTimeout(ctx, x.cfg.RequestTimeout)
	defer cancel()
	var rd io.Reader
	contentType := "application/json"
	switch b := body.(type) {
	case nil:
	case []byte:
		rd, contentType = bytes.NewReader(b), "application/x-ndjson"
	default:
		data, err := json.Marshal(b)
		if err != nil {
			return 0, nil, fmt.Errorf("elastic: %s: encode request: %w", op, err)
		}
		rd = bytes.NewReader(data)
	}
	u := &url.URL{Path: path, RawQuery: query.Encode()}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return 0, nil, fmt.Errorf("elastic: %s: %w", op, err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Accept", "application/json")
	res, err := x.client.Perform(req)
	if err != nil {
		return 0, nil, transportError(ctx, op, err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		return 0, nil, transportError(ctx, op, err)
	}
	return res.StatusCode, data, nil
}

// call is do for requests that must succeed (2xx): it decodes the answer
// into out (if not nil) and turns other statuses into errors.
func (x *Index) call(ctx context.Context, op, method, path string, query url.Values, body, out any) error {
	status, data, err := x.do(ctx, op, method, path, query, body)
	if err != nil {
		return err
	}
	if status < 200 || status > 299 {
		return statusError(op, status, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("elastic: %s: decode answer: %w", op, err)
		}
	}
	return nil
}

func transportError(ctx context.Context, op string, err error) error {
	if cerr := context.Cause(ctx); cerr != nil && !errors.Is(cerr, context.DeadlineExceeded) {
		return fmt.Errorf("elastic: %s: %w", op, cerr)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("elastic: %s: timed out: %v: %w", op, err, search.ErrUnavailable)
	}
	return fmt.Errorf("elastic: %s: %v: %w", op, err, search.ErrUnavailable)
}

// esError is the error object of an Elasticsearch answer.
type esError struct {
	Type      string     `json:"type"`
	Reason    string     `json:"reason"`
	CausedBy  *esError   `json:"caused_by"`
	RootCause []*esError `json:"root_cause"`
}

// String is the type and reason, with the first root cause or cause when
// it says more.
func (e *esError) String() string {
	if e == nil {
		return ""
	}
	s := e.Type + ": " + e.Reason
	for _, c := range append(e.RootCause, e.CausedBy) {
		if c != nil && c.Reason != "" && c.Reason != e.Reason {
			s += " (" + c.Type + ": " + c.Reason + ")"
			break
		}
	}
	return s
}

// httpError is an answer with an error status.
type httpError struct {
	op     string
	status int
	err    *esError
	body   string // when the body is not an error object
	wrap   error  // search.ErrInvalidQuery, search.ErrUnavailable or nil
}

func (e *httpError) Error() string {
	s := fmt.Sprintf("elastic: %s: %d %s", e.op, e.status, http.StatusText(e.status))
	if d := e.err.String(); d != "" {
		s += ": " + d
	} else if e.body != "" {
		s += ": " + e.body
	}
	if e.wrap != nil {
		s += ": " + e.wrap.Error()
	}
	return s
}

func (e *httpError) Unwrap() error { return e.wrap }

// queryOps are the operations whose 400 answers are invalid queries; a
// 400 elsewhere (a mapping the cluster refuses) is an error of its own.
var queryOps = map[string]bool{"search": true, "dossier": true, "contacts": true, "get": true}

// statusError makes the error of an answer with status: 400 to a query is
// an invalid query, 404 a missing index (not set up: Ensure), 401, 403,
// 408, 429 and 5xx the engine being unavailable.
func statusError(op string, status int, body []byte) error {
	e := &httpError{op: op, status: status}
	var parsed struct {
		Error json.RawMessage `json:"error"`
	}
	if json.Unmarshal(body, &parsed) == nil && len(parsed.Error) > 0 {
		var ee esError
		if json.Unmarshal(parsed.Error, &ee) == nil && ee.Type != "" {
			e.err = &ee
		} else {
			e.body = string(parsed.Error)
		}
	} else if len(body) > 0 {
		e.body = string(body)
	}
	if len(e.body) > 300 {
		e.body = e.body[:300] + "…"
	}
	switch {
	case status == http.StatusBadRequest && queryOps[op]:
		e.wrap = search.ErrInvalidQuery
	case status == http.StatusNotFound, status == http.StatusUnauthorized, status == http.StatusForbidden,
		status == http.StatusRequestTimeout, status == http.StatusTooManyRequests, status >= 500:
		e.wrap = search.ErrUnavailable
	}
	return e
}

func isAlreadyExists(err error) bool {
	var he *httpError
	return errors.As(err, &he) && he.err != nil && he.err.Type == "resource_already_exists_exception"
}
