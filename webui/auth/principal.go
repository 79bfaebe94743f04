package auth

import (
	"context"
	"net/http"
	"slices"

	"github.com/hotline-hub/hotline/webui/api"
)

// Operator, given to Require, admits hub operators whatever their role.
const Operator = "operator"

// Principal is who is asking: the account behind the request's session.
// Handlers take the tenant they act on from it, never from the request
// alone.
type Principal struct {
	AccountID string
	Tenant    string
	Role      string
	// Operator marks a hub operator, who may create tenants and administer
	// any tenant through the admin endpoints.
	Operator bool
}

type principalKey struct{}

// sessionInfo is the session behind a principal, for logout and password
// changes.
type sessionInfo struct {
	hash   string
	secret string
}

type sessionKey struct{}

// WithPrincipal returns ctx carrying p; Authenticate does this for every
// request with a valid session. Tests of other packages use it directly.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the request's principal, and false when the request
// did not pass Authenticate.
func PrincipalFrom(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok && p.AccountID != ""
}

// SameTenant reports whether p belongs to tenant. It is the check for
// every tenant's working data (inbox, conversations, search): operators
// are not let through, they may act on another tenant through the admin
// endpoints only (see CanAdminister).
func SameTenant(p Principal, tenant string) bool {
	return p.AccountID != "" && p.Tenant == tenant
}

// CanAdminister reports whether p may manage tenant's settings and
// accounts: an admin of that tenant, or a hub operator.
func CanAdminister(p Principal, tenant string) bool {
	return p.Operator || SameTenant(p, tenant) && p.Role == "admin"
}

// Require admits requests whose principal has one of roles (Operator
// admits hub operators) and answers 401 without a principal, 403 with
// another role. Mount it inside Authenticate.
func Require(roles ...string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p, ok := PrincipalFrom(r.Context())
			if !ok {
				api.WriteError(w, http.StatusUnauthorized, "not_authenticated", "log in first", "")
				return
			}
			if !slices.Contains(roles, p.Role) && !(p.Operator && slices.Contains(roles, Operator)) {
				api.WriteError(w, http.StatusForbidden, "forbidden", "your role may not do this", "")
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}
