package event

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// TopicAccounts carries who may log in to the web UI and as whom: tenants,
// agent accounts, password hashes, lockouts and sessions. It is keyed by
// tenant alone (these types are tenant-scoped, so Key and ToMessage already
// do that), so one tenant's accounts and sessions apply in one order and a
// reader that has read back its own fact for a tenant has seen every
// earlier one of that tenant. It must not be subject to time-based
// retention: the accounts are a fold of the whole topic.
const TopicAccounts = "hotline.accounts"

// Event types of TopicAccounts.
const (
	// TenantCreated: a client company was set up on the hub.
	TenantCreated = "tenant.created"
	// TenantUpdated: a tenant's name, default language or time zone changed.
	TenantUpdated = "tenant.updated"
	// AccountCreated: someone may now log in (once a password is set).
	AccountCreated = "account.created"
	// AccountUpdated: an account's login, display name, role or operator
	// flag changed; the payload carries the whole new state.
	AccountUpdated = "account.updated"
	// AccountPasswordChanged: an account's password was set or changed; the
	// payload holds the argon2id hash, never the password.
	AccountPasswordChanged = "account.password_changed"
	// AccountDisabled: the account may no longer log in; its sessions end.
	AccountDisabled = "account.disabled"
	// AccountLocked: too many failed logins; logins are refused until the
	// lock expires or an admin unlocks. Being an event, the lock survives
	// restarts and holds on every web instance.
	AccountLocked = "account.locked"
	// AccountUnlocked: an admin lifted a lock before it expired.
	AccountUnlocked = "account.unlocked"
	// SessionStarted: a login succeeded; the payload holds the SHA-256 of
	// the session token, never the token.
	SessionStarted = "session.started"
	// SessionEnded: a session was logged out or revoked.
	SessionEnded = "session.ended"
	// AccountsReaderStarted: a web instance began folding a tenant's part of
	// TopicAccounts. It changes no state; the instance that wrote it knows
	// it has caught up with that tenant once it reads it back.
	AccountsReaderStarted = "accounts.reader_started"
)

// Account roles, from least to most administrative. Roles are per tenant.
const (
	RoleAgent      = "agent"
	RoleSupervisor = "supervisor"
	RoleAnalyst    = "analyst"
	RoleAdmin      = "admin"
)

// Roles lists every account role.
func Roles() []string { return []string{RoleAgent, RoleSupervisor, RoleAnalyst, RoleAdmin} }

// TenantLanguages are the languages a tenant can default to: those the
// agent UI and analyst search support.
var TenantLanguages = []string{"fr", "en", "ru", "de"}

// Session end reasons.
const (
	SessionLogout  = "logout"
	SessionRevoked = "revoked"
	SessionExpired = "expired"
)

// TenantCreatedData is the data of tenant.created; the tenant id is the
// envelope's tenant.
type TenantCreatedData struct {
	Name string `json:"name"`
	// Language is the default language, one of TenantLanguages.
	Language string `json:"language"`
	// TimeZone is an IANA zone name such as "Europe/Paris".
	TimeZone string `json:"time_zone"`
	// ByAccountID is who created it; empty at first start.
	ByAccountID string `json:"by_account_id,omitempty"`
	// Extra keeps fields this version does not know; see package doc.
	Extra map[string]json.RawMessage `json:"-"`
}

// EventType returns TenantCreated.
func (*TenantCreatedData) EventType() string { return TenantCreated }

// MarshalJSON writes the fields and any kept unknown ones.
func (d TenantCreatedData) MarshalJSON() ([]byte, error) {
	type plain TenantCreatedData
	return marshalKeeping(plain(d), d.Extra)
}

// UnmarshalJSON reads the fields and keeps unknown ones in Extra.
func (d *TenantCreatedData) UnmarshalJSON(data []byte) error {
	type plain TenantCreatedData
	return unmarshalKeeping(data, (*plain)(d), &d.Extra)
}

// Validate requires a name, a supported language and a loadable time zone.
func (d *TenantCreatedData) Validate() error {
	var p problems
	checkTenantFields(&p, d.Name, d.Language, d.TimeZone)
	return p.err(TenantCreated)
}

// TenantUpdatedData is the data of tenant.updated: the tenant's whole new
// settings.
type TenantUpdatedData struct {
	Name        string `json:"name"`
	Language    string `json:"language"`
	TimeZone    string `json:"time_zone"`
	ByAccountID string `json:"by_account_id,omitempty"`
	// Extra keeps fields this version does not know; see package doc.
	Extra map[string]json.RawMessage `json:"-"`
}

// EventType returns TenantUpdated.
func (*TenantUpdatedData) EventType() string { return TenantUpdated }

// MarshalJSON writes the fields and any kept unknown ones.
func (d TenantUpdatedData) MarshalJSON() ([]byte, error) {
	type plain TenantUpdatedData
	return marshalKeeping(plain(d), d.Extra)
}

// UnmarshalJSON reads the fields and keeps unknown ones in Extra.
func (d *TenantUpdatedData) UnmarshalJSON(data []byte) error {
	type plain TenantUpdatedData
	return unmarshalKeeping(data, (*plain)(d), &d.Extra)
}

// Validate applies tenant.created's rules.
func (d *TenantUpdatedData) Validate() error {
	var p problems
	checkTenantFields(&p, d.Name, d.Language, d.TimeZone)
	return p.err(TenantUpdated)
}

func checkTenantFields(p *problems, name, lang, tz string) {
	checkText(p, "name", name, 200, true)
	p.oneOf("language", lang, TenantLanguages...)
	if tz == "" {
		p.add("time_zone", "is empty")
	} else if _, err := time.LoadLocation(tz); err != nil || tz == "Local" {
		p.add("time_zone", "%q is not an IANA time zone", tz)
	}
}

// checkText requires printable UTF-8 of at most max runes.
func checkText(p *problems, field, s string, max int, required bool) {
	switch {
	case s == "":
		if required {
			p.add(field, "is empty")
		}
	case !utf8.ValidString(s):
		p.add(field, "is not valid UTF-8")
	case utf8.RuneCountInString(s) > max:
		p.add(field, "is longer than %d characters", max)
	case strings.ContainsAny(s, "\x00\r\n\t"):
		p.add(field, "contains a control character")
	case strings.TrimSpace(s) != s:
		p.add(field, "has leading or trailing spaces")
	}
}

// ValidLogin reports whether s can be a login: an email address or a user
// name of 1 to 100 characters with no spaces or control characters. Logins
// are compared case-insensitively.
func ValidLogin(s string) bool {
	if s == "" || len(s) > 100 || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r <= ' ' || r == 0x7f {
			return false
		}
	}
	return true
}

// AccountCreatedData is the data of account.created.
type AccountCreatedData struct {
	AccountID   string `json:"account_id"`
	Login       string `json:"login"`
	DisplayName string `json:"display_name"`
	Role        string `json:"role"`
	// Operator marks a hub operator, allowed to create and manage tenants.
	Operator    bool   `json:"operator,omitempty"`
	ByAccountID string `json:"by_account_id,omitempty"`
	// Extra keeps fields this version does not know; see package doc.
	Extra map[string]json.RawMessage `json:"-"`
}

// EventType returns AccountCreated.
func (*AccountCreatedData) EventType() string { return AccountCreated }

// MarshalJSON writes the fields and any kept unknown ones.
func (d AccountCreatedData) MarshalJSON() ([]byte, error) {
	type plain AccountCreatedData
	return marshalKeeping(plain(d), d.Extra)
}

// UnmarshalJSON reads the fields and keeps unknown ones in Extra.
func (d *AccountCreatedData) UnmarshalJSON(data []byte) error {
	type plain AccountCreatedData
	return unmarshalKeeping(data, (*plain)(d), &d.Extra)
}

// Validate requires an id, a valid login, a display name and a known role.
func (d *AccountCreatedData) Validate() error {
	var p problems
	checkAccountFields(&p, d.AccountID, d.Login, d.DisplayName, d.Role)
	return p.err(AccountCreated)
}

func checkAccountFields(p *problems, id, login, name, role string) {
	checkText(p, "account_id", id, 100, true)
	if login == "" {
		p.add("login", "is empty")
	} else if !ValidLogin(login) {
		p.add("login", "%q is not an email address or a user name without spaces (at most 100 bytes)", login)
	}
	checkText(p, "display_name", name, 200, true)
	p.oneOf("role", role, Roles()...)
}

// AccountUpdatedData is the data of account.updated: the account's whole
// new state.
type AccountUpdatedData struct {
	AccountID   string `json:"account_id"`
	Login       string `json:"login"`
	DisplayName string `json:"display_name"`
	Role        string `json:"role"`
	Operator    bool   `json:"operator,omitempty"`
	ByAccountID string `json:"by_account_id,omitempty"`
	// Extra keeps fields this version does not know; see package doc.
	Extra map[string]json.RawMessage `json:"-"`
}

// EventType returns AccountUpdated.
func (*AccountUpdatedData) EventType() string { return AccountUpdated }

// MarshalJSON writes the fields and any kept unknown ones.
func (d AccountUpdatedData) MarshalJSON() ([]byte, error) {
	type plain AccountUpdatedData
	return marshalKeeping(plain(d), d.Extra)
}

// UnmarshalJSON reads the fields and keeps unknown ones in Extra.
func (d *AccountUpdatedData) UnmarshalJSON(data []byte) error {
	type plain AccountUpdatedData
	return unmarshalKeeping(data, (*plain)(d), &d.Extra)
}

// Validate applies account.created's rules.
func (d *AccountUpdatedData) Validate() error {
	var p problems
	checkAccountFields(&p, d.AccountID, d.Login, d.DisplayName, d.Role)
	return p.err(AccountUpdated)
}

// AccountPasswordChangedData is the data of account.password_changed.
type AccountPasswordChangedData struct {
	AccountID string `json:"account_id"`
	// PasswordHash is an argon2id hash in PHC string format:
	// $argon2id$v=19$m=<KiB>,t=<passes>,p=<lanes>$<salt>$<hash>, salt and
	// hash in unpadded standard base64.
	PasswordHash string `json:"password_hash"`
	// ByAccountID is who set it: the account itself, or an admin resetting it.
	ByAccountID string `json:"by_account_id,omitempty"`
	// KeepSessionHash names the session that changed its own password; every
	// other session of the account ends, so a stolen session dies with the
	// old password.
	KeepSessionHash string `json:"keep_session_hash,omitempty"`
	// Extra keeps fields this version does not know; see package doc.
	Extra map[string]json.RawMessage `json:"-"`
}

// EventType returns AccountPasswordChanged.
func (*AccountPasswordChangedData) EventType() string { return AccountPasswordChanged }

// MarshalJSON writes the fields and any kept unknown ones.
func (d AccountPasswordChangedData) MarshalJSON() ([]byte, error) {
	type plain AccountPasswordChangedData
	return marshalKeeping(plain(d), d.Extra)
}

// UnmarshalJSON reads the fields and keeps unknown ones in Extra.
func (d *AccountPasswordChangedData) UnmarshalJSON(data []byte) error {
	type plain AccountPasswordChangedData
	return unmarshalKeeping(data, (*plain)(d), &d.Extra)
}

// Validate requires the account and a hash in argon2id PHC format.
func (d *AccountPasswordChangedData) Validate() error {
	var p problems
	p.required("account_id", d.AccountID)
	if d.PasswordHash == "" {
		p.add("password_hash", "is empty")
	} else if !ValidArgon2idPHC(d.PasswordHash) {
		p.add("password_hash", "is not an argon2id hash in PHC string format")
	}
	if d.KeepSessionHash != "" && !validSHA256Hex(d.KeepSessionHash) {
		p.add("keep_session_hash", "is not 64 lowercase hex digits")
	}
	return p.err(AccountPasswordChanged)
}

// ValidArgon2idPHC reports whether s is shaped like an argon2id PHC string:
// $argon2id$v=19$m=M,t=T,p=P$salt$hash with positive parameters and
// non-empty base64 salt and hash. It checks the shape only, never a
// password.
func ValidArgon2idPHC(s string) bool {
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" || parts[2] != "v=19" {
		return false
	}
	params := strings.Split(parts[3], ",")
	if len(params) != 3 {
		return false
	}
	for i, prefix := range []string{"m=", "t=", "p="} {
		v, ok := strings.CutPrefix(params[i], prefix)
		if !ok {
			return false
		}
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil || n == 0 {
			return false
		}
	}
	return isBase64Raw(parts[4]) && isBase64Raw(parts[5])
}

func isBase64Raw(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(isAlpha(c) || c >= '0' && c <= '9' || c == '+' || c == '/') {
			return false
		}
	}
	return true
}

func validSHA256Hex(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// AccountDisabledData is the data of account.disabled.
type AccountDisabledData struct {
	AccountID   string `json:"account_id"`
	ByAccountID string `json:"by_account_id,omitempty"`
	Reason      string `json:"reason,omitempty"`
	// Extra keeps fields this version does not know; see package doc.
	Extra map[string]json.RawMessage `json:"-"`
}

// EventType returns AccountDisabled.
func (*AccountDisabledData) EventType() string { return AccountDisabled }

// MarshalJSON writes the fields and any kept unknown ones.
func (d AccountDisabledData) MarshalJSON() ([]byte, error) {
	type plain AccountDisabledData
	return marshalKeeping(plain(d), d.Extra)
}

// UnmarshalJSON reads the fields and keeps unknown ones in Extra.
func (d *AccountDisabledData) UnmarshalJSON(data []byte) error {
	type plain AccountDisabledData
	return unmarshalKeeping(data, (*plain)(d), &d.Extra)
}

// Validate requires the account.
func (d *AccountDisabledData) Validate() error {
	var p problems
	p.required("account_id", d.AccountID)
	checkText(&p, "reason", d.Reason, 500, false)
	return p.err(AccountDisabled)
}

// AccountLockedData is the data of account.locked.
type AccountLockedData struct {
	AccountID string `json:"account_id"`
	// Until is when the lock lapses by itself.
	Until time.Time `json:"until"`
	// Failures is how many failed logins led to the lock.
	Failures int `json:"failures,omitempty"`
	// Extra keeps fields this version does not know; see package doc.
	Extra map[string]json.RawMessage `json:"-"`
}

// EventType returns AccountLocked.
func (*AccountLockedData) EventType() string { return AccountLocked }

// MarshalJSON writes the fields and any kept unknown ones.
func (d AccountLockedData) MarshalJSON() ([]byte, error) {
	type plain AccountLockedData
	return marshalKeeping(plain(d), d.Extra)
}

// UnmarshalJSON reads the fields and keeps unknown ones in Extra.
func (d *AccountLockedData) UnmarshalJSON(data []byte) error {
	type plain AccountLockedData
	return unmarshalKeeping(data, (*plain)(d), &d.Extra)
}

// Validate requires the account and an end time.
func (d *AccountLockedData) Validate() error {
	var p problems
	p.required("account_id", d.AccountID)
	if d.Until.IsZero() {
		p.add("until", "is zero")
	}
	p.nonNegative("failures", int64(d.Failures))
	return p.err(AccountLocked)
}

// AccountUnlockedData is the data of account.unlocked.
type AccountUnlockedData struct {
	AccountID   string `json:"account_id"`
	ByAccountID string `json:"by_account_id,omitempty"`
	// Extra keeps fields this version does not know; see package doc.
	Extra map[string]json.RawMessage `json:"-"`
}

// EventType returns AccountUnlocked.
func (*AccountUnlockedData) EventType() string { return AccountUnlocked }

// MarshalJSON writes the fields and any kept unknown ones.
func (d AccountUnlockedData) MarshalJSON() ([]byte, error) {
	type plain AccountUnlockedData
	return marshalKeeping(plain(d), d.Extra)
}

// UnmarshalJSON reads the fields and keeps unknown ones in Extra.
func (d *AccountUnlockedData) UnmarshalJSON(data []byte) error {
	type plain AccountUnlockedData
	return unmarshalKeeping(data, (*plain)(d), &d.Extra)
}

// Validate requires the account.
func (d *AccountUnlockedData) Validate() error {
	var p problems
	p.required("account_id", d.AccountID)
	return p.err(AccountUnlocked)
}

// SessionStartedData is the data of session.started.
type SessionStartedData struct {
	// SessionHash is the lowercase hex SHA-256 of the session token. The
	// token itself is only ever in the browser's cookie.
	SessionHash string    `json:"session_hash"`
	AccountID   string    `json:"account_id"`
	ExpiresAt   time.Time `json:"expires_at"`
	UserAgent   string    `json:"user_agent,omitempty"`
	// Extra keeps fields this version does not know; see package doc.
	Extra map[string]json.RawMessage `json:"-"`
}

// EventType returns SessionStarted.
func (*SessionStartedData) EventType() string { return SessionStarted }

// MarshalJSON writes the fields and any kept unknown ones.
func (d SessionStartedData) MarshalJSON() ([]byte, error) {
	type plain SessionStartedData
	return marshalKeeping(plain(d), d.Extra)
}

// UnmarshalJSON reads the fields and keeps unknown ones in Extra.
func (d *SessionStartedData) UnmarshalJSON(data []byte) error {
	type plain SessionStartedData
	return unmarshalKeeping(data, (*plain)(d), &d.Extra)
}

// Validate requires the hash, the account and the expiry.
func (d *SessionStartedData) Validate() error {
	var p problems
	if !validSHA256Hex(d.SessionHash) {
		p.add("session_hash", "is not 64 lowercase hex digits")
	}
	p.required("account_id", d.AccountID)
	if d.ExpiresAt.IsZero() {
		p.add("expires_at", "is zero")
	}
	if len(d.UserAgent) > 512 || !utf8.ValidString(d.UserAgent) {
		p.add("user_agent", "is not UTF-8 of at most 512 bytes")
	}
	return p.err(SessionStarted)
}

// SessionEndedData is the data of session.ended.
type SessionEndedData struct {
	SessionHash string `json:"session_hash"`
	AccountID   string `json:"account_id"`
	// Reason is SessionLogout, SessionRevoked or SessionExpired.
	Reason string `json:"reason"`
	// Extra keeps fields this version does not know; see package doc.
	Extra map[string]json.RawMessage `json:"-"`
}

// EventType returns SessionEnded.
func (*SessionEndedData) EventType() string { return SessionEnded }

// MarshalJSON writes the fields and any kept unknown ones.
func (d SessionEndedData) MarshalJSON() ([]byte, error) {
	type plain SessionEndedData
	return marshalKeeping(plain(d), d.Extra)
}

// UnmarshalJSON reads the fields and keeps unknown ones in Extra.
func (d *SessionEndedData) UnmarshalJSON(data []byte) error {
	type plain SessionEndedData
	return unmarshalKeeping(data, (*plain)(d), &d.Extra)
}

// Validate requires the hash, the account and a known reason.
func (d *SessionEndedData) Validate() error {
	var p problems
	if !validSHA256Hex(d.SessionHash) {
		p.add("session_hash", "is not 64 lowercase hex digits")
	}
	p.required("account_id", d.AccountID)
	p.oneOf("reason", d.Reason, SessionLogout, SessionRevoked, SessionExpired)
	return p.err(SessionEnded)
}

// AccountsReaderStartedData is the data of accounts.reader_started.
type AccountsReaderStartedData struct {
	// ReaderID names the web instance (host and process), for logs.
	ReaderID string `json:"reader_id"`
	// Extra keeps fields this version does not know; see package doc.
	Extra map[string]json.RawMessage `json:"-"`
}

// EventType returns AccountsReaderStarted.
func (*AccountsReaderStartedData) EventType() string { return AccountsReaderStarted }

// MarshalJSON writes the fields and any kept unknown ones.
func (d AccountsReaderStartedData) MarshalJSON() ([]byte, error) {
	type plain AccountsReaderStartedData
	return marshalKeeping(plain(d), d.Extra)
}

// UnmarshalJSON reads the fields and keeps unknown ones in Extra.
func (d *AccountsReaderStartedData) UnmarshalJSON(data []byte) error {
	type plain AccountsReaderStartedData
	return unmarshalKeeping(data, (*plain)(d), &d.Extra)
}

// Validate requires the reader id.
func (d *AccountsReaderStartedData) Validate() error {
	var p problems
	p.required("reader_id", d.ReaderID)
	return p.err(AccountsReaderStarted)
}
