package directory

import (
	"reflect"
	"strings"
	"testing"

	"github.com/hotline-hub/hotline/routing/hours"
)

// wantError checks an error answer's status, code and field.
func wantError(t *testing.T, res response, status int, code, field string) {
	t.Helper()
	b := res.errBody()
	if res.status != status || b.Error.Code != code || b.Error.Field != field {
		t.Errorf("got %d %s, want %d code %q field %q", res.status, res.body, status, code, field)
	}
}

// TestEndpoints walks every endpoint as a tenant admin: success, 422
// naming the field, unknown JSON fields, unknown ids and "in use".
func TestEndpoints(t *testing.T) {
	e := startEnv(t, openBus(t))
	op := e.bootstrap()
	op.mustCreateTenant("acme", "fr")
	admin := op.mustCreateAccount("acme", "boss", "Zoé Boss", "admin")
	agent := op.mustCreateAccount("acme", "ann", "Ann Agent", "agent")
	sup := op.mustCreateAccount("acme", "sam", "sam supervisor", "supervisor")
	analyst := op.mustCreateAccount("acme", "ana", "Ana Analyst", "analyst")
	c := e.login("acme", "boss", testPassword)
	const base = "/api/v1/tenants/acme/"

	// An empty directory.
	var queues struct{ Queues []Queue }
	c.must(200, "GET", base+"queues", nil).decode(t, &queues)
	if queues.Queues == nil || len(queues.Queues) != 0 {
		t.Errorf("empty queues: %+v", queues)
	}
	res := c.must(200, "GET", base+"widget", nil)
	if got := string(res.body); !strings.Contains(got, `"allowed_origins":[]`) || !strings.Contains(got, `"default_queue":""`) ||
		strings.Contains(got, "data-queue") {
		t.Errorf("unconfigured widget: %s", got)
	}

	t.Run("skills", func(t *testing.T) {
		var sk Skill
		c.must(201, "PUT", base+"skills/billing", map[string]any{"name": "Billing"}).decode(t, &sk)
		if sk != (Skill{ID: "billing", Name: "Billing"}) {
			t.Errorf("created %+v", sk)
		}
		c.must(200, "PUT", base+"skills/billing", map[string]any{"id": "billing", "name": "Facturation"}).decode(t, &sk)
		if sk.Name != "Facturation" {
			t.Errorf("renamed %+v", sk)
		}
		c.must(201, "PUT", base+"skills/german", map[string]any{"name": "German"})
		wantError(t, c.request("PUT", base+"skills/Bad", map[string]any{"name": "x"}), 422, "invalid_field", "id")
		wantError(t, c.request("PUT", base+"skills/x", map[string]any{"name": ""}), 422, "invalid_field", "name")
		wantError(t, c.request("PUT", base+"skills/x", map[string]any{"id": "y", "name": "X"}), 422, "invalid_field", "id")
		wantError(t, c.request("PUT", base+"skills/x", map[string]any{"name": "X", "nope": 1}), 400, "unknown_field", "nope")
		wantError(t, c.request("PUT", base+"skills/x", `{"name":`), 400, "invalid_json", "")
		wantError(t, c.request("DELETE", base+"skills/none", nil), 404, "not_found", "")
		var list struct{ Skills []Skill }
		c.must(200, "GET", base+"skills", nil).decode(t, &list)
		if want := []Skill{{"billing", "Facturation"}, {"german", "German"}}; !reflect.DeepEqual(list.Skills, want) {
			t.Errorf("skills %+v, want %+v", list.Skills, want)
		}
	})

	support := Queue{ID: "support", Name: "Support", Channels: []string{"chat", "email"}, Skills: []string{"billing"}, Priority: 2,
		Hours: &hours.Config{TimeZone: "Europe/Paris", Weekly: map[string][]string{"monday": {"08:00-12:00", "14:00-18:00"}},
			Holidays: []hours.Holiday{{Date: "2026-12-25", Name: "Noël", Open: []string{}}}},
		OfferTimeoutSeconds: 20}
	t.Run("queues", func(t *testing.T) {
		body := map[string]any{"name": support.Name, "channels": support.Channels, "skills": support.Skills,
			"priority": 2, "hours": support.Hours, "offer_timeout_seconds": 20}
		var q Queue
		c.must(201, "PUT", base+"queues/support", body).decode(t, &q)
		if !reflect.DeepEqual(q, support) {
			t.Errorf("created %+v, want %+v", q, support)
		}
		c.must(200, "PUT", base+"queues/support", body)
		c.must(201, "PUT", base+"queues/escalation", map[string]any{"name": "Escalation", "channels": []string{"voice"}})
		body["overflow_after_seconds"], body["overflow_queue"] = 90, "escalation"
		c.must(200, "PUT", base+"queues/support", body).decode(t, &q)
		if q.OverflowAfterSeconds != 90 || q.OverflowQueue != "escalation" {
			t.Errorf("overflow not saved: %+v", q)
		}
		e.s.mu.RLock()
		ms := e.s.tenants["acme"].queues["support"].OverflowAfterMs
		e.s.mu.RUnlock()
		if ms != 90000 {
			t.Errorf("the event says overflow after %d ms, want 90000", ms)
		}
		support = q

		tests := []struct {
			name  string
			path  string
			body  any
			field string
			msg   []string
		}{
			{"unknown skill", "queues/q", map[string]any{"name": "Q", "channels": []string{"sms"}, "skills": []string{"billing", "nope"}}, "skills[1]", []string{"catalogue"}},
			{"unknown overflow", "queues/q", map[string]any{"name": "Q", "channels": []string{"sms"}, "overflow_after_seconds": 5, "overflow_queue": "nope"}, "overflow_queue", nil},
			{"overflow without queue", "queues/q", map[string]any{"name": "Q", "channels": []string{"sms"}, "overflow_after_seconds": 5}, "overflow_queue", []string{"overflow_after_seconds is set"}},
			{"negative seconds", "queues/q", map[string]any{"name": "Q", "channels": []string{"sms"}, "offer_timeout_seconds": -5}, "offer_timeout_seconds", []string{"-5 is negative"}},
			{"every problem listed", "queues/q", map[string]any{"name": "", "channels": []string{}}, "name", []string{"name is empty", "channels is empty"}},
			{"bad channel", "queues/q", map[string]any{"name": "Q", "channels": []string{"fax"}}, "channels[0]", nil},
			{"bad hours", "queues/q", map[string]any{"name": "Q", "channels": []string{"sms"}, "hours": map[string]any{"timezone": "Mars/Base", "always_open": true}}, "hours", []string{"Mars/Base"}},
			{"id differs", "queues/q", map[string]any{"id": "other", "name": "Q", "channels": []string{"sms"}}, "id", nil},
			{"bad id", "queues/Q!", map[string]any{"name": "Q", "channels": []string{"sms"}}, "id", nil},
			{"itself", "queues/q", map[string]any{"name": "Q", "channels": []string{"sms"}, "overflow_after_seconds": 5, "overflow_queue": "q"}, "overflow_queue", []string{"itself"}},
		}
		for _, tt := range tests {
			res := c.request("PUT", base+tt.path, tt.body)
			wantError(t, res, 422, "invalid_field", tt.field)
			for _, m := range tt.msg {
				if !strings.Contains(res.errBody().Error.Message, m) {
					t.Errorf("%s: message %q lacks %q", tt.name, res.errBody().Error.Message, m)
				}
			}
			if strings.Contains(string(res.body), "_ms") {
				t.Errorf("%s: the message speaks of the events' milliseconds: %s", tt.name, res.body)
			}
		}
		wantError(t, c.request("PUT", base+"queues/q", map[string]any{"name": "Q", "channels": []string{"sms"}, "colour": "red"}), 400, "unknown_field", "colour")
		wantError(t, c.request("PUT", base+"queues/q", map[string]any{"name": "Q", "channels": []string{"sms"}, "hours": map[string]any{"tz": "UTC"}}), 400, "unknown_field", "tz")
		if _, ok := e.s.Queue("acme", "q"); ok {
			t.Error("a refused queue was saved")
		}
		wantError(t, c.request("DELETE", base+"queues/nope", nil), 404, "not_found", "")
		res := c.request("DELETE", base+"queues/escalation", nil)
		wantError(t, res, 409, "in_use", "")
		if !strings.Contains(res.errBody().Error.Message, "support") {
			t.Errorf("in-use message does not name the overflowing queue: %s", res.body)
		}
		c.must(201, "PUT", base+"queues/spare", map[string]any{"name": "Spare", "channels": []string{"sms"}})
		c.must(204, "DELETE", base+"queues/spare", nil)
		c.must(200, "GET", base+"queues", nil).decode(t, &queues)
		if len(queues.Queues) != 2 || queues.Queues[0].ID != "escalation" || !reflect.DeepEqual(queues.Queues[1], support) {
			t.Errorf("queues %+v", queues.Queues)
		}
	})

	t.Run("widget", func(t *testing.T) {
		var wv widgetView
		c.must(200, "PUT", base+"widget", map[string]any{"allowed_origins": []string{"https://www.acme.example"}, "default_queue": "support"}).decode(t, &wv)
		want := `<script src="http://example.com/chat/widget.js" data-tenant="acme" data-queue="support" async></script>`
		if wv.Snippet != want || wv.DefaultQueue != "support" || !reflect.DeepEqual(wv.AllowedOrigins, []string{"https://www.acme.example"}) {
			t.Errorf("widget %+v, want snippet %s", wv, want)
		}
		c.must(200, "GET", base+"widget", nil).decode(t, &wv)
		if wv.Snippet != want {
			t.Errorf("GET widget snippet %s", wv.Snippet)
		}
		wantError(t, c.request("PUT", base+"widget", map[string]any{"default_queue": "escalation"}), 422, "invalid_field", "default_queue")
		wantError(t, c.request("PUT", base+"widget", map[string]any{"default_queue": "nope"}), 422, "invalid_field", "default_queue")
		wantError(t, c.request("PUT", base+"widget", map[string]any{"allowed_origins": []string{"ftp://x"}}), 422, "invalid_field", "allowed_origins[0]")
		wantError(t, c.request("PUT", base+"widget", map[string]any{"allowed_origins": []string{}, "theme": "dark"}), 400, "unknown_field", "theme")
		// The widget's queue keeps taking chat, and stays.
		wantError(t, c.request("PUT", base+"queues/support", map[string]any{"name": "Support", "channels": []string{"email"}}), 422, "invalid_field", "channels")
		res := c.request("DELETE", base+"queues/support", nil)
		wantError(t, res, 409, "in_use", "")
		if !strings.Contains(res.errBody().Error.Message, "widget") {
			t.Errorf("in-use message does not name the widget: %s", res.body)
		}
	})

	t.Run("agents", func(t *testing.T) {
		var a Agent
		body := map[string]any{"skills": []string{"billing"}, "capacity": map[string]int{"chat": 3, "voice": 1, "email": 5, "sms": 3}}
		c.must(200, "PUT", base+"agents/"+agent.ID+"/profile", body).decode(t, &a)
		want := Agent{AccountID: agent.ID, Login: "ann", DisplayName: "Ann Agent", Role: "agent",
			Profile: &Profile{Skills: []string{"billing"}, Capacity: Capacity{Chat: 3, Voice: 1, Email: 5, SMS: 3}}}
		if !reflect.DeepEqual(a, want) {
			t.Errorf("profile set: %+v", a)
		}
		c.must(200, "PUT", base+"agents/"+sup.ID+"/profile", map[string]any{"capacity": map[string]int{"voice": 1}})
		wantError(t, c.request("PUT", base+"agents/nobody/profile", body), 404, "not_found", "")
		wantError(t, c.request("PUT", base+"agents/"+agent.ID+"/profile", map[string]any{"skills": []string{"nope"}, "capacity": map[string]int{"chat": 1}}), 422, "invalid_field", "skills[0]")
		wantError(t, c.request("PUT", base+"agents/"+agent.ID+"/profile", map[string]any{"capacity": map[string]int{"chat": 0}}), 422, "invalid_field", "capacity")
		wantError(t, c.request("PUT", base+"agents/"+agent.ID+"/profile", map[string]any{"capacity": map[string]int{"chat": -1, "sms": 2}}), 422, "invalid_field", "capacity.chat")
		wantError(t, c.request("PUT", base+"agents/"+agent.ID+"/profile", map[string]any{"capacity": map[string]int{"fax": 1}}), 400, "unknown_field", "fax")
		wantError(t, c.request("PUT", base+"agents/"+analyst.ID+"/profile", body), 422, "invalid_field", "account_id")
		var list struct{ Agents []Agent }
		c.must(200, "GET", base+"agents", nil).decode(t, &list)
		var names []string
		for _, a := range list.Agents {
			names = append(names, a.DisplayName)
			if (a.Profile != nil) != (a.AccountID == agent.ID || a.AccountID == sup.ID) {
				t.Errorf("agent %s profile %+v", a.DisplayName, a.Profile)
			}
		}
		if want := []string{"Ann Agent", "sam supervisor", "Zoé Boss"}; !reflect.DeepEqual(names, want) {
			t.Errorf("agents %v, want %v (by display name, no analyst)", names, want)
		}
		if !strings.Contains(string(c.must(200, "GET", base+"agents", nil).body), `"profile":null`) {
			t.Error("an agent without a profile does not show profile null")
		}
		// A skill in use by a queue and an agent.
		res := c.request("DELETE", base+"skills/billing", nil)
		wantError(t, res, 409, "in_use", "")
		if m := res.errBody().Error.Message; !strings.Contains(m, "support") || !strings.Contains(m, "Ann Agent") {
			t.Errorf("in-use message does not name the queue and the agent: %s", m)
		}
		c.must(204, "DELETE", base+"agents/"+sup.ID+"/profile", nil)
		wantError(t, c.request("DELETE", base+"agents/"+sup.ID+"/profile", nil), 404, "not_found", "")
		wantError(t, c.request("DELETE", base+"agents/nobody/profile", nil), 404, "not_found", "")
		c.must(204, "DELETE", base+"skills/german", nil)
		_ = admin
	})

	t.Run("canned answers", func(t *testing.T) {
		hello := Answer{ID: "hello", Kind: "answer", Title: "Bonjour", Text: "Bonjour {{customer.name}}, ici {{agent.name}}.",
			Language: "fr", Shortcut: "bonjour", Queues: []string{"support"}}
		var a Answer
		c.must(201, "PUT", base+"canned-answers/hello", map[string]any{"kind": hello.Kind, "title": hello.Title, "text": hello.Text,
			"language": "fr", "shortcut": "bonjour", "queues": hello.Queues}).decode(t, &a)
		if !reflect.DeepEqual(a, hello) {
			t.Errorf("created %+v", a)
		}
		c.must(201, "PUT", base+"canned-answers/identify", map[string]any{"kind": "script", "title": "appel: identifier", "text": "1. Case {{case.number}}"})
		c.must(201, "PUT", base+"canned-answers/bye", map[string]any{"kind": "answer", "title": "Goodbye", "text": "Bye", "language": "en", "queues": []string{"escalation"}})
		c.must(200, "PUT", base+"canned-answers/bye", map[string]any{"kind": "answer", "title": "Goodbye", "text": "Bye!", "language": "en", "queues": []string{"escalation"}})
		ids := func(query string) []string {
			var list struct {
				CannedAnswers []Answer `json:"canned_answers"`
			}
			c.must(200, "GET", base+"canned-answers"+query, nil).decode(t, &list)
			out := []string{}
			for _, a := range list.CannedAnswers {
				out = append(out, a.ID)
			}
			return out
		}
		for query, want := range map[string][]string{
			"":                           {"identify", "hello", "bye"}, // by title: appel, Bonjour, Goodbye
			"?kind=script":               {"identify"},
			"?language=fr":               {"identify", "hello"},
			"?queue=escalation":          {"identify", "bye"},
			"?kind=answer&language=en":   {"bye"},
			"?queue=support&language=de": {"identify"},
		} {
			if got := ids(query); !reflect.DeepEqual(got, want) {
				t.Errorf("canned-answers%s: %v, want %v", query, got, want)
			}
		}
		wantError(t, c.request("GET", base+"canned-answers?kind=poem", nil), 422, "invalid_field", "kind")
		wantError(t, c.request("GET", base+"canned-answers?language=es", nil), 422, "invalid_field", "language")
		wantError(t, c.request("PUT", base+"canned-answers/x", map[string]any{"kind": "poem", "title": "T", "text": "x"}), 422, "invalid_field", "kind")
		wantError(t, c.request("PUT", base+"canned-answers/x", map[string]any{"kind": "answer", "title": "T", "text": " "}), 422, "invalid_field", "text")
		wantError(t, c.request("PUT", base+"canned-answers/x", map[string]any{"kind": "answer", "title": "T", "text": "x", "queues": []string{"nope"}}), 422, "invalid_field", "queues[0]")
		wantError(t, c.request("PUT", base+"canned-answers/x", map[string]any{"kind": "answer", "title": "T", "text": "x", "language": "es"}), 422, "invalid_field", "language")
		wantError(t, c.request("PUT", base+"canned-answers/x", map[string]any{"kind": "answer", "title": "T", "text": "x", "tags": []string{}}), 400, "unknown_field", "tags")
		c.must(204, "DELETE", base+"canned-answers/bye", nil)
		wantError(t, c.request("DELETE", base+"canned-answers/bye", nil), 404, "not_found", "")
		if got := ids(""); !reflect.DeepEqual(got, []string{"identify", "hello"}) {
			t.Errorf("after delete: %v", got)
		}
	})

	t.Run("remove in order", func(t *testing.T) {
		c.must(200, "PUT", base+"queues/support", map[string]any{"name": "Support", "channels": []string{"chat"}})
		c.must(204, "DELETE", base+"queues/escalation", nil)
		c.must(200, "PUT", base+"widget", map[string]any{"allowed_origins": []string{"*"}})
		c.must(204, "DELETE", base+"queues/support", nil)
		c.must(204, "DELETE", base+"agents/"+agent.ID+"/profile", nil)
		c.must(204, "DELETE", base+"skills/billing", nil)
	})

	t.Run("protocol", func(t *testing.T) {
		noCSRF := &client{e: e, cookie: c.cookie}
		wantError(t, noCSRF.request("PUT", base+"skills/x", map[string]any{"name": "X"}), 403, "csrf_failed", "")
		wantError(t, (&client{e: e}).request("GET", base+"queues", nil), 401, "not_authenticated", "")
		wantError(t, op.request("GET", "/api/v1/tenants/nowhere/queues", nil), 404, "not_found", "")
		wantError(t, c.request("PUT", base+"skills/x", "[1]"), 400, "invalid_json", "")
	})
}
