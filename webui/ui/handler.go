package ui

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

// Handler serves the single-page app from the embedded dist/. Mount it at
// "/" after the API routes: more specific patterns such as /api/v1/ win.
//
// Files are served with a fixed content type and an ETag; /assets/ (whose
// names carry a content hash) are cacheable for a year and immutable, every
// other file is revalidated (no-cache). A path without a file extension that
// is not a file is an app route and gets index.html; a missing path with an
// extension, a directory, a dot file and anything under /api/ or /chat/ answer 404, so
// a typo in a script URL or an unknown API call never receives HTML. Every
// response carries the security headers (see SecurityHeaders).
func Handler() http.Handler {
	h, err := newHandler(Files())
	if err != nil {
		// The embedded dist is fixed at build time and the freshness test
		// reads the same files, so this is a broken build, not bad input.
		panic(fmt.Sprintf("ui: embedded dist: %v", err))
	}
	return h
}

// file is one served file, read once at start.
type file struct {
	body        []byte
	contentType string
	etag        string
	immutable   bool
}

type handler struct {
	files map[string]*file // by cleaned path without the leading slash
	index *file
}

// ErrNoIndex means the file system has no index.html: dist was not built.
var ErrNoIndex = errors.New("ui: index.html missing; run `make ui`")

func newHandler(fsys fs.FS) (*handler, error) {
	h := &handler{files: make(map[string]*file)}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || hidden(p) {
			return nil
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		h.files[p] = &file{
			body:        b,
			contentType: contentType(p),
			etag:        `"` + hex.EncodeToString(sum[:16]) + `"`,
			immutable:   strings.HasPrefix(p, "assets/"),
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("ui: read files: %w", err)
	}
	h.index = h.files["index.html"]
	if h.index == nil {
		return nil, ErrNoIndex
	}
	return h, nil
}

// hidden reports whether any segment of p starts with a dot.
func hidden(p string) bool {
	for seg := range strings.SplitSeq(p, "/") {
		if strings.HasPrefix(seg, ".") {
			return true
		}
	}
	return false
}

// contentTypes is fixed rather than taken from the system's MIME tables,
// which differ between machines.
var contentTypes = map[string]string{
	".html":        "text/html; charset=utf-8",
	".js":          "text/javascript; charset=utf-8",
	".mjs":         "text/javascript; charset=utf-8",
	".css":         "text/css; charset=utf-8",
	".json":        "application/json",
	".map":         "application/json",
	".svg":         "image/svg+xml",
	".png":         "image/png",
	".jpg":         "image/jpeg",
	".webp":        "image/webp",
	".ico":         "image/x-icon",
	".woff2":       "font/woff2",
	".txt":         "text/plain; charset=utf-8",
	".webmanifest": "application/manifest+json",
}

func contentType(p string) string {
	if ct, ok := contentTypes[strings.ToLower(path.Ext(p))]; ok {
		return ct
	}
	return "application/octet-stream"
}

// SecurityHeaders sets the headers every UI response carries. The policy
// allows only this origin's scripts, styles, API calls and WebSockets (the
// ws:/wss: sources name the request's own host, since older browsers do not
// count them as 'self'), images from here or data: URLs, and no framing.
func SecurityHeaders(h http.Header, host string) {
	connect := "'self'"
	if validHost(host) {
		connect += " ws://" + host + " wss://" + host
	}
	h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "+
		"font-src 'self'; connect-src "+connect+"; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Permissions-Policy", "camera=(), geolocation=(), payment=(), usb=()")
}

// validHost admits host[:port] made of the characters a host name or an IP
// literal may have, so that a forged Host header cannot inject a policy.
func validHost(host string) bool {
	if host == "" || len(host) > 255 {
		return false
	}
	for _, c := range host {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.ContainsRune(".-:[]", c):
		default:
			return false
		}
	}
	return true
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	SecurityHeaders(w.Header(), r.Host)
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	f, status := h.lookup(r.URL.Path)
	if f == nil {
		w.Header().Set("Cache-Control", "no-store")
		http.Error(w, http.StatusText(status), status)
		return
	}
	w.Header().Set("Content-Type", f.contentType)
	w.Header().Set("ETag", f.etag)
	if f.immutable {
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		w.Header().Set("Cache-Control", "no-cache")
	}
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(f.body))
}

// lookup maps a request path to the file to serve, or nil and a status.
func (h *handler) lookup(urlPath string) (*file, int) {
	// Refuse rather than clean anything that could walk up or smuggle a
	// separator: the embedded FS cannot escape dist/, but a request that
	// tries is never a link the app made.
	if strings.ContainsAny(urlPath, "\\\x00") {
		return nil, http.StatusBadRequest
	}
	p := strings.TrimPrefix(urlPath, "/")
	for seg := range strings.SplitSeq(p, "/") {
		if seg == ".." {
			return nil, http.StatusBadRequest
		}
	}
	p = strings.TrimPrefix(path.Clean("/"+p), "/")
	switch {
	case p == "" || p == "index.html":
		return h.index, 0
	case reserved(p) || hidden(p):
		return nil, http.StatusNotFound
	}
	if f, ok := h.files[p]; ok {
		return f, 0
	}
	if path.Ext(p) != "" || h.isDir(p) {
		return nil, http.StatusNotFound
	}
	return h.index, 0
}

// reserved reports whether p belongs to the server's other handlers (the
// API and the chat gateway): an unknown path there is a 404, not the app.
func reserved(p string) bool {
	for _, prefix := range []string{"api", "chat"} {
		if p == prefix || strings.HasPrefix(p, prefix+"/") {
			return true
		}
	}
	return false
}

// isDir reports whether p is a directory of the build (no listings).
func (h *handler) isDir(p string) bool {
	prefix := p + "/"
	for name := range h.files {
		if strings.HasPrefix(name, prefix) {
			return true
		}
	}
	return false
}
