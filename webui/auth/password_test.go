package auth

import (
	"errors"
	"strings"
	"testing"

	"github.com/hotline-hub/hotline/bus/event"
)

func TestHashAndVerify(t *testing.T) {
	h1, err := HashPassword("correct horse battery", testHash)
	if err != nil {
		t.Fatal(err)
	}
	if !event.ValidArgon2idPHC(h1) || !strings.HasPrefix(h1, "$argon2id$v=19$m=8192,t=1,p=1$") {
		t.Fatalf("hash %q is not an argon2id PHC string with the given parameters", h1)
	}
	if strings.Contains(h1, "correct horse") {
		t.Fatal("hash contains the password")
	}
	h2, err := HashPassword("correct horse battery", testHash)
	if err != nil {
		t.Fatal(err)
	}
	if h1 == h2 {
		t.Error("two hashes of one password are equal: the salt is not random")
	}
	tests := []struct {
		name     string
		password string
		hash     string
		want     bool
		wantErr  error
	}{
		{"right", "correct horse battery", h1, true, nil},
		{"right, other salt", "correct horse battery", h2, true, nil},
		{"wrong", "correct horse batterx", h1, false, nil},
		{"empty", "", h1, false, nil},
		{"bcrypt hash", "x", "$2a$10$abcdefghijklmnopqrstuu", false, ErrBadHash},
		{"argon2i", "x", strings.Replace(h1, "argon2id", "argon2i", 1), false, ErrBadHash},
		{"weak parameters", "x", strings.Replace(h1, "m=8192", "m=8", 1), false, ErrBadHash},
		{"truncated", "x", h1[:strings.LastIndex(h1, "$")], false, ErrBadHash},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := VerifyPassword(tt.password, tt.hash)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("VerifyPassword = %v, want %v", got, tt.want)
			}
		})
	}
	// The default parameters are the documented OWASP ones.
	d, err := HashPassword("correct horse battery", DefaultHashParams)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(d, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Errorf("default hash %q", d)
	}
	if ok, err := VerifyPassword("correct horse battery", d); !ok || err != nil {
		t.Errorf("default hash does not verify: %v %v", ok, err)
	}
}

func TestPasswordPolicy(t *testing.T) {
	tests := []struct {
		password, login string
		ok              bool
	}{
		{"0123456789", "jane", true},
		{"012345678", "jane", false},
		{"éééééééééé", "jane", true}, // ten characters, twenty bytes
		{"jane@acme.example", "jane@acme.example", false},
		{"JANE@ACME.example", "jane@acme.example", false},
		{strings.Repeat("x", 1025), "jane", false},
		{"\xff\xfe0123456789", "jane", false},
	}
	for _, tt := range tests {
		err := CheckPasswordPolicy(tt.password, tt.login)
		if (err == nil) != tt.ok {
			t.Errorf("CheckPasswordPolicy(%q, %q) = %v, want ok=%v", tt.password, tt.login, err, tt.ok)
		}
		if err != nil && !errors.Is(err, ErrWeakPassword) {
			t.Errorf("error %v does not wrap ErrWeakPassword", err)
		}
	}
}

func TestRandomPassword(t *testing.T) {
	a, err := randomPassword(20)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := randomPassword(20)
	if len(a) != 20 || a == b || CheckPasswordPolicy(a, "admin") != nil {
		t.Errorf("random passwords %q and %q", a, b)
	}
}

func TestHashParamsValidate(t *testing.T) {
	for _, p := range []HashParams{{}, {Memory: 1024, Time: 1, Threads: 1}, {Memory: 19456, Time: 0, Threads: 1}, {Memory: 19456, Time: 2}} {
		if p.Validate() == nil {
			t.Errorf("%+v accepted", p)
		}
	}
	if err := DefaultHashParams.Validate(); err != nil {
		t.Error(err)
	}
}
