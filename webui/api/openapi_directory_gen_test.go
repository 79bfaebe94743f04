package api_test

// The directory endpoints of the OpenAPI document (webui/directory):
// queues, skills, agents' routing profiles, canned answers and the chat
// widget. buildOpenAPI merges them in; see openapi_gen_test.go.

var (
	dirReadRoles  = "Every role of the tenant (agents need queues to transfer to and canned answers in the composer), and hub operators."
	dirAdminRoles = "The tenant's admins and hub operators."
	dirEditRoles  = "The tenant's admins and supervisors, and hub operators."

	errDirNotFound    = "`not_found`: no such tenant, or another tenant's and the caller is not an operator."
	errDirUnavailable = fail("`unavailable`: the directory or the account store is catching up or stopping, or the " +
		"request's own fact was not folded back in time; try again.")
	errDirInvalid = "`invalid_field` (status 422): `field` names the first field at fault and `message` lists every problem."
)

// dirFails adds the errors every directory operation can answer. unsafe
// operations get the CSRF failure; forbidden says which roles get 403
// (none for reads).
func dirFails(unsafe bool, forbidden string, notFound string, r m) m {
	r["401"] = errUnauthenticated
	switch {
	case unsafe:
		r["403"] = fail(errCSRF + " `forbidden`: " + forbidden)
	case forbidden != "":
		r["403"] = fail("`forbidden`: " + forbidden)
	}
	r["404"] = fail(errDirNotFound + notFound)
	r["500"] = errInternal
	r["503"] = errDirUnavailable
	return r
}

// dirPut is a PUT of a directory object: 201 when new, 200 when changed.
func dirPut(id, summary, desc, who string, params []m, reqBody m, schema, invalid, forbidden string) m {
	return op(id, "directory", summary, desc+" "+who, unsafeSecurity, params, reqBody,
		dirFails(true, forbidden, " Unknown ids are created, not 404.", withBody(m{
			"200": ok("Changed.", schema),
			"201": ok("Created.", schema),
			"422": fail(errDirInvalid + " " + invalid),
		}, "")))
}

// dirDelete is a DELETE of a directory object.
func dirDelete(id, summary, desc, who string, params []m, what, inUse, forbidden string) m {
	r := m{"204": m{"description": "Removed."}}
	if inUse != "" {
		r["409"] = fail("`in_use`: " + inUse)
	}
	return op(id, "directory", summary, desc+" "+who, unsafeSecurity, params, nil,
		dirFails(true, forbidden, " Also: no such "+what+".", r))
}

const dirForbidAdmin = "the caller is not an admin of the tenant nor an operator."

func directoryPaths() m {
	base := "/api/v1/tenants/{tenant}/"
	queueParam := pathParam("id", "Queue id: 1 to 64 lowercase letters, digits, '-', '_' or '.', starting with a letter or digit.")
	skillParam := pathParam("id", "Skill id, same rules as queue ids.")
	answerParam := pathParam("id", "Canned answer id, same rules as queue ids.")
	agentParam := pathParam("account_id", "Account id (UUID) of an account of the tenant.")
	return m{
		base + "queues": m{
			"get": op("listQueues", "directory", "List queues", dirReadRoles+" Sorted by id.",
				safeSecurity, []m{tenantParam}, nil,
				dirFails(false, "", "", m{"200": ok("The tenant's queues.", "QueueList")})),
		},
		base + "queues/{id}": m{
			"put": dirPut("saveQueue", "Create or replace a queue",
				"The whole queue (omitted fields take their zero value). Durations are whole seconds.", dirAdminRoles,
				[]m{tenantParam, queueParam}, body("The queue.", "QueueSave"), "Queue",
				"Also: `id` differs from the path, a skill not in the catalogue, `overflow_queue` not a queue of the tenant, "+
					"overflow set half-way, invalid `hours`, or the widget's default queue losing the chat channel.", dirForbidAdmin),
			"delete": dirDelete("removeQueue", "Remove a queue", "Conversations waiting in it stay until transferred.", dirAdminRoles,
				[]m{tenantParam, queueParam}, "queue", "another queue overflows into it, or it is the chat widget's default queue; "+
					"the message names them.", dirForbidAdmin),
		},
		base + "skills": m{
			"get": op("listSkills", "directory", "List the skill catalogue", dirReadRoles+" Sorted by id.",
				safeSecurity, []m{tenantParam}, nil,
				dirFails(false, "", "", m{"200": ok("The tenant's skills.", "SkillList")})),
		},
		base + "skills/{id}": m{
			"put": dirPut("saveSkill", "Name or rename a skill", "", dirAdminRoles,
				[]m{tenantParam, skillParam}, body("The skill's name.", "SkillSave"), "Skill",
				"Also: `id` differs from the path, or the name is empty, too long or has control characters.", dirForbidAdmin),
			"delete": dirDelete("removeSkill", "Remove a skill", "", dirAdminRoles, []m{tenantParam, skillParam}, "skill",
				"a queue or an agent's profile uses it; the message names the queues and agents.", dirForbidAdmin),
		},
		base + "agents": m{
			"get": op("listAgents", "directory", "List the tenant's agents with their routing profiles",
				dirReadRoles+" Every account with role agent, supervisor or admin, enabled or disabled, with its routing "+
					"profile (null if it takes no routed work), sorted by display name.",
				safeSecurity, []m{tenantParam}, nil,
				dirFails(false, "", "", m{"200": ok("The tenant's agents.", "AgentList")})),
		},
		base + "agents/{account_id}/profile": m{
			"put": op("setAgentProfile", "directory", "Set an agent's routing profile",
				"The account takes routed work with these skills and per-channel capacities (omitted channels are 0; at "+
					"least one above 0). "+dirAdminRoles,
				unsafeSecurity, []m{tenantParam, agentParam}, body("The profile.", "Profile"),
				dirFails(true, dirForbidAdmin, " Also: no such account in the tenant.", withBody(m{
					"200": ok("The agent with its new profile.", "Agent"),
					"422": fail(errDirInvalid + " Also: a skill not in the catalogue, a capacity negative or above 1000, " +
						"no capacity above 0, or (field `account_id`) an analyst's account."),
				}, ""))),
			"delete": dirDelete("removeAgentProfile", "Remove an agent's routing profile", "The account no longer takes routed work.",
				dirAdminRoles, []m{tenantParam, agentParam}, "account, or it has no profile", "", dirForbidAdmin),
		},
		base + "canned-answers": m{
			"get": op("listCannedAnswers", "directory", "List canned answers and scripts",
				dirReadRoles+" Sorted by title. Filters combine.",
				safeSecurity, []m{tenantParam,
					{"name": "kind", "in": "query", "required": false, "description": "Only answers or only scripts.",
						"schema": m{"type": "string", "enum": []string{"answer", "script"}}},
					{"name": "language", "in": "query", "required": false,
						"description": "Answers in this language and those for any language.",
						"schema":      m{"type": "string", "enum": []string{"fr", "en", "ru", "de"}}},
					{"name": "queue", "in": "query", "required": false,
						"description": "Answers limited to this queue and those for every queue.", "schema": m{"type": "string"}},
				}, nil,
				dirFails(false, "", "", m{
					"200": ok("The canned answers.", "CannedAnswerList"),
					"422": fail("`invalid_field` (field `kind` or `language`): an unknown value."),
				})),
		},
		base + "canned-answers/{id}": m{
			"put": dirPut("saveCannedAnswer", "Create or replace a canned answer or script", "The whole answer.", dirEditRoles,
				[]m{tenantParam, answerParam}, body("The answer.", "CannedAnswerSave"), "CannedAnswer",
				"Also: `id` differs from the path, an unknown kind or language, an empty or too long text, a bad shortcut, "+
					"or a queue that is not a queue of the tenant.",
				"the caller is not an admin or supervisor of the tenant nor an operator."),
			"delete": dirDelete("removeCannedAnswer", "Remove a canned answer or script", "", dirEditRoles,
				[]m{tenantParam, answerParam}, "canned answer", "",
				"the caller is not an admin or supervisor of the tenant nor an operator."),
		},
		base + "widget": m{
			"get": op("getWidget", "directory", "The chat widget's settings",
				dirReadRoles+" With the `<script>` snippet to paste into the tenant's pages, built from the request's host "+
					"(https when the request came over TLS or with `X-Forwarded-Proto: https`).",
				safeSecurity, []m{tenantParam}, nil,
				dirFails(false, "", "", m{"200": ok("The widget's settings.", "Widget")})),
			"put": op("configureWidget", "directory", "Configure the chat widget",
				"Replaces the settings. "+dirAdminRoles, unsafeSecurity, []m{tenantParam}, body("The settings.", "WidgetSave"),
				dirFails(true, dirForbidAdmin, "", withBody(m{
					"200": ok("The widget's settings as saved.", "Widget"),
					"422": fail(errDirInvalid + " Also: an origin that is not `*` nor a lowercase http(s) origin, a repeated " +
						"origin, or `default_queue` not a queue of the tenant taking the chat channel."),
				}, ""))),
		},
	}
}

// nullable lets an object schema also be null.
func nullable(s m) m {
	out := merge(s, m{})
	out["type"] = []string{"object", "null"}
	return out
}

func directorySchemas() m {
	channels := array("Channels whose conversations may wait in the queue.", strEnum("", "chat", "voice", "email", "sms"))
	seconds := func(desc string) m { return described(m{"type": "integer", "minimum": 0, "maximum": 2592000}, desc) }
	hoursSchema := object("The queue's calendar.", nil, m{
		"timezone":    str("IANA time zone, e.g. Europe/Paris; required."),
		"always_open": boolean("Open at every moment except holidays without hours; then weekly must be empty."),
		"weekly": described(m{"type": "object", "additionalProperties": array("", str("HH:MM-HH:MM; an end not after the start runs past midnight."))},
			"Lowercase English day name (monday…sunday) to opening spans; an absent day is closed."),
		"holidays": array("Dates overriding the weekly schedule.", ref("Holiday")),
	})
	queueProps := m{
		"id":                     str("The queue id (the path's)."),
		"name":                   str("1 to 200 characters."),
		"channels":               channels,
		"skills":                 array("Skills an agent needs, all of them; each in the catalogue.", str("")),
		"priority":               described(m{"type": "integer", "minimum": 0}, "Added to each conversation's own priority."),
		"hours":                  described(nullable(hoursSchema), "The queue's calendar; null means open 24/7."),
		"overflow_after_seconds": seconds("Move a conversation still waiting after this long to overflow_queue; 0: never."),
		"overflow_queue":         str("Another queue of the tenant; set with overflow_after_seconds, or empty."),
		"offer_timeout_seconds":  seconds("How long an offer stands; 0: routing's default."),
	}
	answerProps := m{
		"id":    str("The answer id (the path's)."),
		"kind":  strEnum("answer: inserted into the composer; script: what to say and ask, shown beside the conversation.", "answer", "script"),
		"title": str("1 to 200 characters."),
		"text": str("At most 5000 characters. Placeholders filled by the inbox: {{customer.name}}, {{customer.address}}, " +
			"{{case.number}}, {{agent.name}}, {{queue.name}}."),
		"language": strEnum("Empty: any language.", "", "fr", "en", "ru", "de"),
		"shortcut": str("What an agent types after \"/\" to insert it; empty or an id."),
		"queues":   array("Limits the answer to these queues' conversations; empty: every queue.", str("")),
	}
	capacity := object("Conversations the agent handles at once, per channel (offers included); omitted is 0, at most 1000.", nil, m{
		"chat":  integer(""),
		"voice": integer(""),
		"email": integer(""),
		"sms":   integer(""),
	})
	profileProps := m{
		"skills":   array("Each in the catalogue.", str("")),
		"capacity": capacity,
	}
	widgetProps := m{
		"allowed_origins": array("Web origins (\"https://www.example.com\", lowercase) whose pages may open a chat; \"*\" allows any; "+
			"empty allows none.", str("")),
		"default_queue": str("Where a widget naming no queue sends its conversations: a queue taking chat, or empty (such widgets are refused)."),
	}
	return m{
		"Queue": object("A queue, as stored.", []string{"id", "name", "channels", "skills", "priority", "hours",
			"overflow_after_seconds", "overflow_queue", "offer_timeout_seconds"}, queueProps),
		"QueueSave":        object("The whole queue; `id` may be sent only equal to the path's.", []string{"name", "channels"}, queueProps),
		"QueueList":        object("", []string{"queues"}, m{"queues": array("", ref("Queue"))}),
		"Hours":            hoursSchema,
		"Holiday":          object("", []string{"date"}, m{"date": str("YYYY-MM-DD in the calendar's zone."), "name": str("Said to callers, shown in the widget."), "open": array("Special hours; empty: closed all day.", str("HH:MM-HH:MM"))}),
		"Skill":            object("A skill of the catalogue.", []string{"id", "name"}, m{"id": str(""), "name": str("")}),
		"SkillSave":        object("`id` may be sent only equal to the path's.", []string{"name"}, m{"id": str(""), "name": str("1 to 200 characters.")}),
		"SkillList":        object("", []string{"skills"}, m{"skills": array("", ref("Skill"))}),
		"Capacity":         capacity,
		"Profile":          object("A routing profile.", []string{"capacity"}, profileProps),
		"Agent":            object("An account that can take routed work, with its routing profile.", []string{"account_id", "login", "display_name", "role", "disabled", "profile"}, m{"account_id": str(""), "login": str(""), "display_name": str(""), "role": strEnum("", "agent", "supervisor", "admin"), "disabled": boolean(""), "profile": described(nullable(object("", []string{"skills", "capacity"}, profileProps)), "null: the account takes no routed work.")}),
		"AgentList":        object("", []string{"agents"}, m{"agents": array("", ref("Agent"))}),
		"CannedAnswer":     object("A canned answer or operator script.", []string{"id", "kind", "title", "text", "language", "shortcut", "queues"}, answerProps),
		"CannedAnswerSave": object("The whole answer; `id` may be sent only equal to the path's.", []string{"kind", "title", "text"}, answerProps),
		"CannedAnswerList": object("", []string{"canned_answers"}, m{"canned_answers": array("", ref("CannedAnswer"))}),
		"Widget":           object("The chat widget's settings.", []string{"allowed_origins", "default_queue", "snippet"}, merge(widgetProps, m{"snippet": str("`<script src=\"https://HOST/chat/widget.js\" data-tenant=\"T\" data-queue=\"Q\" async></script>` (data-queue only with a default queue), for an admin to paste into the tenant's pages.")})),
		"WidgetSave":       object("Omitted fields are empty.", nil, widgetProps),
	}
}

// withSchemas adds schemas to a components object.
func withSchemas(components, schemas m) m {
	components["schemas"] = merge(components["schemas"].(m), schemas)
	return components
}
