package e2e

import (
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"
)

// TestInboxJourney drives a customer on a shop's page (another origin than
// the hub, with the chat widget's script tag) and two agents in the inbox,
// each in its own browser context (see inbox.mjs for each step):
//  1. the customer writes; the admin, available, is offered the chat,
//     accepts it and replies; the customer sees the reply;
//  2. the admin transfers it with a note to a second agent, who sees the
//     thread and the note and replies; the customer sees that reply;
//  3. reloading the customer's page shows the whole thread again;
//     reloading the agent's page shows thread and note, and a new message
//     of the customer arrives live afterwards;
//  4. markup the customer writes is shown as text, never run, on both
//     sides.
func TestInboxJourney(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test; skipped with -short")
	}
	node, browser := prerequisites(t)
	h := startHub(t)
	base := uiURL(t, h.base())

	// The second agent, made as an admin would: an account, then a
	// routing profile for the starter queue's skill.
	admin := signInAPI(t, base, h.tenant, h.login, h.password)
	const agent2Login, agent2Name, agent2Password = "agent2", "Agent Two", "e2e-second-agent-password"
	var acc struct {
		ID string `json:"id"`
	}
	admin.call(t, "POST", "/api/v1/tenants/"+url.PathEscape(h.tenant)+"/accounts", map[string]any{
		"login": agent2Login, "display_name": agent2Name, "role": "agent", "password": agent2Password,
	}, http.StatusCreated, &acc)
	admin.call(t, "PUT", "/api/v1/tenants/"+url.PathEscape(h.tenant)+"/agents/"+url.PathEscape(acc.ID)+"/profile", map[string]any{
		"skills": []string{"general"}, "capacity": map[string]int{"chat": 3},
	}, http.StatusOK, nil)

	runScript(t, node, "inbox.mjs", "ok: inbox journey passed", 8*time.Minute,
		"HOTLINE_URL="+base,
		"SHOP_URL="+shop(t, base, h.tenant),
		"HOTLINE_LOGIN="+h.login,
		"HOTLINE_PASSWORD="+h.password,
		"AGENT2_ID="+acc.ID,
		"AGENT2_LOGIN="+agent2Login,
		"AGENT2_NAME="+agent2Name,
		"AGENT2_PASSWORD="+agent2Password,
		"CHROMIUM_PATH="+browser,
		"ARTIFACTS_DIR="+artifactsDir(t),
	)
}

// shop serves a customer's web site on its own origin: one page with the
// chat widget's script tag for tenant, loaded from the hub at hubBase.
func shop(t *testing.T, hubBase, tenant string) string {
	t.Helper()
	page := fmt.Sprintf(`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Demo shop</title><link rel="icon" href="data:,"></head>
<body>
<h1>Demo shop</h1>
<p>Questions about your order? Chat with us.</p>
<script src="%s/chat/widget.js" data-tenant="%s" async></script>
</body>
</html>
`, html.EscapeString(hubBase), html.EscapeString(tenant))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = io.WriteString(w, page)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}
