package auth

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/hotline-hub/hotline/bus/event"
	"github.com/hotline-hub/hotline/webui/api"
)

// Routes mounts the auth API under /api/v1 on mux:
//
//	POST  /api/v1/auth/login                     public
//	POST  /api/v1/auth/logout                    any session
//	GET   /api/v1/auth/me                        any session; returns the CSRF token
//	POST  /api/v1/auth/password                  any session, own password
//	GET   /api/v1/tenants, POST /api/v1/tenants  operators
//	GET   /api/v1/tenants/{tenant}               members of the tenant, operators
//	PATCH /api/v1/tenants/{tenant}               its admins, operators
//	GET   /api/v1/tenants/{tenant}/accounts      its admins and supervisors, operators
//	POST  /api/v1/tenants/{tenant}/accounts      its admins, operators
//	GET   /api/v1/tenants/{tenant}/accounts/{id} its admins and supervisors, the account itself, operators
//	PATCH /api/v1/tenants/{tenant}/accounts/{id} its admins, operators
//
// Another tenant's resources answer 404 to non-operators, as if absent.
func (a *Auth) Routes(mux *http.ServeMux) {
	mux.HandleFunc("POST /api/v1/auth/login", a.handleLogin)
	authed := func(h http.HandlerFunc) http.Handler { return a.Authenticate(h) }
	mux.Handle("POST /api/v1/auth/logout", authed(a.handleLogout))
	mux.Handle("GET /api/v1/auth/me", authed(a.handleMe))
	mux.Handle("POST /api/v1/auth/password", authed(a.handlePassword))
	opOnly := Require(Operator)
	mux.Handle("GET /api/v1/tenants", a.Authenticate(opOnly(http.HandlerFunc(a.handleListTenants))))
	mux.Handle("POST /api/v1/tenants", a.Authenticate(opOnly(http.HandlerFunc(a.handleCreateTenant))))
	mux.Handle("GET /api/v1/tenants/{tenant}", authed(a.handleGetTenant))
	mux.Handle("PATCH /api/v1/tenants/{tenant}", authed(a.handlePatchTenant))
	mux.Handle("GET /api/v1/tenants/{tenant}/accounts", authed(a.handleListAccounts))
	mux.Handle("POST /api/v1/tenants/{tenant}/accounts", authed(a.handleCreateAccount))
	mux.Handle("GET /api/v1/tenants/{tenant}/accounts/{id}", authed(a.handleGetAccount))
	mux.Handle("PATCH /api/v1/tenants/{tenant}/accounts/{id}", authed(a.handlePatchAccount))
}

// Authenticate resolves the session cookie to a Principal in the request
// context, answering 401 without a live session. For unsafe methods it also
// requires the X-CSRF-Token header to match the session's token and an
// Origin (or Referer) naming this host when one is sent, answering 403.
func (a *Auth) Authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie(CookieName)
		if err != nil {
			api.WriteError(w, http.StatusUnauthorized, "not_authenticated", "log in first", "")
			return
		}
		ss, acc, secret, err := a.session(r.Context(), c.Value)
		if err != nil {
			if errors.Is(err, ErrUnauthenticated) {
				api.WriteError(w, http.StatusUnauthorized, "not_authenticated", "the session is missing, expired or ended; log in again", "")
			} else {
				a.serverError(w, r, err)
			}
			return
		}
		if !safeMethod(r.Method) {
			if !sameOrigin(r) {
				api.WriteError(w, http.StatusForbidden, "csrf_failed", "the request comes from another origin", "")
				return
			}
			got := r.Header.Get("X-CSRF-Token")
			if got == "" || !hmacEqual(got, csrfToken(secret)) {
				api.WriteError(w, http.StatusForbidden, "csrf_failed", "missing or wrong X-CSRF-Token header; read it from GET /api/v1/auth/me", "")
				return
			}
		}
		p := Principal{AccountID: acc.ID, Tenant: acc.Tenant, Role: acc.Role, Operator: acc.Operator}
		ctx := WithPrincipal(r.Context(), p)
		ctx = context.WithValue(ctx, sessionKey{}, sessionInfo{hash: ss.Hash, secret: secret})
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// sameOrigin checks Origin, else Referer, against the request's host. A
// request with neither passes: browsers send Origin on every cross-site
// unsafe request, and the CSRF token is checked besides.
func sameOrigin(r *http.Request) bool {
	for _, h := range []string{"Origin", "Referer"} {
		v := r.Header.Get(h)
		if v == "" {
			continue
		}
		u, err := url.Parse(v)
		return err == nil && u.Host != "" && strings.EqualFold(u.Host, r.Host)
	}
	return true
}

// hmacEqual compares tokens in constant time.
func hmacEqual(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

func (a *Auth) serverError(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ErrStopped) {
		api.WriteError(w, http.StatusServiceUnavailable, "unavailable", "the service is not ready, try again", "")
		return
	}
	a.log.Error("auth request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	api.WriteError(w, http.StatusInternalServerError, "internal", "internal error", "")
}

// fieldError is a validation error naming the field at fault.
type fieldError struct {
	field, msg string
}

func (e *fieldError) Error() string { return e.field + " " + e.msg }

// decode reads one JSON object into v: application/json only, at most
// MaxBodyBytes, no unknown fields, nothing after it. It writes the error
// response itself and returns false on failure.
func (a *Auth) decode(w http.ResponseWriter, r *http.Request, v any) bool {
	return api.DecodeJSON(w, r, v, a.cfg.MaxBodyBytes)
}

// writeValidation answers 400 naming the first field at fault.
func writeValidation(w http.ResponseWriter, err error) {
	var fe *fieldError
	if errors.As(err, &fe) {
		api.WriteError(w, http.StatusBadRequest, "invalid_field", fe.Error(), fe.field)
		return
	}
	var ve *event.ValidationError
	if errors.As(err, &ve) && len(ve.Problems) > 0 {
		f := strings.TrimPrefix(ve.Problems[0].Field, "data.")
		if f == "account_id" || f == "tenant" {
			f = "id"
		}
		msgs := make([]string, 0, len(ve.Problems))
		for _, p := range ve.Problems {
			msgs = append(msgs, strings.TrimPrefix(p.String(), "data."))
		}
		api.WriteError(w, http.StatusBadRequest, "invalid_field", strings.Join(msgs, "; "), f)
		return
	}
	api.WriteError(w, http.StatusBadRequest, "invalid_field", err.Error(), "")
}

// writeStoreError maps a publish or fold error to a response.
func (a *Auth) writeStoreError(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, ErrConflict):
		api.WriteError(w, http.StatusConflict, "conflict", strings.TrimPrefix(err.Error(), "conflict: "), "")
	case errors.Is(err, ErrNotFound):
		api.WriteError(w, http.StatusNotFound, "not_found", "not found", "")
	case errors.Is(err, event.ErrInvalid):
		writeValidation(w, err)
	default:
		a.serverError(w, r, err)
	}
}

func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

type loginRequest struct {
	Tenant   string `json:"tenant"`
	Login    string `json:"login"`
	Password string `json:"password"`
}

// sessionView is what login and me return.
type sessionView struct {
	Account   Account   `json:"account"`
	Tenant    *Tenant   `json:"tenant,omitempty"`
	CSRFToken string    `json:"csrf_token"`
	ExpiresAt time.Time `json:"expires_at,omitzero"`
}

func (a *Auth) handleLogin(w http.ResponseWriter, r *http.Request) {
	if !sameOrigin(r) {
		api.WriteError(w, http.StatusForbidden, "csrf_failed", "the request comes from another origin", "")
		return
	}
	var req loginRequest
	if !a.decode(w, r, &req) {
		return
	}
	switch {
	case req.Login == "":
		api.WriteError(w, http.StatusBadRequest, "invalid_field", "login is empty", "login")
		return
	case req.Password == "":
		api.WriteError(w, http.StatusBadRequest, "invalid_field", "password is empty", "password")
		return
	case req.Tenant != "" && !event.ValidTenant(req.Tenant):
		api.WriteError(w, http.StatusBadRequest, "invalid_field", "tenant is not a tenant id", "tenant")
		return
	}
	res, err := a.Login(r.Context(), clientIP(r), req.Tenant, req.Login, req.Password, r.UserAgent())
	switch {
	case errors.Is(err, ErrRateLimited):
		w.Header().Set("Retry-After", "60")
		api.WriteError(w, http.StatusTooManyRequests, "rate_limited", ErrRateLimited.Error(), "")
		return
	case errors.Is(err, ErrInvalidCredentials):
		api.WriteError(w, http.StatusUnauthorized, "invalid_credentials", ErrInvalidCredentials.Error(), "")
		return
	case errors.Is(err, ErrLocked):
		api.WriteError(w, http.StatusLocked, "account_locked", "the account is locked after too many failed logins; try again later or ask an admin", "")
		return
	case err != nil:
		a.serverError(w, r, err)
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name: CookieName, Value: res.Token, Path: "/", Expires: res.ExpiresAt,
		MaxAge: int(a.cfg.SessionLifetime / time.Second), HttpOnly: true, SameSite: http.SameSiteLaxMode,
		Secure: r.TLS != nil || a.cfg.SecureCookies,
	})
	view := sessionView{Account: res.Account, CSRFToken: res.CSRFToken, ExpiresAt: res.ExpiresAt}
	if t, ok := a.store.Tenant(res.Account.Tenant); ok {
		view.Tenant = &t
	}
	api.WriteJSON(w, http.StatusOK, view)
}

func (a *Auth) handleLogout(w http.ResponseWriter, r *http.Request) {
	p, _ := PrincipalFrom(r.Context())
	si, _ := r.Context().Value(sessionKey{}).(sessionInfo)
	err := a.store.publish(r.Context(), p.Tenant, &event.SessionEndedData{
		SessionHash: si.hash, AccountID: p.AccountID, Reason: event.SessionLogout})
	if err != nil && !errors.Is(err, ErrNotFound) {
		a.serverError(w, r, err)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: r.TLS != nil || a.cfg.SecureCookies})
	w.WriteHeader(http.StatusNoContent)
}

func (a *Auth) handleMe(w http.ResponseWriter, r *http.Request) {
	p, _ := PrincipalFrom(r.Context())
	si, _ := r.Context().Value(sessionKey{}).(sessionInfo)
	acc, ok := a.store.Account(p.Tenant, p.AccountID)
	if !ok {
		api.WriteError(w, http.StatusUnauthorized, "not_authenticated", "log in first", "")
		return
	}
	view := sessionView{Account: acc, CSRFToken: csrfToken(si.secret)}
	if t, ok := a.store.Tenant(p.Tenant); ok {
		view.Tenant = &t
	}
	if ss, ok := a.store.session(si.hash, a.now(), a.cfg.SessionIdle); ok {
		view.ExpiresAt = ss.ExpiresAt
	}
	api.WriteJSON(w, http.StatusOK, view)
}

type passwordRequest struct {
	CurrentPassword string `json:"current_password"`
	NewPassword     string `json:"new_password"`
}

func (a *Auth) handlePassword(w http.ResponseWriter, r *http.Request) {
	p, _ := PrincipalFrom(r.Context())
	si, _ := r.Context().Value(sessionKey{}).(sessionInfo)
	var req passwordRequest
	if !a.decode(w, r, &req) {
		return
	}
	acc, _ := a.store.Account(p.Tenant, p.AccountID)
	if req.CurrentPassword == "" {
		api.WriteError(w, http.StatusBadRequest, "invalid_field", "current_password is empty", "current_password")
		return
	}
	if err := CheckPasswordPolicy(req.NewPassword, acc.Login); err != nil {
		api.WriteError(w, http.StatusBadRequest, "invalid_field", "new_password: "+err.Error(), "new_password")
		return
	}
	hash := a.store.passwordHash(p.Tenant, p.AccountID)
	if hash == "" {
		hash = a.dummyHash
	}
	ok, err := a.verify(r.Context(), req.CurrentPassword, hash)
	if err != nil {
		a.serverError(w, r, err)
		return
	}
	if !ok {
		a.failed(r.Context(), acc, a.now())
		api.WriteError(w, http.StatusForbidden, "invalid_credentials", "current_password does not match", "current_password")
		return
	}
	newHash, err := a.hash(r.Context(), req.NewPassword)
	if err != nil {
		a.serverError(w, r, err)
		return
	}
	err = a.store.publish(r.Context(), p.Tenant, &event.AccountPasswordChangedData{
		AccountID: p.AccountID, PasswordHash: newHash, ByAccountID: p.AccountID, KeepSessionHash: si.hash})
	if err != nil {
		a.writeStoreError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *Auth) handleListTenants(w http.ResponseWriter, r *http.Request) {
	api.WriteJSON(w, http.StatusOK, map[string]any{"tenants": a.store.Tenants()})
}

type tenantRequest struct {
	ID       string  `json:"id"`
	Name     *string `json:"name"`
	Language *string `json:"language"`
	TimeZone *string `json:"time_zone"`
}

func (a *Auth) handleCreateTenant(w http.ResponseWriter, r *http.Request) {
	p, _ := PrincipalFrom(r.Context())
	var req tenantRequest
	if !a.decode(w, r, &req) {
		return
	}
	if !event.ValidTenant(req.ID) {
		api.WriteError(w, http.StatusBadRequest, "invalid_field",
			"id must be 1 to 63 lowercase letters, digits and hyphens, not starting with a hyphen", "id")
		return
	}
	d := &event.TenantCreatedData{Name: deref(req.Name), Language: deref(req.Language), TimeZone: deref(req.TimeZone), ByAccountID: p.AccountID}
	if d.Language == "" {
		d.Language = "en"
	}
	if d.TimeZone == "" {
		d.TimeZone = "UTC"
	}
	if err := d.Validate(); err != nil {
		writeValidation(w, err)
		return
	}
	if err := a.store.Sync(r.Context(), req.ID); err != nil {
		a.serverError(w, r, err)
		return
	}
	if _, exists := a.store.Tenant(req.ID); exists {
		api.WriteError(w, http.StatusConflict, "conflict", fmt.Sprintf("tenant %q exists", req.ID), "id")
		return
	}
	if err := a.store.publish(r.Context(), req.ID, d); err != nil {
		a.writeStoreError(w, r, err)
		return
	}
	t, _ := a.store.Tenant(req.ID)
	api.WriteJSON(w, http.StatusCreated, t)
}

// tenantFor resolves the {tenant} path value for p: the tenant if p may
// see it (admin endpoints let operators through), else a 404 written.
func (a *Auth) tenantFor(w http.ResponseWriter, r *http.Request, p Principal) (Tenant, bool) {
	id := r.PathValue("tenant")
	if !SameTenant(p, id) && !p.Operator {
		api.WriteError(w, http.StatusNotFound, "not_found", "no such tenant", "")
		return Tenant{}, false
	}
	if err := a.store.Sync(r.Context(), id); err != nil {
		if errors.Is(err, ErrNotFound) {
			api.WriteError(w, http.StatusNotFound, "not_found", "no such tenant", "")
		} else {
			a.serverError(w, r, err)
		}
		return Tenant{}, false
	}
	t, ok := a.store.Tenant(id)
	if !ok {
		api.WriteError(w, http.StatusNotFound, "not_found", "no such tenant", "")
		return Tenant{}, false
	}
	return t, true
}

func forbidden(w http.ResponseWriter) {
	api.WriteError(w, http.StatusForbidden, "forbidden", "your role may not do this", "")
}

func (a *Auth) handleGetTenant(w http.ResponseWriter, r *http.Request) {
	p, _ := PrincipalFrom(r.Context())
	t, ok := a.tenantFor(w, r, p)
	if !ok {
		return
	}
	api.WriteJSON(w, http.StatusOK, t)
}

func (a *Auth) handlePatchTenant(w http.ResponseWriter, r *http.Request) {
	p, _ := PrincipalFrom(r.Context())
	t, ok := a.tenantFor(w, r, p)
	if !ok {
		return
	}
	if !CanAdminister(p, t.ID) {
		forbidden(w)
		return
	}
	var req tenantRequest
	if !a.decode(w, r, &req) {
		return
	}
	if req.ID != "" && req.ID != t.ID {
		api.WriteError(w, http.StatusBadRequest, "invalid_field", "id cannot be changed", "id")
		return
	}
	d := &event.TenantUpdatedData{Name: t.Name, Language: t.Language, TimeZone: t.TimeZone, ByAccountID: p.AccountID}
	if req.Name != nil {
		d.Name = *req.Name
	}
	if req.Language != nil {
		d.Language = *req.Language
	}
	if req.TimeZone != nil {
		d.TimeZone = *req.TimeZone
	}
	if err := d.Validate(); err != nil {
		writeValidation(w, err)
		return
	}
	if err := a.store.publish(r.Context(), t.ID, d); err != nil {
		a.writeStoreError(w, r, err)
		return
	}
	t, _ = a.store.Tenant(t.ID)
	api.WriteJSON(w, http.StatusOK, t)
}

func (a *Auth) handleListAccounts(w http.ResponseWriter, r *http.Request) {
	p, _ := PrincipalFrom(r.Context())
	t, ok := a.tenantFor(w, r, p)
	if !ok {
		return
	}
	if !CanAdminister(p, t.ID) && p.Role != event.RoleSupervisor {
		forbidden(w)
		return
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{"accounts": a.store.Accounts(t.ID)})
}

type accountRequest struct {
	Login       *string `json:"login"`
	DisplayName *string `json:"display_name"`
	Role        *string `json:"role"`
	Operator    *bool   `json:"operator"`
	Password    *string `json:"password"`
	// Disabled and Unlocked only accept true: disabling and unlocking are
	// one-way facts.
	Disabled *bool `json:"disabled"`
	Unlocked *bool `json:"unlocked"`
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func (a *Auth) handleCreateAccount(w http.ResponseWriter, r *http.Request) {
	p, _ := PrincipalFrom(r.Context())
	t, ok := a.tenantFor(w, r, p)
	if !ok {
		return
	}
	if !CanAdminister(p, t.ID) {
		forbidden(w)
		return
	}
	var req accountRequest
	if !a.decode(w, r, &req) {
		return
	}
	if req.Disabled != nil || req.Unlocked != nil {
		api.WriteError(w, http.StatusBadRequest, "invalid_field", "a new account cannot be disabled or unlocked", "disabled")
		return
	}
	if deref(req.Operator) && !p.Operator {
		api.WriteError(w, http.StatusForbidden, "forbidden", "only hub operators may make operators", "operator")
		return
	}
	d := &event.AccountCreatedData{AccountID: uuid.NewString(), Login: strings.TrimSpace(deref(req.Login)),
		DisplayName: deref(req.DisplayName), Role: deref(req.Role), Operator: deref(req.Operator), ByAccountID: p.AccountID}
	if d.DisplayName == "" {
		d.DisplayName = d.Login
	}
	if err := d.Validate(); err != nil {
		writeValidation(w, err)
		return
	}
	if req.Password == nil {
		api.WriteError(w, http.StatusBadRequest, "invalid_field", "password is empty", "password")
		return
	}
	if err := CheckPasswordPolicy(*req.Password, d.Login); err != nil {
		api.WriteError(w, http.StatusBadRequest, "invalid_field", "password: "+err.Error(), "password")
		return
	}
	if _, taken := a.store.AccountByLogin(t.ID, d.Login); taken {
		api.WriteError(w, http.StatusConflict, "conflict", fmt.Sprintf("login %q is taken", d.Login), "login")
		return
	}
	hash, err := a.hash(r.Context(), *req.Password)
	if err != nil {
		a.serverError(w, r, err)
		return
	}
	err = a.store.publish(r.Context(), t.ID, d,
		&event.AccountPasswordChangedData{AccountID: d.AccountID, PasswordHash: hash, ByAccountID: p.AccountID})
	if err != nil {
		a.writeStoreError(w, r, err)
		return
	}
	acc, _ := a.store.Account(t.ID, d.AccountID)
	api.WriteJSON(w, http.StatusCreated, acc)
}

// accountFor resolves {tenant} and {id} for p; see tenantFor.
func (a *Auth) accountFor(w http.ResponseWriter, r *http.Request, p Principal) (Account, bool) {
	t, ok := a.tenantFor(w, r, p)
	if !ok {
		return Account{}, false
	}
	acc, ok := a.store.Account(t.ID, r.PathValue("id"))
	if !ok {
		api.WriteError(w, http.StatusNotFound, "not_found", "no such account", "")
		return Account{}, false
	}
	return acc, true
}

func (a *Auth) handleGetAccount(w http.ResponseWriter, r *http.Request) {
	p, _ := PrincipalFrom(r.Context())
	if !p.Operator && SameTenant(p, r.PathValue("tenant")) && p.Role != event.RoleAdmin &&
		p.Role != event.RoleSupervisor && p.AccountID != r.PathValue("id") {
		forbidden(w)
		return
	}
	acc, ok := a.accountFor(w, r, p)
	if !ok {
		return
	}
	api.WriteJSON(w, http.StatusOK, acc)
}

func (a *Auth) handlePatchAccount(w http.ResponseWriter, r *http.Request) {
	p, _ := PrincipalFrom(r.Context())
	acc, ok := a.accountFor(w, r, p)
	if !ok {
		return
	}
	if !CanAdminister(p, acc.Tenant) {
		forbidden(w)
		return
	}
	if acc.Operator && !p.Operator {
		// A tenant admin resetting an operator's password would become one.
		api.WriteError(w, http.StatusForbidden, "forbidden", "only hub operators may change an operator's account", "")
		return
	}
	var req accountRequest
	if !a.decode(w, r, &req) {
		return
	}
	self := acc.ID == p.AccountID && acc.Tenant == p.Tenant
	var facts []event.Payload
	upd := &event.AccountUpdatedData{AccountID: acc.ID, Login: acc.Login, DisplayName: acc.DisplayName,
		Role: acc.Role, Operator: acc.Operator, ByAccountID: p.AccountID}
	if req.Login != nil {
		upd.Login = strings.TrimSpace(*req.Login)
	}
	if req.DisplayName != nil {
		upd.DisplayName = *req.DisplayName
	}
	if req.Role != nil {
		if self && *req.Role != acc.Role {
			api.WriteError(w, http.StatusBadRequest, "invalid_field", "you cannot change your own role", "role")
			return
		}
		upd.Role = *req.Role
	}
	if req.Operator != nil && *req.Operator != acc.Operator {
		if !p.Operator || self {
			api.WriteError(w, http.StatusForbidden, "forbidden", "only another hub operator may change the operator flag", "operator")
			return
		}
		upd.Operator = *req.Operator
	}
	if upd.Login != acc.Login || upd.DisplayName != acc.DisplayName || upd.Role != acc.Role || upd.Operator != acc.Operator {
		if err := upd.Validate(); err != nil {
			writeValidation(w, err)
			return
		}
		if other, taken := a.store.AccountByLogin(acc.Tenant, upd.Login); taken && other.ID != acc.ID {
			api.WriteError(w, http.StatusConflict, "conflict", fmt.Sprintf("login %q is taken", upd.Login), "login")
			return
		}
		facts = append(facts, upd)
	}
	if req.Password != nil {
		if err := CheckPasswordPolicy(*req.Password, upd.Login); err != nil {
			api.WriteError(w, http.StatusBadRequest, "invalid_field", "password: "+err.Error(), "password")
			return
		}
		hash, err := a.hash(r.Context(), *req.Password)
		if err != nil {
			a.serverError(w, r, err)
			return
		}
		facts = append(facts, &event.AccountPasswordChangedData{AccountID: acc.ID, PasswordHash: hash, ByAccountID: p.AccountID})
	}
	if req.Unlocked != nil {
		if !*req.Unlocked {
			api.WriteError(w, http.StatusBadRequest, "invalid_field", "unlocked only accepts true", "unlocked")
			return
		}
		facts = append(facts, &event.AccountUnlockedData{AccountID: acc.ID, ByAccountID: p.AccountID})
		a.failures.reset(acc.Tenant, acc.ID)
	}
	if req.Disabled != nil {
		switch {
		case !*req.Disabled && acc.Disabled:
			api.WriteError(w, http.StatusBadRequest, "invalid_field", "a disabled account cannot be enabled again; create a new one", "disabled")
			return
		case *req.Disabled && self:
			api.WriteError(w, http.StatusBadRequest, "invalid_field", "you cannot disable your own account", "disabled")
			return
		case *req.Disabled && !acc.Disabled:
			facts = append(facts, &event.AccountDisabledData{AccountID: acc.ID, ByAccountID: p.AccountID})
		}
	}
	if len(facts) > 0 {
		if err := a.store.publish(r.Context(), acc.Tenant, facts...); err != nil {
			a.writeStoreError(w, r, err)
			return
		}
	}
	acc, _ = a.store.Account(acc.Tenant, acc.ID)
	api.WriteJSON(w, http.StatusOK, acc)
}

// Recheck resolves again the session behind authenticated, a request
// context Authenticate made, as Authenticate would for a new request: for
// a connection that outlives its request (an inbox socket), so that each
// action it carries finds the session still live and the account still
// enabled. It returns the principal as the account is now, and
// ErrUnauthenticated when the session has ended, expired or the account
// is disabled.
func (a *Auth) Recheck(ctx, authenticated context.Context) (Principal, error) {
	p, ok := PrincipalFrom(authenticated)
	si, _ := authenticated.Value(sessionKey{}).(sessionInfo)
	if !ok || si.hash == "" {
		return Principal{}, ErrUnauthenticated
	}
	// The hash Authenticate found the session by: no need to parse and
	// hash the cookie again.
	_, acc, err := a.liveSession(ctx, p.Tenant, si.hash)
	if err != nil {
		return Principal{}, err
	}
	return Principal{AccountID: acc.ID, Tenant: acc.Tenant, Role: acc.Role, Operator: acc.Operator}, nil
}
