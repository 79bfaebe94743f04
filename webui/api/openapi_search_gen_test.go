package api_test

// The search endpoints of the OpenAPI document (webui/searchapi): the
// analysts' search, stored conversations, dossiers, contact lookup, and
// merging contacts. buildOpenAPI merges them in; see openapi_gen_test.go.

var (
	searchReadRoles    = "Analysts, supervisors and admins of the tenant, and hub operators in their own tenant (agents get 403)."
	searchContactRoles = "Analysts, supervisors and admins of the tenant, and hub operators in their own tenant; agents only " +
		"while they serve the contact (a conversation of it is assigned or offered to them)."
	searchWriteRoles = "Supervisors and admins of the tenant, hub operators in their own tenant, and agents while they serve " +
		"the contact; analysts get 403 (read-only)."

	errSearchNotFound    = "`not_found`: another tenant (to operators too: search is a tenant's working data)."
	errSearchUnavailable = fail("`search_unavailable`: the search engine is down or too slow; try again later.")
	errSearchParam       = "`invalid_field`: `field` names the query parameter at fault (not a number, not an RFC 3339 time, " +
		"out of range, given twice, an unknown status, a cursor of another query)."
)

// searchFails adds the errors every search operation can answer.
func searchFails(unsafe bool, forbidden string, r m) m {
	r["401"] = errUnauthenticated
	if unsafe {
		r["403"] = fail(errCSRF + " `forbidden`: " + forbidden)
	} else {
		r["403"] = fail("`forbidden`: " + forbidden)
	}
	if _, ok := r["404"]; !ok {
		r["404"] = fail(errSearchNotFound)
	}
	r["500"] = errInternal
	r["503"] = errSearchUnavailable
	return r
}

func searchQueryParam(name, desc string, schema m) m {
	return m{"name": name, "in": "query", "required": false, "description": desc, "schema": schema}
}

func searchRepeated(name, desc string, items m) m {
	p := searchQueryParam(name, desc+" Repeatable: any of the values.", m{"type": "array", "items": items})
	p["style"], p["explode"] = "form", true
	return p
}

func searchPaths() m {
	base := "/api/v1/tenants/{tenant}/"
	contactParam := pathParam("id", "Contact id.")
	sizeParam := searchQueryParam("size", "Page size, 1 to 100; 0 or absent: 20.", m{"type": "integer", "minimum": 0, "maximum": 100})
	afterParam := searchQueryParam("after", "The `next` cursor of the previous page.", m{"type": "string"})
	return m{
		base + "search": m{
			"get": op("searchConversations", "search", "Search conversations",
				searchReadRoles+" Full-text search over every message, note and call record, stemmed in French, English, "+
					"Russian and German. Syntax of `q`: words, \"quoted phrases\", -excluded words, phrases or (groups), OR "+
					"between alternatives, parentheses. Without `q`: newest activity first; with it: by relevance. Filters "+
					"combine (AND); a repeated filter matches any of its values, except `tag`, which requires every tag.",
				safeSecurity, []m{tenantParam,
					searchQueryParam("q", "The query text, at most 1000 characters.", m{"type": "string"}),
					searchRepeated("channel", "Channel.", strEnum("", "voice", "email", "sms", "chat")),
					searchRepeated("queue", "Queue id.", str("")),
					searchRepeated("agent", "Account id of the conversation's agent.", str("")),
					searchRepeated("status", "Status.", strEnum("", "waiting", "assigned", "resolved", "abandoned")),
					searchRepeated("tag", "Tag; all listed tags are required.", str("")),
					searchQueryParam("from", "Active at or after this time (RFC 3339).", m{"type": "string", "format": "date-time"}),
					searchQueryParam("to", "Started before this time (RFC 3339).", m{"type": "string", "format": "date-time"}),
					sizeParam, afterParam,
					searchQueryParam("facets", "`1` or `true`: add counts by channel and by day over all matches.", strEnum("", "0", "1", "false", "true")),
				}, nil,
				searchFails(false, "agents may not search all conversations.", m{
					"200": ok("One page of matches.", "SearchResult"),
					"400": fail("`invalid_query` (field `q`): a syntax error; the message says what and at which character, e.g. " +
						"`text: unclosed quote at character 12`. " + errSearchParam),
				})),
		},
		base + "search/conversations/{id}": m{
			"get": op("getStoredConversation", "search", "Read a stored conversation",
				searchReadRoles+" Agents may read a conversation of a contact they serve, or of a contact merged into one "+
					"they serve (name that contact in `contact`, the dossier being read). The whole thread: messages both ways, "+
					"internal notes and call records, in time order.",
				safeSecurity, []m{tenantParam, convParam,
					searchQueryParam("contact", "The contact whose dossier the conversation was opened from (agents).", m{"type": "string"}),
				}, nil,
				searchFails(false, "an agent not serving the conversation's contact.", m{
					"200": ok("The conversation with its entries.", "StoredConversation"),
					"400": fail("`invalid_field` (field `contact`): given twice."),
					"404": fail("`not_found`: no such conversation in the index, or another tenant."),
				})),
		},
		base + "contacts": m{
			"get": op("lookupContacts", "search", "Look contacts up",
				"Every role of the tenant (agents identify callers). Exactly one of `phone` (international form, normalised "+
					"to E.164), `email` (case-insensitive) and `name` (words, tolerant of accents and case).",
				safeSecurity, []m{tenantParam,
					searchQueryParam("phone", "A phone number in international form, e.g. +33 1 23 45 67 89.", m{"type": "string"}),
					searchQueryParam("email", "An email address.", m{"type": "string"}),
					searchQueryParam("name", "Words of the name.", m{"type": "string"}),
					sizeParam,
				}, nil,
				searchFails(false, "never (every role may look up).", m{
					"200": ok("The matching contacts, best first.", "ContactList"),
					"400": fail("`invalid_field`: none or more than one of phone, email and name (field `phone`), a phone number " +
						"that is not international or not a number, a name without any word, a bad size."),
				})),
		},
		base + "contacts/{id}/dossier": m{
			"get": op("getDossier", "search", "A contact's dossier",
				searchContactRoles+" The contact's conversations on every channel, with those of the contacts merged into "+
					"it, newest first, without their entries; with counts by channel and of open cases over all of them. An "+
					"unknown contact has an empty dossier.",
				safeSecurity, []m{tenantParam, contactParam, sizeParam, afterParam}, nil,
				searchFails(false, "an agent not serving the contact.", m{
					"200": ok("One page of the dossier.", "Dossier"),
					"400": fail(errSearchParam),
				})),
		},
		base + "contacts/{id}/merge": m{
			"post": op("mergeContacts", "search", "Merge contacts into this one",
				searchWriteRoles+" Publishes `contacts.merged`; the dossier includes the merged contacts' conversations "+
					"once the indexer has folded it (usually within a second). Merging a contact already merged here again "+
					"changes nothing.",
				unsafeSecurity, []m{tenantParam, contactParam}, body("The contacts to merge.", "MergeRequest"),
				searchFails(true, "see the roles above.", withBody(m{
					"202": ok("Published.", "ContactsChanged"),
					"422": fail("`invalid_field` (field `merge_ids`): empty, more than 100, an id twice, the contact itself, a " +
						"contact the index does not know in this tenant, or one merged into another contact (unmerge it there first)."),
				}, ""))),
		},
		base + "contacts/{id}/unmerge": m{
			"post": op("unmergeContacts", "search", "Split merged contacts out again",
				searchWriteRoles+" Publishes `contacts.unmerged`; the dossier follows once folded.",
				unsafeSecurity, []m{tenantParam, contactParam}, body("The contacts to split out.", "UnmergeRequest"),
				searchFails(true, "see the roles above.", withBody(m{
					"202": ok("Published.", "ContactsChanged"),
					"422": fail("`invalid_field` (field `ids`): empty, more than 100, an id twice, the contact itself, or a contact " +
						"not (yet) merged into this one."),
				}, ""))),
		},
	}
}

func searchSchemas() m {
	convProps := func(entries bool) m {
		p := m{
			"tenant":           str(""),
			"id":               str(""),
			"contact_id":       str("Absent until the customer is identified."),
			"channel":          strEnum("", "voice", "email", "sms", "chat"),
			"queue":            str(""),
			"agent_id":         str("The account id of its agent, if any."),
			"status":           strEnum("", "waiting", "assigned", "resolved", "abandoned"),
			"language":         str("The customer's language when known: fr, en, ru or de."),
			"tags":             array("", str("")),
			"customer_name":    str("As the channel saw it."),
			"customer_address": str("An email address, a phone number in E.164, a chat visitor id."),
			"started":          dateTime(""),
			"last_activity":    dateTime(""),
		}
		if entries {
			p["entries"] = array("In time order.", ref("StoredEntry"))
		}
		return p
	}
	convRequired := []string{"tenant", "id", "channel", "status", "started", "last_activity"}
	return m{
		"StoredConversation": object("A conversation as indexed, with its entries.", append(convRequired, "entries"), convProps(true)),
		"ConversationInfo":   object("A conversation as indexed, without its entries.", convRequired, convProps(false)),
		"StoredEntry": object("A message, note or call record.", []string{"id", "kind", "text", "time"}, m{
			"id":        str("Unique within the conversation."),
			"kind":      strEnum("", "message", "note", "call"),
			"direction": strEnum("Messages: in from the customer, out to them.", "in", "out"),
			"agent_id":  str(""),
			"language":  str(""),
			"text":      str(""),
			"time":      dateTime(""),
		}),
		"SearchResult": object("One page of a search.", []string{"total", "hits"}, m{
			"total":  integer("Every match, not just this page."),
			"hits":   array("", ref("SearchHit")),
			"next":   str("The cursor of the next page (`after`); absent on the last page."),
			"facets": ref("SearchFacets"),
		}),
		"SearchHit": object("A matching conversation, without its entries (read them with getStoredConversation), with its best highlighted fragments.", []string{"conversation"}, m{
			"conversation": ref("ConversationInfo"),
			"highlights":   array("Absent without `q`.", ref("Highlight")),
			"first_line":   str("The beginning of the first message, on one line, at most 200 characters and an ellipsis."),
		}),
		"Highlight": object("A fragment of one entry's text with the matched spans marked by offsets, never markup.",
			[]string{"entry_id", "fragment", "marks"}, m{
				"entry_id": str(""),
				"fragment": str("Plain text."),
				"marks": array("[start, end) BYTE offsets into the UTF-8 encoding of fragment.",
					described(m{"type": "array", "items": m{"type": "integer"}, "minItems": 2, "maxItems": 2}, "")),
			}),
		"SearchFacets": object("Counts over all matches, with facets=1.", []string{"channels", "days"}, m{
			"channels": described(m{"type": "object", "additionalProperties": m{"type": "integer"}}, "Channel to count."),
			"days": array("By UTC day of last activity, oldest first.", object("", []string{"day", "count"}, m{
				"day": str("YYYY-MM-DD."), "count": integer(""),
			})),
		}),
		"Dossier": object("One page of a contact's conversations, newest first.", []string{"total", "conversations", "by_channel", "open", "contact_ids"}, m{
			"total":         integer("All of the contact's conversations."),
			"conversations": array("", ref("ConversationInfo")),
			"next":          str("The cursor of the next page (`after`); absent on the last page."),
			"by_channel":    described(m{"type": "object", "additionalProperties": m{"type": "integer"}}, "Channel to count, over all of them."),
			"open":          integer("Open cases (waiting or assigned)."),
			"contact_ids":   array("The contact first, then the contacts merged into it.", str("")),
		}),
		"Contact": object("A person or company.", []string{"tenant", "id"}, m{
			"tenant":      str(""),
			"id":          str(""),
			"name":        str(""),
			"emails":      array("Lower-cased.", str("")),
			"phones":      array("E.164.", str("")),
			"merged_into": str("The contact this one is merged into, while merged."),
		}),
		"ContactList":    object("", []string{"contacts"}, m{"contacts": array("", ref("Contact"))}),
		"MergeRequest":   object("", []string{"merge_ids"}, m{"merge_ids": array("Contacts to merge into the path's, 1 to 100.", str(""))}),
		"UnmergeRequest": object("", []string{"ids"}, m{"ids": array("Contacts merged into the path's to split out, 1 to 100.", str(""))}),
		"ContactsChanged": object("The published fact.", []string{"event_id", "contact_id", "ids"}, m{
			"event_id":   str("The id of the contacts.merged or contacts.unmerged event."),
			"contact_id": str("The path's contact."),
			"ids":        array("The contacts merged or split out.", str("")),
		}),
	}
}
