// A conversation's thread: the customer's and the agents' messages with
// their times and delivery status, internal notes set apart, and the
// agent's own messages still on their way. Every text is rendered as a
// text node: nothing the customer wrote becomes markup or a link.
import { useEffect, useRef } from "preact/hooks";
import { useI18n } from "../i18n";
import type { Detail, Entry, Note } from "./api";
import { CallLine } from "./call";
import type { CallEntry } from "./calls";
import { useInbox } from "./context";
import { customerLabel } from "./labels";
import { formatDateTime, formatTime } from "./time";

/** A message the agent wrote that the server has not confirmed yet. */
export interface Pending {
  clientId: string;
  kind: "reply" | "note";
  text: string;
  state: "sending" | "failed";
  error?: string;
}

type Item = { at: number; entry: Entry } | { at: number; note: Note } | { at: number; call: CallEntry };

interface Props {
  detail: Detail;
  pending?: Pending[];
  onRetry?: (p: Pending) => void;
  onDiscard?: (p: Pending) => void;
  /** Whether the customer is typing now. */
  typing?: boolean;
  /** The label of the log, for assistive technology. */
  label: string;
}

export function Thread({ detail, pending = [], onRetry, onDiscard, typing, label }: Props) {
  const { t, lang } = useI18n();
  const { me, myName, names } = useInbox();
  const end = useRef<HTMLLIElement>(null);
  const items: Item[] = [
    ...detail.thread.map((e) => ({ at: Date.parse(e.time), entry: e })),
    ...detail.notes.map((n) => ({ at: Date.parse(n.time), note: n })),
    ...(detail.call_log ?? []).map((c) => ({ at: Date.parse(c.time), call: c })),
  ].sort((a, b) => a.at - b.at);
  const agentName = (id: string | undefined) =>
    id === me ? t("inbox.thread.you", { name: myName }) : (id && names.get(id)) || t("inbox.thread.agent");
  const customer = customerLabel(t, detail.customer);
  const count = items.length + pending.length;

  useEffect(() => {
    end.current?.scrollIntoView({ block: "end" });
  }, [count, typing]);

  return (
    <ol class="thread" role="log" aria-live="polite" aria-relevant="additions" aria-label={label} data-testid="thread">
      {detail.thread_dropped ? (
        <li class="dropped" data-testid="thread-dropped">
          {t("inbox.thread.dropped", { n: detail.thread_dropped })}
        </li>
      ) : null}
      {items.map((it) =>
        "call" in it ? (
          <CallLine key={"c" + it.call.id} e={it.call} conv={detail} />
        ) : "entry" in it ? (
          <li
            key={"m" + it.entry.message_id}
            class={"bubble " + (it.entry.direction === "in" ? "in" : "out")}
            data-testid="thread-entry"
            data-kind={it.entry.direction}
            data-id={it.entry.message_id}
          >
            <span class="from">{it.entry.direction === "in" ? customer : agentName(it.entry.agent_id)}</span>
            <p class="text">{it.entry.text}</p>
            <span class="foot">
              <time dateTime={it.entry.time} title={formatDateTime(lang, it.entry.time)}>
                {formatTime(lang, it.entry.time)}
              </time>
              {it.entry.direction === "out" ? <Delivery e={it.entry} /> : null}
            </span>
          </li>
        ) : (
          <li key={"n" + it.note.note_id} class="note" data-testid="thread-entry" data-kind="note" data-id={it.note.note_id}>
            <span class="from">
              {t("inbox.note.label")} · {agentName(it.note.agent_id)}
            </span>
            <p class="text">{it.note.text}</p>
            <span class="foot">
              <time dateTime={it.note.time} title={formatDateTime(lang, it.note.time)}>
                {formatTime(lang, it.note.time)}
              </time>
            </span>
          </li>
        ),
      )}
      {pending.map((p) => (
        <li
          key={"p" + p.clientId}
          class={(p.kind === "note" ? "note" : "bubble out") + " pending " + p.state}
          data-testid="thread-entry"
          data-kind="pending"
          data-id={p.clientId}
        >
          <span class="from">{p.kind === "note" ? t("inbox.note.label") : agentName(me)}</span>
          <p class="text">{p.text}</p>
          <span class="foot">
            {p.state === "sending" ? (
              <span class="delivery">{t("inbox.send.sending")}</span>
            ) : (
              <>
                <span class="delivery failed" role="alert">
                  {t("inbox.send.failed", { reason: p.error ?? "" })}
                </span>
                <button type="button" class="link" data-testid="pending-retry" onClick={() => onRetry?.(p)}>
                  {t("inbox.send.retry")}
                </button>
                <button type="button" class="link" data-testid="pending-discard" onClick={() => onDiscard?.(p)}>
                  {t("inbox.send.discard")}
                </button>
              </>
            )}
          </span>
        </li>
      ))}
      {typing ? (
        <li class="typing" data-testid="typing">
          {t("inbox.typing.customer", { name: customer })}
        </li>
      ) : null}
      <li ref={end} class="end" aria-hidden="true" />
    </ol>
  );
}

function Delivery({ e }: { e: Entry }) {
  const { t } = useI18n();
  if (e.delivery_error) {
    return (
      <span class="delivery failed" data-testid="delivery">
        {t("inbox.delivery.failed", { reason: e.delivery_error })}
      </span>
    );
  }
  return (
    <span class={e.delivered ? "delivery ok" : "delivery"} data-testid="delivery">
      {e.delivered ? t("inbox.delivery.delivered") : t("inbox.delivery.sent")}
    </span>
  );
}
