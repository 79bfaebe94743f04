package event

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestAccountPayloadsValidate(t *testing.T) {
	goodHash := "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHQ$aGFzaGhhc2hoYXNo"
	tests := []struct {
		name  string
		p     Payload
		field string // "" means valid
	}{
		{"tenant ok", &TenantCreatedData{Name: "Acme", Language: "ru", TimeZone: "Europe/Moscow"}, ""},
		{"tenant language", &TenantCreatedData{Name: "Acme", Language: "es", TimeZone: "UTC"}, "language"},
		{"tenant zone", &TenantUpdatedData{Name: "Acme", Language: "en", TimeZone: "Mars/Base"}, "time_zone"},
		{"tenant local zone", &TenantUpdatedData{Name: "Acme", Language: "en", TimeZone: "Local"}, "time_zone"},
		{"tenant name", &TenantCreatedData{Name: " Acme", Language: "en", TimeZone: "UTC"}, "name"},
		{"tenant long name", &TenantCreatedData{Name: strings.Repeat("a", 201), Language: "en", TimeZone: "UTC"}, "name"},
		{"account ok", &AccountCreatedData{AccountID: "a-1", Login: "jane@acme.example", DisplayName: "Jane", Role: RoleAnalyst}, ""},
		{"account login with space", &AccountCreatedData{AccountID: "a-1", Login: "jane doe", DisplayName: "Jane", Role: RoleAgent}, "login"},
		{"account role", &AccountUpdatedData{AccountID: "a-1", Login: "jane", DisplayName: "Jane", Role: "root"}, "role"},
		{"account id", &AccountUpdatedData{Login: "jane", DisplayName: "Jane", Role: RoleAgent}, "account_id"},
		{"password ok", &AccountPasswordChangedData{AccountID: "a-1", PasswordHash: goodHash}, ""},
		{"password plain", &AccountPasswordChangedData{AccountID: "a-1", PasswordHash: "hunter2hunter2"}, "password_hash"},
		{"password bcrypt", &AccountPasswordChangedData{AccountID: "a-1", PasswordHash: "$2a$10$abcdefghijklmnopqrstuv"}, "password_hash"},
		{"password zero memory", &AccountPasswordChangedData{AccountID: "a-1", PasswordHash: strings.Replace(goodHash, "m=19456", "m=0", 1)}, "password_hash"},
		{"password keep", &AccountPasswordChangedData{AccountID: "a-1", PasswordHash: goodHash, KeepSessionHash: "abc"}, "keep_session_hash"},
		{"locked ok", &AccountLockedData{AccountID: "a-1", Until: time.Now(), Failures: 5}, ""},
		{"locked no end", &AccountLockedData{AccountID: "a-1"}, "until"},
		{"unlocked", &AccountUnlockedData{}, "account_id"},
		{"disabled", &AccountDisabledData{}, "account_id"},
		{"session ok", &SessionStartedData{SessionHash: testSHA, AccountID: "a-1", ExpiresAt: time.Now()}, ""},
		{"session raw token", &SessionStartedData{SessionHash: "not-a-hash", AccountID: "a-1", ExpiresAt: time.Now()}, "session_hash"},
		{"session no expiry", &SessionStartedData{SessionHash: testSHA, AccountID: "a-1"}, "expires_at"},
		{"session end reason", &SessionEndedData{SessionHash: testSHA, AccountID: "a-1", Reason: "bored"}, "reason"},
		{"reader", &AccountsReaderStartedData{}, "reader_id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.p.Validate()
			if tt.field == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				if TopicFor(tt.p.EventType()) != TopicAccounts {
					t.Errorf("%s is not on %s", tt.p.EventType(), TopicAccounts)
				}
				return
			}
			var ve *ValidationError
			if !errors.As(err, &ve) || !errors.Is(err, ErrInvalid) {
				t.Fatalf("Validate = %v, want a ValidationError", err)
			}
			if ve.Problems[0].Field != tt.field {
				t.Errorf("problem %v, want field %s", ve.Problems, tt.field)
			}
		})
	}
}

func TestAccountEventsKeyedByTenant(t *testing.T) {
	for _, typ := range []string{TenantCreated, AccountCreated, SessionStarted, AccountsReaderStarted} {
		e := newSample(t, typ)
		m, err := ToMessage(e)
		if err != nil {
			t.Fatal(err)
		}
		if string(m.Key) != "acme" {
			t.Errorf("%s key = %q, want the tenant", typ, m.Key)
		}
	}
}
