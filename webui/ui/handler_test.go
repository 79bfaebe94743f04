package ui

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
)

// testFS is a build with the shapes the handler must tell apart.
func testFS() fstest.MapFS {
	return fstest.MapFS{
		"index.html":               {Data: []byte("<!doctype html><title>app</title>")},
		"assets/index-AbC123.js":   {Data: []byte("console.log(1)")},
		"assets/index-AbC123.css":  {Data: []byte("body{}")},
		"assets/logo-Xy.svg":       {Data: []byte("<svg/>")},
		"robots.txt":               {Data: []byte("User-agent: *")},
		".sources.sha256":          {Data: []byte("secret-ish")},
		"assets/.hidden":           {Data: []byte("no")},
		"nested/deeper/readme.txt": {Data: []byte("deep")},
	}
}

func newTestHandler(t *testing.T) http.Handler {
	t.Helper()
	h, err := newHandler(testFS())
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func serve(h http.Handler, method, target string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, "http://hotline.example:8080/", nil)
	// Set the raw path directly so that unclean paths reach the handler as
	// a client could send them (httptest.NewRequest would parse them).
	req.URL.Path = target
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestHandlerRoutes(t *testing.T) {
	h := newTestHandler(t)
	const index = "<!doctype html><title>app</title>"
	tests := []struct {
		name   string
		method string
		path   string
		status int
		body   string // exact body when not empty
		ctype  string
		cache  string
	}{
		{"root is index", "GET", "/", 200, index, "text/html; charset=utf-8", "no-cache"},
		{"index by name", "GET", "/index.html", 200, index, "text/html; charset=utf-8", "no-cache"},
		{"hashed script", "GET", "/assets/index-AbC123.js", 200, "console.log(1)", "text/javascript; charset=utf-8", "public, max-age=31536000, immutable"},
		{"hashed style", "GET", "/assets/index-AbC123.css", 200, "body{}", "text/css; charset=utf-8", "public, max-age=31536000, immutable"},
		{"svg", "GET", "/assets/logo-Xy.svg", 200, "<svg/>", "image/svg+xml", "public, max-age=31536000, immutable"},
		{"unhashed file revalidates", "GET", "/robots.txt", 200, "User-agent: *", "text/plain; charset=utf-8", "no-cache"},
		{"spa route", "GET", "/inbox", 200, index, "text/html; charset=utf-8", "no-cache"},
		{"deep spa route", "GET", "/inbox/conversations/42", 200, index, "text/html; charset=utf-8", "no-cache"},
		{"spa route with trailing slash", "GET", "/settings/", 200, index, "text/html; charset=utf-8", "no-cache"},
		{"head of spa route", "HEAD", "/inbox", 200, "", "text/html; charset=utf-8", "no-cache"},
		{"missing script is 404 not html", "GET", "/assets/index-old.js", 404, "", "text/plain; charset=utf-8", "no-store"},
		{"missing file with extension", "GET", "/favicon.ico", 404, "", "text/plain; charset=utf-8", "no-store"},
		{"no listing of assets", "GET", "/assets/", 404, "", "text/plain; charset=utf-8", "no-store"},
		{"no listing of assets without slash", "GET", "/assets", 404, "", "text/plain; charset=utf-8", "no-store"},
		{"no listing of nested dir", "GET", "/nested/deeper", 404, "", "text/plain; charset=utf-8", "no-store"},
		{"dot file hidden", "GET", "/.sources.sha256", 404, "", "text/plain; charset=utf-8", "no-store"},
		{"dot file in dir hidden", "GET", "/assets/.hidden", 404, "", "text/plain; charset=utf-8", "no-store"},
		{"unknown api path is not the app", "GET", "/api/v1/nothing", 404, "", "text/plain; charset=utf-8", "no-store"},
		{"api root is not the app", "GET", "/api", 404, "", "text/plain; charset=utf-8", "no-store"},
		{"chat path is not the app", "GET", "/chat/unknown", 404, "", "text/plain; charset=utf-8", "no-store"},
		{"post refused", "POST", "/", 405, "", "text/plain; charset=utf-8", ""},
		{"delete refused", "DELETE", "/assets/index-AbC123.js", 405, "", "text/plain; charset=utf-8", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := serve(h, tt.method, tt.path)
			if rec.Code != tt.status {
				t.Fatalf("%s %s: status %d, want %d (body %q)", tt.method, tt.path, rec.Code, tt.status, rec.Body.String())
			}
			if tt.body != "" && rec.Body.String() != tt.body {
				t.Errorf("body %q, want %q", rec.Body.String(), tt.body)
			}
			if tt.method == "HEAD" && rec.Body.Len() != 0 {
				t.Errorf("HEAD has a body of %d bytes", rec.Body.Len())
			}
			if got := rec.Header().Get("Content-Type"); got != tt.ctype {
				t.Errorf("Content-Type %q, want %q", got, tt.ctype)
			}
			if got := rec.Header().Get("Cache-Control"); tt.cache != "" && got != tt.cache {
				t.Errorf("Cache-Control %q, want %q", got, tt.cache)
			}
			if tt.status == 405 && rec.Header().Get("Allow") != "GET, HEAD" {
				t.Errorf("Allow %q", rec.Header().Get("Allow"))
			}
		})
	}
}

func TestHandlerTraversal(t *testing.T) {
	h := newTestHandler(t)
	// None of these may reach a file outside dist/ or a hidden file; they
	// may answer 400 or 404, or the app (index.html) for a path that
	// cleans to an app route, but never anything else.
	paths := []string{
		"/../../../../etc/passwd",
		"/assets/../../go.mod",
		"/assets/../.sources.sha256",
		"/..",
		"/../",
		"/assets/..",
		"/./.sources.sha256",
		"//.sources.sha256",
		"/assets/%2e%2e/%2e%2e/etc/passwd",
		"/..%2f..%2fetc%2fpasswd",
		"/..\\..\\embed.go",
		"/assets\\..\\.sources.sha256",
		"/index.html\x00.js",
		"/nested/deeper/../../../handler.go",
	}
	for _, p := range paths {
		t.Run(p, func(t *testing.T) {
			rec := serve(h, "GET", p)
			body := rec.Body.String()
			switch rec.Code {
			case 400, 404:
			case 200:
				if body != "<!doctype html><title>app</title>" {
					t.Fatalf("200 with %q", body)
				}
			default:
				t.Fatalf("status %d", rec.Code)
			}
			if strings.Contains(body, "secret-ish") || strings.Contains(body, "package ui") || strings.Contains(body, "module ") || strings.Contains(body, "root:") {
				t.Fatalf("leaked %q", body)
			}
			if rec.Header().Get("Content-Security-Policy") == "" {
				t.Error("no CSP on a refused path")
			}
		})
	}
	// Paths with .. segments are refused outright, not cleaned.
	for _, p := range []string{"/assets/../index.html", "/../index.html"} {
		if rec := serve(h, "GET", p); rec.Code != 400 {
			t.Errorf("%s: status %d, want 400", p, rec.Code)
		}
	}
}

func TestSecurityHeadersOnEveryResponse(t *testing.T) {
	h := newTestHandler(t)
	want := map[string]string{
		"Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; " +
			"connect-src 'self' ws://hotline.example:8080 wss://hotline.example:8080; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
		"X-Content-Type-Options": "nosniff",
		"Referrer-Policy":        "same-origin",
		"X-Frame-Options":        "DENY",
	}
	for _, c := range []struct{ method, path string }{
		{"GET", "/"}, {"GET", "/inbox"}, {"GET", "/assets/index-AbC123.js"}, {"GET", "/missing.js"},
		{"GET", "/../x"}, {"POST", "/"}, {"HEAD", "/robots.txt"}, {"GET", "/api/v1/x"},
	} {
		rec := serve(h, c.method, c.path)
		for k, v := range want {
			if got := rec.Header().Get(k); got != v {
				t.Errorf("%s %s (%d): %s = %q, want %q", c.method, c.path, rec.Code, k, got, v)
			}
		}
	}
}

func TestCSPRejectsForgedHost(t *testing.T) {
	for _, host := range []string{"evil.example; script-src *", "a b", "x'y", ""} {
		hdr := http.Header{}
		SecurityHeaders(hdr, host)
		csp := hdr.Get("Content-Security-Policy")
		if !strings.Contains(csp, "connect-src 'self';") {
			t.Errorf("host %q: CSP %q", host, csp)
		}
	}
}

func TestConditionalGet(t *testing.T) {
	h := newTestHandler(t)
	first := serve(h, "GET", "/assets/index-AbC123.js")
	etag := first.Header().Get("ETag")
	if etag == "" {
		t.Fatal("no ETag")
	}
	req := httptest.NewRequest("GET", "/assets/index-AbC123.js", nil)
	req.Header.Set("If-None-Match", etag)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusNotModified {
		t.Fatalf("If-None-Match: status %d, want 304", rec.Code)
	}
	other := serve(h, "GET", "/assets/index-AbC123.css").Header().Get("ETag")
	if other == etag {
		t.Fatal("two files share an ETag")
	}
}

func TestNewHandlerNeedsIndex(t *testing.T) {
	_, err := newHandler(fstest.MapFS{"assets/a.js": {Data: []byte("x")}})
	if err != ErrNoIndex {
		t.Fatalf("err %v, want ErrNoIndex", err)
	}
}

// TestEmbeddedBuild serves the real embedded dist: index.html references
// scripts and styles that are served with their types, over a real server.
func TestEmbeddedBuild(t *testing.T) {
	srv := httptest.NewServer(Handler())
	defer srv.Close()
	get := func(p string) (*http.Response, string) {
		t.Helper()
		res, err := http.Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		if err != nil {
			t.Fatal(err)
		}
		return res, string(b)
	}
	res, index := get("/")
	if res.StatusCode != 200 || !strings.Contains(index, `<div id="app">`) {
		t.Fatalf("/: %d %q", res.StatusCode, index)
	}
	if strings.Contains(index, "<script>") || strings.Contains(index, "<style") || strings.Contains(index, " style=") {
		t.Fatalf("index.html has inline script or style, which the CSP blocks: %s", index)
	}
	refs := 0
	for _, attr := range []string{`src="`, `href="/assets/`} {
		for rest := index; ; {
			i := strings.Index(rest, attr)
			if i < 0 {
				break
			}
			rest = rest[i+len(attr):]
			ref := rest[:strings.IndexByte(rest, '"')]
			if !strings.HasPrefix(ref, "/") {
				ref = "/assets/" + ref
			}
			r, body := get(ref)
			if r.StatusCode != 200 || body == "" || r.Header.Get("Cache-Control") != "public, max-age=31536000, immutable" {
				t.Errorf("%s: %d, %d bytes, Cache-Control %q", ref, r.StatusCode, len(body), r.Header.Get("Cache-Control"))
			}
			if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/javascript") && !strings.HasPrefix(ct, "text/css") {
				t.Errorf("%s: Content-Type %q", ref, ct)
			}
			refs++
		}
	}
	if refs < 2 {
		t.Fatalf("index.html references %d assets, want a script and a stylesheet", refs)
	}
	if res, _ := get("/.sources.sha256"); res.StatusCode != 404 {
		t.Errorf("/.sources.sha256: %d, want 404", res.StatusCode)
	}
}
