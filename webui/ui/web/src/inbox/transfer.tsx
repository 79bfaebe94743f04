// The transfer dialog: to a queue or to a colleague (GET queues, GET
// agents), with a note for whoever takes the conversation next.
import { useEffect, useRef, useState } from "preact/hooks";
import { useI18n } from "../i18n";
import type { Agent, Detail, Queue } from "./api";
import { expired, inboxError, useInbox } from "./context";

interface Props {
  conversation: Detail;
  onDone: (d: Detail) => void;
  onClose: () => void;
}

export function TransferDialog({ conversation, onDone, onClose }: Props) {
  const { t } = useI18n();
  const { api, me, onExpired } = useInbox();
  const ref = useRef<HTMLDialogElement>(null);
  const [kind, setKind] = useState<"queue" | "agent">("queue");
  const [queues, setQueues] = useState<Queue[]>();
  const [agents, setAgents] = useState<Agent[]>();
  const [queue, setQueue] = useState("");
  const [agent, setAgent] = useState("");
  const [note, setNote] = useState("");
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string>();

  useEffect(() => {
    const d = ref.current;
    if (d && !d.open) d.showModal();
  }, []);

  useEffect(() => {
    const failed = (e: unknown) => {
      if (expired(e)) onExpired();
      else setProblem(inboxError(t, e));
    };
    api
      .queues()
      .then((qs) => {
        setQueues(qs);
        setQueue((cur) => cur || qs.find((q) => q.id !== conversation.queue)?.id || "");
      })
      .catch(failed);
    api
      .agents()
      .then((as) => setAgents(as.filter((a) => !a.disabled && a.profile && a.account_id !== me && a.account_id !== conversation.agent_id)))
      .catch(failed);
  }, [api, me, conversation.queue, conversation.agent_id, onExpired, t]);

  const submit = async (e: Event) => {
    e.preventDefault();
    const to = kind === "queue" ? { to_queue: queue } : { to_agent: agent };
    if (kind === "queue" ? !queue : !agent) {
      setProblem(t("inbox.transfer.pick"));
      return;
    }
    setBusy(true);
    setProblem(undefined);
    try {
      onDone(await api.transfer(conversation.id, to, note.trim()));
      ref.current?.close();
    } catch (err) {
      if (expired(err)) return onExpired();
      setProblem(inboxError(t, err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <dialog ref={ref} class="card transfer" aria-labelledby="transfer-title" data-testid="transfer-dialog" onClose={onClose}>
      <form onSubmit={submit} noValidate>
        <h2 id="transfer-title">{t("inbox.transfer.title")}</h2>
        {problem ? (
          <p class="error" role="alert" data-testid="transfer-error">
            {problem}
          </p>
        ) : null}
        <fieldset class="choice">
          <legend>{t("inbox.transfer.to")}</legend>
          <label class="inline">
            <input
              type="radio"
              name="transfer-kind"
              value="queue"
              data-testid="transfer-to-queue"
              checked={kind === "queue"}
              onChange={() => setKind("queue")}
            />
            <span>{t("inbox.transfer.to_queue")}</span>
          </label>
          <label class="inline">
            <input
              type="radio"
              name="transfer-kind"
              value="agent"
              data-testid="transfer-to-agent"
              checked={kind === "agent"}
              onChange={() => setKind("agent")}
            />
            <span>{t("inbox.transfer.to_agent")}</span>
          </label>
        </fieldset>
        {kind === "queue" ? (
          <label>
            <span>{t("inbox.transfer.queue")}</span>
            <select data-testid="transfer-queue" value={queue} disabled={!queues} onChange={(e) => setQueue(e.currentTarget.value)}>
              <option value="">{queues ? t("inbox.transfer.choose") : t("inbox.canned.loading")}</option>
              {queues?.map((q) => (
                <option key={q.id} value={q.id}>
                  {q.name || q.id}
                  {q.id === conversation.queue ? " · " + t("inbox.transfer.current") : ""}
                </option>
              ))}
            </select>
          </label>
        ) : (
          <label>
            <span>{t("inbox.transfer.agent")}</span>
            <select data-testid="transfer-agent" value={agent} disabled={!agents} onChange={(e) => setAgent(e.currentTarget.value)}>
              <option value="">{agents ? t("inbox.transfer.choose") : t("inbox.canned.loading")}</option>
              {agents?.map((a) => (
                <option key={a.account_id} value={a.account_id}>
                  {a.display_name || a.login}
                </option>
              ))}
            </select>
          </label>
        )}
        <label>
          <span>{t("inbox.transfer.note")}</span>
          <textarea
            rows={3}
            data-testid="transfer-note"
            value={note}
            maxLength={4000}
            onInput={(e) => setNote(e.currentTarget.value)}
          />
          <small>{t("inbox.transfer.note_hint")}</small>
        </label>
        <div class="actions">
          <button type="button" class="secondary" data-testid="transfer-cancel" onClick={() => ref.current?.close()}>
            {t("inbox.transfer.cancel")}
          </button>
          <button type="submit" data-testid="transfer-submit" disabled={busy}>
            {t("inbox.transfer.submit")}
          </button>
        </div>
      </form>
    </dialog>
  );
}
