// The inbox API of webui/inbox and the directory reads the inbox needs
// (queues, agents, canned answers), as the inbox screens use them. Every
// failure is an ApiError (../api).
import { call, json } from "../api";
import type { Call, CallEntry, Recording } from "./calls";

export const statuses = ["waiting", "offered", "assigned", "resolved", "abandoned"] as const;
export type Status = (typeof statuses)[number];

export const presences = ["available", "away", "wrap-up", "offline"] as const;
export type Presence = (typeof presences)[number];

export interface Customer {
  name?: string;
  address?: string;
}

export interface Offer {
  agent_id: string;
  deadline: string;
}

/** What lists and the socket show of a conversation. */
export interface Summary {
  id: string;
  tenant: string;
  channel: string;
  contact_id?: string;
  customer: Customer;
  queue?: string;
  status: Status;
  agent_id?: string;
  offer?: Offer;
  last_activity: string;
  messages: number;
  /** With view=contact only: the first line of its first message. */
  first_line?: string;
  /** The conversation's tags, lowercase (empty when none). */
  tags?: string[];
  /** The conversation's current call (voice). */
  call?: Call;
}

/** One message of a thread. */
export interface Entry {
  message_id: string;
  direction: "in" | "out";
  agent_id?: string;
  text: string;
  time: string;
  delivered: boolean;
  delivery_error?: string;
}

/** An internal note, never sent to the customer. */
export interface Note {
  note_id: string;
  agent_id: string;
  text: string;
  time: string;
}

/** The answer to a reply: the reply as the thread holds it, and the summary after it. */
export interface ReplyResult {
  conversation: Summary;
  entry: Entry;
}

export interface Detail extends Summary {
  thread: Entry[];
  thread_dropped?: number;
  notes: Note[];
  /** The call log and the recordings of a voice conversation. */
  call_log?: CallEntry[];
  call_log_dropped?: number;
  recordings?: Recording[];
}

export interface Me {
  account_id: string;
  role: string;
  agent: boolean;
  presence?: Presence;
  capacity?: Record<string, { capacity: number; load: number }>;
}

export interface Queue {
  id: string;
  name: string;
  channels: string[];
}

export interface Agent {
  account_id: string;
  login: string;
  display_name: string;
  role: string;
  disabled: boolean;
  profile: unknown;
}

export interface Answer {
  id: string;
  kind: "answer" | "script";
  title: string;
  text: string;
  language: string;
  shortcut: string;
  queues: string[];
}

export type ListView = "mine" | "queues" | "all";

/** The inbox calls of one tenant, with the session's CSRF token. */
export class InboxApi {
  private readonly base: string;

  constructor(
    readonly tenant: string,
    private readonly csrf: string,
  ) {
    this.base = "/api/v1/tenants/" + encodeURIComponent(tenant) + "/";
  }

  private async get<T>(path: string): Promise<T> {
    return json<T>(await call("GET", this.base + path));
  }

  private async send<T>(method: string, path: string, body?: unknown): Promise<T> {
    return json<T>(await call(method, this.base + path, body ?? {}, this.csrf));
  }

  private conv(id: string, action = ""): string {
    return "conversations/" + encodeURIComponent(id) + (action ? "/" + action : "");
  }

  async list(view: ListView): Promise<Summary[]> {
    return (await this.get<{ conversations: Summary[] }>("conversations?view=" + view)).conversations;
  }

  /** The dossier: every conversation of a contact, newest first. */
  async contact(contactId: string): Promise<Summary[]> {
    const q = "conversations?view=contact&contact=" + encodeURIComponent(contactId);
    return (await this.get<{ conversations: Summary[] }>(q)).conversations;
  }

  detail(id: string): Promise<Detail> {
    return this.get<Detail>(this.conv(id));
  }

  accept(id: string): Promise<Detail> {
    return this.send("POST", this.conv(id, "accept"));
  }

  decline(id: string): Promise<Detail> {
    return this.send("POST", this.conv(id, "decline"));
  }

  /** Sends a reply; the same clientId on a retry sends it once. The answer
   * is the reply and the conversation's summary, not the whole thread.
   * socketId, this tab's socket (LiveSocket.socketId), is then sent no
   * frame for the reply: the caller applies the answer instead. */
  async reply(id: string, clientId: string, text: string, socketId?: string): Promise<ReplyResult> {
    const extra = socketId ? { "X-Hotline-Socket": socketId } : undefined;
    const body = { client_id: clientId, text };
    return json<ReplyResult>(await call("POST", this.base + this.conv(id, "messages"), body, this.csrf, extra));
  }

  /** Adds an internal note; the same clientId on a retry adds it once. */
  note(id: string, clientId: string, text: string): Promise<Detail> {
    return this.send("POST", this.conv(id, "notes"), { client_id: clientId, text });
  }

  transfer(id: string, to: { to_queue: string } | { to_agent: string }, note: string): Promise<Detail> {
    return this.send("POST", this.conv(id, "transfer"), { ...to, note });
  }

  resolve(id: string): Promise<Detail> {
    return this.send("POST", this.conv(id, "resolve"));
  }

  reopen(id: string): Promise<Detail> {
    return this.send("POST", this.conv(id, "reopen"));
  }

  /** Replaces the conversation's tags with the whole set tags ([] clears them). */
  tags(id: string, tags: string[]): Promise<Detail> {
    return this.send("PUT", this.conv(id, "tags"), { tags });
  }

  /**
   * Asks for the call to be held (or resumed). confirmed is false when the
   * phone system had not acted yet when the server answered (202): the
   * change arrives on the socket later.
   */
  async hold(id: string, hold: boolean): Promise<{ detail: Detail; confirmed: boolean }> {
    const res = await call("POST", this.base + this.conv(id, hold ? "call/hold" : "call/resume"), {}, this.csrf);
    return { detail: await json<Detail>(res), confirmed: res.status !== 202 };
  }

  /** Where a recording of the conversation plays from (same origin, with the session cookie). */
  recordingURL(id: string, sha256: string): string {
    return this.base + this.conv(id, "recordings/" + encodeURIComponent(sha256));
  }

  me(): Promise<Me> {
    return this.get<Me>("me");
  }

  presence(presence: Presence): Promise<Me> {
    return this.send("PUT", "me/presence", { presence, reason: "" });
  }

  async queues(): Promise<Queue[]> {
    return (await this.get<{ queues: Queue[] }>("queues")).queues;
  }

  async agents(): Promise<Agent[]> {
    return (await this.get<{ agents: Agent[] }>("agents")).agents;
  }

  /** Canned answers and scripts for a queue and a language (plus those for any). */
  async answers(queue: string, language: string): Promise<Answer[]> {
    const q = new URLSearchParams();
    if (queue) q.set("queue", queue);
    if (language) q.set("language", language);
    return (await this.get<{ canned_answers: Answer[] }>("canned-answers?" + q.toString())).canned_answers;
  }

  /** The live socket's URL (same origin, so the session cookie goes along). */
  socketURL(): string {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    return scheme + "//" + location.host + this.base + "ws";
  }
}

/** A fresh id for one message the agent writes, reused on its retries. */
export function newClientId(): string {
  if (typeof crypto.randomUUID === "function") return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

/** Whether s is assigned or offered to account. */
export function isMine(account: string, s: Summary): boolean {
  if (s.status === "assigned") return s.agent_id === account;
  if (s.status === "offered") return s.offer?.agent_id === account;
  return false;
}

/** Roles that see every conversation of their tenant. */
export function privileged(role: string): boolean {
  return role === "supervisor" || role === "analyst" || role === "admin";
}

export function byActivity(a: Summary, b: Summary): number {
  return Date.parse(b.last_activity) - Date.parse(a.last_activity) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}
