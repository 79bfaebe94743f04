package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"

	"github.com/hotline-hub/hotline/bus/event"
)

// MinPasswordLength is the shortest password accepted, in characters.
const MinPasswordLength = 10

// maxPasswordLength bounds the work one login request can ask argon2 to do
// on its input; no human types more.
const maxPasswordLength = 1024

// HashParams are argon2id's cost parameters.
//
// The default, m=19456 KiB (19 MiB), t=2, p=1, is the OWASP Password Storage
// Cheat Sheet's first recommended argon2id setting. Measured on the 2-core
// development VM (BenchmarkVerifyPassword): 130 ms of one core per hash,
// about 16 logins/s for the instance with both cores busy
// (BenchmarkLoginParallel), so a 100-agent shift logs in within seconds.
// m=64 MiB with the same time budget would make such a burst hold hundreds
// of MiB and take the cores from SIP and the bus for longer. Auth also
// bounds how many hashes run at once (one per CPU), so hashing memory stays
// at most NumCPU × Memory.
type HashParams struct {
	// Memory in KiB.
	Memory uint32
	// Time is the number of passes.
	Time uint32
	// Threads is the parallelism (lanes).
	Threads uint8
}

// DefaultHashParams are the OWASP-recommended parameters; see HashParams.
var DefaultHashParams = HashParams{Memory: 19456, Time: 2, Threads: 1}

const (
	saltLen = 16
	keyLen  = 32
)

// Validate rejects parameters argon2 cannot use or that are too weak to
// count as password hashing.
func (p HashParams) Validate() error {
	if p.Memory < 8*1024 {
		return fmt.Errorf("auth: argon2id memory %d KiB is below 8 MiB", p.Memory)
	}
	if p.Memory > 4*1024*1024 {
		return fmt.Errorf("auth: argon2id memory %d KiB is above 4 GiB", p.Memory)
	}
	if p.Time < 1 || p.Time > 100 {
		return fmt.Errorf("auth: argon2id time %d is outside 1..100", p.Time)
	}
	if p.Threads < 1 {
		return errors.New("auth: argon2id threads is 0")
	}
	return nil
}

// HashPassword returns the argon2id hash of password in PHC string format
// with a fresh 128-bit salt.
func HashPassword(password string, p HashParams) (string, error) {
	if err := p.Validate(); err != nil {
		return "", err
	}
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("auth: salt: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, keyLen)
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Time, p.Threads, enc.EncodeToString(salt), enc.EncodeToString(key)), nil
}

// VerifyPassword reports whether password matches hash, a PHC string
// written by HashPassword (with whatever parameters it was written with, so
// raising the defaults keeps old hashes working). The comparison is in
// constant time. A malformed hash is an error, not a mismatch.
func VerifyPassword(password, hash string) (bool, error) {
	if !event.ValidArgon2idPHC(hash) {
		return false, ErrBadHash
	}
	parts := strings.Split(hash, "$")
	var m, t uint32
	var par uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &par); err != nil {
		return false, fmt.Errorf("%w: %v", ErrBadHash, err)
	}
	if err := (HashParams{Memory: m, Time: t, Threads: par}).Validate(); err != nil {
		return false, fmt.Errorf("%w: %v", ErrBadHash, err)
	}
	salt, err := base64.RawStdEncoding.DecodeString(parts[4])
	if err != nil {
		return false, fmt.Errorf("%w: salt: %v", ErrBadHash, err)
	}
	want, err := base64.RawStdEncoding.DecodeString(parts[5])
	if err != nil || len(want) < 16 {
		return false, fmt.Errorf("%w: hash part", ErrBadHash)
	}
	got := argon2.IDKey([]byte(password), salt, t, m, par, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// CheckPasswordPolicy says why password may not be used by the account
// logging in as login, or nil: at least MinPasswordLength characters, at
// most 1024 bytes, valid UTF-8, and not the login itself.
func CheckPasswordPolicy(password, login string) error {
	switch {
	case !utf8.ValidString(password):
		return fmt.Errorf("%w: not valid UTF-8", ErrWeakPassword)
	case utf8.RuneCountInString(password) < MinPasswordLength:
		return fmt.Errorf("%w: shorter than %d characters", ErrWeakPassword, MinPasswordLength)
	case len(password) > maxPasswordLength:
		return fmt.Errorf("%w: longer than %d bytes", ErrWeakPassword, maxPasswordLength)
	case login != "" && strings.EqualFold(strings.TrimSpace(password), login):
		return fmt.Errorf("%w: same as the login", ErrWeakPassword)
	}
	return nil
}

// randomPassword returns a password of n characters from an alphabet
// without look-alike characters, for the first-start admin.
func randomPassword(n int) (string, error) {
	const alphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	b := make([]byte, n)
	buf := make([]byte, 1)
	for i := 0; i < n; {
		if _, err := rand.Read(buf); err != nil {
			return "", fmt.Errorf("auth: random password: %w", err)
		}
		// Rejection sampling keeps every character equally likely.
		if int(buf[0]) >= 256-256%len(alphabet) {
			continue
		}
		b[i] = alphabet[int(buf[0])%len(alphabet)]
		i++
	}
	return string(b), nil
}
