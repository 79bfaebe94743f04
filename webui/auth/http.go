package auth

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/hotline-hub/hotline/bus/event"
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
			writeError(w, http.StatusUnauthorized, "not_authenticated", "log in first", "")
			return
		}
		ss, acc, secret, err := a.session(r.Context(), c.Value)
		if err != nil {
			if errors.Is(err, ErrUnauthenticated) {
				writeError(w, http.StatusUnauthorized, "not_authenticated", "the session is missing, expired or ended; log in again", "")
			} else {
				a.serverError(w, r, err)
			}
			return
		}
		if !safeMethod(r.Method) {
			if !sameOrigin(r) {
				writeError(w, http.StatusForbidden, "csrf_failed", "the request comes from another origin", "")
				return
			}
			got := r.Header.Get("X-CSRF-Token")
			if got == "" || !hmacEqual(got, csrfToken(secret)) {
				writeError(w, http.StatusForbidden, "csrf_failed", "missing or wrong X-CSRF-Token header; read it from GET /api/v1/auth/me", "")
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

// errorBody is every error's JSON shape.
type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Field   string `json:"field,omitempty"`
	} `json:"error"`
}

func writeError(w http.ResponseWriter, status int, code, msg, field string) {
	var b errorBody
	b.Error.Code, b.Error.Message, b.Error.Field = code, msg, field
	writeJSON(w, status, b)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (a *Auth) serverError(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ErrStopped) {
		writeError(w, http.StatusServiceUnavailable, "unavailable", "the service is not ready, try again", "")
		return
	}
	a.log.Error("auth request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	writeError(w, http.StatusInternalServerError, "internal", "internal error", "")
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
	if ct := r.Header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
			writeError(w, http.StatusUnsupportedMediaType, "unsupported_media_type", "the body must be application/json", "")
			return false
		}
	} else {
		writeError(w, http.StatusUnsupportedMediaType, "unsupported_media_type", "Content-Type: application/json is required", "")
		return false
	}
	body := http.MaxBytesReader(w, r.Body, a.cfg.MaxBodyBytes)
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		if _, extra := dec.Token(); extra != io.EOF {
			err = errors.New("unexpected data after the JSON object")
		}
	}
	if err == nil {
		return true
	}
	var maxErr *http.MaxBytesError
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &maxErr):
		writeError(w, http.StatusRequestEntityTooLarge, "body_too_large",
			fmt.Sprintf("the body is larger than %d bytes", a.cfg.MaxBodyBytes), "")
	case errors.As(err, &typeErr) && typeErr.Field == "":
		writeError(w, http.StatusBadRequest, "invalid_json",
			fmt.Sprintf("the body must be a JSON object, not a JSON %s", typeErr.Value), "")
	case errors.As(err, &typeErr):
		writeError(w, http.StatusBadRequest, "invalid_field",
			fmt.Sprintf("field %s must be a JSON %s", typeErr.Field, typeErr.Type), typeErr.Field)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		writeError(w, http.StatusBadRequest, "unknown_field", fmt.Sprintf("unknown field %q", name), name)
	case errors.Is(err, io.EOF):
		writeError(w, http.StatusBadRequest, "invalid_json", "the body is empty; a JSON object is required", "")
	case errors.As(err, &syntaxErr):
		writeError(w, http.StatusBadRequest, "invalid_json",
			fmt.Sprintf("malformed JSON at byte %d: %v", syntaxErr.Offset, err), "")
	default:
		writeError(w, http.StatusBadRequest, "invalid_json", "malformed JSON: "+err.Error(), "")
	}
	return false
}

// writeValidation answers 400 naming the first field at fault.
func writeValidation(w http.ResponseWriter, err error) {
	var fe *fieldError
	if errors.As(err, &fe) {
		writeError(w, http.StatusBadRequest, "invalid_field", fe.Error(), fe.field)
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
		writeError(w, http.StatusBadRequest, "invalid_field", strings.Join(msgs, "; "), f)
		return
	}
	writeError(w, http.StatusBadRequest, "invalid_field", err.Error(), "")
}

// writeStoreError maps a publish or fold error to a response.
func (a *Auth) writeStoreError(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, ErrConflict):
		writeError(w, http.StatusConflict, "conflict", strings.TrimPrefix(err.Error(), "conflict: "), "")
	case errors.Is(err, ErrNotFound):
		writeError(w, http.StatusNotFound, "not_found", "not found", "")
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
		writeError(w, http.StatusForbidden, "csrf_failed", "the request comes from another origin", "")
		return
	}
	var req loginRequest
	if !a.decode(w, r, &req) {
		return
	}
	switch {
	case req.Login == "":
		writeError(w, http.StatusBadRequest, "invalid_field", "login is empty", "login")
		return
	case req.Password == "":
		writeError(w, http.StatusBadRequest, "invalid_field", "password is empty", "password")
		return
	case req.Tenant != "" && !event.ValidTenant(req.Tenant):
		writeError(w, http.StatusBadRequest, "invalid_field", "tenant is not a tenant id", "tenant")
		return
	}
	res, err := a.Login(r.Context(), clientIP(r), req.Tenant, req.Login, req.Password, r.UserAgent())
	switch {
	case errors.Is(err, ErrRateLimited):
		w.Header().Set("Retry-After", "60")
		writeError(w, http.StatusTooManyRequests, "rate_limited", ErrRateLimited.Error(), "")
		return
	case errors.Is(err, ErrInvalidCredentials):
		writeError(w, http.StatusUnauthorized, "invalid_credentials", ErrInvalidCredentials.Error(), "")
		return
	case errors.Is(err, ErrLocked):
		writeError(w, http.StatusLocked, "account_locked", "the account is locked after too many failed logins; try again later or ask an admin", "")
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
	writeJSON(w, http.StatusOK, view)
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
		writeError(w, http.StatusUnauthorized, "not_authenticated", "log in first", "")
		return
	}
	view := sessionView{Account: acc, CSRFToken: csrfToken(si.secret)}
	if t, ok := a.store.Tenant(p.Tenant); ok {
		view.Tenant = &t
	}
	if ss, ok := a.store.session(si.hash, a.now(), a.cfg.SessionIdle); ok {
		view.ExpiresAt = ss.ExpiresAt
	}
	writeJSON(w, http.StatusOK, view)
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
		writeError(w, http.StatusBadRequest, "invalid_field", "current_password is empty", "current_password")
		return
	}
	if err := CheckPasswordPolicy(req.NewPassword, acc.Login); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_field", "new_password: "+err.Error(), "new_password")
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
		writeError(w, http.StatusForbidden, "invalid_credentials", "current_password does not match", "current_password")
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
	writeJSON(w, http.StatusOK, map[string]any{"tenants": a.store.Tenants()})
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
		writeError(w, http.StatusBadRequest, "invalid_field",
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
		writeError(w, http.StatusConflict, "conflict", fmt.Sprintf("tenant %q exists", req.ID), "id")
		return
	}
	if err := a.store.publish(r.Context(), req.ID, d); err != nil {
		a.writeStoreError(w, r, err)
		return
	}
	t, _ := a.store.Tenant(req.ID)
	writeJSON(w, http.StatusCreated, t)
}

// tenantFor resolves the {tenant} path value for p: the tenant if p may
// see it (admin endpoints let operators through), else a 404 written.
func (a *Auth) tenantFor(w http.ResponseWriter, r *http.Request, p Principal) (Tenant, bool) {
	id := r.PathValue("tenant")
	if !SameTenant(p, id) && !p.Operator {
		writeError(w, http.StatusNotFound, "not_found", "no such tenant", "")
		return Tenant{}, false
	}
	if err := a.store.Sync(r.Context(), id); err != nil {
		if errors.Is(err, ErrNotFound) {
			writeError(w, http.StatusNotFound, "not_found", "no such tenant", "")
		} else {
			a.serverError(w, r, err)
		}
		return Tenant{}, false
	}
	t, ok := a.store.Tenant(id)
	if !ok {
		writeError(w, http.StatusNotFound, "not_found", "no such tenant", "")
		return Tenant{}, false
	}
	return t, true
}

func forbidden(w http.ResponseWriter) {
	writeError(w, http.StatusForbidden, "forbidden", "your role may not do this", "")
}

func (a *Auth) handleGetTenant(w http.ResponseWriter, r *http.Request) {
	p, _ := PrincipalFrom(r.Context())
	t, ok := a.tenantFor(w, r, p)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, t)
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
		writeError(w, http.StatusBadRequest, "invalid_field", "id cannot be changed", "id")
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
	writeJSON(w, http.StatusOK, t)
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
	writeJSON(w, http.StatusOK, map[string]any{"accounts": a.store.Accounts(t.ID)})
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
		writeError(w, http.StatusBadRequest, "invalid_field", "a new account cannot be disabled or unlocked", "disabled")
		return
	}
	if deref(req.Operator) && !p.Operator {
		writeError(w, http.StatusForbidden, "forbidden", "only hub operators may make operators", "operator")
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
		writeError(w, http.StatusBadRequest, "invalid_field", "password is empty", "password")
		return
	}
	if err := CheckPasswordPolicy(*req.Password, d.Login); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_field", "password: "+err.Error(), "password")
		return
	}
	if _, taken := a.store.AccountByLogin(t.ID, d.Login); taken {
		writeError(w, http.StatusConflict, "conflict", fmt.Sprintf("login %q is taken", d.Login), "login")
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
	writeJSON(w, http.StatusCreated, acc)
}

// accountFor resolves {tenant} and {id} for p; see tenantFor.
func (a *Auth) accountFor(w http.ResponseWriter, r *http.Request, p Principal) (Account, bool) {
	t, ok := a.tenantFor(w, r, p)
	if !ok {
		return Account{}, false
	}
	acc, ok := a.store.Account(t.ID, r.PathValue("id"))
	if !ok {
		writeError(w, http.StatusNotFound, "not_found", "no such account", "")
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
	writeJSON(w, http.StatusOK, acc)
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
		writeError(w, http.StatusForbidden, "forbidden", "only hub operators may change an operator's account", "")
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
			writeError(w, http.StatusBadRequest, "invalid_field", "you cannot change your own role", "role")
			return
		}
		upd.Role = *req.Role
	}
	if req.Operator != nil && *req.Operator != acc.Operator {
		if !p.Operator || self {
			writeError(w, http.StatusForbidden, "forbidden", "only another hub operator may change the operator flag", "operator")
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
			writeError(w, http.StatusConflict, "conflict", fmt.Sprintf("login %q is taken", upd.Login), "login")
			return
		}
		facts = append(facts, upd)
	}
	if req.Password != nil {
		if err := CheckPasswordPolicy(*req.Password, upd.Login); err != nil {
			writeError(w, http.StatusBadRequest, "invalid_field", "password: "+err.Error(), "password")
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
			writeError(w, http.StatusBadRequest, "invalid_field", "unlocked only accepts true", "unlocked")
			return
		}
		facts = append(facts, &event.AccountUnlockedData{AccountID: acc.ID, ByAccountID: p.AccountID})
		a.failures.reset(acc.Tenant, acc.ID)
	}
	if req.Disabled != nil {
		switch {
		case !*req.Disabled && acc.Disabled:
			writeError(w, http.StatusBadRequest, "invalid_field", "a disabled account cannot be enabled again; create a new one", "disabled")
			return
		case *req.Disabled && self:
			writeError(w, http.StatusBadRequest, "invalid_field", "you cannot disable your own account", "disabled")
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
	writeJSON(w, http.StatusOK, acc)
}
