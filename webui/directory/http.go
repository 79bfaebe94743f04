package directory

import (
	"context"
	"errors"
	"fmt"
	"html"
	"net/http"
	"slices"
	"strings"

	"github.com/hotline-hub/hotline/bus"
	"github.com/hotline-hub/hotline/bus/event"
	"github.com/hotline-hub/hotline/webui/api"
	"github.com/hotline-hub/hotline/webui/auth"
)

// Routes mounts the directory API on mux, every endpoint behind
// a.Authenticate:
//
//	GET    /api/v1/tenants/{tenant}/queues|skills|canned-answers|widget|agents  any role of the tenant, operators
//	PUT    /api/v1/tenants/{tenant}/queues/{id}, DELETE the same               its admins, operators
//	PUT    /api/v1/tenants/{tenant}/skills/{id}, DELETE the same               its admins, operators
//	PUT    /api/v1/tenants/{tenant}/agents/{account_id}/profile, DELETE        its admins, operators
//	PUT    /api/v1/tenants/{tenant}/canned-answers/{id}, DELETE the same       its admins and supervisors, operators
//	PUT    /api/v1/tenants/{tenant}/widget                                     its admins, operators
//
// Another tenant answers 404 to non-operators, as if absent, like the
// tenant and account endpoints of webui/auth; a role that may not write
// gets 403. Validation failures are 422 "invalid_field" naming the first
// field at fault.
func (s *Store) Routes(mux *http.ServeMux, a *auth.Auth) {
	h := &handler{s: s, a: a}
	authed := func(f http.HandlerFunc) http.Handler { return a.Authenticate(f) }
	const base = "/api/v1/tenants/{tenant}/"
	mux.Handle("GET "+base+"queues", authed(h.listQueues))
	mux.Handle("PUT "+base+"queues/{id}", authed(h.putQueue))
	mux.Handle("DELETE "+base+"queues/{id}", authed(h.deleteQueue))
	mux.Handle("GET "+base+"skills", authed(h.listSkills))
	mux.Handle("PUT "+base+"skills/{id}", authed(h.putSkill))
	mux.Handle("DELETE "+base+"skills/{id}", authed(h.deleteSkill))
	mux.Handle("GET "+base+"canned-answers", authed(h.listAnswers))
	mux.Handle("PUT "+base+"canned-answers/{id}", authed(h.putAnswer))
	mux.Handle("DELETE "+base+"canned-answers/{id}", authed(h.deleteAnswer))
	mux.Handle("GET "+base+"widget", authed(h.getWidget))
	mux.Handle("PUT "+base+"widget", authed(h.putWidget))
	mux.Handle("GET "+base+"agents", authed(h.listAgents))
	mux.Handle("PUT "+base+"agents/{account_id}/profile", authed(h.putProfile))
	mux.Handle("DELETE "+base+"agents/{account_id}/profile", authed(h.deleteProfile))
}

type handler struct {
	s *Store
	a *auth.Auth
}

// access is who may use an endpoint of a tenant.
type access int

const (
	readers access = iota // any role of the tenant, operators
	admins                // its admins, operators
	editors               // its admins and supervisors, operators
)

func (k access) allows(p auth.Principal, tenant string) bool {
	switch k {
	case readers:
		return auth.SameTenant(p, tenant) || p.Operator
	case editors:
		return auth.CanAdminister(p, tenant) || auth.SameTenant(p, tenant) && p.Role == event.RoleSupervisor
	default:
		return auth.CanAdminister(p, tenant)
	}
}

// tenantFor resolves {tenant} for the caller: 404 for another tenant (to
// non-operators) or one that does not exist, 403 for a role k does not
// allow; then it waits for the directory to catch up with the tenant.
func (h *handler) tenantFor(w http.ResponseWriter, r *http.Request, k access) (auth.Principal, string, bool) {
	p, ok := auth.PrincipalFrom(r.Context())
	if !ok {
		api.WriteError(w, http.StatusUnauthorized, "not_authenticated", "log in first", "")
		return p, "", false
	}
	tenant := r.PathValue("tenant")
	if !auth.SameTenant(p, tenant) && !p.Operator {
		api.WriteError(w, http.StatusNotFound, "not_found", "no such tenant", "")
		return p, "", false
	}
	ctx, cancel := context.WithTimeout(r.Context(), h.s.cfg.WaitTimeout)
	defer cancel()
	if err := h.a.Store().Sync(ctx, tenant); err != nil && !errors.Is(err, auth.ErrNotFound) {
		h.writeError(w, r, err)
		return p, "", false
	}
	if _, exists := h.a.Store().Tenant(tenant); !exists {
		api.WriteError(w, http.StatusNotFound, "not_found", "no such tenant", "")
		return p, "", false
	}
	if !k.allows(p, tenant) {
		api.WriteError(w, http.StatusForbidden, "forbidden", "your role may not do this", "")
		return p, "", false
	}
	if err := h.s.Sync(ctx, tenant); err != nil {
		h.writeError(w, r, err)
		return p, "", false
	}
	return p, tenant, true
}

func (h *handler) decode(w http.ResponseWriter, r *http.Request, v any) bool {
	return api.DecodeJSON(w, r, v, h.s.cfg.MaxBodyBytes)
}

// writeError maps a Store error to a response.
func (h *handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var ve *event.ValidationError
	var use *InUseError
	switch {
	case errors.As(err, &ve) && len(ve.Problems) > 0:
		msgs := make([]string, 0, len(ve.Problems))
		for _, p := range ve.Problems {
			msgs = append(msgs, p.String())
		}
		api.WriteError(w, http.StatusUnprocessableEntity, "invalid_field", strings.Join(msgs, "; "), ve.Problems[0].Field)
	case errors.As(err, &use):
		named := *use
		named.Agents = make([]string, len(use.Agents))
		for i, id := range use.Agents {
			named.Agents[i] = id
			if acc, ok := h.a.Store().Account(r.PathValue("tenant"), id); ok {
				named.Agents[i] = acc.DisplayName
			}
		}
		api.WriteError(w, http.StatusConflict, "in_use", named.Error(), "")
	case errors.Is(err, ErrNotFound):
		api.WriteError(w, http.StatusNotFound, "not_found", err.Error(), "")
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded), errors.Is(err, ErrStopped),
		errors.Is(err, auth.ErrStopped), errors.Is(err, bus.ErrClosed):
		api.WriteError(w, http.StatusServiceUnavailable, "unavailable", "the directory is not ready, try again", "")
	default:
		h.s.log.Error("directory request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		api.WriteError(w, http.StatusInternalServerError, "internal", "internal error", "")
	}
}

// pathID checks that a body's optional id matches the path's.
func pathID(w http.ResponseWriter, body, path string) bool {
	if body != "" && body != path {
		api.WriteError(w, http.StatusUnprocessableEntity, "invalid_field",
			fmt.Sprintf("id %q differs from the path's %q; ids cannot be changed", body, path), "id")
		return false
	}
	return true
}

// saved answers a PUT: 201 for a new object, 200 for a changed one.
func saved(w http.ResponseWriter, created bool, v any) {
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	api.WriteJSON(w, status, v)
}

func (h *handler) listQueues(w http.ResponseWriter, r *http.Request) {
	_, t, ok := h.tenantFor(w, r, readers)
	if !ok {
		return
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{"queues": h.s.Queues(t)})
}

func (h *handler) putQueue(w http.ResponseWriter, r *http.Request) {
	p, t, ok := h.tenantFor(w, r, admins)
	if !ok {
		return
	}
	var q Queue
	if !h.decode(w, r, &q) || !pathID(w, q.ID, r.PathValue("id")) {
		return
	}
	q.ID = r.PathValue("id")
	created, err := h.s.SaveQueue(r.Context(), t, p.AccountID, q)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	out, _ := h.s.Queue(t, q.ID)
	saved(w, created, out)
}

func (h *handler) deleteQueue(w http.ResponseWriter, r *http.Request) {
	p, t, ok := h.tenantFor(w, r, admins)
	if !ok {
		return
	}
	if err := h.s.RemoveQueue(r.Context(), t, p.AccountID, r.PathValue("id")); err != nil {
		h.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *handler) listSkills(w http.ResponseWriter, r *http.Request) {
	_, t, ok := h.tenantFor(w, r, readers)
	if !ok {
		return
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{"skills": h.s.Skills(t)})
}

func (h *handler) putSkill(w http.ResponseWriter, r *http.Request) {
	p, t, ok := h.tenantFor(w, r, admins)
	if !ok {
		return
	}
	var sk Skill
	if !h.decode(w, r, &sk) || !pathID(w, sk.ID, r.PathValue("id")) {
		return
	}
	sk.ID = r.PathValue("id")
	created, err := h.s.SaveSkill(r.Context(), t, p.AccountID, sk)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	for _, cur := range h.s.Skills(t) {
		if cur.ID == sk.ID {
			sk = cur
		}
	}
	saved(w, created, sk)
}

func (h *handler) deleteSkill(w http.ResponseWriter, r *http.Request) {
	p, t, ok := h.tenantFor(w, r, admins)
	if !ok {
		return
	}
	if err := h.s.RemoveSkill(r.Context(), t, p.AccountID, r.PathValue("id")); err != nil {
		h.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *handler) listAnswers(w http.ResponseWriter, r *http.Request) {
	_, t, ok := h.tenantFor(w, r, readers)
	if !ok {
		return
	}
	q := r.URL.Query()
	kind, lang, queue := q.Get("kind"), q.Get("language"), q.Get("queue")
	switch {
	case kind != "" && kind != event.CannedAnswer && kind != event.CannedScript:
		api.WriteError(w, http.StatusUnprocessableEntity, "invalid_field", fmt.Sprintf("kind %q is not answer or script", kind), "kind")
		return
	case lang != "" && !slices.Contains(event.TenantLanguages, lang):
		api.WriteError(w, http.StatusUnprocessableEntity, "invalid_field",
			fmt.Sprintf("language %q is not one of %s", lang, strings.Join(event.TenantLanguages, ", ")), "language")
		return
	}
	out := []Answer{}
	for _, a := range h.s.CannedAnswers(t) {
		if kind != "" && a.Kind != kind ||
			lang != "" && a.Language != "" && a.Language != lang ||
			queue != "" && len(a.Queues) > 0 && !slices.Contains(a.Queues, queue) {
			continue
		}
		out = append(out, a)
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{"canned_answers": out})
}

func (h *handler) putAnswer(w http.ResponseWriter, r *http.Request) {
	p, t, ok := h.tenantFor(w, r, editors)
	if !ok {
		return
	}
	var a Answer
	if !h.decode(w, r, &a) || !pathID(w, a.ID, r.PathValue("id")) {
		return
	}
	a.ID = r.PathValue("id")
	created, err := h.s.SaveCannedAnswer(r.Context(), t, p.AccountID, a)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	out, _ := h.s.CannedAnswer(t, a.ID)
	saved(w, created, out)
}

func (h *handler) deleteAnswer(w http.ResponseWriter, r *http.Request) {
	p, t, ok := h.tenantFor(w, r, editors)
	if !ok {
		return
	}
	if err := h.s.RemoveCannedAnswer(r.Context(), t, p.AccountID, r.PathValue("id")); err != nil {
		h.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// widgetView is the widget's settings with the snippet an admin pastes
// into the tenant's pages.
type widgetView struct {
	Widget
	Snippet string `json:"snippet"`
}

// snippet is the <script> tag loading the widget from this hub, as the
// request reached it (TLS, or a proxy saying X-Forwarded-Proto: https,
// gives https).
func snippet(r *http.Request, tenant string, w Widget) string {
	scheme := "http"
	if r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https") {
		scheme = "https"
	}
	queue := ""
	if w.DefaultQueue != "" {
		queue = fmt.Sprintf(` data-queue="%s"`, html.EscapeString(w.DefaultQueue))
	}
	return fmt.Sprintf(`<script src="%s://%s/chat/widget.js" data-tenant="%s"%s async></script>`,
		scheme, html.EscapeString(r.Host), html.EscapeString(tenant), queue)
}

func (h *handler) getWidget(w http.ResponseWriter, r *http.Request) {
	_, t, ok := h.tenantFor(w, r, readers)
	if !ok {
		return
	}
	wd := h.s.Widget(t)
	api.WriteJSON(w, http.StatusOK, widgetView{Widget: wd, Snippet: snippet(r, t, wd)})
}

func (h *handler) putWidget(w http.ResponseWriter, r *http.Request) {
	p, t, ok := h.tenantFor(w, r, admins)
	if !ok {
		return
	}
	var wd Widget
	if !h.decode(w, r, &wd) {
		return
	}
	if err := h.s.ConfigureWidget(r.Context(), t, p.AccountID, wd); err != nil {
		h.writeError(w, r, err)
		return
	}
	wd = h.s.Widget(t)
	api.WriteJSON(w, http.StatusOK, widgetView{Widget: wd, Snippet: snippet(r, t, wd)})
}

// Agent is an account that can take routed work (role agent, supervisor
// or admin) with its routing profile, if any.
type Agent struct {
	AccountID   string   `json:"account_id"`
	Login       string   `json:"login"`
	DisplayName string   `json:"display_name"`
	Role        string   `json:"role"`
	Disabled    bool     `json:"disabled"`
	Profile     *Profile `json:"profile"`
}

// routable reports whether accounts of role may take routed work.
func routable(role string) bool {
	return role == event.RoleAgent || role == event.RoleSupervisor || role == event.RoleAdmin
}

func (h *handler) agentOf(tenant string, acc auth.Account) Agent {
	a := Agent{AccountID: acc.ID, Login: acc.Login, DisplayName: acc.DisplayName, Role: acc.Role, Disabled: acc.Disabled}
	if p, ok := h.s.Profile(tenant, acc.ID); ok {
		a.Profile = &p
	}
	return a
}

func (h *handler) listAgents(w http.ResponseWriter, r *http.Request) {
	_, t, ok := h.tenantFor(w, r, readers)
	if !ok {
		return
	}
	out := []Agent{}
	for _, acc := range h.a.Store().Accounts(t) {
		if routable(acc.Role) {
			out = append(out, h.agentOf(t, acc))
		}
	}
	slices.SortStableFunc(out, func(a, b Agent) int {
		return strings.Compare(strings.ToLower(a.DisplayName), strings.ToLower(b.DisplayName))
	})
	api.WriteJSON(w, http.StatusOK, map[string]any{"agents": out})
}

// accountFor resolves {account_id} to an account of tenant, or answers 404.
func (h *handler) accountFor(w http.ResponseWriter, r *http.Request, tenant string) (auth.Account, bool) {
	acc, ok := h.a.Store().Account(tenant, r.PathValue("account_id"))
	if !ok {
		api.WriteError(w, http.StatusNotFound, "not_found", "no such account", "")
	}
	return acc, ok
}

func (h *handler) putProfile(w http.ResponseWriter, r *http.Request) {
	p, t, ok := h.tenantFor(w, r, admins)
	if !ok {
		return
	}
	acc, ok := h.accountFor(w, r, t)
	if !ok {
		return
	}
	var prof Profile
	if !h.decode(w, r, &prof) {
		return
	}
	if !routable(acc.Role) {
		api.WriteError(w, http.StatusUnprocessableEntity, "invalid_field",
			fmt.Sprintf("account_id: the account's role is %s; only agents, supervisors and admins take routed work", acc.Role), "account_id")
		return
	}
	if err := h.s.SetProfile(r.Context(), t, p.AccountID, acc.ID, prof); err != nil {
		h.writeError(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, h.agentOf(t, acc))
}

func (h *handler) deleteProfile(w http.ResponseWriter, r *http.Request) {
	p, t, ok := h.tenantFor(w, r, admins)
	if !ok {
		return
	}
	acc, ok := h.accountFor(w, r, t)
	if !ok {
		return
	}
	if err := h.s.RemoveProfile(r.Context(), t, p.AccountID, acc.ID); err != nil {
		h.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
