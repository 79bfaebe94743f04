// What the inbox says about calls (webui/inbox calls.go): the call's state,
// the lines of its call log, durations, and the cases a caller leaves
// (voicemail, callback). Pure functions returning message keys and their
// values, so the wording lives in the catalogues and the logic is tested
// with node:test (calls.test.mjs). Keys are written out in full so
// webui/ui/i18n_test.go sees each one used.
import type { MessageKey } from "../i18n";

export type CallState = "menu" | "waiting" | "ringing" | "answered" | "held" | "ended";

/** A conversation's current call (Summary.call). */
export interface Call {
  call_id: string;
  direction: string;
  from: string;
  to?: string;
  state: CallState;
  end_reason?: string;
  agent_id?: string;
  queue?: string;
  started_at: string;
  queued_at?: string;
  answered_at?: string;
  held_since?: string;
  ended_at?: string;
  duration_ms?: number;
  wait_ms?: number;
  talk_ms?: number;
  hold_ms?: number;
  case?: "voicemail" | "callback";
  callback?: { number: string; queue?: string; language?: string; requested_at: string };
  voicemail?: Recording;
}

/** A recording or voicemail of the conversation. */
export interface Recording {
  sha256: string;
  call_id: string;
  kind: "call" | "voicemail";
  duration_ms: number;
  size: number;
  content_type: string;
  time: string;
  deleted?: boolean;
}

/** One line of the call log (Detail.call_log). */
export interface CallEntry {
  id: string;
  call_id: string;
  kind: "started" | "menu" | "queued" | "answered" | "held" | "resumed" | "transferred" | "ended" | "recorded" | "callback" | "recording_deleted";
  time: string;
  agent_id?: string;
  from?: string;
  queue?: string;
  menu?: string;
  selection?: string;
  language?: string;
  to_agent_id?: string;
  to_queue?: string;
  to_number?: string;
  reason?: string;
  duration_ms?: number;
  number?: string;
  recording?: string;
  recording_kind?: string;
}

/** A message key with its values. */
export interface Message {
  key: MessageKey;
  vars?: Record<string, string | number>;
}

const stateKeys: Record<CallState, MessageKey> = {
  menu: "inbox.call.state.menu",
  waiting: "inbox.call.state.waiting",
  ringing: "inbox.call.state.ringing",
  answered: "inbox.call.state.answered",
  held: "inbox.call.state.held",
  ended: "inbox.call.state.ended",
};

const endKeys: Record<string, MessageKey> = {
  caller_hangup: "inbox.call.end.caller_hangup",
  agent_hangup: "inbox.call.end.agent_hangup",
  abandoned: "inbox.call.end.abandoned",
  no_answer: "inbox.call.end.no_answer",
  busy: "inbox.call.end.busy",
  transferred: "inbox.call.end.transferred",
  voicemail: "inbox.call.end.voicemail",
  closed: "inbox.call.end.closed",
  callback: "inbox.call.end.callback",
  failed: "inbox.call.end.failed",
};

export function stateKey(s: string): MessageKey {
  return stateKeys[s as CallState] ?? "inbox.call.state.waiting";
}

export function endReasonKey(r: string | undefined): MessageKey | undefined {
  return r ? endKeys[r] : undefined;
}

/** A duration as m:ss, or h:mm:ss from an hour. */
export function duration(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const ss = s.toString().padStart(2, "0");
  return h > 0 ? `${h}:${m.toString().padStart(2, "0")}:${ss}` : `${m}:${ss}`;
}

/** Whether a caller is on the line: the call has not ended. */
export function live(c: Call | undefined): boolean {
  return !!c && c.state !== "ended";
}

/** Whether hold and resume apply: the call is answered or on hold. */
export function controllable(c: Call | undefined): boolean {
  return !!c && (c.state === "answered" || c.state === "held");
}

/**
 * The ticking part of the call's line: how long it has been talking (since
 * answered) or on hold (since held), at now; undefined otherwise.
 */
export function running(c: Call, now: number): Message | undefined {
  const since = (iso: string | undefined) => (iso ? Math.max(0, now - Date.parse(iso)) : NaN);
  if (c.state === "held") {
    const ms = since(c.held_since);
    if (Number.isFinite(ms)) return { key: "inbox.call.held_for", vars: { time: duration(ms) } };
  }
  if (c.state === "answered") {
    const ms = since(c.answered_at);
    if (Number.isFinite(ms)) return { key: "inbox.call.talking", vars: { time: duration(ms) } };
  }
  if (c.state === "ended" && c.duration_ms !== undefined) {
    return { key: "inbox.call.lasted", vars: { time: duration(c.duration_ms) } };
  }
  return undefined;
}

/**
 * The text of a call log line; names resolves an agent id to a name, and
 * queueName a queue id, falling back to the ids themselves.
 */
export function logLine(e: CallEntry, names: (id: string) => string, queueName: (id: string) => string): Message {
  switch (e.kind) {
    case "started":
      return e.from && e.from !== "anonymous"
        ? { key: "inbox.call.log.started", vars: { number: e.from } }
        : { key: "inbox.call.log.started_anonymous" };
    case "menu":
      return { key: "inbox.call.log.menu", vars: { selection: e.selection ?? "" } };
    case "queued":
      return { key: "inbox.call.log.queued", vars: { queue: queueName(e.queue ?? "") } };
    case "answered":
      return { key: "inbox.call.log.answered", vars: { name: names(e.agent_id ?? "") } };
    case "held":
      return { key: "inbox.call.log.held" };
    case "resumed":
      return { key: "inbox.call.log.resumed", vars: { time: duration(e.duration_ms ?? 0) } };
    case "transferred":
      if (e.to_queue) return { key: "inbox.call.log.transferred_queue", vars: { queue: queueName(e.to_queue) } };
      if (e.to_agent_id) return { key: "inbox.call.log.transferred_agent", vars: { name: names(e.to_agent_id) } };
      return { key: "inbox.call.log.transferred_number", vars: { number: e.to_number ?? "" } };
    case "ended":
      return { key: "inbox.call.log.ended", vars: { time: duration(e.duration_ms ?? 0) } };
    case "recorded":
      return e.recording_kind === "voicemail"
        ? { key: "inbox.call.log.voicemail", vars: { time: duration(e.duration_ms ?? 0) } }
        : { key: "inbox.call.log.recorded", vars: { time: duration(e.duration_ms ?? 0) } };
    case "callback":
      return { key: "inbox.call.log.callback", vars: { number: e.number ?? "" } };
    case "recording_deleted":
      return { key: "inbox.call.log.recording_deleted" };
  }
  return { key: "inbox.call.log.started_anonymous" };
}

/** The label of a case a caller left, if the call is one. */
export function caseKey(c: Call | undefined): MessageKey | undefined {
  if (c?.case === "voicemail") return "inbox.call.case.voicemail";
  if (c?.case === "callback") return "inbox.call.case.callback";
  return undefined;
}

/** The number to call back: the one asked for, else the caller's, if known. */
export function callbackNumber(c: Call | undefined): string | undefined {
  if (!c) return undefined;
  if (c.callback?.number) return c.callback.number;
  return c.from && c.from !== "anonymous" ? c.from : undefined;
}

/** A tel: link for a number as signalled (digits and a leading +), or undefined for a sip: URI. */
export function telHref(number: string): string | undefined {
  const n = number.replace(/[\s().-]/g, "");
  return /^\+?[0-9]{2,20}$/.test(n) ? "tel:" + n : undefined;
}
