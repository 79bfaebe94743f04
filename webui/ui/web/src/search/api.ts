// The search API of webui/searchapi (and the directory reads the search
// page needs for its filters), as the search page and the inbox's dossier
// panel use them. Every failure is an ApiError (../api).
import { ApiError, call, json } from "../api";

export const channels = ["chat", "voice", "email", "sms"] as const;
export const searchStatuses = ["waiting", "assigned", "resolved", "abandoned"] as const;

/** One message, note or call record of a stored conversation. */
export interface StoredEntry {
  id: string;
  kind: "message" | "note" | "call";
  direction?: "in" | "out";
  agent_id?: string;
  language?: string;
  text: string;
  time: string;
}

/** A conversation as the index stores it; entries only when read whole. */
export interface StoredConversation {
  tenant: string;
  id: string;
  contact_id?: string;
  channel: string;
  queue?: string;
  agent_id?: string;
  status: string;
  language?: string;
  tags?: string[];
  customer_name?: string;
  customer_address?: string;
  started: string;
  last_activity: string;
  entries?: StoredEntry[];
}

/** A matched part of an entry: marks are [start, end) UTF-8 BYTE offsets into fragment. */
export interface Highlight {
  entry_id: string;
  fragment: string;
  marks: [number, number][];
}

export interface Hit {
  conversation: StoredConversation;
  highlights?: Highlight[];
  first_line?: string;
}

export interface Facets {
  channels: Record<string, number>;
  days: { day: string; count: number }[];
}

export interface Result {
  total: number;
  hits: Hit[];
  next?: string;
  facets?: Facets;
}

export interface Dossier {
  total: number;
  conversations: StoredConversation[];
  next?: string;
  by_channel: Record<string, number>;
  open: number;
  /** The contact first, then the contacts merged into it. */
  contact_ids: string[];
}

export interface Contact {
  tenant: string;
  id: string;
  name?: string;
  emails?: string[];
  phones?: string[];
  merged_into?: string;
}

export interface Filters {
  channels: string[];
  queue: string;
  agent: string;
  status: string;
  tags: string[];
  /** YYYY-MM-DD in the browser's zone, inclusive; empty: unbounded. */
  from: string;
  to: string;
}

export const noFilters: Filters = { channels: [], queue: "", agent: "", status: "", tags: [], from: "", to: "" };

export type LookupKind = "phone" | "email" | "name";

/** The local midnight starting day (YYYY-MM-DD), in RFC 3339, or "". */
export function dayStart(day: string, plusDays = 0): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day);
  if (!m) return "";
  const d = new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]) + plusDays);
  return Number.isNaN(d.getTime()) ? "" : d.toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** The query string of a search. */
export function searchParams(text: string, f: Filters, after: string, facets: boolean, size = 20): URLSearchParams {
  const q = new URLSearchParams();
  if (text.trim()) q.set("q", text);
  for (const c of f.channels) q.append("channel", c);
  if (f.queue) q.set("queue", f.queue);
  if (f.agent) q.set("agent", f.agent);
  if (f.status) q.set("status", f.status);
  for (const tag of f.tags) q.append("tag", tag);
  const from = dayStart(f.from);
  const to = dayStart(f.to, 1); // the end day is included
  if (from) q.set("from", from);
  if (to) q.set("to", to);
  q.set("size", String(size));
  if (after) q.set("after", after);
  if (facets) q.set("facets", "1");
  return q;
}

/** The search calls of one tenant, with the session's CSRF token. */
export class SearchApi {
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

  search(text: string, f: Filters, after = "", facets = true): Promise<Result> {
    return this.get<Result>("search?" + searchParams(text, f, after, facets).toString());
  }

  /** A stored conversation, whole; contact names the dossier it is read from. */
  conversation(id: string, contact?: string): Promise<StoredConversation> {
    const q = contact ? "?contact=" + encodeURIComponent(contact) : "";
    return this.get<StoredConversation>("search/conversations/" + encodeURIComponent(id) + q);
  }

  dossier(contactId: string, after = "", size = 10): Promise<Dossier> {
    const q = new URLSearchParams({ size: String(size) });
    if (after) q.set("after", after);
    return this.get<Dossier>("contacts/" + encodeURIComponent(contactId) + "/dossier?" + q.toString());
  }

  async lookup(kind: LookupKind, value: string): Promise<Contact[]> {
    const q = new URLSearchParams({ [kind]: value, size: "10" });
    return (await this.get<{ contacts: Contact[] }>("contacts?" + q.toString())).contacts;
  }

  async merge(contactId: string, ids: string[]): Promise<void> {
    await call("POST", this.base + "contacts/" + encodeURIComponent(contactId) + "/merge", { merge_ids: ids }, this.csrf);
  }

  async unmerge(contactId: string, ids: string[]): Promise<void> {
    await call("POST", this.base + "contacts/" + encodeURIComponent(contactId) + "/unmerge", { ids }, this.csrf);
  }

  async queues(): Promise<{ id: string; name: string }[]> {
    return (await this.get<{ queues: { id: string; name: string }[] }>("queues")).queues;
  }

  async agents(): Promise<{ account_id: string; display_name: string }[]> {
    return (await this.get<{ agents: { account_id: string; display_name: string }[] }>("agents")).agents;
  }
}

/**
 * Whether err means the search engine cannot answer now: down (503), not
 * mounted on this hub (a plain 404 page), or unreachable.
 */
export function searchUnavailable(err: unknown): boolean {
  return (
    err instanceof ApiError &&
    (err.code === "search_unavailable" || err.code === "unavailable" || err.code === "network" || err.code === "http_404" || err.code === "http_502" || err.code === "http_504")
  );
}
