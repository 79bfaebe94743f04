// A stored conversation read whole and read-only: messages both ways,
// internal notes set apart, and call records, in time order. Every text is
// a text node, and highlights are <mark> elements around text nodes.
import { useI18n } from "../i18n";
import type { Highlight, StoredConversation, StoredEntry } from "./api";
import { segments } from "./highlight";
import { formatDateTime } from "../inbox/time";

/** Text with the marked spans of a highlight as <mark> elements. */
export function Marked({ h }: { h: Highlight }) {
  return (
    <>
      {segments(h.fragment, h.marks).map((s, n) => (s.mark ? <mark key={n}>{s.text}</mark> : s.text))}
    </>
  );
}

/** The customer as the channel saw them, or a translated "unknown". */
export function customerOf(t: ReturnType<typeof useI18n>["t"], c: StoredConversation): string {
  return c.customer_name?.trim() || c.customer_address?.trim() || t("search.customer.unknown");
}

interface Props {
  conv: StoredConversation;
  /** Agents' display names by account id. */
  names: Map<string, string>;
  label: string;
}

export function StoredThread({ conv, names, label }: Props) {
  const { t, lang } = useI18n();
  const entries: StoredEntry[] = [...(conv.entries ?? [])].sort((a, b) => Date.parse(a.time) - Date.parse(b.time));
  const customer = customerOf(t, conv);
  const agent = (id: string | undefined) => (id && names.get(id)) || t("search.thread.agent");
  if (entries.length === 0) {
    return (
      <p class="muted" data-testid="stored-thread-empty">
        {t("inbox.dossier.no_text")}
      </p>
    );
  }
  return (
    <ol class="thread stored" aria-label={label} data-testid="stored-thread">
      {entries.map((e) => {
        const time = (
          <span class="foot">
            <time dateTime={e.time}>{formatDateTime(lang, e.time)}</time>
          </span>
        );
        if (e.kind === "note") {
          return (
            <li key={e.id} class="note" data-testid="stored-entry" data-kind="note" data-id={e.id}>
              <span class="from">
                {t("search.thread.note")} · {agent(e.agent_id)}
              </span>
              <p class="text">{e.text}</p>
              {time}
            </li>
          );
        }
        if (e.kind === "call") {
          return (
            <li key={e.id} class="call-record" data-testid="stored-entry" data-kind="call" data-id={e.id}>
              <span class="from">
                {t("search.thread.call")}
                {e.agent_id ? " · " + agent(e.agent_id) : ""}
              </span>
              <p class="text">{e.text}</p>
              {time}
            </li>
          );
        }
        const incoming = e.direction !== "out";
        return (
          <li key={e.id} class={"bubble " + (incoming ? "in" : "out")} data-testid="stored-entry" data-kind={incoming ? "in" : "out"} data-id={e.id}>
            <span class="from">{incoming ? customer : agent(e.agent_id)}</span>
            <p class="text">{e.text}</p>
            {time}
          </li>
        );
      })}
    </ol>
  );
}
