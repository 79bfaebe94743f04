// One conversation: its header and actions (accept, decline, transfer,
// resolve, reopen), its tags, the thread, the composer, and beside it the dossier or
// an operator script. Replies and notes carry a client id made once per
// message and reused on every retry, so a retry never sends twice.
import { useCallback, useEffect, useMemo, useRef, useState } from "preact/hooks";
import { ApiError } from "../api";
import { useI18n } from "../i18n";
import { newClientId, privileged, type Answer, type Detail, type Entry, type ReplyResult, type Summary } from "./api";
import { CallBar } from "./call";
import { live as callLive } from "./calls";
import { Composer, type Mode } from "./composer";
import { expired, inboxError, useInbox } from "./context";
import { channelLabel, customerLabel, statusLabel } from "./labels";
import type { PlaceholderValues } from "./placeholders";
import { DossierPanel, ScriptPanel } from "./side";
import { Tags } from "./tags";
import { Thread, type Pending } from "./thread";
import { TransferDialog } from "./transfer";

/** A customer's typing signal lapses after this long without a refresh. */
const typingTimeout = 6000;

export function ConversationView({ id, summary }: { id: string; summary: Summary | undefined }) {
  const { t, lang } = useI18n();
  const { api, me, role, myName, names, queues, socket, listen, applySummary, generation, onExpired, markSeen } = useInbox();
  const [detail, setDetail] = useState<Detail>();
  const [error, setError] = useState<unknown>();
  const [pending, setPending] = useState<Pending[]>([]);
  const [typing, setTyping] = useState(false);
  const [busy, setBusy] = useState(false);
  const [transfer, setTransfer] = useState(false);
  const [script, setScript] = useState<Answer>();
  const [answers, setAnswers] = useState<Answer[]>();
  const [answersError, setAnswersError] = useState<string>();
  const typingTimer = useRef(0);
  const refetchTimer = useRef(0);

  const fail = useCallback(
    (e: unknown) => {
      if (expired(e)) onExpired();
      else setError(e);
    },
    [onExpired],
  );

  const load = useCallback(async () => {
    try {
      setDetail(await api.detail(id));
      setError(undefined);
    } catch (e) {
      fail(e);
    }
  }, [api, id, fail]);

  useEffect(() => {
    void load();
  }, [load, generation]);

  // Live updates: new messages, and replies now delivered, are taken in
  // at once; any other change (notes, status) refetches the conversation
  // shortly after.
  useEffect(
    () =>
      listen((f) => {
        if (f.type === "message" && f.conversation_id === id) {
          setDetail((d) => (d ? appendEntry(d, f.entry) : d));
          if (f.entry.direction === "in") setTyping(false);
        } else if (f.type === "typing" && f.conversation_id === id && f.from === "visitor") {
          window.clearTimeout(typingTimer.current);
          setTyping(f.active);
          if (f.active) typingTimer.current = window.setTimeout(() => setTyping(false), typingTimeout);
        } else if (f.type === "conversation" && f.conversation.id === id && !f.withMessage) {
          window.clearTimeout(refetchTimer.current);
          refetchTimer.current = window.setTimeout(() => void load(), 300);
        }
      }),
    [listen, id, load],
  );
  useEffect(
    () => () => {
      window.clearTimeout(typingTimer.current);
      window.clearTimeout(refetchTimer.current);
    },
    [],
  );

  // The header follows the newest of the list's summary and the detail.
  const cur: Detail | undefined = useMemo(() => {
    if (!detail) return undefined;
    if (summary && Date.parse(summary.last_activity) >= Date.parse(detail.last_activity)) return { ...detail, ...summary };
    return detail;
  }, [detail, summary]);

  const messages = cur ? Math.max(cur.messages, cur.thread.length + (cur.thread_dropped ?? 0)) : 0;
  useEffect(() => {
    if (cur) markSeen(id, messages);
  }, [id, messages, cur, markSeen]);

  const queue = cur?.queue ?? "";
  useEffect(() => {
    let live = true;
    setAnswers(undefined);
    setAnswersError(undefined);
    api.answers(queue, lang).then(
      (as) => live && setAnswers(as),
      (e: unknown) => {
        if (!live) return;
        if (expired(e)) onExpired();
        else setAnswersError(inboxError(t, e));
      },
    );
    return () => {
      live = false;
    };
  }, [api, queue, lang, onExpired, t]);

  const values: PlaceholderValues = useMemo(
    () => ({
      "customer.name": cur?.customer.name,
      "customer.address": cur?.customer.address,
      "case.number": id,
      "agent.name": myName,
      "queue.name": queues.find((q) => q.id === queue)?.name,
    }),
    [cur?.customer.name, cur?.customer.address, id, myName, queues, queue],
  );

  const deliver = useCallback(
    async (p: Pending) => {
      setPending((ps) => ps.map((x) => (x.clientId === p.clientId ? { ...x, state: "sending" } : x)));
      try {
        if (p.kind === "reply") {
          // This tab's socket is sent no frame for its own reply: the
          // answer is taken in here, by the thread and the lists. Over the
          // socket while it is open; over HTTP when it is not, or the
          // socket lost the reply (same client id: sent once either way).
          const o = socket ? await socket.reply(id, p.clientId, p.text) : ({ lost: true } as const);
          if ("refused" in o) throw new ApiError(o.refused.status, o.refused.code, o.refused.message, o.refused.field);
          const r = "result" in o ? o.result : await api.reply(id, p.clientId, p.text, socket?.socketId);
          setDetail((d) => (d ? withReply(d, r) : d));
          applySummary(r.conversation);
        } else {
          setDetail(await api.note(id, p.clientId, p.text));
        }
        setPending((ps) => ps.filter((x) => x.clientId !== p.clientId));
      } catch (e) {
        if (expired(e)) return onExpired();
        const msg = inboxError(t, e);
        setPending((ps) => ps.map((x) => (x.clientId === p.clientId ? { ...x, state: "failed", error: msg } : x)));
      }
    },
    [api, id, socket, applySummary, onExpired, t],
  );

  const send = (kind: Mode, text: string) => {
    const p: Pending = { clientId: newClientId(), kind, text, state: "sending" };
    setPending((ps) => [...ps, p]);
    void deliver(p);
  };

  const act = async (f: () => Promise<Detail>) => {
    setBusy(true);
    setError(undefined);
    try {
      setDetail(await f());
    } catch (e) {
      fail(e);
      if (!expired(e)) void load();
    } finally {
      setBusy(false);
    }
  };

  if (!cur) {
    return error ? (
      <p class="error banner" role="alert" data-testid="conversation-error">
        {inboxError(t, error)}
      </p>
    ) : (
      <p class="loading" role="status">
        {t("app.loading")}
      </p>
    );
  }

  const priv = privileged(role);
  const analyst = role === "analyst";
  const assignedToMe = cur.status === "assigned" && cur.agent_id === me;
  const offeredToMe = cur.status === "offered" && cur.offer?.agent_id === me;
  const live = cur.status === "waiting" || cur.status === "offered" || cur.status === "assigned";
  // A call has no written replies: notes only.
  const canReply = !analyst && cur.status === "assigned" && (assignedToMe || priv) && cur.channel !== "voice";
  const canNote = !analyst && (priv || assignedToMe || offeredToMe || cur.agent_id === me || cur.status === "waiting");
  const canResolve = !analyst && live && (priv || assignedToMe);
  const canReopen = !analyst && !live && !!cur.queue && (priv || cur.agent_id === me);
  const canTag = !analyst && (priv || assignedToMe);
  const canTransfer = !analyst && ((cur.status === "assigned" && (assignedToMe || priv)) || (cur.status === "waiting" && priv));
  const who = customerLabel(t, cur.customer);
  const agent = cur.agent_id ? (cur.agent_id === me ? myName : names.get(cur.agent_id)) : undefined;

  return (
    <div class="conversation" data-testid="conversation" data-id={cur.id} data-status={cur.status}>
      <div class="conv-main">
        <header class="conv-head">
          <div class="conv-title">
            <h1 data-testid="conversation-customer">{who}</h1>
            <p class="meta">
              {cur.customer.name && cur.customer.address ? <span>{cur.customer.address}</span> : null}
              <span>{channelLabel(t, cur.channel)}</span>
              <span class={"status status-" + cur.status} data-testid="conversation-status">
                {statusLabel(t, cur.status)}
              </span>
              {cur.queue ? <span>{t("inbox.conv.queue", { queue: queues.find((q) => q.id === cur.queue)?.name || cur.queue })}</span> : null}
              {agent ? <span>{t("inbox.conv.agent", { name: agent })}</span> : null}
              <span>{t("inbox.conv.case", { id: cur.id })}</span>
            </p>
            <Tags conversation={cur} editable={canTag} onDone={setDetail} />
          </div>
          <div class="conv-actions">
            {offeredToMe && !callLive(cur.call) ? (
              <>
                <button type="button" data-testid="conv-accept" disabled={busy} onClick={() => void act(() => api.accept(id))}>
                  {t("inbox.offer.accept")}
                </button>
                <button type="button" class="secondary" data-testid="conv-decline" disabled={busy} onClick={() => void act(() => api.decline(id))}>
                  {t("inbox.offer.decline")}
                </button>
              </>
            ) : null}
            {canTransfer ? (
              <button type="button" class="secondary" data-testid="transfer-open" disabled={busy} onClick={() => setTransfer(true)}>
                {t("inbox.transfer.open")}
              </button>
            ) : null}
            {canResolve ? (
              <button type="button" data-testid="resolve" disabled={busy} onClick={() => void act(() => api.resolve(id))}>
                {t("inbox.conv.resolve")}
              </button>
            ) : null}
            {canReopen ? (
              <button type="button" class="secondary" data-testid="reopen" disabled={busy} onClick={() => void act(() => api.reopen(id))}>
                {t("inbox.conv.reopen")}
              </button>
            ) : null}
          </div>
        </header>
        {cur.call ? (
          <CallBar
            conv={cur}
            canControl={!analyst && cur.status === "assigned" && (assignedToMe || priv)}
            ringingForMe={offeredToMe && cur.call.state === "ringing"}
            onDone={setDetail}
          />
        ) : null}
        {error ? (
          <p class="error" role="alert" data-testid="conversation-error">
            {inboxError(t, error)}
          </p>
        ) : null}
        <Thread
          detail={cur}
          pending={pending}
          typing={typing && live}
          label={t("inbox.thread.label", { name: who })}
          onRetry={(p) => void deliver(p)}
          onDiscard={(p) => setPending((ps) => ps.filter((x) => x.clientId !== p.clientId))}
        />
        {!canReply && !canNote ? null : (
          <Composer
            key={id}
            conversationId={id}
            canReply={canReply}
            canNote={canNote}
            answers={answers}
            answersError={answersError}
            values={values}
            onSend={send}
            onScript={setScript}
          />
        )}
        {!canReply && live && !offeredToMe && !analyst && !(cur.channel === "voice" && (assignedToMe || priv)) ? (
          <p class="muted help" data-testid="not-yours">
            {t("inbox.conv.not_yours")}
          </p>
        ) : null}
      </div>
      <aside class="conv-side" aria-label={t("inbox.side.label")}>
        {script ? (
          <ScriptPanel script={script} values={values} onClose={() => setScript(undefined)} />
        ) : (
          <DossierPanel current={id} contactId={cur.contact_id} />
        )}
      </aside>
      {transfer ? <TransferDialog conversation={cur} onDone={setDetail} onClose={() => setTransfer(false)} /> : null}
    </div>
  );
}

/**
 * d with the answer to a reply: the entry added unless the thread has it
 * already (from a frame or a reload, which are as new or newer: a delivery
 * may come before the answer), and the summary unless d's is newer.
 */
function withReply(d: Detail, r: ReplyResult): Detail {
  const next = d.thread.some((x) => x.message_id === r.entry.message_id) ? d : { ...d, thread: [...d.thread, r.entry] };
  return Date.parse(r.conversation.last_activity) >= Date.parse(d.last_activity) ? { ...next, ...r.conversation } : next;
}

/** d with e in its thread (replacing an entry of the same id). */
function appendEntry(d: Detail, e: Entry): Detail {
  const n = d.thread.findIndex((x) => x.message_id === e.message_id);
  const thread = n >= 0 ? d.thread.map((x, i) => (i === n ? e : x)) : [...d.thread, e];
  return { ...d, thread };
}
