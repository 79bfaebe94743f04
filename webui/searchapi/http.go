package searchapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hotline-hub/hotline/bus"
	"github.com/hotline-hub/hotline/bus/event"
	"github.com/hotline-hub/hotline/search"
	"github.com/hotline-hub/hotline/webui/api"
	"github.com/hotline-hub/hotline/webui/auth"
)

// Routes mounts the API on mux, every endpoint behind auth.Authenticate:
//
//	GET  /api/v1/tenants/{tenant}/search?q=&channel=&queue=&agent=&status=&tag=&from=&to=&size=&after=&facets=  analysts, supervisors, admins, operators
//	GET  /api/v1/tenants/{tenant}/search/conversations/{id}?contact=   the same; agents a conversation of a contact they serve
//	GET  /api/v1/tenants/{tenant}/contacts/{id}/dossier?size=&after=   supervisors, analysts, admins, operators; agents serving the contact
//	GET  /api/v1/tenants/{tenant}/contacts?phone=|email=|name=&size=   every role
//	POST /api/v1/tenants/{tenant}/contacts/{id}/merge {merge_ids}      agents serving the contact, supervisors, admins, operators
//	POST /api/v1/tenants/{tenant}/contacts/{id}/unmerge {ids}          the same
//
// Another tenant answers 404; a role that may not do it 403. A bad query
// parameter is 400: "invalid_query" for the syntax of q (the message says
// what and at which character), "invalid_field" naming the parameter for
// the others; a bad body is 422 "invalid_field". The index down is 503
// "search_unavailable".
func (x *API) Routes(mux *http.ServeMux) {
	authed := func(f http.HandlerFunc) http.Handler { return x.auth.Authenticate(f) }
	const base = "/api/v1/tenants/{tenant}/"
	mux.Handle("GET "+base+"search", authed(x.handleSearch))
	mux.Handle("GET "+base+"search/conversations/{id}", authed(x.handleConversation))
	mux.Handle("GET "+base+"contacts", authed(x.handleContacts))
	mux.Handle("GET "+base+"contacts/{id}/dossier", authed(x.handleDossier))
	mux.Handle("POST "+base+"contacts/{id}/merge", authed(x.handleMerge))
	mux.Handle("POST "+base+"contacts/{id}/unmerge", authed(x.handleUnmerge))
}

// access is who may use an endpoint of their tenant, before the per-contact
// check for agents.
type access int

const (
	readers  access = iota // analysts, supervisors, admins, operators; agents per contact
	everyone               // every role
	writers                // supervisors, admins, operators; agents per contact; not analysts
)

// allowed reports whether p passes k outright; agents pass per contact
// (agentPerContact) where k admits them that way.
func (k access) allowed(p auth.Principal) (ok, agentPerContact bool) {
	switch {
	case k == everyone:
		return true, false
	case p.Role == event.RoleAgent && !p.Operator:
		return false, true
	case k == writers && p.Role == event.RoleAnalyst && !p.Operator:
		return false, false
	default:
		return p.Operator || slices.Contains([]string{event.RoleSupervisor, event.RoleAnalyst, event.RoleAdmin}, p.Role), false
	}
}

// tenantFor resolves {tenant} for the caller: 401 without a principal, 404
// for another tenant (operators included: this is working data). The role
// check is the handler's, with access.allowed.
func tenantFor(w http.ResponseWriter, r *http.Request) (auth.Principal, string, bool) {
	p, ok := auth.PrincipalFrom(r.Context())
	if !ok {
		api.WriteError(w, http.StatusUnauthorized, "not_authenticated", "log in first", "")
		return p, "", false
	}
	tenant := r.PathValue("tenant")
	if !auth.SameTenant(p, tenant) {
		api.WriteError(w, http.StatusNotFound, "not_found", "no such tenant", "")
		return p, "", false
	}
	return p, tenant, true
}

func forbidden(w http.ResponseWriter, msg string) {
	api.WriteError(w, http.StatusForbidden, "forbidden", msg, "")
}

// ctx bounds one request's calls to the index and the bus.
func (x *API) ctx(r *http.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.Context(), x.cfg.Timeout)
}

// paramNames maps the fields of search's InvalidError to query parameters.
var paramNames = map[string]string{
	"text": "q", "channels": "channel", "queues": "queue", "agents": "agent", "statuses": "status", "tags": "tag",
	"contact_ids": "id",
}

// writeIndexError maps an index error to a response: invalid queries are
// 400, an engine down (or too slow) 503, anything else 500.
func (x *API) writeIndexError(w http.ResponseWriter, r *http.Request, err error) {
	var ie *search.InvalidError
	switch {
	case errors.As(err, &ie):
		field := ie.Field
		if n, ok := paramNames[field]; ok {
			field = n
		}
		code := "invalid_field"
		if ie.Field == "text" {
			code = "invalid_query"
		}
		// The message names the parameter as the caller wrote it (q, not
		// the index's "text"), like badParam's.
		msg := field + ": " + ie.Reason
		if ie.Pos > 0 {
			msg += " at character " + strconv.Itoa(ie.Pos)
		}
		api.WriteError(w, http.StatusBadRequest, code, msg, field)
	case errors.Is(err, search.ErrInvalidQuery):
		api.WriteError(w, http.StatusBadRequest, "invalid_query", strings.TrimPrefix(err.Error(), search.ErrInvalidQuery.Error()+": "), "")
	case errors.Is(err, search.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		x.log.Warn("search unavailable", "method", r.Method, "path", r.URL.Path, "err", err)
		api.WriteError(w, http.StatusServiceUnavailable, "search_unavailable", "the search engine is unavailable; try again later", "")
	case errors.Is(err, context.Canceled):
		api.WriteError(w, http.StatusServiceUnavailable, "search_unavailable", "the request was cancelled", "")
	default:
		x.log.Error("search request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		api.WriteError(w, http.StatusInternalServerError, "internal", "internal error", "")
	}
}

// badParam answers 400 for a query parameter.
func badParam(w http.ResponseWriter, name, format string, args ...any) {
	api.WriteError(w, http.StatusBadRequest, "invalid_field", name+": "+fmt.Sprintf(format, args...), name)
}

// intParam reads an optional integer parameter.
func intParam(w http.ResponseWriter, q url.Values, name string) (int, bool) {
	s := q.Get(name)
	if s == "" {
		return 0, true
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		badParam(w, name, "%q is not a whole number", s)
		return 0, false
	}
	return n, true
}

// timeParam reads an optional RFC 3339 time parameter.
func timeParam(w http.ResponseWriter, q url.Values, name string) (time.Time, bool) {
	s := q.Get(name)
	if s == "" {
		return time.Time{}, true
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		badParam(w, name, "%q is not an RFC 3339 date and time (2006-01-02T15:04:05Z)", s)
		return time.Time{}, false
	}
	return t, true
}

// singleParams refuses a repeated single-valued parameter, which would
// otherwise be silently cut to its first value.
func singleParams(w http.ResponseWriter, q url.Values, names ...string) bool {
	for _, n := range names {
		if len(q[n]) > 1 {
			badParam(w, n, "given %d times; give it once", len(q[n]))
			return false
		}
	}
	return true
}

// normalizeTags lowercases tags as conversation.tagged stores them, so
// tag=VIP finds the tag "vip".
func normalizeTags(tags []string) []string {
	out := make([]string, 0, len(tags))
	for _, t := range tags {
		out = append(out, event.NormalizeTag(t))
	}
	return out
}

// searchQuery reads the query parameters of a search.
func searchQuery(w http.ResponseWriter, r *http.Request, tenant string) (search.Query, bool) {
	v := r.URL.Query()
	sq := search.Query{Tenant: tenant, Text: v.Get("q"), Channels: v["channel"], Queues: v["queue"], Agents: v["agent"],
		Statuses: v["status"], Tags: normalizeTags(v["tag"]), After: v.Get("after")}
	if !singleParams(w, v, "q", "from", "to", "size", "after", "facets") {
		return sq, false
	}
	var ok bool
	if sq.Size, ok = intParam(w, v, "size"); !ok {
		return sq, false
	}
	if sq.From, ok = timeParam(w, v, "from"); !ok {
		return sq, false
	}
	if sq.To, ok = timeParam(w, v, "to"); !ok {
		return sq, false
	}
	switch f := v.Get("facets"); f {
	case "", "0", "false":
	case "1", "true":
		sq.Facets = true
	default:
		badParam(w, "facets", "%q is not 1, true, 0 or false", f)
		return sq, false
	}
	return sq, true
}

func (x *API) handleSearch(w http.ResponseWriter, r *http.Request) {
	p, tenant, ok := tenantFor(w, r)
	if !ok {
		return
	}
	if ok, _ := readers.allowed(p); !ok {
		forbidden(w, "searching all conversations is for analysts, supervisors and admins")
		return
	}
	sq, ok := searchQuery(w, r, tenant)
	if !ok {
		return
	}
	// The syntax is checked here too, so a bad query is a 400 whatever the
	// backend's own order of checks.
	if _, err := sq.Check(); err != nil {
		x.writeIndexError(w, r, err)
		return
	}
	ctx, cancel := x.ctx(r)
	defer cancel()
	res, err := x.idx.Search(ctx, sq)
	if err != nil {
		x.writeIndexError(w, r, err)
		return
	}
	out := resultView{Result: res, Hits: make([]hitView, len(res.Hits))}
	for i, h := range res.Hits {
		out.Hits[i] = hitView{Hit: h, FirstLine: firstLine(h.Conversation.Entries)}
		out.Hits[i].Conversation.Entries = nil
	}
	api.WriteJSON(w, http.StatusOK, out)
}

// resultView is a page of search results as the API answers it: hits
// without their entries (the highlights show what matched; the stored
// conversation has the whole thread) but with a first line, so that a
// search without text still reads at a glance.
type resultView struct {
	search.Result
	Hits []hitView `json:"hits"`
}

// hitView is a hit without its conversation's entries.
type hitView struct {
	search.Hit
	// FirstLine is the beginning of the conversation's first message.
	FirstLine string `json:"first_line,omitempty"`
}

// maxFirstLine bounds a hit's first line, in runes.
const maxFirstLine = 200

// firstLine is the first message's text on one line, cut at maxFirstLine
// runes.
func firstLine(es []search.Entry) string {
	for _, e := range es {
		if e.Kind != search.KindMessage {
			continue
		}
		s := strings.Join(strings.Fields(e.Text), " ")
		if r := []rune(s); len(r) > maxFirstLine {
			s = string(r[:maxFirstLine]) + "…"
		}
		return s
	}
	return ""
}

// agentMaySee reports whether agent serves a contact whose dossier holds
// conversations of contact: contact itself, the contact the client says it
// came from (the dossier it is reading), or the one the index says contact
// was merged into; each checked against the merge sets.
func (x *API) agentMaySee(ctx context.Context, tenant, agent, contact, via string) (bool, error) {
	if contact == "" {
		return false, nil
	}
	if x.serving.ServesContact(tenant, agent, contact) {
		return true, nil
	}
	roots := []string{}
	if via != "" && via != contact {
		roots = append(roots, via)
	}
	c, found, err := x.idx.Contact(ctx, tenant, contact)
	if err != nil {
		return false, err
	}
	if found && c.MergedInto != "" && c.MergedInto != via {
		roots = append(roots, c.MergedInto)
	}
	for _, root := range roots {
		if x.serving.ServesContact(tenant, agent, root) && slices.Contains(x.merges.Set(tenant, root), contact) {
			return true, nil
		}
	}
	return false, nil
}

func (x *API) handleConversation(w http.ResponseWriter, r *http.Request) {
	p, tenant, ok := tenantFor(w, r)
	if !ok {
		return
	}
	allowed, perContact := readers.allowed(p)
	if !allowed && !perContact {
		forbidden(w, "your role may not read stored conversations")
		return
	}
	if !singleParams(w, r.URL.Query(), "contact") {
		return
	}
	ctx, cancel := x.ctx(r)
	defer cancel()
	c, found, err := x.idx.Conversation(ctx, tenant, r.PathValue("id"))
	if err != nil {
		x.writeIndexError(w, r, err)
		return
	}
	if !found {
		api.WriteError(w, http.StatusNotFound, "not_found", "no such conversation", "")
		return
	}
	if !allowed {
		may, err := x.agentMaySee(ctx, tenant, p.AccountID, c.ContactID, r.URL.Query().Get("contact"))
		if err != nil {
			x.writeIndexError(w, r, err)
			return
		}
		if !may {
			forbidden(w, "agents read a stored conversation only while serving its contact")
			return
		}
	}
	if c.Entries == nil {
		c.Entries = []search.Entry{}
	}
	api.WriteJSON(w, http.StatusOK, c)
}

// dossierSet is the contacts of id's dossier: id first, then those merged
// into it.
func (x *API) dossierSet(tenant, id string) []string {
	ids := []string{id}
	for _, m := range x.merges.Set(tenant, id) {
		if !slices.Contains(ids, m) {
			ids = append(ids, m)
		}
	}
	return ids
}

// dossierView is a dossier with the contacts it covers.
type dossierView struct {
	search.Dossier
	// ContactIDs are the contact and the contacts merged into it.
	ContactIDs []string `json:"contact_ids"`
}

func (x *API) handleDossier(w http.ResponseWriter, r *http.Request) {
	p, tenant, ok := tenantFor(w, r)
	if !ok {
		return
	}
	id := r.PathValue("id")
	allowed, perContact := readers.allowed(p)
	if !allowed && !(perContact && x.serving.ServesContact(tenant, p.AccountID, id)) {
		forbidden(w, "agents see a contact's dossier only while serving the contact")
		return
	}
	v := r.URL.Query()
	if !singleParams(w, v, "size", "after") {
		return
	}
	size, ok := intParam(w, v, "size")
	if !ok {
		return
	}
	q := search.DossierQuery{Tenant: tenant, ContactIDs: x.dossierSet(tenant, id), Size: size, After: v.Get("after")}
	if err := q.Check(); err != nil {
		x.writeIndexError(w, r, err)
		return
	}
	ctx, cancel := x.ctx(r)
	defer cancel()
	d, err := x.idx.Dossier(ctx, q)
	if err != nil {
		x.writeIndexError(w, r, err)
		return
	}
	if d.Conversations == nil {
		d.Conversations = []search.Conversation{}
	}
	if d.ByChannel == nil {
		d.ByChannel = map[string]int{}
	}
	api.WriteJSON(w, http.StatusOK, dossierView{Dossier: d, ContactIDs: q.ContactIDs})
}

func (x *API) handleContacts(w http.ResponseWriter, r *http.Request) {
	_, tenant, ok := tenantFor(w, r)
	if !ok {
		return
	}
	v := r.URL.Query()
	if !singleParams(w, v, "phone", "email", "name", "size") {
		return
	}
	size, ok := intParam(w, v, "size")
	if !ok {
		return
	}
	q, err := search.ContactQuery{Tenant: tenant, Phone: v.Get("phone"), Email: v.Get("email"), Name: v.Get("name"), Size: size}.Check()
	if err != nil {
		x.writeIndexError(w, r, err)
		return
	}
	ctx, cancel := x.ctx(r)
	defer cancel()
	cs, err := x.idx.Contacts(ctx, q)
	if err != nil {
		x.writeIndexError(w, r, err)
		return
	}
	if cs == nil {
		cs = []search.Contact{}
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{"contacts": cs})
}

// mayChange checks p may merge or unmerge contact id, answering 403 if not.
func (x *API) mayChange(w http.ResponseWriter, p auth.Principal, tenant, id string) bool {
	allowed, perContact := writers.allowed(p)
	if allowed || perContact && x.serving.ServesContact(tenant, p.AccountID, id) {
		return true
	}
	if perContact {
		forbidden(w, "agents merge a contact only while serving it")
	} else {
		forbidden(w, "your role may not merge contacts")
	}
	return false
}

// invalidIDs answers 422 naming field.
func invalidIDs(w http.ResponseWriter, field, format string, args ...any) {
	api.WriteError(w, http.StatusUnprocessableEntity, "invalid_field", field+": "+fmt.Sprintf(format, args...), field)
}

// checkIDs validates a list of contact ids given with contact id.
func checkIDs(w http.ResponseWriter, field, id string, ids []string) bool {
	switch {
	case len(ids) == 0:
		invalidIDs(w, field, "at least one contact id is required")
		return false
	case len(ids) > search.MaxSize:
		invalidIDs(w, field, "at most %d contact ids", search.MaxSize)
		return false
	}
	seen := map[string]bool{}
	for _, m := range ids {
		switch {
		case strings.TrimSpace(m) == "":
			invalidIDs(w, field, "an empty contact id")
			return false
		case m == id:
			invalidIDs(w, field, "contains the contact %q itself", id)
			return false
		case seen[m]:
			invalidIDs(w, field, "%q is given twice", m)
			return false
		}
		seen[m] = true
	}
	return true
}

// changed is the answer to an accepted merge or unmerge.
type changed struct {
	// EventID is the published fact's id.
	EventID   string   `json:"event_id"`
	ContactID string   `json:"contact_id"`
	IDs       []string `json:"ids"`
}

// publish sends one contacts event and answers 202.
func (x *API) publish(w http.ResponseWriter, r *http.Request, tenant, id string, ids []string, typ string, data event.Payload) {
	e, err := event.New(typ, tenant, data, event.WithSource(Source), event.WithContact(id))
	if err != nil {
		var ve *event.ValidationError
		if errors.As(err, &ve) && len(ve.Problems) > 0 {
			api.WriteError(w, http.StatusUnprocessableEntity, "invalid_field", err.Error(), ve.Problems[0].Field)
			return
		}
		x.log.Error("build contacts event", "tenant", tenant, "type", typ, "err", err)
		api.WriteError(w, http.StatusInternalServerError, "internal", "internal error", "")
		return
	}
	msg, err := event.ToMessage(e)
	if err == nil {
		ctx, cancel := x.ctx(r)
		defer cancel()
		err = x.bus.Publish(ctx, event.TopicContacts, msg)
	}
	switch {
	case err == nil:
		x.log.Info("contacts changed", "tenant", tenant, "type", typ, "contact_id", id, "ids", ids, "event_id", e.ID)
		api.WriteJSON(w, http.StatusAccepted, changed{EventID: e.ID, ContactID: id, IDs: ids})
	case errors.Is(err, bus.ErrClosed), errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		api.WriteError(w, http.StatusServiceUnavailable, "unavailable", "the bus is not accepting events; try again", "")
	default:
		x.log.Error("publish contacts event", "tenant", tenant, "type", typ, "err", err)
		api.WriteError(w, http.StatusInternalServerError, "internal", "internal error", "")
	}
}

// mergeRequest is the body of a merge.
type mergeRequest struct {
	MergeIDs []string `json:"merge_ids"`
}

func (x *API) handleMerge(w http.ResponseWriter, r *http.Request) {
	p, tenant, ok := tenantFor(w, r)
	if !ok {
		return
	}
	id := r.PathValue("id")
	if !x.mayChange(w, p, tenant, id) {
		return
	}
	var req mergeRequest
	if !api.DecodeJSON(w, r, &req, x.cfg.MaxBodyBytes) || !checkIDs(w, "merge_ids", id, req.MergeIDs) {
		return
	}
	// Each merged contact must be one of the tenant's (as looked up), and
	// not merged elsewhere: moving it takes an unmerge first, so a merge
	// never silently empties another dossier.
	ctx, cancel := x.ctx(r)
	defer cancel()
	for _, m := range req.MergeIDs {
		c, found, err := x.idx.Contact(ctx, tenant, m)
		if err != nil {
			x.writeIndexError(w, r, err)
			return
		}
		if !found {
			invalidIDs(w, "merge_ids", "no contact %q", m)
			return
		}
		if c.MergedInto != "" && c.MergedInto != id {
			invalidIDs(w, "merge_ids", "contact %q is merged into %q; unmerge it there first", m, c.MergedInto)
			return
		}
	}
	agent := p.AccountID
	x.publish(w, r, tenant, id, req.MergeIDs, event.ContactsMerged,
		&event.ContactsMergedData{IntoID: id, MergedIDs: req.MergeIDs, AgentID: agent})
}

// unmergeRequest is the body of an unmerge.
type unmergeRequest struct {
	IDs []string `json:"ids"`
}

func (x *API) handleUnmerge(w http.ResponseWriter, r *http.Request) {
	p, tenant, ok := tenantFor(w, r)
	if !ok {
		return
	}
	id := r.PathValue("id")
	if !x.mayChange(w, p, tenant, id) {
		return
	}
	var req unmergeRequest
	if !api.DecodeJSON(w, r, &req, x.cfg.MaxBodyBytes) || !checkIDs(w, "ids", id, req.IDs) {
		return
	}
	set := x.merges.Set(tenant, id)
	for _, m := range req.IDs {
		if !slices.Contains(set, m) {
			invalidIDs(w, "ids", "contact %q is not merged into %q", m, id)
			return
		}
	}
	x.publish(w, r, tenant, id, req.IDs, event.ContactsUnmerged,
		&event.ContactsUnmergedData{ContactID: id, RestoredIDs: req.IDs, AgentID: p.AccountID})
}
