// What every inbox component shares: the API, who is signed in, names of
// colleagues, the live socket, and the way errors and expiry are handled.
import { createContext } from "preact";
import { useContext } from "preact/hooks";
import { ApiError, type Session } from "../api";
import { errorText } from "../errors";
import type { MessageKey, Translate } from "../i18n";
import type { InboxApi, Queue, Summary } from "./api";
import type { Frame, LiveSocket } from "./socket";

export interface InboxContext {
  api: InboxApi;
  session: Session;
  /** The signed-in account's id and role. */
  me: string;
  role: string;
  myName: string;
  /** A colleague's display name by account id (the directory), if known. */
  names: Map<string, string>;
  queues: Queue[];
  socket: LiveSocket | undefined;
  /** Registers a listener of socket frames; returns its removal. */
  listen: (f: (frame: Frame) => void) => () => void;
  /**
   * Takes in a conversation's summary learned from an answer rather than
   * from the socket: a reply's, which this tab's socket is not sent.
   */
  applySummary: (s: Summary) => void;
  /** Grows each time the socket (re)opens: views refetch then. */
  generation: number;
  onExpired: () => void;
  /** Remembers how many messages of a conversation the agent has seen. */
  markSeen: (id: string, messages: number) => void;
}

export const Inbox = createContext<InboxContext | undefined>(undefined);

export function useInbox(): InboxContext {
  const c = useContext(Inbox);
  if (!c) throw new Error("useInbox outside the inbox");
  return c;
}

const byCode: Record<string, MessageKey> = {
  conflict: "inbox.error.conflict",
  forbidden: "inbox.error.forbidden",
  not_found: "inbox.error.not_found",
};

/** An inbox failure in the user's language. */
export function inboxError(t: Translate, err: unknown): string {
  if (err instanceof ApiError) {
    if (err.code === "invalid_field" && err.field === "text") return t("inbox.error.text");
    const key = byCode[err.code];
    if (key) return t(key);
  }
  return errorText(t, err);
}

/** Whether err means the session ended (the caller signs out). */
export function expired(err: unknown): boolean {
  return err instanceof ApiError && err.status === 401;
}
