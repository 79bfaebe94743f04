package directory

import (
	"reflect"
	"strings"
	"testing"

	"github.com/hotline-hub/hotline/routing/hours"
	"github.com/hotline-hub/hotline/webui/webtest"
)

// wantError checks an error answer's status, code and field.
func wantError(t *testing.T, res response, status int, code, field string) {
	t.Helper()
	b := res.ErrBody()
	if res.Status != status || b.Error.Code != code || b.Error.Field != field {
		t.Errorf("got %d %s, want %d code %q field %q", res.Status, res.Body, status, code, field)
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
	c.Must(200, "GET", base+"queues", nil).Decode(t, &queues)
	if queues.Queues == nil || len(queues.Queues) != 0 {
		t.Errorf("empty queues: %+v", queues)
	}
	res := c.Must(200, "GET", base+"widget", nil)
	if got := string(res.Body); !strings.Contains(got, `"allowed_origins":[]`) || !strings.Contains(got, `"default_queue":""`) ||
		strings.Contains(got, "data-queue") {
		t.Errorf("unconfigured widget: %s", got)
	}

	t.Run("skills", func(t *testing.T) {
		var sk Skill
		c.Must(201, "PUT", base+"skills/billing", map[string]any{"name": "Billing"}).Decode(t, &sk)
		if sk != (Skill{ID: "billing", Name: "Billing"}) {
			t.Errorf("created %+v", sk)
		}
		c.Must(200, "PUT", base+"skills/billing", map[string]any{"id": "billing", "name": "Facturation"}).Decode(t, &sk)
		if sk.Name != "Facturation" {
			t.Errorf("renamed %+v", sk)
		}
		c.Must(201, "PUT", base+"skills/german", map[string]any{"name": "German"})
		wantError(t, c.Request("PUT", base+"skills/Bad", map[string]any{"name": "x"}), 422, "invalid_field", "id")
		wantError(t, c.Request("PUT", base+"skills/x", map[string]any{"name": ""}), 422, "invalid_field", "name")
		wantError(t, c.Request("PUT", base+"skills/x", map[string]any{"id": "y", "name": "X"}), 422, "invalid_field", "id")
		wantError(t, c.Request("PUT", base+"skills/x", map[string]any{"name": "X", "nope": 1}), 400, "unknown_field", "nope")
		wantError(t, c.Request("PUT", base+"skills/x", `{"name":`), 400, "invalid_json", "")
		wantError(t, c.Request("DELETE", base+"skills/none", nil), 404, "not_found", "")
		var list struct{ Skills []Skill }
		c.Must(200, "GET", base+"skills", nil).Decode(t, &list)
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
		c.Must(201, "PUT", base+"queues/support", body).Decode(t, &q)
		if !reflect.DeepEqual(q, support) {
			t.Errorf("created %+v, want %+v", q, support)
		}
		c.Must(200, "PUT", base+"queues/support", body)
		c.Must(201, "PUT", base+"queues/escalation", map[string]any{"name": "Escalation", "channels": []string{"voice"}})
		body["overflow_after_seconds"], body["overflow_queue"] = 90, "escalation"
		c.Must(200, "PUT", base+"queues/support", body).Decode(t, &q)
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
			res := c.Request("PUT", base+tt.path, tt.body)
			wantError(t, res, 422, "invalid_field", tt.field)
			for _, m := range tt.msg {
				if !strings.Contains(res.ErrBody().Error.Message, m) {
					t.Errorf("%s: message %q lacks %q", tt.name, res.ErrBody().Error.Message, m)
				}
			}
			if strings.Contains(string(res.Body), "_ms") {
				t.Errorf("%s: the message speaks of the events' milliseconds: %s", tt.name, res.Body)
			}
		}
		wantError(t, c.Request("PUT", base+"queues/q", map[string]any{"name": "Q", "channels": []string{"sms"}, "colour": "red"}), 400, "unknown_field", "colour")
		wantError(t, c.Request("PUT", base+"queues/q", map[string]any{"name": "Q", "channels": []string{"sms"}, "hours": map[string]any{"tz": "UTC"}}), 400, "unknown_field", "tz")
		if _, ok := e.s.Queue("acme", "q"); ok {
			t.Error("a refused queue was saved")
		}
		wantError(t, c.Request("DELETE", base+"queues/nope", nil), 404, "not_found", "")
		res := c.Request("DELETE", base+"queues/escalation", nil)
		wantError(t, res, 409, "in_use", "")
		if !strings.Contains(res.ErrBody().Error.Message, "support") {
			t.Errorf("in-use message does not name the overflowing queue: %s", res.Body)
		}
		c.Must(201, "PUT", base+"queues/spare", map[string]any{"name": "Spare", "channels": []string{"sms"}})
		c.Must(204, "DELETE", base+"queues/spare", nil)
		c.Must(200, "GET", base+"queues", nil).Decode(t, &queues)
		if len(queues.Queues) != 2 || queues.Queues[0].ID != "escalation" || !reflect.DeepEqual(queues.Queues[1], support) {
			t.Errorf("queues %+v", queues.Queues)
		}
	})

	t.Run("widget", func(t *testing.T) {
		var wv widgetView
		c.Must(200, "PUT", base+"widget", map[string]any{"allowed_origins": []string{"https://www.acme.example"}, "default_queue": "support"}).Decode(t, &wv)
		want := `<script src="http://example.com/chat/widget.js" data-tenant="acme" data-queue="support" async></script>`
		if wv.Snippet != want || wv.DefaultQueue != "support" || !reflect.DeepEqual(wv.AllowedOrigins, []string{"https://www.acme.example"}) {
			t.Errorf("widget %+v, want snippet %s", wv, want)
		}
		c.Must(200, "GET", base+"widget", nil).Decode(t, &wv)
		if wv.Snippet != want {
			t.Errorf("GET widget snippet %s", wv.Snippet)
		}
		wantError(t, c.Request("PUT", base+"widget", map[string]any{"default_queue": "escalation"}), 422, "invalid_field", "default_queue")
		wantError(t, c.Request("PUT", base+"widget", map[string]any{"default_queue": "nope"}), 422, "invalid_field", "default_queue")
		wantError(t, c.Request("PUT", base+"widget", map[string]any{"allowed_origins": []string{"ftp://x"}}), 422, "invalid_field", "allowed_origins[0]")
		wantError(t, c.Request("PUT", base+"widget", map[string]any{"allowed_origins": []string{}, "theme": "dark"}), 400, "unknown_field", "theme")
		// The widget's queue keeps taking chat, and stays.
		wantError(t, c.Request("PUT", base+"queues/support", map[string]any{"name": "Support", "channels": []string{"email"}}), 422, "invalid_field", "channels")
		res := c.Request("DELETE", base+"queues/support", nil)
		wantError(t, res, 409, "in_use", "")
		if !strings.Contains(res.ErrBody().Error.Message, "widget") {
			t.Errorf("in-use message does not name the widget: %s", res.Body)
		}
	})

	t.Run("agents", func(t *testing.T) {
		var a Agent
		body := map[string]any{"skills": []string{"billing"}, "capacity": map[string]int{"chat": 3, "voice": 1, "email": 5, "sms": 3}}
		c.Must(200, "PUT", base+"agents/"+agent.ID+"/profile", body).Decode(t, &a)
		want := Agent{AccountID: agent.ID, Login: "ann", DisplayName: "Ann Agent", Role: "agent",
			Profile: &Profile{Skills: []string{"billing"}, Capacity: Capacity{Chat: 3, Voice: 1, Email: 5, SMS: 3}}}
		if !reflect.DeepEqual(a, want) {
			t.Errorf("profile set: %+v", a)
		}
		c.Must(200, "PUT", base+"agents/"+sup.ID+"/profile", map[string]any{"capacity": map[string]int{"voice": 1}})
		wantError(t, c.Request("PUT", base+"agents/nobody/profile", body), 404, "not_found", "")
		wantError(t, c.Request("PUT", base+"agents/"+agent.ID+"/profile", map[string]any{"skills": []string{"nope"}, "capacity": map[string]int{"chat": 1}}), 422, "invalid_field", "skills[0]")
		wantError(t, c.Request("PUT", base+"agents/"+agent.ID+"/profile", map[string]any{"capacity": map[string]int{"chat": 0}}), 422, "invalid_field", "capacity")
		wantError(t, c.Request("PUT", base+"agents/"+agent.ID+"/profile", map[string]any{"capacity": map[string]int{"chat": -1, "sms": 2}}), 422, "invalid_field", "capacity.chat")
		wantError(t, c.Request("PUT", base+"agents/"+agent.ID+"/profile", map[string]any{"capacity": map[string]int{"fax": 1}}), 400, "unknown_field", "fax")
		wantError(t, c.Request("PUT", base+"agents/"+analyst.ID+"/profile", body), 422, "invalid_field", "account_id")
		var list struct{ Agents []Agent }
		c.Must(200, "GET", base+"agents", nil).Decode(t, &list)
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
		if !strings.Contains(string(c.Must(200, "GET", base+"agents", nil).Body), `"profile":null`) {
			t.Error("an agent without a profile does not show profile null")
		}
		// A skill in use by a queue and an agent.
		res := c.Request("DELETE", base+"skills/billing", nil)
		wantError(t, res, 409, "in_use", "")
		if m := res.ErrBody().Error.Message; !strings.Contains(m, "support") || !strings.Contains(m, "Ann Agent") {
			t.Errorf("in-use message does not name the queue and the agent: %s", m)
		}
		c.Must(204, "DELETE", base+"agents/"+sup.ID+"/profile", nil)
		wantError(t, c.Request("DELETE", base+"agents/"+sup.ID+"/profile", nil), 404, "not_found", "")
		wantError(t, c.Request("DELETE", base+"agents/nobody/profile", nil), 404, "not_found", "")
		c.Must(204, "DELETE", base+"skills/german", nil)
		_ = admin
	})

	t.Run("canned answers", func(t *testing.T) {
		hello := Answer{ID: "hello", Kind: "answer", Title: "Bonjour", Text: "Bonjour {{customer.name}}, ici {{agent.name}}.",
			Language: "fr", Shortcut: "bonjour", Queues: []string{"support"}}
		var a Answer
		c.Must(201, "PUT", base+"canned-answers/hello", map[string]any{"kind": hello.Kind, "title": hello.Title, "text": hello.Text,
			"language": "fr", "shortcut": "bonjour", "queues": hello.Queues}).Decode(t, &a)
		if !reflect.DeepEqual(a, hello) {
			t.Errorf("created %+v", a)
		}
		c.Must(201, "PUT", base+"canned-answers/identify", map[string]any{"kind": "script", "title": "appel: identifier", "text": "1. Case {{case.number}}"})
		c.Must(201, "PUT", base+"canned-answers/bye", map[string]any{"kind": "answer", "title": "Goodbye", "text": "Bye", "language": "en", "queues": []string{"escalation"}})
		c.Must(200, "PUT", base+"canned-answers/bye", map[string]any{"kind": "answer", "title": "Goodbye", "text": "Bye!", "language": "en", "queues": []string{"escalation"}})
		ids := func(query string) []string {
			var list struct {
				CannedAnswers []Answer `json:"canned_answers"`
			}
			c.Must(200, "GET", base+"canned-answers"+query, nil).Decode(t, &list)
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
		wantError(t, c.Request("GET", base+"canned-answers?kind=poem", nil), 422, "invalid_field", "kind")
		wantError(t, c.Request("GET", base+"canned-answers?language=es", nil), 422, "invalid_field", "language")
		wantError(t, c.Request("PUT", base+"canned-answers/x", map[string]any{"kind": "poem", "title": "T", "text": "x"}), 422, "invalid_field", "kind")
		wantError(t, c.Request("PUT", base+"canned-answers/x", map[string]any{"kind": "answer", "title": "T", "text": " "}), 422, "invalid_field", "text")
		wantError(t, c.Request("PUT", base+"canned-answers/x", map[string]any{"kind": "answer", "title": "T", "text": "x", "queues": []string{"nope"}}), 422, "invalid_field", "queues[0]")
		wantError(t, c.Request("PUT", base+"canned-answers/x", map[string]any{"kind": "answer", "title": "T", "text": "x", "language": "es"}), 422, "invalid_field", "language")
		wantError(t, c.Request("PUT", base+"canned-answers/x", map[string]any{"kind": "answer", "title": "T", "text": "x", "tags": []string{}}), 400, "unknown_field", "tags")
		c.Must(204, "DELETE", base+"canned-answers/bye", nil)
		wantError(t, c.Request("DELETE", base+"canned-answers/bye", nil), 404, "not_found", "")
		if got := ids(""); !reflect.DeepEqual(got, []string{"identify", "hello"}) {
			t.Errorf("after delete: %v", got)
		}
	})

	t.Run("remove in order", func(t *testing.T) {
		c.Must(200, "PUT", base+"queues/support", map[string]any{"name": "Support", "channels": []string{"chat"}})
		c.Must(204, "DELETE", base+"queues/escalation", nil)
		c.Must(200, "PUT", base+"widget", map[string]any{"allowed_origins": []string{"*"}})
		c.Must(204, "DELETE", base+"queues/support", nil)
		c.Must(204, "DELETE", base+"agents/"+agent.ID+"/profile", nil)
		c.Must(204, "DELETE", base+"skills/billing", nil)
	})

	t.Run("protocol", func(t *testing.T) {
		noCSRF := &webtest.Client{T: t, Handler: e.mux, Cookie: c.Cookie}
		wantError(t, noCSRF.Request("PUT", base+"skills/x", map[string]any{"name": "X"}), 403, "csrf_failed", "")
		wantError(t, e.anonymous().Request("GET", base+"queues", nil), 401, "not_authenticated", "")
		wantError(t, op.Request("GET", "/api/v1/tenants/nowhere/queues", nil), 404, "not_found", "")
		wantError(t, c.Request("PUT", base+"skills/x", "[1]"), 400, "invalid_json", "")
	})
}
