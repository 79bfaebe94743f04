package estest

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestMain(m *testing.M) { os.Exit(Main(m)) }

// compatMediaType is the media type go-elasticsearch v8 sends in
// compatibility mode (Content-Type and Accept).
const compatMediaType = "application/vnd.elasticsearch+json;compatible-with=8"

// do sends one request and returns the response with its body read.
func do(t *testing.T, method, url, contentType, accept string, body any) (*http.Response, []byte) {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", contentType)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	client := &http.Client{Timeout: time.Minute}
	res, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the body: %v", method, url, err)
	}
	return res, data
}

// The headers go-elasticsearch v8 depends on: every 2xx response says
// X-Elastic-Product: Elasticsearch (the client refuses any other server),
// and requests in the v8 compatibility media type are accepted and answered
// in it.
func TestProductHeaderAndCompatibilityMode(t *testing.T) {
	t.Parallel()
	s := Shared(t)
	for _, tc := range []struct {
		name         string
		method, path string
		body         any
		mediaType    string
	}{
		{"health/json", http.MethodGet, "/_cluster/health", nil, "application/json"},
		{"health/compat", http.MethodGet, "/_cluster/health", nil, compatMediaType},
		{"analyze/compat", http.MethodPost, "/_analyze", map[string]any{"analyzer": "standard", "text": "Hotline"}, compatMediaType},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, body := do(t, tc.method, s.URL()+tc.path, tc.mediaType, tc.mediaType, tc.body)
			if res.StatusCode != http.StatusOK {
				t.Fatalf("%s %s: %s: %s", tc.method, tc.path, res.Status, body)
			}
			if got := res.Header.Get("X-Elastic-Product"); got != "Elasticsearch" {
				t.Errorf("X-Elastic-Product = %q, want Elasticsearch", got)
			}
			ct := strings.ReplaceAll(res.Header.Get("Content-Type"), " ", "")
			if !strings.HasPrefix(ct, tc.mediaType) {
				t.Errorf("Content-Type = %q, want %s", ct, tc.mediaType)
			}
			if !json.Valid(body) {
				t.Errorf("body is not JSON: %s", body)
			}
		})
	}
}

// analyze returns the tokens analyzer makes of text.
func analyze(t *testing.T, s *Server, analyzer, text string) []string {
	t.Helper()
	res, body := do(t, http.MethodPost, s.URL()+"/_analyze", compatMediaType, compatMediaType,
		map[string]any{"analyzer": analyzer, "text": text})
	if res.StatusCode != http.StatusOK {
		t.Fatalf("_analyze with %s: %s: %s", analyzer, res.Status, body)
	}
	var out struct {
		Tokens []struct {
			Token string `json:"token"`
		} `json:"tokens"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatalf("_analyze with %s: %v: %s", analyzer, err, body)
	}
	tokens := make([]string, 0, len(out.Tokens))
	for _, tok := range out.Tokens {
		tokens = append(tokens, tok.Token)
	}
	return tokens
}

// languageCases are two inflected forms of one word per language analyzer,
// which the analyzer stems to the same token and the standard analyzer does
// not, and a stop word the analyzer drops.
var languageCases = []struct {
	analyzer string
	a, b     string
	stop     string
}{
	{"english", "running", "runs", "the"},
	{"french", "chevaux", "cheval", "les"},
	{"german", "Häuser", "Haus", "und"},
	{"russian", "заказы", "заказа", "и"},
}

func TestLanguageAnalyzersStem(t *testing.T) {
	t.Parallel()
	s := Shared(t)
	for _, tc := range languageCases {
		t.Run(tc.analyzer, func(t *testing.T) {
			a, b := analyze(t, s, tc.analyzer, tc.a), analyze(t, s, tc.analyzer, tc.b)
			if len(a) != 1 || !slices.Equal(a, b) {
				t.Errorf("%s: %q → %q and %q → %q, want one and the same token", tc.analyzer, tc.a, a, tc.b, b)
			}
			// The standard analyzer keeps the forms apart: the stemming
			// above is the language analyzer's.
			if sa, sb := analyze(t, s, "standard", tc.a), analyze(t, s, "standard", tc.b); slices.Equal(sa, sb) {
				t.Errorf("standard: %q and %q both → %q; pick forms that differ", tc.a, tc.b, sa)
			}
			if got := analyze(t, s, tc.analyzer, tc.stop); len(got) != 0 {
				t.Errorf("%s: stop word %q → %q, want no token", tc.analyzer, tc.stop, got)
			}
		})
	}
}

// The analyzers work in mappings too: a document indexed with one form of a
// word is found by a match query on the other form.
func TestLanguageAnalyzersInMappings(t *testing.T) {
	t.Parallel()
	s := Shared(t)
	index := s.URL() + "/estest-languages"
	properties := map[string]any{}
	doc := map[string]any{}
	for _, tc := range languageCases {
		properties[tc.analyzer] = map[string]any{"type": "text", "analyzer": tc.analyzer}
		doc[tc.analyzer] = tc.a
	}
	res, body := do(t, http.MethodPut, index, compatMediaType, compatMediaType, map[string]any{
		"settings": map[string]any{"number_of_shards": 1, "number_of_replicas": 0},
		"mappings": map[string]any{"properties": properties},
	})
	if res.StatusCode != http.StatusOK {
		t.Fatalf("create index: %s: %s", res.Status, body)
	}
	t.Cleanup(func() {
		if res, body := do(t, http.MethodDelete, index, "", "", nil); res.StatusCode != http.StatusOK {
			t.Errorf("delete index: %s: %s", res.Status, body)
		}
	})
	res, body = do(t, http.MethodPut, index+"/_doc/1?refresh=true", compatMediaType, compatMediaType, doc)
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("index document: %s: %s", res.Status, body)
	}
	for _, tc := range languageCases {
		t.Run(tc.analyzer, func(t *testing.T) {
			for _, q := range []struct {
				field, text string
				want        int
			}{
				{tc.analyzer, tc.b, 1},
				{tc.analyzer, tc.stop, 0},
			} {
				res, body := do(t, http.MethodPost, index+"/_search", compatMediaType, compatMediaType, map[string]any{
					"query": map[string]any{"match": map[string]any{q.field: q.text}},
				})
				if res.StatusCode != http.StatusOK {
					t.Fatalf("search: %s: %s", res.Status, body)
				}
				var out struct {
					Hits struct {
						Total struct {
							Value int `json:"value"`
						} `json:"total"`
					} `json:"hits"`
				}
				if err := json.Unmarshal(body, &out); err != nil {
					t.Fatalf("search: %v: %s", err, body)
				}
				if out.Hits.Total.Value != q.want {
					t.Errorf("match %s:%q found %d documents (indexed %q), want %d", q.field, q.text, out.Hits.Total.Value, tc.a, q.want)
				}
			}
		})
	}
}

// The helper's own test: a started server answers, stops answering after
// Stop, answers again on the same URL after Restart, and is gone with its
// data after Close.
func TestStartStopRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server of its own twice; skipped in -short mode")
	}
	t.Parallel()
	s := Start(t)
	if err := health(s.URL()); err != nil {
		t.Fatalf("server at %s is not healthy after Start: %v", s.URL(), err)
	}
	if !s.CanRestart() {
		t.Skipf("external server (%s): Stop and Restart are not available", EnvURL)
	}
	res, body := do(t, http.MethodPut, s.URL()+"/estest-restart/_doc/1?refresh=true", "application/json", "", map[string]any{"kept": true})
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("index document: %s: %s", res.Status, body)
	}
	if err := s.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if err := health(s.URL()); err == nil {
		t.Fatalf("server at %s still answers after Stop", s.URL())
	}
	url := s.URL()
	if err := s.Restart(); err != nil {
		t.Fatalf("Restart: %v", err)
	}
	if s.URL() != url {
		t.Errorf("URL after Restart = %s, want %s", s.URL(), url)
	}
	res, body = do(t, http.MethodGet, s.URL()+"/estest-restart/_doc/1", "", "", nil)
	if res.StatusCode != http.StatusOK || !bytes.Contains(body, []byte(`"kept":true`)) {
		t.Errorf("document indexed before Stop, after Restart: %s: %s", res.Status, body)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := health(s.URL()); err == nil {
		t.Fatalf("server at %s still answers after Close", s.URL())
	}
	if _, err := os.Stat(s.dir); !os.IsNotExist(err) {
		t.Errorf("server directory %s after Close: %v, want it gone", s.dir, err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// The shared server refuses to be stopped by a test.
func TestSharedCannotBeStopped(t *testing.T) {
	t.Parallel()
	s := Shared(t)
	if s.CanRestart() {
		t.Errorf("CanRestart on the shared server = true")
	}
	calls := map[string]func() error{"Stop": s.Stop, "Restart": s.Restart}
	if !s.external {
		calls["Close"] = s.Close // a no-op on an external server
	}
	for name, f := range calls {
		if err := f(); !errors.Is(err, ErrShared) && !errors.Is(err, ErrExternal) {
			t.Errorf("%s on the shared server: %v, want %v or %v", name, err, ErrShared, ErrExternal)
		}
	}
	if err := health(s.URL()); err != nil {
		t.Errorf("shared server after Stop/Restart/Close attempts: %v", err)
	}
}
