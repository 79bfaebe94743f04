// The agent's live socket (webui/inbox ws.go): reconnects with exponential
// backoff and jitter, and tells its owner each time it (re)opens, so the
// owner refetches what it may have missed while disconnected. The server's
// first frame, hello, is queued as it registers the socket, after the
// upgrade's answer: the socket is open for the owner (onOpen) once hello
// arrives, since a change the server folds before then never reaches
// it. Hello also names the socket: replies sent with that id
// (X-Hotline-Socket) are not echoed to this socket, since their answer
// carries them. Replies go over the socket itself while it is open (a reply
// frame, answered reply_result or reply_error by request id); the socket
// that sent a reply is not sent it either.
import type { Entry, ReplyResult, Summary } from "./api";

export type Frame =
  /** withMessage: split from a message frame, which follows with the change itself. */
  | { type: "conversation"; conversation: Summary; withMessage?: true }
  | { type: "message"; conversation_id: string; entry: Entry }
  | { type: "typing"; conversation_id: string; from: string; active: boolean };

export type SocketState = "connecting" | "open" | "closed";

export interface SocketHandlers {
  onFrame: (f: Frame) => void;
  /** The socket is registered (its hello frame came): refetch what it missed. */
  onOpen: () => void;
  onState: (s: SocketState) => void;
}

/** A reply frame the server refused: the status and error body HTTP would answer. */
export interface ReplyRefused {
  status: number;
  code: string;
  message: string;
  field?: string;
}

/**
 * What became of a reply sent over the socket: its result, its refusal, or
 * lost (the socket was not open, closed before the answer, or the answer
 * did not come in time): the caller then sends it over HTTP with the same
 * client id, which the server makes one reply.
 */
export type ReplyOutcome = { result: ReplyResult } | { refused: ReplyRefused } | { lost: true };

/** How long a reply sent over the socket waits for its answer. */
export const replyTimeout = 10_000;

/** The answer to a reply frame, if v is one: its request id and outcome. */
export function replyAnswer(v: unknown): { requestId: string; outcome: ReplyOutcome } | undefined {
  if (typeof v !== "object" || v === null) return undefined;
  const f = v as Record<string, unknown>;
  if (typeof f.request_id !== "string") return undefined;
  if (f.type === "reply_result") {
    const ok = typeof f.conversation === "object" && f.conversation !== null && typeof f.entry === "object";
    if (!ok || f.entry === null) return undefined;
    return {
      requestId: f.request_id,
      outcome: { result: { conversation: f.conversation as Summary, entry: f.entry as Entry } },
    };
  }
  if (f.type === "reply_error") {
    const e = (typeof f.error === "object" && f.error !== null ? f.error : {}) as Record<string, unknown>;
    const refused: ReplyRefused = {
      status: typeof f.status === "number" ? f.status : 0,
      code: typeof e.code === "string" ? e.code : "http_" + String(f.status),
      message: typeof e.message === "string" ? e.message : "",
    };
    if (typeof e.field === "string") refused.field = e.field;
    return { requestId: f.request_id, outcome: { refused } };
  }
  return undefined;
}

interface Waiter {
  done: (o: ReplyOutcome) => void;
  timer: number;
}

const minDelay = 500;
const maxDelay = 30_000;

function isFrame(v: unknown): v is Frame {
  if (typeof v !== "object" || v === null) return false;
  const f = v as Record<string, unknown>;
  switch (f.type) {
    case "conversation":
      return typeof f.conversation === "object" && f.conversation !== null;
    case "message":
      return typeof f.conversation_id === "string" && typeof f.entry === "object" && f.entry !== null;
    case "typing":
      return typeof f.conversation_id === "string" && typeof f.active === "boolean";
    default:
      return false;
  }
}

/** The socket id of a hello frame (the server's first frame), if v is one. */
export function helloId(v: unknown): string | undefined {
  if (typeof v !== "object" || v === null) return undefined;
  const f = v as Record<string, unknown>;
  return f.type === "hello" && typeof f.socket_id === "string" && f.socket_id !== "" ? f.socket_id : undefined;
}

/**
 * frames splits what the server sent into the frames the inbox handles: a
 * message frame may carry the conversation's new summary too (one write
 * instead of two on the server), which is the conversation frame that
 * precedes the message, marked withMessage: the message frame brings the
 * change itself (a new entry, or a reply now delivered), so the open
 * conversation need not be read again for it.
 */
export function frames(v: unknown): Frame[] {
  if (!isFrame(v)) return [];
  if (v.type === "message") {
    const c = (v as { conversation?: unknown }).conversation;
    const entry: Frame = { type: "message", conversation_id: v.conversation_id, entry: v.entry };
    if (typeof c === "object" && c !== null) {
      return [{ type: "conversation", conversation: c as Summary, withMessage: true }, entry];
    }
    return [entry];
  }
  return [v];
}

export class LiveSocket {
  private ws: WebSocket | undefined;
  private attempt = 0;
  private timer: number | undefined;
  private stopped = false;
  private id: string | undefined;
  /** Replies sent on the current socket, by request id, until answered. */
  private waiting = new Map<string, Waiter>();
  private requests = 0;

  constructor(
    private readonly url: string,
    private readonly h: SocketHandlers,
  ) {
    this.connect();
  }

  private connect(): void {
    if (this.stopped) return;
    this.h.onState("connecting");
    let ws: WebSocket;
    try {
      ws = new WebSocket(this.url);
    } catch {
      this.retry();
      return;
    }
    this.ws = ws;
    this.id = undefined;
    ws.onopen = () => {
      this.attempt = 0;
      this.h.onState("open");
    };
    ws.onmessage = (ev) => {
      if (typeof ev.data !== "string") return;
      let v: unknown;
      try {
        v = JSON.parse(ev.data);
      } catch {
        return;
      }
      const answer = replyAnswer(v);
      if (answer !== undefined) {
        if (this.ws === ws) this.settle(answer.requestId, answer.outcome);
        return;
      }
      const id = helloId(v);
      if (id !== undefined) {
        if (this.ws === ws) {
          this.id = id;
          this.h.onOpen();
        }
        return;
      }
      for (const f of frames(v)) this.h.onFrame(f);
    };
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.ws = undefined;
      this.id = undefined;
      this.loseAll();
      this.h.onState("closed");
      this.retry();
    };
  }

  private retry(): void {
    if (this.stopped) return;
    const base = Math.min(maxDelay, minDelay * 2 ** this.attempt);
    this.attempt++;
    const delay = base / 2 + Math.random() * (base / 2);
    this.timer = window.setTimeout(() => this.connect(), delay);
  }

  /**
   * The open socket's id (its hello frame), for the replies sent from this
   * tab: the server then sends this socket no frame for them, and the
   * reply's answer must be applied instead. Undefined while not open.
   */
  get socketId(): string | undefined {
    return this.ws?.readyState === WebSocket.OPEN ? this.id : undefined;
  }

  /**
   * Sends a reply as a reply frame and resolves with its outcome: lost at
   * once when the socket is not open (or has not said hello yet), and when
   * it closes or the answer takes longer than replyTimeout.
   */
  reply(conversationId: string, clientId: string, text: string): Promise<ReplyOutcome> {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN || this.id === undefined) return Promise.resolve({ lost: true });
    const requestId = "r" + String(++this.requests);
    return new Promise((done) => {
      const timer = window.setTimeout(() => this.settle(requestId, { lost: true }), replyTimeout);
      this.waiting.set(requestId, { done, timer });
      try {
        const frame = { type: "reply", request_id: requestId, conversation_id: conversationId, client_id: clientId, text };
        ws.send(JSON.stringify(frame));
      } catch {
        this.settle(requestId, { lost: true });
      }
    });
  }

  private settle(requestId: string, o: ReplyOutcome): void {
    const w = this.waiting.get(requestId);
    if (!w) return; // timed out already
    this.waiting.delete(requestId);
    window.clearTimeout(w.timer);
    w.done(o);
  }

  private loseAll(): void {
    for (const id of [...this.waiting.keys()]) this.settle(id, { lost: true });
  }

  /** Reconnects now (after the tab wakes up or the network returns). */
  nudge(): void {
    if (this.stopped || this.ws) return;
    if (this.timer !== undefined) window.clearTimeout(this.timer);
    this.attempt = 0;
    this.connect();
  }

  /** Tells the server the agent is typing (or stopped) in a conversation. */
  typing(conversationId: string, active: boolean): void {
    if (this.ws?.readyState === WebSocket.OPEN) {
      this.ws.send(JSON.stringify({ type: "typing", conversation_id: conversationId, active }));
    }
  }

  close(): void {
    this.stopped = true;
    if (this.timer !== undefined) window.clearTimeout(this.timer);
    const ws = this.ws;
    this.ws = undefined;
    this.id = undefined;
    this.loseAll();
    ws?.close();
  }
}
