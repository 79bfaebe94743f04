package api_test

// The calls part of the inbox in the OpenAPI document (webui/inbox
// calls.go): hold and resume, recordings, and the call schemas.

func callPaths() m {
	holdDesc := "Publishes `call.hold_requested` for the conversation's answered call and waits for the voice channel " +
		"to act on it: 200 once its `call.held` (`call.resumed`) is folded, or 202 with the conversation as it stands " +
		"when the channel has not acted within the inbox's wait timeout (10 s by default); the change then reaches " +
		"the agents' sockets when it happens. No request body is read."
	hold := func(id, summary, what, conflict string) m {
		a := action(id, summary, holdDesc+" "+what, "The assigned agent, supervisors and admins.", nil, conflict, "")
		a["post"].(m)["responses"].(m)["202"] = ok("The voice channel has not acted yet: the conversation as it stands.", "ConversationDetail")
		return a
	}
	return m{
		conv + "/call/hold": hold("holdCall", "Put the call on hold", "The caller hears music on hold.",
			"`conflict`: the conversation is not assigned to the caller, has no answered call, the call is already on hold, or it ended meanwhile."),
		conv + "/call/resume": hold("resumeCall", "Take the call off hold", "Caller and agent talk again.",
			"`conflict`: the conversation is not assigned to the caller, has no answered call, the call is not on hold, or it ended meanwhile."),
		conv + "/recordings/{sha256}": m{
			"get": op("getRecording", "inbox", "Play a recording or voicemail",
				readRoles+" The same readers as GET conversations/{id}. Streams the WAV file of a recording the conversation's "+
					"`call.recorded` named (never any other file), with Range requests (206), If-None-Match/ETag (the digest) "+
					"and `Cache-Control: private, no-cache`.",
				safeSecurity, []m{tenantParam, convParam, pathParam("sha256", "The recording's SHA-256 digest, 64 lowercase hex digits (Recording.sha256).")}, nil,
				inboxFails(false, "Agents get it for a conversation that is not theirs, not offered to them, not waiting, and not of a contact they serve.", m{
					"200": m{"description": "The whole recording.", "content": m{"audio/wav": m{"schema": m{"type": "string", "format": "binary"}}}},
					"206": m{"description": "The range asked for (`Content-Range`).", "content": m{"audio/wav": m{"schema": m{"type": "string", "format": "binary"}}}},
					"304": m{"description": "Not modified (If-None-Match)."},
					"404": fail("`not_found`: no such conversation, no such recording in it, its file is missing, no recordings directory is configured, or another tenant."),
					"410": fail("`gone`: the recording was deleted (`call.recording_deleted`, retention period)."),
					"416": m{"description": "The range is not satisfiable. Plain text from the file server, not an Error body.",
						"content": m{"text/plain": m{"schema": m{"type": "string"}}}},
				})),
		},
	}
}

func callSchemas() m {
	ts := func(desc string) m { return dateTime(desc) }
	return m{
		"Call": object("A voice conversation's current call.", []string{"call_id", "direction", "from", "state", "started_at"}, m{
			"call_id":   str("The SIP Call-ID."),
			"direction": strEnum("", "inbound", "outbound"),
			"from":      str("The caller as signalled: a number, a sip: URI, or `anonymous`."),
			"to":        str("The number called."),
			"state": strEnum("`menu`: in the voice menu; `waiting`: queued; `ringing`: offered to an agent, whose phone rings; "+
				"`answered`: talking with an agent; `held`: on hold; `ended`: over (see end_reason).",
				"menu", "waiting", "ringing", "answered", "held", "ended"),
			"end_reason":  str("call.ended's reason: caller_hangup, agent_hangup, abandoned, no_answer, busy, transferred, voicemail, closed, failed."),
			"agent_id":    str("The agent on the call (or last on it)."),
			"queue":       str("The queue the call waits or waited in."),
			"started_at":  ts(""),
			"queued_at":   ts(""),
			"answered_at": ts(""),
			"held_since":  ts("Set while on hold."),
			"ended_at":    ts(""),
			"duration_ms": integer("From call.ended: the whole call."),
			"wait_ms":     integer("Time in queue."),
			"talk_ms":     integer("Time with an agent (from call.ended)."),
			"hold_ms":     integer("Time on hold so far."),
			"case":        strEnum("A case the caller left: a voicemail or a callback request.", "voicemail", "callback"),
			"callback": object("The caller's callback request.", []string{"number", "requested_at"}, m{
				"number":       str("Where to call back."),
				"queue":        str(""),
				"language":     str(""),
				"requested_at": ts(""),
			}),
			"voicemail": ref("Recording"),
		}),
		"Recording": object("A recording or voicemail of the conversation; plays from GET .../recordings/{sha256}.",
			[]string{"sha256", "call_id", "kind", "duration_ms", "size", "content_type", "time"}, m{
				"sha256":       str("The digest of the WAV file."),
				"call_id":      str(""),
				"kind":         strEnum("", "call", "voicemail"),
				"duration_ms":  integer(""),
				"size":         integer("Bytes."),
				"content_type": str("audio/wav."),
				"time":         ts("When the recording started."),
				"deleted":      boolean("Deleted at the end of its retention period: it no longer plays (410)."),
			}),
		"CallEntry": object("One line of a conversation's call log.", []string{"id", "call_id", "kind", "time"}, m{
			"id":      str("The event's id."),
			"call_id": str(""),
			"kind": strEnum("", "started", "menu", "queued", "answered", "held", "resumed", "transferred", "ended", "recorded",
				"callback", "recording_deleted"),
			"time":           ts(""),
			"agent_id":       str("Who answered, held, resumed or transferred."),
			"from":           str("The caller (started)."),
			"queue":          str("Where the call was queued, or the callback's queue."),
			"menu":           str(""),
			"selection":      str("DTMF digits."),
			"language":       str(""),
			"to_agent_id":    str(""),
			"to_queue":       str(""),
			"to_number":      str(""),
			"reason":         str("Why the call ended, or why a recording was deleted."),
			"duration_ms":    integer("Of the call (ended), of the recording (recorded) or of the hold (resumed)."),
			"number":         str("Where to call back (callback)."),
			"recording":      str("The recording's digest (recorded, recording_deleted)."),
			"recording_kind": strEnum("", "call", "voicemail"),
		}),
	}
}

// callDetailProps are the fields a voice conversation's detail adds.
func callDetailProps() m {
	return m{
		"call_log":         array("The calls' log, oldest first; voice only.", ref("CallEntry")),
		"call_log_dropped": integer("The oldest call log lines dropped past the view's bound."),
		"recordings":       array("The conversation's recordings and voicemail; voice only.", ref("Recording")),
	}
}
