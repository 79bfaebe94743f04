package e2e

import (
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hotline-hub/hotline/search/searchtest"
)

// TestSearchJourney drives the analysts' search page and the agents'
// dossier panel in chromium (see search.mjs for each step). Customers write
// through the chat widget on shop pages, in French, Russian and English
// (corpus texts), one of them with markup; a customer of another tenant
// writes the same Russian sentence. Then:
//  1. an analyst finds the Russian conversation with another inflected
//     form of its word, the match highlighted by a <mark> and the
//     customer's markup shown as text in the hit and its highlight; never
//     the other tenant's conversation;
//  2. the analyst narrows the results with a date filter and a channel
//     facet, opens the conversation and reads its thread, with no way to
//     reply, here or in the inbox;
//  3. an agent serves a customer, resolves the chat; the customer comes
//     back, and the agent, accepting the new chat, sees the earlier
//     conversation in the dossier panel with the counts by channel, and
//     reads it there.
func TestSearchJourney(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test; skipped with -short")
	}
	node, browser := prerequisites(t)
	texts := searchTexts(t)
	h := startHub(t)
	base := uiURL(t, h.base())
	admin := signInAPI(t, base, h.tenant, h.login, h.password)
	tenantPath := "/api/v1/tenants/" + url.PathEscape(h.tenant)

	// The tenant's analyst.
	const analystLogin, analystPassword = "ana", "e2e-analyst-password"
	admin.call(t, "POST", tenantPath+"/accounts", map[string]any{
		"login": analystLogin, "display_name": "Ana Analyst", "role": "analyst", "password": analystPassword,
	}, http.StatusCreated, nil)

	// A queue of its own for the returning customer, served only by the
	// agent of the dossier step: the other customers wait in the starter
	// queue, which that agent's skills do not reach.
	const returnsQueue = "returns"
	admin.call(t, "PUT", tenantPath+"/skills/"+returnsQueue, map[string]any{"name": "Returns"}, http.StatusCreated, nil)
	admin.call(t, "PUT", tenantPath+"/queues/"+returnsQueue, map[string]any{
		"name": "Returns", "channels": []string{"chat"}, "skills": []string{returnsQueue},
		"hours": map[string]any{"timezone": "UTC", "always_open": true},
	}, http.StatusCreated, nil)
	const agentLogin, agentName, agentPassword = "rita", "Rita Returns", "e2e-returns-agent-password"
	var agent struct {
		ID string `json:"id"`
	}
	admin.call(t, "POST", tenantPath+"/accounts", map[string]any{
		"login": agentLogin, "display_name": agentName, "role": "agent", "password": agentPassword,
	}, http.StatusCreated, &agent)
	admin.call(t, "PUT", tenantPath+"/agents/"+url.PathEscape(agent.ID)+"/profile", map[string]any{
		"skills": []string{returnsQueue}, "capacity": map[string]int{"chat": 2},
	}, http.StatusOK, nil)

	// Another tenant, made by the first-start admin as hub operator, with
	// a chat queue, its widget, and an analyst of its own.
	const otherTenant = "other-shop"
	otherPath := "/api/v1/tenants/" + otherTenant
	admin.call(t, "POST", "/api/v1/tenants", map[string]any{"id": otherTenant, "name": "Other shop", "language": "ru"},
		http.StatusCreated, nil)
	admin.call(t, "PUT", otherPath+"/skills/general", map[string]any{"name": "General"}, http.StatusCreated, nil)
	admin.call(t, "PUT", otherPath+"/queues/support", map[string]any{
		"name": "Support", "channels": []string{"chat"}, "skills": []string{"general"},
		"hours": map[string]any{"timezone": "UTC", "always_open": true},
	}, http.StatusCreated, nil)
	admin.call(t, "PUT", otherPath+"/widget", map[string]any{"allowed_origins": []string{"*"}, "default_queue": "support"},
		http.StatusOK, nil)
	const otherAnalystLogin, otherAnalystPassword = "olga", "e2e-other-analyst-password"
	admin.call(t, "POST", otherPath+"/accounts", map[string]any{
		"login": otherAnalystLogin, "display_name": "Olga Analyst", "role": "analyst", "password": otherAnalystPassword,
	}, http.StatusCreated, nil)

	textsJSON, err := json.Marshal(texts)
	if err != nil {
		t.Fatal(err)
	}
	runScript(t, node, "search.mjs", "ok: search journey passed", 8*time.Minute,
		"HOTLINE_URL="+base,
		"SHOP_URL="+searchShops(t, base),
		"HOTLINE_TENANT="+h.tenant,
		"OTHER_TENANT="+otherTenant,
		"RETURNS_QUEUE="+returnsQueue,
		"ANALYST_LOGIN="+analystLogin,
		"ANALYST_PASSWORD="+analystPassword,
		"OTHER_ANALYST_LOGIN="+otherAnalystLogin,
		"OTHER_ANALYST_PASSWORD="+otherAnalystPassword,
		"AGENT_LOGIN="+agentLogin,
		"AGENT_NAME="+agentName,
		"AGENT_PASSWORD="+agentPassword,
		"SEARCH_TEXTS="+string(textsJSON),
		"CHROMIUM_PATH="+browser,
		"ARTIFACTS_DIR="+artifactsDir(t),
	)

	// The page showed the analyst no way to write; the API agrees.
	t.Run("analyst may not merge contacts", func(t *testing.T) {
		ana := signInAPI(t, base, h.tenant, analystLogin, analystPassword)
		ana.call(t, "POST", tenantPath+"/contacts/someone/merge", map[string]any{"merge_ids": []string{"someone-else"}},
			http.StatusForbidden, nil)
	})
}

// journeyTexts are what the customers of TestSearchJourney write and what
// the analyst looks for.
type journeyTexts struct {
	// French, Russian and English are corpus sentences; Russian contains
	// RussianWord, which RussianQuery (another inflected form) must find.
	French       string `json:"french"`
	Russian      string `json:"russian"`
	English      string `json:"english"`
	RussianWord  string `json:"russian_word"`
	RussianQuery string `json:"russian_query"`
	// OtherOnly is a word only the other tenant's customer writes.
	OtherOnly string `json:"other_only"`
	// Returning is the returning customer's first message, Again their
	// message when they come back.
	Returning string `json:"returning"`
	Again     string `json:"again"`
}

// searchTexts picks the customers' messages from the shared corpus: the
// shortest Russian sentence with the word звонки (so that the whole
// message, markup included, is one highlight fragment), a French and an
// English one.
func searchTexts(t *testing.T) journeyTexts {
	t.Helper()
	corpus := searchtest.Corpus(t)
	const word, query = "звонки", "звонками"
	pick := func(lang string, ok func(string) bool) string {
		var best string
		for _, s := range corpus[lang] {
			if ok(s) && (best == "" || len(s) < len(best)) {
				best = s
			}
		}
		if best == "" {
			t.Fatalf("no %s sentence of the corpus fits", lang)
		}
		return best
	}
	wordRE := regexp.MustCompile(`(^|[^\p{L}])` + word + `([^\p{L}]|$)`)
	return journeyTexts{
		French:       pick("fr", func(s string) bool { return strings.Contains(s, " appels ") && len(s) < 200 }),
		Russian:      pick("ru", wordRE.MatchString),
		English:      pick("en", func(s string) bool { return strings.Contains(s, "refund") }),
		RussianWord:  word,
		RussianQuery: query,
		OtherOnly:    "Ксилофонщик",
		Returning:    "Hello, my parcel 4711 has not arrived yet.",
		Again:        "Hello again, parcel 4711 is still missing.",
	}
}

// searchShops serves the customers' pages on one origin other than the
// hub's: /{tenant}/{queue} is a page with the chat widget for that tenant
// and queue ("-" for the tenant's default queue).
func searchShops(t *testing.T, hubBase string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tenant, queue, ok := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
		if !ok || tenant == "" || queue == "" || strings.Contains(queue, "/") {
			http.NotFound(w, r)
			return
		}
		queueAttr := ""
		if queue != "-" {
			queueAttr = fmt.Sprintf(` data-queue="%s"`, html.EscapeString(queue))
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = fmt.Fprintf(w, `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Shop of %[2]s</title><link rel="icon" href="data:,"></head>
<body>
<h1>Shop of %[2]s</h1>
<script src="%[1]s/chat/widget.js" data-tenant="%[2]s"%[3]s async></script>
</body>
</html>
`, html.EscapeString(hubBase), html.EscapeString(tenant), queueAttr)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}
