package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hotline-hub/hotline/bus"
	"github.com/hotline-hub/hotline/bus/embedded"
	"github.com/hotline-hub/hotline/routing"
	"github.com/hotline-hub/hotline/search"
	searchembedded "github.com/hotline-hub/hotline/search/embedded"
	"github.com/hotline-hub/hotline/webui/api"
	"github.com/hotline-hub/hotline/webui/auth"
	"github.com/hotline-hub/hotline/webui/directory"
	"github.com/hotline-hub/hotline/webui/inbox"
	"github.com/hotline-hub/hotline/webui/searchapi"
)

// waitLimit is a safety net against a hang, never a measured assertion.
const waitLimit = 30 * time.Second

var methods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// served reads the document through OpenAPIHandler, as clients do.
func served(t *testing.T) map[string]any {
	t.Helper()
	rec := httptest.NewRecorder()
	api.OpenAPIHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/api/v1/openapi.json", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d, want 200", rec.Code)
	}
	if mt, _, err := mime.ParseMediaType(rec.Header().Get("Content-Type")); err != nil || mt != "application/json" {
		t.Fatalf("Content-Type %q, want application/json", rec.Header().Get("Content-Type"))
	}
	var doc map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
		t.Fatalf("the document does not parse: %v", err)
	}
	return doc
}

// operation is one documented (method, path).
type operation struct {
	method, path string
	op           map[string]any
}

func operations(t *testing.T, doc map[string]any) []operation {
	t.Helper()
	paths, ok := doc["paths"].(map[string]any)
	if !ok || len(paths) == 0 {
		t.Fatal("the document has no paths")
	}
	var ops []operation
	for p, item := range paths {
		for _, meth := range methods {
			if o, ok := item.(map[string]any)[meth].(map[string]any); ok {
				ops = append(ops, operation{method: strings.ToUpper(meth), path: p, op: o})
			}
		}
	}
	sort.Slice(ops, func(i, j int) bool { return ops[i].path+ops[i].method < ops[j].path+ops[j].method })
	return ops
}

// resolve follows a local JSON pointer such as #/components/schemas/Error.
func resolve(doc map[string]any, ref string) (any, error) {
	if !strings.HasPrefix(ref, "#/") {
		return nil, fmt.Errorf("%q is not a local reference", ref)
	}
	var cur any = doc
	for _, part := range strings.Split(ref[2:], "/") {
		part = strings.ReplaceAll(strings.ReplaceAll(part, "~1", "/"), "~0", "~")
		obj, ok := cur.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%q: %q is not inside an object", ref, part)
		}
		if cur, ok = obj[part]; !ok {
			return nil, fmt.Errorf("%q: no %q", ref, part)
		}
	}
	return cur, nil
}

// walk calls f for every object of v, with its location.
func walk(v any, at string, f func(at string, obj map[string]any)) {
	switch x := v.(type) {
	case map[string]any:
		f(at, x)
		for k, e := range x {
			walk(e, at+"/"+k, f)
		}
	case []any:
		for n, e := range x {
			walk(e, at+"/"+strconv.Itoa(n), f)
		}
	}
}

var placeholder = regexp.MustCompile(`\{([^}]+)\}`)

func TestOpenAPIDocument(t *testing.T) {
	doc := served(t)
	if v, _ := doc["openapi"].(string); !strings.HasPrefix(v, "3.1.") {
		t.Errorf("openapi = %q, want 3.1.x", v)
	}
	refs := 0
	walk(doc, "#", func(at string, obj map[string]any) {
		ref, ok := obj["$ref"].(string)
		if !ok {
			return
		}
		refs++
		if _, err := resolve(doc, ref); err != nil {
			t.Errorf("%s: %v", at, err)
		}
	})
	if refs == 0 {
		t.Error("no $ref at all: the walk is broken")
	}
	for _, name := range []string{"Account", "Tenant", "ConversationSummary", "ConversationDetail", "Entry", "Note", "Offer", "Presence", "Error"} {
		if _, err := resolve(doc, "#/components/schemas/"+name); err != nil {
			t.Errorf("component schema: %v", err)
		}
	}
	ids := map[string]string{}
	for _, o := range operations(t, doc) {
		name := o.method + " " + o.path
		id, _ := o.op["operationId"].(string)
		if id == "" {
			t.Errorf("%s: no operationId", name)
		} else if prev, dup := ids[id]; dup {
			t.Errorf("%s: operationId %q is also %s", name, id, prev)
		} else {
			ids[id] = name
		}
		if s, _ := o.op["summary"].(string); s == "" {
			t.Errorf("%s: no summary", name)
		}
		if _, ok := o.op["security"].([]any); !ok {
			t.Errorf("%s: no security (an empty list for public endpoints)", name)
		}
		res, _ := o.op["responses"].(map[string]any)
		if len(res) == 0 {
			t.Errorf("%s: no responses", name)
		}
		for status, r := range res {
			if n, err := strconv.Atoi(status); err != nil || n < 100 || n > 599 {
				t.Errorf("%s: response %q is not a status code", name, status)
			}
			if d, _ := r.(map[string]any)["description"].(string); d == "" {
				t.Errorf("%s %s: no description", name, status)
			}
		}
		// Path parameters: declared exactly for the template's placeholders.
		var want, got []string
		for _, m := range placeholder.FindAllStringSubmatch(o.path, -1) {
			want = append(want, m[1])
		}
		params, _ := o.op["parameters"].([]any)
		for _, p := range params {
			pm, _ := p.(map[string]any)
			if pm["in"] == "path" {
				got = append(got, pm["name"].(string))
			}
		}
		slices.Sort(want)
		slices.Sort(got)
		if !slices.Equal(want, got) {
			t.Errorf("%s: path parameters %v, want %v", name, got, want)
		}
		if (o.method == "POST" || o.method == "PUT" || o.method == "PATCH") && o.op["requestBody"] != nil {
			if _, ok := res["415"]; !ok {
				t.Errorf("%s: takes a JSON body but documents no 415", name)
			}
		}
	}
}

func TestOpenAPIHandlerHead(t *testing.T) {
	rec := httptest.NewRecorder()
	api.OpenAPIHandler().ServeHTTP(rec, httptest.NewRequest("HEAD", "/api/v1/openapi.json", nil))
	if rec.Code != http.StatusOK || rec.Body.Len() != 0 {
		t.Fatalf("HEAD: %d with %d bytes, want 200 without a body", rec.Code, rec.Body.Len())
	}
}

// hub is auth and the inbox on an embedded bus, mounted like cmd mounts them.
type hub struct {
	srv   *httptest.Server
	auth  *auth.Auth
	inbox *inbox.Inbox
	boot  auth.Bootstrap
}

func startHub(t *testing.T) *hub {
	t.Helper()
	b, err := embedded.Open(embedded.Config{Dir: t.TempDir()}, nil)
	if err != nil {
		t.Fatalf("open bus: %v", err)
	}
	t.Cleanup(func() { _ = b.Close() })
	a, err := auth.New(auth.Config{Hash: auth.HashParams{Memory: 8 * 1024, Time: 1, Threads: 1}}, b, nil)
	if err != nil {
		t.Fatalf("auth.New: %v", err)
	}
	in, err := inbox.New(inbox.Config{ReaderID: "openapi-test", Routing: routing.Config{
		Tenants: []routing.TenantConfig{{ID: "demo", Queues: []routing.QueueConfig{{ID: "support"}}}},
	}}, b, a, nil)
	if err != nil {
		t.Fatalf("inbox.New: %v", err)
	}
	dir, err := directory.New(directory.Config{ReaderID: "openapi-test"}, b, nil)
	if err != nil {
		t.Fatalf("directory.New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for name, run := range map[string]func(context.Context) error{"auth": a.Run, "inbox": in.Run, "directory": dir.Run} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Run returns nil once ctx ends, even while it is starting.
			err := run(ctx)
			if err != nil && !errors.Is(err, bus.ErrClosed) {
				t.Errorf("%s Run: %v", name, err)
			}
		}()
	}
	t.Cleanup(func() { cancel(); wg.Wait() })
	mux := http.NewServeMux()
	a.Routes(mux)
	in.Routes(mux)
	dir.Routes(mux, a)
	mountSearch(t, mux, b, a)
	mux.Handle("GET /api/v1/openapi.json", api.OpenAPIHandler())
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	bctx, bcancel := context.WithTimeout(ctx, waitLimit)
	defer bcancel()
	boot, created, err := a.EnsureBootstrap(bctx)
	if err != nil || !created {
		t.Fatalf("EnsureBootstrap = %v, %v", created, err)
	}
	waitSynced(t, in, "demo")
	return &hub{srv: srv, auth: a, inbox: in, boot: boot}
}

type reply struct {
	status int
	header http.Header
	body   []byte
}

func (h *hub) do(t *testing.T, method, path, cookie, csrf, body string) reply {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, h.srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if cookie != "" {
		req.AddCookie(&http.Cookie{Name: auth.CookieName, Value: cookie})
	}
	if csrf != "" {
		req.Header.Set("X-CSRF-Token", csrf)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return reply{status: res.StatusCode, header: res.Header, body: raw}
}

// concrete fills a path template's placeholders.
func concrete(path string) string {
	return placeholder.ReplaceAllStringFunc(path, func(p string) string {
		if p == "{tenant}" {
			return "demo"
		}
		return "placeholder-" + strings.Trim(p, "{}")
	})
}

// TestOpenAPICoversRoutes checks both directions: every documented
// operation reaches a handler of the real routes, and every route
// registered in webui/auth/http.go, webui/inbox/http.go and
// webui/directory/http.go is documented.
func TestOpenAPICoversRoutes(t *testing.T) {
	doc := served(t)
	h := startHub(t)
	documented := map[string]bool{}
	for _, o := range operations(t, doc) {
		documented[o.method+" "+o.path] = true
		// No cookie: a registered handler answers with the API's JSON (401
		// behind Authenticate, 415 for the login without a body, the
		// document itself); an unregistered pattern gets the mux's plain
		// "404 page not found" or "Method Not Allowed".
		r := h.do(t, o.method, concrete(o.path), "", "", "")
		mt, _, _ := mime.ParseMediaType(r.header.Get("Content-Type"))
		if mt != "application/json" || !json.Valid(r.body) {
			t.Errorf("%s %s: %d %q (%s): no handler is registered for the documented operation",
				o.method, o.path, r.status, bytes.TrimSpace(r.body), r.header.Get("Content-Type"))
			continue
		}
		if r.status >= 400 {
			var e api.ErrorBody
			if err := json.Unmarshal(r.body, &e); err != nil || e.Error.Code == "" {
				t.Errorf("%s %s: %d %s is not an API error body", o.method, o.path, r.status, r.body)
			}
		}
		if res, _ := o.op["responses"].(map[string]any); res[strconv.Itoa(r.status)] == nil {
			t.Errorf("%s %s: answered %d, which is not documented", o.method, o.path, r.status)
		}
	}
	for _, src := range []string{"../auth/http.go", "../inbox/http.go", "../directory/http.go", "../searchapi/http.go"} {
		routes := registeredRoutes(t, src)
		if len(routes) == 0 {
			t.Fatalf("%s: no route found; the pattern reader is broken", src)
		}
		for _, rt := range routes {
			if !documented[rt] {
				t.Errorf("%s registers %q, which openapi.json does not document", src, rt)
			}
		}
	}
}

var (
	handleCall  = regexp.MustCompile(`mux\.Handle(?:Func)?\(\s*([^,]+),`)
	anyHandle   = regexp.MustCompile(`mux\.Handle(?:Func)?\(`)
	stringConst = regexp.MustCompile(`(?m)^\s*(?:const\s+)?(\w+)\s*=\s*("[^"]*")\s*$`)
)

// registeredRoutes reads the patterns of every mux.Handle and
// mux.HandleFunc call in src: string literals joined with + to constants
// of the same file. Every call must be readable, so a new route cannot
// slip past the test.
func registeredRoutes(t *testing.T, src string) []string {
	t.Helper()
	raw, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	text := string(raw)
	consts := map[string]string{}
	for _, m := range stringConst.FindAllStringSubmatch(text, -1) {
		v, err := strconv.Unquote(m[2])
		if err == nil {
			consts[m[1]] = v
		}
	}
	calls := handleCall.FindAllStringSubmatch(text, -1)
	if n := len(anyHandle.FindAllString(text, -1)); n != len(calls) {
		t.Fatalf("%s: %d mux.Handle calls but %d readable patterns", src, n, len(calls))
	}
	var out []string
	for _, c := range calls {
		var b strings.Builder
		for _, part := range strings.Split(c[1], "+") {
			part = strings.TrimSpace(part)
			if v, err := strconv.Unquote(part); err == nil {
				b.WriteString(v)
			} else if v, ok := consts[part]; ok {
				b.WriteString(v)
			} else {
				t.Fatalf("%s: cannot read pattern %s (part %q)", src, c[1], part)
			}
		}
		method, path, ok := strings.Cut(b.String(), " ")
		if !ok || !strings.HasPrefix(path, "/api/v1/") {
			t.Fatalf("%s: pattern %q has no method or is not under /api/v1", src, b.String())
		}
		out = append(out, method+" "+path)
	}
	return out
}

// TestOpenAPIResponsesMatchSchemas sends real requests and validates the
// answers against the schema the document gives for their status.
func TestOpenAPIResponsesMatchSchemas(t *testing.T) {
	doc := served(t)
	h := startHub(t)
	check := func(method, path string, r reply) map[string]any {
		t.Helper()
		schema, err := responseSchema(doc, method, path, r.status)
		if err != nil {
			t.Fatalf("%s %s answered %d %s: %v", method, path, r.status, r.body, err)
		}
		var v any
		if err := json.Unmarshal(r.body, &v); err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		for _, p := range validate(doc, schema, v, "$") {
			t.Errorf("%s %s (%d): %s", method, path, r.status, p)
		}
		obj, _ := v.(map[string]any)
		return obj
	}

	r := h.do(t, "GET", "/api/v1/auth/me", "", "", "")
	check("GET", "/api/v1/auth/me", r)
	if r.status != 401 {
		t.Fatalf("me without a session: %d, want 401", r.status)
	}

	login := fmt.Sprintf(`{"tenant":%q,"login":%q,"password":%q}`, h.boot.Tenant, h.boot.Login, h.boot.Password)
	r = h.do(t, "POST", "/api/v1/auth/login", "", "", login)
	if r.status != 200 {
		t.Fatalf("login: %d %s", r.status, r.body)
	}
	sess := check("POST", "/api/v1/auth/login", r)
	var cookie string
	for _, c := range (&http.Response{Header: r.header}).Cookies() {
		if c.Name == auth.CookieName {
			cookie = c.Value
		}
	}
	csrf, _ := sess["csrf_token"].(string)
	if cookie == "" || csrf == "" {
		t.Fatalf("login gave cookie %q and csrf_token %q", cookie, csrf)
	}

	steps := []struct {
		method, path, body string
		want               int
	}{
		{"GET", "/api/v1/auth/me", "", 200},
		{"GET", "/api/v1/tenants", "", 200},
		{"POST", "/api/v1/tenants", `{"id":"acme","name":"Acme"}`, 201},
		{"POST", "/api/v1/tenants", `{"id":"acme","name":"Acme"}`, 409},
		{"POST", "/api/v1/tenants", `{"id":"acme","nope":1}`, 400},
		{"GET", "/api/v1/tenants/acme", "", 200},
		{"POST", "/api/v1/tenants/acme/accounts", `{"login":"agent1","role":"agent","password":"correct-horse-battery-42"}`, 201},
		{"GET", "/api/v1/tenants/acme/accounts", "", 200},
		{"GET", "/api/v1/tenants/demo/me", "", 200},
		{"GET", "/api/v1/tenants/demo/conversations?view=all", "", 200},
		{"GET", "/api/v1/tenants/demo/conversations/none", "", 404},
		{"GET", "/api/v1/tenants/acme/conversations", "", 404},
		{"PUT", "/api/v1/tenants/demo/conversations/none/tags", `{"tags":["vip"]}`, 404},
		{"PUT", "/api/v1/tenants/demo/conversations/none/tags", `{"tags":["not a tag"]}`, 400},
		{"PUT", "/api/v1/tenants/acme/skills/billing", `{"name":"Billing"}`, 201},
		{"PUT", "/api/v1/tenants/acme/skills/billing", `{"id":"other","name":"Billing"}`, 422},
		{"GET", "/api/v1/tenants/acme/skills", "", 200},
		{"PUT", "/api/v1/tenants/acme/queues/support", `{"name":"Support","channels":["chat","email"],"skills":["billing"],` +
			`"hours":{"timezone":"Europe/Paris","weekly":{"monday":["08:00-12:00"]},"holidays":[{"date":"2026-12-25","name":"Noël","open":[]}]}}`, 201},
		{"PUT", "/api/v1/tenants/acme/queues/back", `{"name":"Back","channels":["email"],"overflow_after_seconds":60,"overflow_queue":"support"}`, 201},
		{"PUT", "/api/v1/tenants/acme/queues/bad", `{"name":"","channels":[]}`, 422},
		{"PUT", "/api/v1/tenants/acme/queues/bad", `{"name":"Bad","colour":"red"}`, 400},
		{"GET", "/api/v1/tenants/acme/queues", "", 200},
		{"PUT", "/api/v1/tenants/acme/widget", `{"allowed_origins":["https://acme.example"],"default_queue":"support"}`, 200},
		{"GET", "/api/v1/tenants/acme/widget", "", 200},
		{"DELETE", "/api/v1/tenants/acme/queues/support", "", 409},
		{"DELETE", "/api/v1/tenants/acme/skills/nope", "", 404},
		{"PUT", "/api/v1/tenants/acme/canned-answers/hello", `{"kind":"answer","title":"Hello","text":"Hello {{customer.name}}","queues":["support"]}`, 201},
		{"GET", "/api/v1/tenants/acme/canned-answers?language=en", "", 200},
		{"GET", "/api/v1/tenants/acme/canned-answers?kind=poem", "", 422},
		{"GET", "/api/v1/tenants/acme/agents", "", 200},
		{"PUT", "/api/v1/tenants/acme/agents/nobody/profile", `{"capacity":{"chat":1}}`, 404},
		{"GET", "/api/v1/tenants/nowhere/queues", "", 404},
		{"GET", "/api/v1/tenants/demo/search?q=refund&facets=1", "", 200},
		{"GET", "/api/v1/tenants/demo/search?channel=chat&size=1", "", 200},
		{"GET", "/api/v1/tenants/demo/search?q=%22refund", "", 400},
		{"GET", "/api/v1/tenants/demo/search?size=many", "", 400},
		{"GET", "/api/v1/tenants/acme/search?q=refund", "", 404},
		{"GET", "/api/v1/tenants/demo/search/conversations/c1", "", 200},
		{"GET", "/api/v1/tenants/demo/search/conversations/none", "", 404},
		{"GET", "/api/v1/tenants/demo/contacts/k1/dossier", "", 200},
		{"GET", "/api/v1/tenants/demo/contacts/k1/dossier?size=x", "", 400},
		{"GET", "/api/v1/tenants/demo/contacts?name=alice", "", 200},
		{"GET", "/api/v1/tenants/demo/contacts", "", 400},
		{"POST", "/api/v1/tenants/demo/contacts/k1/merge", `{"merge_ids":["k2"]}`, 202},
		{"POST", "/api/v1/tenants/demo/contacts/k1/merge", `{"merge_ids":["k1"]}`, 422},
		{"POST", "/api/v1/tenants/demo/contacts/k1/unmerge", `{"ids":["k2"]}`, 422},
	}
	for _, s := range steps {
		csrfHeader := ""
		if s.method != "GET" {
			csrfHeader = csrf
		}
		r := h.do(t, s.method, s.path, cookie, csrfHeader, s.body)
		if r.status != s.want {
			t.Errorf("%s %s: %d %s, want %d", s.method, s.path, r.status, r.body, s.want)
			continue
		}
		check(s.method, s.path, r)
	}

	// An agent's routing profile, then the agents list showing it.
	agents := check("GET", "/api/v1/tenants/acme/agents", h.do(t, "GET", "/api/v1/tenants/acme/agents", cookie, "", ""))
	list, _ := agents["agents"].([]any)
	if len(list) != 1 {
		t.Fatalf("agents of acme: %v", agents)
	}
	id, _ := list[0].(map[string]any)["account_id"].(string)
	path := "/api/v1/tenants/acme/agents/" + id + "/profile"
	r = h.do(t, "PUT", path, cookie, csrf, `{"skills":["billing"],"capacity":{"chat":3,"voice":1,"email":5,"sms":3}}`)
	if r.status != 200 {
		t.Fatalf("PUT %s: %d %s", path, r.status, r.body)
	}
	check("PUT", path, r)
	agents = check("GET", "/api/v1/tenants/acme/agents", h.do(t, "GET", "/api/v1/tenants/acme/agents", cookie, "", ""))
	if p, _ := agents["agents"].([]any)[0].(map[string]any)["profile"].(map[string]any); p == nil {
		t.Errorf("the profile is not listed: %v", agents)
	}
}

func waitSynced(t *testing.T, in *inbox.Inbox, tenant string) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for !in.Synced(tenant) {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for the inbox to catch up with %s", tenant)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// responseSchema finds the documented JSON schema of a concrete request's
// answer: the operation whose path template matches, then its status.
func responseSchema(doc map[string]any, method, path string, status int) (any, error) {
	path, _, _ = strings.Cut(path, "?")
	paths := doc["paths"].(map[string]any)
	for tmpl, item := range paths {
		if !templateRegexp(tmpl).MatchString(path) {
			continue
		}
		o, ok := item.(map[string]any)[strings.ToLower(method)].(map[string]any)
		if !ok {
			continue
		}
		r, ok := o["responses"].(map[string]any)[strconv.Itoa(status)].(map[string]any)
		if !ok {
			return nil, fmt.Errorf("status %d is not documented for %s %s", status, method, tmpl)
		}
		content, _ := r["content"].(map[string]any)
		mt, _ := content["application/json"].(map[string]any)
		if mt == nil || mt["schema"] == nil {
			return nil, fmt.Errorf("%s %s %d documents no JSON body", method, tmpl, status)
		}
		return mt["schema"], nil
	}
	return nil, fmt.Errorf("no documented operation matches %s %s", method, path)
}

// templateRegexp matches the concrete paths of a path template.
func templateRegexp(tmpl string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString("^")
	last := 0
	for _, loc := range placeholder.FindAllStringIndex(tmpl, -1) {
		b.WriteString(regexp.QuoteMeta(tmpl[last:loc[0]]))
		b.WriteString("[^/]+")
		last = loc[1]
	}
	b.WriteString(regexp.QuoteMeta(tmpl[last:]))
	b.WriteString("$")
	return regexp.MustCompile(b.String())
}

// validate checks v against the JSON Schema subset the document uses:
// $ref, type, const, enum, required, properties, additionalProperties and
// items. It returns one line per problem.
func validate(doc map[string]any, schema any, v any, at string) []string {
	s, ok := schema.(map[string]any)
	if !ok {
		return []string{at + ": the schema is not an object"}
	}
	if ref, ok := s["$ref"].(string); ok {
		target, err := resolve(doc, ref)
		if err != nil {
			return []string{at + ": " + err.Error()}
		}
		return validate(doc, target, v, at)
	}
	if typ, ok := s["type"].(string); ok && !hasType(typ, v) {
		return []string{fmt.Sprintf("%s: %v is not of type %s", at, v, typ)}
	}
	var out []string
	if c, ok := s["const"]; ok && c != v {
		out = append(out, fmt.Sprintf("%s: %v, want %v", at, v, c))
	}
	if enum, ok := s["enum"].([]any); ok && !slices.Contains(enum, v) {
		out = append(out, fmt.Sprintf("%s: %v is not one of %v", at, v, enum))
	}
	switch x := v.(type) {
	case map[string]any:
		props, _ := s["properties"].(map[string]any)
		if req, ok := s["required"].([]any); ok {
			for _, name := range req {
				if _, ok := x[name.(string)]; !ok {
					out = append(out, fmt.Sprintf("%s: required %q is missing", at, name))
				}
			}
		}
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if ps, ok := props[k]; ok {
				out = append(out, validate(doc, ps, x[k], at+"."+k)...)
				continue
			}
			switch ap := s["additionalProperties"].(type) {
			case bool:
				if !ap {
					out = append(out, fmt.Sprintf("%s: %q is not documented", at, k))
				}
			case map[string]any:
				out = append(out, validate(doc, ap, x[k], at+"."+k)...)
			}
		}
	case []any:
		if items, ok := s["items"]; ok {
			for n, e := range x {
				out = append(out, validate(doc, items, e, fmt.Sprintf("%s[%d]", at, n))...)
			}
		}
	}
	return out
}

func hasType(typ string, v any) bool {
	switch typ {
	case "object":
		_, ok := v.(map[string]any)
		return ok
	case "array":
		_, ok := v.([]any)
		return ok
	case "string":
		_, ok := v.(string)
		return ok
	case "boolean":
		_, ok := v.(bool)
		return ok
	case "number":
		_, ok := v.(float64)
		return ok
	case "integer":
		f, ok := v.(float64)
		return ok && f == float64(int64(f))
	case "null":
		return v == nil
	}
	return false
}

// noMerges is the search API's merge sets before anything was merged; the
// indexer keeps the real ones.
type noMerges struct{}

func (noMerges) Set(_, id string) []string { return []string{id} }

// nobodyServes: no agent serves any contact (the hub's only account is an
// admin).
type nobodyServes struct{}

func (nobodyServes) ServesContact(_, _, _ string) bool { return false }

// mountSearch mounts webui/searchapi over an embedded index holding one
// conversation and two contacts of the demo tenant.
func mountSearch(t *testing.T, mux *http.ServeMux, b bus.Bus, a *auth.Auth) {
	t.Helper()
	idx, err := searchembedded.Open(t.TempDir())
	if err != nil {
		t.Fatalf("open index: %v", err)
	}
	t.Cleanup(func() { _ = idx.Close() })
	at := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	err = idx.Write(context.Background(), search.Batch{
		Conversations: []search.Conversation{{Tenant: "demo", ID: "c1", ContactID: "k1", Channel: "chat", Status: search.StatusResolved,
			Started: at, LastActivity: at, Tags: []string{"vip"}, Entries: []search.Entry{
				{ID: "m1", Kind: search.KindMessage, Direction: search.DirectionIn, Language: "en", Text: "Where is my refund?", Time: at},
				{ID: "n1", Kind: search.KindNote, AgentID: "x", Text: "Refund sent.", Time: at}}}},
		Contacts: []search.Contact{{Tenant: "demo", ID: "k1", Name: "Alice Martin", Phones: []string{"+33123456789"}, Emails: []string{"alice@example.com"}},
			{Tenant: "demo", ID: "k2", Name: "Alice M."}},
	})
	if err != nil {
		t.Fatalf("index write: %v", err)
	}
	x, err := searchapi.New(searchapi.Config{}, idx, noMerges{}, nobodyServes{}, b, a, nil)
	if err != nil {
		t.Fatalf("searchapi.New: %v", err)
	}
	x.Routes(mux)
}
