package searchtest

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hotline-hub/hotline/search"
)

func testWriteGetReplace(t *testing.T, e *env) {
	c := e.conv("a", "c1", 0, "fr", "Bonjour, j'attends mon colis depuis une semaine.")
	c.Queue, c.AgentID, c.Tags = "livraison", "agent-1", []string{"vip", "colis"}
	c.CustomerName, c.CustomerAddress = "Zoé Dupont", "+33123456789"
	c.Entries = append(c.Entries,
		search.Entry{ID: "n1", Kind: search.KindNote, AgentID: "agent-1", Text: "Client déjà appelé hier.", Time: e.at(2 * time.Second)},
		search.Entry{ID: "call1", Kind: search.KindCall, Direction: search.DirectionOut, AgentID: "agent-1", Language: "fr", Text: "Rappel, 3 min, résolu.", Time: e.at(3 * time.Second)},
	)
	other := e.conv("b", "c1", time.Hour, "en", "A different conversation with the same id in another tenant.")
	ct := search.Contact{Tenant: e.tenant("a"), ID: "k1", Name: "Zoé Dupont", Emails: []string{"zoe@example.com"}, Phones: []string{"+33123456789"}}
	e.write(search.Batch{Conversations: []search.Conversation{c, other}, Contacts: []search.Contact{ct}})

	got, ok, err := e.idx.Conversation(e.ctx, c.Tenant, "c1")
	if err != nil || !ok || !sameConversation(got, c) {
		t.Fatalf("Conversation = %+v, %v, %v; want %+v", got, ok, err, c)
	}
	got, ok, err = e.idx.Conversation(e.ctx, other.Tenant, "c1")
	if err != nil || !ok || !sameConversation(got, other) {
		t.Fatalf("Conversation of the other tenant = %+v, %v, %v; want %+v", got, ok, err, other)
	}
	if _, ok, err := e.idx.Conversation(e.ctx, c.Tenant, "missing"); err != nil || ok {
		t.Errorf("Conversation(missing) = %v, %v; want not found", ok, err)
	}
	gotc, ok, err := e.idx.Contact(e.ctx, ct.Tenant, "k1")
	if err != nil || !ok || !slices.Equal(gotc.Phones, ct.Phones) || gotc.Name != ct.Name {
		t.Errorf("Contact = %+v, %v, %v; want %+v", gotc, ok, err, ct)
	}
	if _, ok, err := e.idx.Contact(e.ctx, e.tenant("b"), "k1"); err != nil || ok {
		t.Errorf("Contact of another tenant = %v, %v; want not found", ok, err)
	}

	// Written again: attributes and contact replaced, still one document.
	c.Status, c.AgentID, c.LastActivity = search.StatusResolved, "agent-2", e.at(time.Hour)
	ct.Name, ct.Phones = "Zoé Martin", []string{"+33612345678"}
	e.write(search.Batch{Conversations: []search.Conversation{c}, Contacts: []search.Contact{ct}})
	got, _, _ = e.idx.Conversation(e.ctx, c.Tenant, "c1")
	if !sameConversation(got, c) {
		t.Errorf("after rewrite Conversation = %+v; want %+v", got, c)
	}
	if n := e.search(search.Query{Tenant: c.Tenant}).Total; n != 1 {
		t.Errorf("after rewrite %d conversations, want 1", n)
	}
	if ids := e.ids(search.Query{Tenant: c.Tenant, Statuses: []string{search.StatusWaiting}}); len(ids) != 0 {
		t.Errorf("filter on the old status finds %v", ids)
	}
	if ids := e.ids(search.Query{Tenant: c.Tenant, Agents: []string{"agent-2"}, Statuses: []string{search.StatusResolved}}); !slices.Equal(ids, []string{"c1"}) {
		t.Errorf("filter on the new agent and status = %v, want [c1]", ids)
	}
	if cs, err := e.idx.Contacts(e.ctx, search.ContactQuery{Tenant: ct.Tenant, Phone: "+33123456789"}); err != nil || len(cs) != 0 {
		t.Errorf("old phone still finds %v (%v)", cs, err)
	}
	if cs, err := e.idx.Contacts(e.ctx, search.ContactQuery{Tenant: ct.Tenant, Name: "martin"}); err != nil || len(cs) != 1 {
		t.Errorf("new name finds %v (%v), want the contact", cs, err)
	}
}

func testEntryReplaced(t *testing.T, e *env) {
	c := e.conv("a", "c1", 0, "en", "The parcel never arrived.", "Tracking number please?")
	e.write(search.Batch{Conversations: []search.Conversation{c}})
	// Redelivered and edited: the same entry ids, one with a new text, and
	// one id twice in the same document (the last one wins).
	c.Entries[1].Text = "Tracking code please?"
	dup := c.Entries[0]
	dup.Text = "The parcel finally arrived."
	c.Entries = append(c.Entries, dup)
	e.write(search.Batch{Conversations: []search.Conversation{c}})
	got, _, err := e.idx.Conversation(e.ctx, c.Tenant, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Entries) != 2 || got.Entries[0].Text != "The parcel finally arrived." || got.Entries[1].Text != "Tracking code please?" {
		t.Fatalf("entries = %+v; want the 2 entries replaced in place", got.Entries)
	}
	if ids := e.ids(search.Query{Tenant: c.Tenant, Text: "never"}); len(ids) != 0 {
		t.Errorf(`the replaced text is still found: "never" finds %v`, ids)
	}
	if ids := e.ids(search.Query{Tenant: c.Tenant, Text: "finally code"}); !slices.Equal(ids, []string{"c1"}) {
		t.Errorf(`the new texts: "finally code" finds %v, want [c1]`, ids)
	}
}

func testFewerEntries(t *testing.T, e *env) {
	c := e.conv("a", "c1", 0, "en", "first message", "second message", "third message")
	e.write(search.Batch{Conversations: []search.Conversation{c}})
	c.Entries = c.Entries[:1]
	e.write(search.Batch{Conversations: []search.Conversation{c}})
	got, _, err := e.idx.Conversation(e.ctx, c.Tenant, c.ID)
	if err != nil || !sameConversation(got, c) {
		t.Fatalf("Conversation = %+v, %v; want exactly %+v", got, err, c)
	}
	if ids := e.ids(search.Query{Tenant: c.Tenant, Text: "third"}); len(ids) != 0 {
		t.Errorf(`a dropped entry is still found: "third" finds %v`, ids)
	}
	c.Entries = nil
	e.write(search.Batch{Conversations: []search.Conversation{c}})
	if got, _, _ := e.idx.Conversation(e.ctx, c.Tenant, c.ID); len(got.Entries) != 0 {
		t.Errorf("entries = %+v, want none", got.Entries)
	}
}

func testTenantIsolation(t *testing.T, e *env) {
	// Two tenants with the same ids, contacts, channels and words; each
	// conversation's text names its tenant.
	var b search.Batch
	for _, tn := range []string{"a", "b"} {
		for i := range 6 {
			c := e.conv(tn, fmt.Sprintf("c%d", i), time.Duration(i)*time.Hour, "fr",
				"Le client demande un rappel au sujet de sa facture.", "tenant "+tn+" marker"+tn)
			c.ContactID = "k1"
			c.Channel = []string{"chat", "email", "voice"}[i%3]
			c.Queue, c.AgentID, c.Tags = "q", "agent", []string{"x"}
			b.Conversations = append(b.Conversations, c)
		}
		b.Contacts = append(b.Contacts, search.Contact{Tenant: e.tenant(tn), ID: "k1", Name: "Zoé Dupont " + tn,
			Emails: []string{"zoe@example.com"}, Phones: []string{"+33123456789"}})
	}
	e.write(b)
	a, other := e.tenant("a"), "markerb"
	mine := func(c search.Conversation) bool {
		return c.Tenant == a && len(c.Entries) == 2 && !strings.Contains(c.Entries[1].Text, other)
	}
	queries := []search.Query{
		{Tenant: a},
		{Tenant: a, Text: "rappels"},
		{Tenant: a, Text: `"tenant b"`},
		{Tenant: a, Text: "markerb OR facture"},
		{Tenant: a, Text: "-markera"},
		{Tenant: a, Channels: []string{"chat"}, Queues: []string{"q"}, Agents: []string{"agent"}, Tags: []string{"x"}, Statuses: []string{search.StatusWaiting}},
		{Tenant: a, Text: "facture", Facets: true, From: e.at(0), To: e.at(48 * time.Hour)},
	}
	for _, q := range queries {
		for page, after := 0, ""; page < 10; page++ {
			q.After, q.Size = after, 2
			r := e.search(q)
			for _, h := range r.Hits {
				if !mine(h.Conversation) {
					t.Errorf("Search(%+v) returned another tenant's conversation %+v", q, h.Conversation)
				}
			}
			if r.Total > 6 {
				t.Errorf("Search(%+v).Total = %d, more than the tenant has", q, r.Total)
			}
			if r.Facets != nil {
				n := 0
				for _, c := range r.Facets.Channels {
					n += c
				}
				if n != r.Total {
					t.Errorf("facets count %d conversations, total is %d", n, r.Total)
				}
			}
			if after = r.Next; after == "" {
				break
			}
		}
	}
	if got := e.ids(search.Query{Tenant: a, Text: "markerb"}); len(got) != 0 {
		t.Errorf("another tenant's word finds %v", got)
	}
	d, err := e.idx.Dossier(e.ctx, search.DossierQuery{Tenant: a, ContactIDs: []string{"k1"}, Size: 100})
	if err != nil {
		t.Fatal(err)
	}
	if d.Total != 6 || len(d.Conversations) != 6 {
		t.Errorf("dossier total %d with %d conversations, want 6", d.Total, len(d.Conversations))
	}
	for _, c := range d.Conversations {
		if c.Tenant != a {
			t.Errorf("dossier holds another tenant's conversation %+v", c)
		}
	}
	for _, q := range []search.ContactQuery{{Phone: "+33123456789"}, {Email: "zoe@example.com"}, {Name: "zoe"}} {
		q.Tenant = a
		cs, err := e.idx.Contacts(e.ctx, q)
		if err != nil || len(cs) != 1 || cs[0].Tenant != a || cs[0].Name != "Zoé Dupont a" {
			t.Errorf("Contacts(%+v) = %+v, %v; want the tenant's contact only", q, cs, err)
		}
	}
	if got, _, _ := e.idx.Conversation(e.ctx, a, "c1"); !mine(got) {
		t.Errorf("Conversation(a, c1) = %+v", got)
	}
	// A cursor of one tenant never shows the other tenant's documents.
	r := e.search(search.Query{Tenant: e.tenant("b"), Size: 2})
	if r.Next == "" {
		t.Fatal("no next page")
	}
	r2, err := e.idx.Search(e.ctx, search.Query{Tenant: a, Size: 2, After: r.Next})
	if err == nil {
		for _, h := range r2.Hits {
			if !mine(h.Conversation) {
				t.Errorf("a cursor of tenant b shows %+v to tenant a", h.Conversation)
			}
		}
	} else if !errors.Is(err, search.ErrInvalidQuery) {
		t.Errorf("another tenant's cursor: %v, want results of the tenant or ErrInvalidQuery", err)
	}
}

// pick returns the first sentence of lang that has the word want and
// none of the words without, or fails.
func pick(t *testing.T, corpus map[string][]string, lang, want string, without ...string) string {
	t.Helper()
	for _, s := range corpus[lang] {
		if hasWord(s, want) && !slices.ContainsFunc(without, func(w string) bool { return hasWord(s, w) }) {
			return s
		}
	}
	t.Fatalf("no %s sentence of the corpus has %q without %q", lang, want, without)
	return ""
}

// hasWord reports whether s has w as a whole word (case-insensitive).
func hasWord(s, w string) bool {
	for _, f := range strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		// Apostrophes stay inside words: "l’appel" is not the word "appel"
		// for a language-neutral analyzer.
		return !(r >= 'a' && r <= 'z' || r == '\'' || r >= 0xC0 && r != '«' && r != '»' && r != '—' && r != '–' && r != '…')
	}) {
		if f == strings.ToLower(w) {
			return true
		}
	}
	return false
}

// replaceWord replaces the whole word old (as written) by new.
func replaceWord(s, old, new string) string { return strings.Replace(s, old, new, 1) }

func testStemming(t *testing.T, e *env) {
	corpus := Corpus(t)
	de := pick(t, corpus, "de", "Anrufers")
	ru := pick(t, corpus, "ru", "звонков", "звонки")
	cases := []struct {
		name, lang, query, text string
	}{
		{"fr appels finds appel", "fr", "appels", pick(t, corpus, "fr", "appel", "appels")},
		{"fr appel finds appels", "fr", "appel", pick(t, corpus, "fr", "appels", "appel")},
		{"ru звонков finds звонки", "ru", "звонков", pick(t, corpus, "ru", "звонки", "звонков")},
		{"ru звонков finds звонками", "ru", "звонков", replaceWord(ru, "звонков", "звонками")},
		{"ru звонками finds звонков", "ru", "звонками", ru},
		{"de Anrufers finds Anrufer", "de", "Anrufers", replaceWord(de, "Anrufers", "Anrufer")},
		{"de Anrufer finds Anrufers", "de", "Anrufer", de},
		{"en calls finds call", "en", "calls", "Thank you, an agent will call you back within the hour."},
		{"en refunded finds refund", "en", "refunded", corpus["en"][3]},
	}
	var b search.Batch
	for i, tc := range cases {
		if hasWord(tc.text, tc.query) {
			t.Fatalf("%s: the text has the query word itself: %q", tc.name, tc.text)
		}
		c := e.conv("a", fmt.Sprintf("c%d", i), time.Duration(i)*time.Minute, "", "bonjour", tc.text)
		c.Entries[1].Language = tc.lang
		b.Conversations = append(b.Conversations, c)
	}
	// The conversation's language applies to entries without their own.
	c := e.conv("a", "conv-lang", time.Hour, "fr", pick(t, corpus, "fr", "appel", "appels"))
	b.Conversations = append(b.Conversations, c)
	e.write(b)
	for i, tc := range cases {
		ids := e.ids(search.Query{Tenant: e.tenant("a"), Text: tc.query})
		if !slices.Contains(ids, fmt.Sprintf("c%d", i)) {
			t.Errorf("%s: %q finds %v, not the entry %q", tc.name, tc.query, ids, tc.text)
		}
	}
	if ids := e.ids(search.Query{Tenant: e.tenant("a"), Text: "appels"}); !slices.Contains(ids, "conv-lang") {
		t.Errorf("an entry in its conversation's language (fr) is not stemmed: appels finds %v", ids)
	}
}

func testUnknownLanguage(t *testing.T, e *env) {
	corpus := Corpus(t)
	text := pick(t, corpus, "fr", "appel", "appels")
	c1 := e.conv("a", "unknown", 0, "", text)
	c1.Entries[0].Language = "es" // not a stemmed language
	c2 := e.conv("a", "none", time.Minute, "", "Numéro de commande 4711-XB, merci")
	e.write(search.Batch{Conversations: []search.Conversation{c1, c2}})
	for q, want := range map[string][]string{
		"appel":      {"unknown"},
		"APPEL":      {"unknown"},
		"4711-XB":    {"none"},
		"commande":   {"none"},
		"numéro":     {"none"},
		"appels":     nil, // no stemming for unknown languages
		"commandes":  nil,
		"4711 merci": {"none"},
	} {
		if ids := e.ids(search.Query{Tenant: e.tenant("a"), Text: q}); !sameSet(ids, want) {
			t.Errorf("%q finds %v, want %v", q, ids, want)
		}
	}
}

func testPhrasesExclusionsOr(t *testing.T, e *env) {
	var b search.Batch
	add := func(id, lang string, texts ...string) {
		b.Conversations = append(b.Conversations, e.conv("a", id, time.Duration(len(b.Conversations))*time.Minute, lang, texts...))
	}
	add("vert", "fr", "Appelez notre numéro vert gratuit.")
	add("verts", "fr", "Les numéros verts sont gratuits pour l’appelant.")
	add("reversed", "fr", "Ce vert numéro est une erreur.")
	add("split", "fr", "Donnez-moi votre numéro", "vert ou surtaxé ?")
	add("surtaxe", "fr", "Le numéro surtaxé coûte cher.")
	add("email", "en", "Please answer by email.")
	add("sms", "en", "Please answer by sms.")
	add("fax", "en", "Please answer by fax.")
	e.write(b)
	cases := []struct {
		q    string
		want []string
	}{
		{`"numéro vert"`, []string{"vert", "verts"}}, // stemmed, in order, in one entry
		{`"vert numéro"`, []string{"reversed"}},
		{`numéro vert`, []string{"vert", "verts", "reversed", "split"}},
		{`numéro -surtaxé`, []string{"vert", "verts", "reversed"}},
		{`numéro -"numéro vert"`, []string{"reversed", "split", "surtaxe"}},
		{`email OR sms`, []string{"email", "sms"}},
		{`answer -email -sms`, []string{"fax"}},
		{`(email OR fax) answer`, []string{"email", "fax"}},
		{`-answer -numéro`, nil},
		{`gratuit OR email`, []string{"vert", "verts", "email"}},
	}
	for _, tc := range cases {
		if ids := e.ids(search.Query{Tenant: e.tenant("a"), Text: tc.q}); !sameSet(ids, tc.want) {
			t.Errorf("%s finds %v, want %v", tc.q, ids, tc.want)
		}
	}
}

func testHighlights(t *testing.T, e *env) {
	corpus := Corpus(t)
	long := pick(t, corpus, "fr", "appels", "appel", "appelant", "appeler", "rappel")
	long = strings.Repeat("Texte de remplissage sans rapport. ", 20) + long + strings.Repeat(" Encore du remplissage.", 20)
	c := e.conv("a", "c1", 0, "fr",
		"Bonjour, je voudrais un remboursement.",
		"Merci de patienter.",
		"Le remboursement de vos appels sera fait demain, deux remboursements en tout.",
		long,
	)
	c.Entries[1].Kind, c.Entries[1].Direction = search.KindNote, ""
	e.write(search.Batch{Conversations: []search.Conversation{c}})

	check := func(q string, wantEntries []string, words ...string) {
		t.Helper()
		r := e.search(search.Query{Tenant: e.tenant("a"), Text: q})
		if len(r.Hits) != 1 {
			t.Fatalf("%q: %d hits", q, len(r.Hits))
		}
		hs := r.Hits[0].Highlights
		var got []string
		for _, h := range hs {
			got = append(got, h.EntryID)
			if len(h.Marks) == 0 {
				t.Errorf("%q: highlight of %s without marks", q, h.EntryID)
			}
			for _, m := range h.Marks {
				if m[0] < 0 || m[1] > len(h.Fragment) || m[0] >= m[1] {
					t.Errorf("%q: mark %v outside the fragment %q", q, m, h.Fragment)
					continue
				}
				marked := strings.ToLower(h.Fragment[m[0]:m[1]])
				if !slices.ContainsFunc(words, func(w string) bool { return marked == w }) {
					t.Errorf("%q: marked %q in %q, want one of %v", q, marked, h.Fragment, words)
				}
			}
			var entry string
			for _, x := range c.Entries {
				if x.ID == h.EntryID {
					entry = x.Text
				}
			}
			frag := strings.Trim(h.Fragment, "…")
			if entry == "" || !strings.Contains(entry, frag) {
				t.Errorf("%q: fragment %q is not from entry %s", q, h.Fragment, h.EntryID)
			}
		}
		for _, w := range wantEntries {
			if !slices.Contains(got, w) {
				t.Errorf("%q: highlights of entries %v, want %v", q, got, wantEntries)
			}
		}
		if slices.Contains(got, "c1-mb") {
			t.Errorf("%q: the entry without a match is highlighted", q)
		}
	}
	check("remboursements", []string{"c1-ma", "c1-mc"}, "remboursement", "remboursements")
	check("appels", []string{"c1-mc", "c1-md"}, "appels", "appel")
	check(`"deux remboursements"`, []string{"c1-mc"}, "deux", "remboursements")
	// The entry with the most matches comes first.
	r := e.search(search.Query{Tenant: e.tenant("a"), Text: "remboursement"})
	if hs := r.Hits[0].Highlights; len(hs) == 0 || hs[0].EntryID != "c1-mc" {
		t.Errorf("first highlight %+v, want entry c1-mc (two matches)", hs)
	}
}

func testOrdering(t *testing.T, e *env) {
	var b search.Batch
	b.Conversations = append(b.Conversations,
		e.conv("a", "once", 3*time.Hour, "en", "We talked about many things today: the weather, the invoice, the delivery, the opening hours, the new website, the manager, and also, briefly, a refund."),
		e.conv("a", "many", time.Hour, "en", "Refund, refund, refund!"),
		e.conv("a", "twice", 2*time.Hour, "en", "I want a refund. Where is my refund for the broken lamp?"),
		e.conv("a", "none", 4*time.Hour, "en", "Nothing to see here."),
	)
	e.write(b)
	if ids := e.ids(search.Query{Tenant: e.tenant("a"), Text: "refund"}); len(ids) != 3 || ids[0] != "many" || ids[2] != "once" {
		t.Errorf("by relevance: %v, want many first and once last", ids)
	}
	if ids := e.ids(search.Query{Tenant: e.tenant("a")}); !slices.Equal(ids, []string{"none", "once", "twice", "many"}) {
		t.Errorf("without text: %v, want newest first", ids)
	}
}

// filterSet is the data of the filter and facet tests: conversations with
// every combination of a few channels, queues, agents, statuses and tags,
// spread over ten days.
func (e *env) filterSet() []search.Conversation {
	channels := []string{"chat", "email", "voice", "sms"}
	queues := []string{"sales", "support"}
	agents := []string{"", "ann", "bob"}
	statuses := []string{search.StatusWaiting, search.StatusAssigned, search.StatusResolved, search.StatusAbandoned}
	tags := [][]string{nil, {"vip"}, {"vip", "urgent"}, {"urgent"}}
	var out []search.Conversation
	for i := range 48 {
		c := e.conv("a", fmt.Sprintf("f%02d", i), time.Duration(i)*5*time.Hour, "en", "hello world", fmt.Sprintf("item %d", i%5))
		c.LastActivity = c.Started.Add(time.Duration(i%7) * 6 * time.Hour)
		c.Channel = channels[i%4]
		c.Queue = queues[i%2]
		c.AgentID = agents[i%3]
		c.Status = statuses[(i/2)%4]
		c.Tags = tags[(i/3)%4]
		out = append(out, c)
	}
	return out
}

// matches is the contract's meaning of q's filters (not its text).
func matches(c search.Conversation, q search.Query) bool {
	in := func(l []string, v string) bool { return len(l) == 0 || slices.Contains(l, v) }
	if !in(q.Channels, c.Channel) || !in(q.Queues, c.Queue) || !in(q.Agents, c.AgentID) || !in(q.Statuses, c.Status) {
		return false
	}
	for _, tag := range q.Tags {
		if !slices.Contains(c.Tags, tag) {
			return false
		}
	}
	if !q.To.IsZero() && !c.Started.Before(q.To) {
		return false
	}
	if !q.From.IsZero() && c.LastActivity.Before(q.From) {
		return false
	}
	return true
}

func testFilters(t *testing.T, e *env) {
	set := e.filterSet()
	e.write(search.Batch{Conversations: set})
	tn := e.tenant("a")
	queries := []search.Query{
		{Channels: []string{"chat"}},
		{Channels: []string{"chat", "sms"}},
		{Queues: []string{"support"}},
		{Agents: []string{"ann"}},
		{Agents: []string{"ann", "bob"}, Queues: []string{"sales"}},
		{Statuses: []string{search.StatusWaiting, search.StatusAssigned}},
		{Tags: []string{"vip"}},
		{Tags: []string{"vip", "urgent"}},
		{Tags: []string{"urgent"}, Channels: []string{"email", "voice"}},
		{From: e.at(48 * time.Hour)},
		{To: e.at(48 * time.Hour)},
		{From: e.at(24 * time.Hour), To: e.at(72 * time.Hour)},
		{From: e.at(100 * time.Hour), To: e.at(100*time.Hour + time.Minute)},
		{From: e.at(24 * time.Hour), To: e.at(200 * time.Hour), Statuses: []string{search.StatusResolved}, Tags: []string{"vip"}, Queues: []string{"support"}},
		{Channels: []string{"fax"}},
		{Text: "item", Channels: []string{"voice"}, Statuses: []string{search.StatusAbandoned, search.StatusWaiting}},
	}
	for _, q := range queries {
		q.Tenant = tn
		var want []string
		for _, c := range set {
			if matches(c, q) {
				want = append(want, c.ID)
			}
		}
		got := e.ids(q)
		if !sameSet(got, want) {
			t.Errorf("%+v finds %v, want %v", q, got, want)
		}
		if n := e.search(q).Total; n != len(want) {
			t.Errorf("%+v: total %d, want %d", q, n, len(want))
		}
	}
	// Text with filters: "item 3" only in some conversations.
	q := search.Query{Tenant: tn, Text: "3", Queues: []string{"support"}}
	var want []string
	for _, c := range set {
		if matches(c, q) && strings.HasSuffix(c.Entries[1].Text, " 3") {
			want = append(want, c.ID)
		}
	}
	if got := e.ids(q); !sameSet(got, want) {
		t.Errorf("%+v finds %v, want %v", q, got, want)
	}
}

func testFacets(t *testing.T, e *env) {
	set := e.filterSet()
	e.write(search.Batch{Conversations: set})
	for _, q := range []search.Query{
		{},
		{Statuses: []string{search.StatusResolved}},
		{Text: "item", Tags: []string{"vip"}},
		{From: e.at(24 * time.Hour), To: e.at(96 * time.Hour)},
	} {
		q.Tenant, q.Facets, q.Size = e.tenant("a"), true, 1
		wantCh := map[string]int{}
		byDay := map[string]int{}
		for _, c := range set {
			if matches(c, q) {
				wantCh[c.Channel]++
				byDay[c.LastActivity.UTC().Format(time.DateOnly)]++
			}
		}
		var wantDays []search.DayCount
		for _, d := range slices.Sorted(maps.Keys(byDay)) {
			wantDays = append(wantDays, search.DayCount{Day: d, Count: byDay[d]})
		}
		r := e.search(q)
		if r.Facets == nil {
			t.Fatalf("%+v: no facets", q)
		}
		gotCh := map[string]int{}
		for k, v := range r.Facets.Channels {
			if v != 0 {
				gotCh[k] = v
			}
		}
		if !maps.Equal(gotCh, wantCh) {
			t.Errorf("%+v: channels %v, want %v", q, r.Facets.Channels, wantCh)
		}
		if !slices.Equal(r.Facets.Days, wantDays) {
			t.Errorf("%+v: days %v, want %v", q, r.Facets.Days, wantDays)
		}
		// Facets count every match, on every page.
		if r.Next != "" {
			q.After = r.Next
			if r2 := e.search(q); r2.Facets == nil || !maps.Equal(r2.Facets.Channels, r.Facets.Channels) {
				t.Errorf("%+v: facets of page 2 differ", q)
			}
		}
	}
	if r := e.search(search.Query{Tenant: e.tenant("a")}); r.Facets != nil {
		t.Errorf("facets without asking: %+v", r.Facets)
	}
}

func testPaging(t *testing.T, e *env) {
	var b search.Batch
	for i := range 250 {
		text := "plain message"
		if i%7 == 0 {
			text = fmt.Sprintf("urgent message %s", strings.Repeat("urgent ", i%5))
		}
		c := e.conv("a", fmt.Sprintf("p%03d", i), time.Duration(i)*time.Minute, "en", text)
		if i%50 == 0 { // ties on the time
			c.LastActivity = e.at(time.Hour)
		}
		b.Conversations = append(b.Conversations, c)
	}
	e.write(b)
	for _, q := range []search.Query{
		{Size: 7},
		{Size: 1, Text: "urgent"},
		{Size: 4, Text: "urgent OR message"},
		{Size: 100},
		{Size: 0},
	} {
		q.Tenant = e.tenant("a")
		var want []string
		for _, c := range b.Conversations {
			if q.Text == "" || q.Text == "urgent OR message" || strings.Contains(c.Entries[0].Text, "urgent") {
				want = append(want, c.ID)
			}
		}
		seen := map[string]int{}
		var order []search.Conversation
		pages := 0
		for after := ""; ; {
			q.After = after
			r := e.search(q)
			pages++
			if r.Total != len(want) {
				t.Fatalf("%+v: total %d, want %d", q, r.Total, len(want))
			}
			if len(r.Hits) > search.PageSize(q.Size) || (r.Next != "" && len(r.Hits) != search.PageSize(q.Size)) {
				t.Fatalf("%+v: page of %d hits (next %q)", q, len(r.Hits), r.Next)
			}
			for _, h := range r.Hits {
				seen[h.Conversation.ID]++
				order = append(order, h.Conversation)
			}
			if after = r.Next; after == "" || pages > 300 {
				break
			}
		}
		for id, n := range seen {
			if n != 1 {
				t.Errorf("%+v: %s seen %d times", q, id, n)
			}
		}
		if len(seen) != len(want) {
			t.Errorf("%+v: %d conversations over %d pages, want %d", q, len(seen), pages, len(want))
		}
		if q.Text == "" {
			for i := 1; i < len(order); i++ {
				if order[i].LastActivity.After(order[i-1].LastActivity) {
					t.Errorf("%+v: %s after %s is newer", q, order[i].ID, order[i-1].ID)
				}
			}
		}
	}
}

func testDossier(t *testing.T, e *env) {
	var b search.Batch
	add := func(id, contact, channel, status string, off time.Duration) {
		c := e.conv("a", id, off, "fr", "Bonjour "+id)
		c.ContactID, c.Channel, c.Status = contact, channel, status
		b.Conversations = append(b.Conversations, c)
	}
	add("d1", "k1", "voice", search.StatusResolved, 1*time.Hour)
	add("d2", "k1", "email", search.StatusWaiting, 2*time.Hour)
	add("d3", "k1", "chat", search.StatusAssigned, 3*time.Hour)
	add("d4", "k1", "email", search.StatusAbandoned, 4*time.Hour)
	add("d5", "k1", "sms", search.StatusResolved, 5*time.Hour)
	add("m1", "k2", "voice", search.StatusWaiting, 90*time.Minute) // k2 was merged into k1
	add("m2", "k2", "chat", search.StatusResolved, 6*time.Hour)
	add("o1", "k3", "email", search.StatusWaiting, 7*time.Hour)
	e.write(b)
	tn := e.tenant("a")
	d, err := e.idx.Dossier(e.ctx, search.DossierQuery{Tenant: tn, ContactIDs: []string{"k1", "k2"}})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, c := range d.Conversations {
		ids = append(ids, c.ID)
		if len(c.Entries) != 0 {
			t.Errorf("dossier conversation %s has its entries", c.ID)
		}
		if c.Channel == "" || c.Status == "" || c.LastActivity.IsZero() {
			t.Errorf("dossier conversation without its attributes: %+v", c)
		}
	}
	if want := []string{"m2", "d5", "d4", "d3", "d2", "m1", "d1"}; !slices.Equal(ids, want) || d.Total != 7 || d.Next != "" {
		t.Errorf("dossier %v (total %d, next %q), want %v newest first", ids, d.Total, d.Next, want)
	}
	if want := map[string]int{"voice": 2, "email": 2, "chat": 2, "sms": 1}; !maps.Equal(d.ByChannel, want) {
		t.Errorf("by channel %v, want %v", d.ByChannel, want)
	}
	if d.Open != 3 {
		t.Errorf("open %d, want 3 (d2, d3, m1)", d.Open)
	}
	// Paging: every conversation once, counts on every page.
	var paged []string
	q := search.DossierQuery{Tenant: tn, ContactIDs: []string{"k1", "k2"}, Size: 3}
	for range 10 {
		p, err := e.idx.Dossier(e.ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if p.Total != 7 || p.Open != 3 || !maps.Equal(p.ByChannel, d.ByChannel) {
			t.Errorf("page after %q: total %d open %d by channel %v", q.After, p.Total, p.Open, p.ByChannel)
		}
		for _, c := range p.Conversations {
			paged = append(paged, c.ID)
		}
		if q.After = p.Next; q.After == "" {
			break
		}
	}
	if !slices.Equal(paged, ids) {
		t.Errorf("paged dossier %v, want %v", paged, ids)
	}
	d, err = e.idx.Dossier(e.ctx, search.DossierQuery{Tenant: tn, ContactIDs: []string{"k1"}})
	if err != nil || d.Total != 5 || d.Open != 2 {
		t.Errorf("dossier of k1 alone: total %d open %d (%v), want 5 and 2", d.Total, d.Open, err)
	}
	d, err = e.idx.Dossier(e.ctx, search.DossierQuery{Tenant: tn, ContactIDs: []string{"nobody"}})
	if err != nil || d.Total != 0 || len(d.Conversations) != 0 || d.Open != 0 {
		t.Errorf("dossier of an unknown contact: %+v, %v", d, err)
	}
}

func testContacts(t *testing.T, e *env) {
	tn := e.tenant("a")
	cs := []search.Contact{
		{Tenant: tn, ID: "k1", Name: "Zoé Dupont", Emails: []string{"zoe.dupont@example.com", "zoe@home.example"}, Phones: []string{"+33123456789", "+33612345678"}},
		{Tenant: tn, ID: "k2", Name: "Zoe Martin", Emails: []string{"zm@example.com"}},
		{Tenant: tn, ID: "k3", Name: "Jürgen Müller", Phones: []string{"+49301234567"}},
		{Tenant: tn, ID: "k4", Name: "Наталья Иванова", Phones: []string{"+74951234567"}},
		{Tenant: tn, ID: "k5", Name: "Zoltan Dupond", MergedInto: "k1"},
	}
	e.write(search.Batch{Contacts: cs})
	cases := []struct {
		q    search.ContactQuery
		want []string
	}{
		{search.ContactQuery{Phone: "+33 1 23 45 67 89"}, []string{"k1"}},
		{search.ContactQuery{Phone: "0033 6 12 34 56 78"}, []string{"k1"}},
		{search.ContactQuery{Phone: "+7 (495) 123-45-67"}, []string{"k4"}},
		{search.ContactQuery{Phone: "+49 30 1234567"}, []string{"k3"}},
		{search.ContactQuery{Phone: "+33 9 99 99 99 99"}, nil},
		{search.ContactQuery{Email: "Zoe.Dupont@Example.COM"}, []string{"k1"}},
		{search.ContactQuery{Email: " zoe@home.example"}, []string{"k1"}},
		{search.ContactQuery{Email: "zoe@example.com"}, nil},
		{search.ContactQuery{Name: "zoe"}, []string{"k1", "k2"}},
		{search.ContactQuery{Name: "ZOÉ"}, []string{"k1", "k2"}},
		{search.ContactQuery{Name: "dupont"}, []string{"k1"}},
		{search.ContactQuery{Name: "Zoe Dupont"}, []string{"k1"}},
		{search.ContactQuery{Name: "muller"}, []string{"k3"}},
		{search.ContactQuery{Name: "Jurgen"}, []string{"k3"}},
		{search.ContactQuery{Name: "наталья"}, []string{"k4"}},
		{search.ContactQuery{Name: "dupond"}, []string{"k5"}},
		{search.ContactQuery{Name: "nobody"}, nil},
	}
	for _, tc := range cases {
		tc.q.Tenant = tn
		got, err := e.idx.Contacts(e.ctx, tc.q)
		if err != nil {
			t.Errorf("Contacts(%+v): %v", tc.q, err)
			continue
		}
		var ids []string
		for _, c := range got {
			ids = append(ids, c.ID)
		}
		if !sameSet(ids, tc.want) {
			t.Errorf("Contacts(%+v) = %v, want %v", tc.q, ids, tc.want)
		}
	}
	got, err := e.idx.Contacts(e.ctx, search.ContactQuery{Tenant: tn, Name: "zoe", Size: 1})
	if err != nil || len(got) != 1 {
		t.Errorf("Size 1: %d contacts (%v)", len(got), err)
	}
	if got, _ := e.idx.Contacts(e.ctx, search.ContactQuery{Tenant: tn, Name: "dupond"}); len(got) == 1 && got[0].MergedInto != "k1" {
		t.Errorf("merged contact lost MergedInto: %+v", got[0])
	}
}

func testBadInput(t *testing.T, e *env) {
	c := e.conv("a", "c1", 0, "en", "keep me safe")
	ct := search.Contact{Tenant: e.tenant("a"), ID: "k1", Name: "Keep Me", Phones: []string{"+33123456789"}}
	e.write(search.Batch{Conversations: []search.Conversation{c}, Contacts: []search.Contact{ct}})
	tn := e.tenant("a")
	dossierNext := ""
	{
		var b search.Batch
		for i := range 3 {
			x := e.conv("a", fmt.Sprintf("x%d", i), time.Duration(i)*time.Hour, "en", "extra")
			x.ContactID = "kx"
			b.Conversations = append(b.Conversations, x)
		}
		e.write(b)
		d, err := e.idx.Dossier(e.ctx, search.DossierQuery{Tenant: tn, ContactIDs: []string{"kx"}, Size: 1})
		if err != nil || d.Next == "" {
			t.Fatalf("dossier page: %+v, %v", d, err)
		}
		dossierNext = d.Next
	}
	textNext := e.search(search.Query{Tenant: tn, Text: "extra", Size: 1}).Next
	if textNext == "" {
		t.Fatal("no next page of a text query")
	}
	queries := []struct {
		name  string
		q     search.Query
		words []string // the message names these
	}{
		{"unclosed quote", search.Query{Tenant: tn, Text: `keep "me safe`}, []string{"quote", "6"}},
		{"dangling OR", search.Query{Tenant: tn, Text: "keep OR"}, []string{"OR"}},
		{"too long", search.Query{Tenant: tn, Text: strings.Repeat("a", search.MaxQueryLength+1)}, []string{"1000"}},
		{"too many terms", search.Query{Tenant: tn, Text: strings.Repeat("w ", search.MaxTerms+1)}, []string{"terms"}},
		{"negative size", search.Query{Tenant: tn, Size: -1}, []string{"size"}},
		{"size too big", search.Query{Tenant: tn, Size: search.MaxSize + 1}, []string{"size"}},
		{"garbage cursor", search.Query{Tenant: tn, After: "not a cursor!"}, []string{"after"}},
		{"cursor of a text query", search.Query{Tenant: tn, After: textNext}, []string{"after"}},
		{"no tenant", search.Query{Text: "keep"}, []string{"tenant"}},
		{"unknown status", search.Query{Tenant: tn, Statuses: []string{"open"}}, []string{"status", "open"}},
		{"empty range", search.Query{Tenant: tn, From: e.at(time.Hour), To: e.at(time.Hour)}, []string{"from"}},
	}
	for _, tc := range queries {
		_, err := e.idx.Search(e.ctx, tc.q)
		checkInvalid(t, "Search "+tc.name, err, tc.words)
	}
	_, err := e.idx.Dossier(e.ctx, search.DossierQuery{ContactIDs: []string{"k1"}})
	checkInvalid(t, "Dossier without tenant", err, []string{"tenant"})
	_, err = e.idx.Dossier(e.ctx, search.DossierQuery{Tenant: tn})
	checkInvalid(t, "Dossier without contact", err, []string{"contact"})
	_, err = e.idx.Dossier(e.ctx, search.DossierQuery{Tenant: tn, ContactIDs: []string{"k1"}, Size: search.MaxSize + 1})
	checkInvalid(t, "Dossier size", err, []string{"size"})
	_, err = e.idx.Dossier(e.ctx, search.DossierQuery{Tenant: tn, ContactIDs: []string{"k1"}, After: "%%%"})
	checkInvalid(t, "Dossier cursor", err, []string{"after"})
	_, err = e.idx.Dossier(e.ctx, search.DossierQuery{Tenant: e.tenant("b"), ContactIDs: []string{"kx"}, After: dossierNext})
	if err != nil && !errors.Is(err, search.ErrInvalidQuery) {
		t.Errorf("Dossier with another tenant's cursor: %v", err)
	}
	_, err = e.idx.Contacts(e.ctx, search.ContactQuery{Phone: "+33123456789"})
	checkInvalid(t, "Contacts without tenant", err, []string{"tenant"})
	_, err = e.idx.Contacts(e.ctx, search.ContactQuery{Tenant: tn, Phone: "call me maybe"})
	checkInvalid(t, "Contacts bad phone", err, []string{"phone"})
	_, err = e.idx.Contacts(e.ctx, search.ContactQuery{Tenant: tn})
	checkInvalid(t, "Contacts without a key", err, []string{"phone"})
	_, err = e.idx.Contacts(e.ctx, search.ContactQuery{Tenant: tn, Name: "x", Size: -3})
	checkInvalid(t, "Contacts size", err, []string{"size"})
	_, _, err = e.idx.Conversation(e.ctx, "", "c1")
	checkInvalid(t, "Conversation without tenant", err, []string{"tenant"})

	// Nothing written was affected.
	got, ok, err := e.idx.Conversation(e.ctx, tn, "c1")
	if err != nil || !ok || !sameConversation(got, c) {
		t.Errorf("after bad input: %+v, %v, %v", got, ok, err)
	}
	if ids := e.ids(search.Query{Tenant: tn, Text: "safe"}); !slices.Equal(ids, []string{"c1"}) {
		t.Errorf("after bad input: safe finds %v", ids)
	}
	if cs, err := e.idx.Contacts(e.ctx, search.ContactQuery{Tenant: tn, Phone: "+33123456789"}); err != nil || len(cs) != 1 {
		t.Errorf("after bad input: contact %v, %v", cs, err)
	}
	if err := e.idx.Ping(e.ctx); err != nil {
		t.Errorf("Ping: %v", err)
	}
}

func checkInvalid(t *testing.T, what string, err error, words []string) {
	t.Helper()
	if !errors.Is(err, search.ErrInvalidQuery) {
		t.Errorf("%s: error %v, want ErrInvalidQuery", what, err)
		return
	}
	for _, w := range words {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("%s: message %q does not name %q", what, err, w)
		}
	}
}
