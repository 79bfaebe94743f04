// Package webtest is what the web packages' tests share to act as a
// browser on an http.Handler: signing in through the auth API (session
// cookie and CSRF token) and sending JSON requests with them.
package webtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/hotline-hub/hotline/webui/api"
	"github.com/hotline-hub/hotline/webui/auth"
)

// Do serves one request through h as a browser holding cookie and csrf
// (either may be empty) and returns the status and body. body is sent as
// JSON, or as is when it is a string; nil sends none. The CSRF header goes
// on every method but GET.
func Do(h http.Handler, cookie, csrf, method, path string, body any) (int, []byte, error) {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = bytes.NewBufferString(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			return 0, nil, fmt.Errorf("webtest: encode the body of %s %s: %w", method, path, err)
		}
		rd = bytes.NewReader(raw)
	}
	req := httptest.NewRequest(method, path, rd)
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if cookie != "" {
		req.AddCookie(&http.Cookie{Name: auth.CookieName, Value: cookie})
	}
	if csrf != "" && method != http.MethodGet {
		req.Header.Set("X-CSRF-Token", csrf)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code, rec.Body.Bytes(), nil
}

// SignIn logs in through the auth API served by h and returns the session
// cookie's value and the CSRF token.
func SignIn(h http.Handler, tenant, login, password string) (cookie, csrf string, err error) {
	raw, err := json.Marshal(map[string]string{"tenant": tenant, "login": login, "password": password})
	if err != nil {
		return "", "", err
	}
	req := httptest.NewRequest(http.MethodPost, "/api/v1/auth/login", bytes.NewReader(raw))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		return "", "", fmt.Errorf("webtest: login %s/%s: %d %s", tenant, login, rec.Code, rec.Body)
	}
	var v struct {
		CSRFToken string `json:"csrf_token"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
		return "", "", fmt.Errorf("webtest: login answer: %w", err)
	}
	for _, ck := range rec.Result().Cookies() {
		if ck.Name == auth.CookieName {
			cookie = ck.Value
		}
	}
	if cookie == "" {
		return "", "", fmt.Errorf("webtest: login %s/%s set no %s cookie", tenant, login, auth.CookieName)
	}
	return cookie, v.CSRFToken, nil
}

// Response is what a request answered.
type Response struct {
	Status int
	Body   []byte
}

// Decode unmarshals the body into v, failing t if it cannot.
func (r Response) Decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode %s: %v", r.Body, err)
	}
}

// ErrBody is the body as an API error (zero if it is not one).
func (r Response) ErrBody() api.ErrorBody {
	var b api.ErrorBody
	_ = json.Unmarshal(r.Body, &b)
	return b
}

// Client is one browser of a test: its session cookie and CSRF token,
// both empty for an anonymous one.
type Client struct {
	T       testing.TB
	Handler http.Handler
	Cookie  string
	CSRF    string
}

// Login signs a browser in through the auth API on h, failing t if it
// cannot.
func Login(t testing.TB, h http.Handler, tenant, login, password string) *Client {
	t.Helper()
	cookie, csrf, err := SignIn(h, tenant, login, password)
	if err != nil {
		t.Fatal(err)
	}
	return &Client{T: t, Handler: h, Cookie: cookie, CSRF: csrf}
}

// Request sends one request as c (see Do).
func (c *Client) Request(method, path string, body any) Response {
	c.T.Helper()
	status, b, err := Do(c.Handler, c.Cookie, c.CSRF, method, path, body)
	if err != nil {
		c.T.Fatal(err)
	}
	return Response{Status: status, Body: b}
}

// Must sends a request and fails the test unless it answers want.
func (c *Client) Must(want int, method, path string, body any) Response {
	c.T.Helper()
	res := c.Request(method, path, body)
	if res.Status != want {
		c.T.Fatalf("%s %s: %d %s, want %d", method, path, res.Status, res.Body, want)
	}
	return res
}
