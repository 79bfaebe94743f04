package e2e

import (
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestAdminJourney drives the admin pages in chromium as the first-start
// admin: a skill, a queue with channels, a required skill, a weekly
// schedule running past midnight and holidays (an unknown time zone
// refused beside the hours), an account whose one-time password is shown
// once and signs it in, its routing profile, a refused delete of a skill
// in use, a canned answer with a placeholder, the chat widget's settings;
// and a supervisor refused the widget page (see admin.mjs for each step).
// Afterwards it reads back through the JSON API what the pages saved, so
// the test proves the hub stored it, not only that the page showed it.
func TestAdminJourney(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test; skipped with -short")
	}
	node, browser := prerequisites(t)
	h := startHub(t)
	base := uiURL(t, h.base())
	tenantPath := "/api/v1/tenants/" + url.PathEscape(h.tenant)

	admin := signInAPI(t, base, h.tenant, h.login, h.password)
	const supervisorLogin, supervisorPassword = "sam", "e2e-supervisor-password"
	admin.call(t, "POST", tenantPath+"/accounts", map[string]any{
		"login": supervisorLogin, "display_name": "Sam Supervisor", "role": "supervisor", "password": supervisorPassword,
	}, http.StatusCreated, nil)

	runScript(t, node, "admin.mjs", "ok: admin journey passed", 8*time.Minute,
		"HOTLINE_URL="+base,
		"HOTLINE_TENANT="+h.tenant,
		"HOTLINE_LOGIN="+h.login,
		"HOTLINE_PASSWORD="+h.password,
		"SUPERVISOR_LOGIN="+supervisorLogin,
		"SUPERVISOR_PASSWORD="+supervisorPassword,
		"CHROMIUM_PATH="+browser,
		"ARTIFACTS_DIR="+artifactsDir(t),
	)

	// What admin.mjs saved, read back through the API.
	t.Run("skill", func(t *testing.T) {
		var got struct {
			Skills []struct{ ID, Name string } `json:"skills"`
		}
		admin.call(t, "GET", tenantPath+"/skills", nil, http.StatusOK, &got)
		i := slices.IndexFunc(got.Skills, func(s struct{ ID, Name string }) bool { return s.ID == "francais" })
		if i < 0 {
			t.Fatalf("skill francais not listed: %+v", got.Skills)
		}
		if got.Skills[i].Name != "Français" {
			t.Errorf("skill francais is named %q, want %q", got.Skills[i].Name, "Français")
		}
	})

	t.Run("queue", func(t *testing.T) { checkQueue(t, admin, tenantPath) })

	var aliceID string
	t.Run("account", func(t *testing.T) {
		var got struct {
			Accounts []struct {
				ID          string `json:"id"`
				Login       string `json:"login"`
				DisplayName string `json:"display_name"`
				Role        string `json:"role"`
				Disabled    bool   `json:"disabled"`
			} `json:"accounts"`
		}
		admin.call(t, "GET", tenantPath+"/accounts", nil, http.StatusOK, &got)
		for _, a := range got.Accounts {
			if a.Login != "alice" {
				continue
			}
			aliceID = a.ID
			if a.DisplayName != "Alice <b>Martin</b>" || a.Role != "agent" || a.Disabled {
				t.Errorf("alice is %+v, want display name %q, role agent, enabled", a, "Alice <b>Martin</b>")
			}
			return
		}
		t.Fatalf("account alice not listed: %+v", got.Accounts)
	})

	t.Run("profile", func(t *testing.T) {
		if aliceID == "" {
			t.Skip("no account alice")
		}
		var got struct {
			Agents []struct {
				AccountID string `json:"account_id"`
				Profile   *struct {
					Skills   []string       `json:"skills"`
					Capacity map[string]int `json:"capacity"`
				} `json:"profile"`
			} `json:"agents"`
		}
		admin.call(t, "GET", tenantPath+"/agents", nil, http.StatusOK, &got)
		for _, a := range got.Agents {
			if a.AccountID != aliceID {
				continue
			}
			if a.Profile == nil {
				t.Fatal("alice has no routing profile")
			}
			if !slices.Equal(a.Profile.Skills, []string{"francais"}) {
				t.Errorf("alice's skills are %q, want [francais]", a.Profile.Skills)
			}
			maps.DeleteFunc(a.Profile.Capacity, func(_ string, n int) bool { return n == 0 })
			if want := map[string]int{"chat": 4}; !maps.Equal(a.Profile.Capacity, want) {
				t.Errorf("alice's capacity is %v, want %v", a.Profile.Capacity, want)
			}
			return
		}
		t.Fatalf("alice (%s) not among the agents", aliceID)
	})

	t.Run("canned answer", func(t *testing.T) {
		type answer struct {
			ID       string   `json:"id"`
			Kind     string   `json:"kind"`
			Title    string   `json:"title"`
			Text     string   `json:"text"`
			Language string   `json:"language"`
			Shortcut string   `json:"shortcut"`
			Queues   []string `json:"queues"`
		}
		var got struct {
			Answers []answer `json:"canned_answers"`
		}
		admin.call(t, "GET", tenantPath+"/canned-answers?queue=sales-fr", nil, http.StatusOK, &got)
		want := answer{
			ID: "welcome-back", Kind: "answer", Title: "Welcome back", Text: "Hello {{customer.name}}, how can I help?",
			Language: "en", Shortcut: "welcome", Queues: []string{"sales-fr"},
		}
		i := slices.IndexFunc(got.Answers, func(a answer) bool { return a.ID == want.ID })
		if i < 0 {
			t.Fatalf("canned answer %s not listed for queue sales-fr: %+v", want.ID, got.Answers)
		}
		a := got.Answers[i]
		if a.Kind != want.Kind || a.Title != want.Title || a.Text != want.Text || a.Language != want.Language ||
			a.Shortcut != want.Shortcut || !slices.Equal(a.Queues, want.Queues) {
			t.Errorf("canned answer is\n%+v\nwant\n%+v", a, want)
		}
	})

	t.Run("widget", func(t *testing.T) {
		var got struct {
			AllowedOrigins []string `json:"allowed_origins"`
			DefaultQueue   string   `json:"default_queue"`
			Snippet        string   `json:"snippet"`
		}
		admin.call(t, "GET", tenantPath+"/widget", nil, http.StatusOK, &got)
		if want := []string{"https://shop.example.com", "http://localhost:8080"}; !slices.Equal(got.AllowedOrigins, want) {
			t.Errorf("allowed origins are %q, want %q", got.AllowedOrigins, want)
		}
		if got.DefaultQueue != "sales-fr" {
			t.Errorf("default queue is %q, want sales-fr", got.DefaultQueue)
		}
		if !strings.Contains(got.Snippet, `data-queue="sales-fr"`) {
			t.Errorf("snippet %q does not name queue sales-fr", got.Snippet)
		}
	})

	// The page refused the supervisor; so must the API.
	t.Run("supervisor may not change the widget", func(t *testing.T) {
		sup := signInAPI(t, base, h.tenant, supervisorLogin, supervisorPassword)
		sup.call(t, "PUT", tenantPath+"/widget", map[string]any{"allowed_origins": []string{"*"}, "default_queue": ""},
			http.StatusForbidden, nil)
	})
}

// checkQueue reads queue sales-fr through the API and compares it with
// what admin.mjs saved.
func checkQueue(t *testing.T, s *apiSession, tenantPath string) {
	t.Helper()
	type holiday struct {
		Date string   `json:"date"`
		Name string   `json:"name"`
		Open []string `json:"open"`
	}
	type queue struct {
		ID       string   `json:"id"`
		Name     string   `json:"name"`
		Channels []string `json:"channels"`
		Skills   []string `json:"skills"`
		Priority int      `json:"priority"`
		Hours    *struct {
			TimeZone   string              `json:"timezone"`
			AlwaysOpen bool                `json:"always_open"`
			Weekly     map[string][]string `json:"weekly"`
			Holidays   []holiday           `json:"holidays"`
		} `json:"hours"`
	}
	var got struct {
		Queues []queue `json:"queues"`
	}
	s.call(t, "GET", tenantPath+"/queues", nil, http.StatusOK, &got)
	i := slices.IndexFunc(got.Queues, func(q queue) bool { return q.ID == "sales-fr" })
	if i < 0 {
		t.Fatalf("queue sales-fr not listed: %+v", got.Queues)
	}
	q := got.Queues[i]
	if q.Name != "Sales FR" || !slices.Equal(q.Channels, []string{"chat", "voice"}) || !slices.Equal(q.Skills, []string{"francais"}) || q.Priority != 2 {
		t.Errorf("queue is %+v, want name Sales FR, channels [chat voice], skills [francais], priority 2", q)
	}
	if q.Hours == nil {
		t.Fatal("queue sales-fr has no hours")
	}
	if q.Hours.TimeZone != "Europe/Paris" || q.Hours.AlwaysOpen {
		t.Errorf("hours in %q, always open %v; want Europe/Paris, not always open", q.Hours.TimeZone, q.Hours.AlwaysOpen)
	}
	office := []string{"09:00-17:00"}
	wantWeek := map[string][]string{
		"monday": office, "tuesday": office, "wednesday": office, "thursday": office, "friday": office,
		"saturday": {"22:00-06:00"},
	}
	if !maps.EqualFunc(q.Hours.Weekly, wantWeek, slices.Equal) {
		t.Errorf("weekly hours are %v, want %v", q.Hours.Weekly, wantWeek)
	}
	wantHolidays := []holiday{
		{Date: "2026-12-25", Name: "Noël"},
		{Date: "2026-12-31", Name: "New Year's Eve", Open: []string{"10:00-14:00"}},
	}
	if !slices.EqualFunc(q.Hours.Holidays, wantHolidays, func(a, b holiday) bool {
		return a.Date == b.Date && a.Name == b.Name && slices.Equal(a.Open, b.Open)
	}) {
		t.Errorf("holidays are %+v, want %+v", q.Hours.Holidays, wantHolidays)
	}
}
