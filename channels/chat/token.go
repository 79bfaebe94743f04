package chat

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// ErrBadToken is returned for a visitor token that is malformed, forged,
// for another tenant, or expired.
var ErrBadToken = errors.New("chat: bad visitor token")

const secretLen = 32

// loadSecret reads the token key from path, creating it (0600) with random
// bytes if it does not exist yet.
func loadSecret(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		if len(b) < secretLen {
			return nil, fmt.Errorf("chat: secret file %s: %d bytes, need %d", path, len(b), secretLen)
		}
		return b, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("chat: secret file: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("chat: secret file: %w", err)
	}
	s := make([]byte, secretLen)
	if _, err := rand.Read(s); err != nil {
		return nil, fmt.Errorf("chat: secret: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, fs.ErrExist) { // another process won the race
			return loadSecret(path)
		}
		return nil, fmt.Errorf("chat: secret file: %w", err)
	}
	if _, err := f.Write(s); err != nil {
		f.Close()
		return nil, fmt.Errorf("chat: secret file: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, fmt.Errorf("chat: secret file: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("chat: secret file: %w", err)
	}
	return s, nil
}

// tokens issues and checks visitor tokens: "v1.<tenant>.<visitor>.<unix
// issue time>.<base64url HMAC-SHA256 of the rest>". They hold no secret;
// the MAC makes them tamper-proof, so the server keeps no session table.
type tokens struct {
	key []byte
	ttl time.Duration
}

func (t *tokens) mac(payload string) string {
	m := hmac.New(sha256.New, t.key)
	m.Write([]byte(payload))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// issue makes a token for a new visitor of tenant.
func (t *tokens) issue(tenant string, now time.Time) (token, visitor string, err error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", "", fmt.Errorf("chat: visitor id: %w", err)
	}
	visitor = "v" + hex.EncodeToString(b)
	return t.reissue(tenant, visitor, now), visitor, nil
}

// reissue makes a fresh token for a known visitor, extending its life.
func (t *tokens) reissue(tenant, visitor string, now time.Time) string {
	p := "v1." + tenant + "." + visitor + "." + strconv.FormatInt(now.Unix(), 10)
	return p + "." + t.mac(p)
}

// verify returns the visitor id of a valid token of tenant.
func (t *tokens) verify(tenant, token string, now time.Time) (string, error) {
	i := strings.LastIndexByte(token, '.')
	if i < 0 || len(token) > 256 {
		return "", fmt.Errorf("%w: malformed", ErrBadToken)
	}
	p, sig := token[:i], token[i+1:]
	if !hmac.Equal([]byte(sig), []byte(t.mac(p))) {
		return "", fmt.Errorf("%w: signature does not match", ErrBadToken)
	}
	parts := strings.Split(p, ".")
	if len(parts) != 4 || parts[0] != "v1" {
		return "", fmt.Errorf("%w: malformed", ErrBadToken)
	}
	if parts[1] != tenant {
		return "", fmt.Errorf("%w: issued for another tenant", ErrBadToken)
	}
	at, err := strconv.ParseInt(parts[3], 10, 64)
	if err != nil {
		return "", fmt.Errorf("%w: malformed issue time", ErrBadToken)
	}
	if now.Sub(time.Unix(at, 0)) > t.ttl {
		return "", fmt.Errorf("%w: expired", ErrBadToken)
	}
	return parts[2], nil
}
