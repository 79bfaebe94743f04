// The panels beside a conversation: the customer's dossier (their other
// conversations on every channel, each readable in place) and an operator
// script to read aloud, step by step.
import { useEffect, useState } from "preact/hooks";
import { useI18n } from "../i18n";
import type { Answer, Detail, Summary } from "./api";
import { expired, inboxError, useInbox } from "./context";
import { channelLabel, statusLabel } from "./labels";
import { fillPlaceholders, type PlaceholderValues } from "./placeholders";
import { Thread } from "./thread";
import { formatDateTime } from "./time";

export function DossierPanel({ current, contactId }: { current: string; contactId: string | undefined }) {
  const { t, lang } = useI18n();
  const { api, onExpired, generation } = useInbox();
  const [list, setList] = useState<Summary[]>();
  const [error, setError] = useState<string>();
  const [open, setOpen] = useState<string>();

  useEffect(() => {
    if (!contactId) return;
    let live = true;
    setError(undefined);
    api.contact(contactId).then(
      (l) => live && setList(l.filter((s) => s.id !== current)),
      (e: unknown) => {
        if (!live) return;
        if (expired(e)) onExpired();
        else setError(inboxError(t, e));
      },
    );
    return () => {
      live = false;
    };
  }, [api, contactId, current, generation, onExpired, t]);

  if (open) return <DossierConversation id={open} onBack={() => setOpen(undefined)} />;
  return (
    <section class="panel dossier" aria-labelledby="dossier-title" data-testid="dossier">
      <h2 id="dossier-title">{t("inbox.dossier.title")}</h2>
      {!contactId ? (
        <p class="muted" data-testid="dossier-anonymous">
          {t("inbox.dossier.anonymous")}
        </p>
      ) : error ? (
        <p class="error" role="alert">
          {error}
        </p>
      ) : !list ? (
        <p class="muted">{t("inbox.canned.loading")}</p>
      ) : list.length === 0 ? (
        <p class="muted" data-testid="dossier-empty">
          {t("inbox.dossier.empty")}
        </p>
      ) : (
        <ul class="dossier-list">
          {list.map((s) => (
            <li key={s.id}>
              <button type="button" class="dossier-item" data-testid={"dossier-item-" + s.id} onClick={() => setOpen(s.id)}>
                <span class="meta">
                  <span>{channelLabel(t, s.channel)}</span>
                  <span class={"status status-" + s.status}>{statusLabel(t, s.status)}</span>
                  <time dateTime={s.last_activity}>{formatDateTime(lang, s.last_activity)}</time>
                </span>
                <span class="first">{s.first_line || t("inbox.dossier.no_text")}</span>
              </button>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

/** An earlier conversation, read-only: no composer, no actions. */
function DossierConversation({ id, onBack }: { id: string; onBack: () => void }) {
  const { t, lang } = useI18n();
  const { api, onExpired } = useInbox();
  const [d, setD] = useState<Detail>();
  const [error, setError] = useState<string>();

  useEffect(() => {
    let live = true;
    api.detail(id).then(
      (v) => live && setD(v),
      (e: unknown) => {
        if (!live) return;
        if (expired(e)) onExpired();
        else setError(inboxError(t, e));
      },
    );
    return () => {
      live = false;
    };
  }, [api, id, onExpired, t]);

  return (
    <section class="panel dossier" aria-labelledby="dossier-conv-title" data-testid="dossier-conversation">
      <button type="button" class="link" data-testid="dossier-back" onClick={onBack}>
        {t("inbox.dossier.back")}
      </button>
      <h2 id="dossier-conv-title">
        {d ? t("inbox.dossier.of", { channel: channelLabel(t, d.channel), date: formatDateTime(lang, d.last_activity) }) : t("inbox.dossier.title")}
      </h2>
      <p class="muted">{t("inbox.dossier.read_only")}</p>
      {error ? (
        <p class="error" role="alert">
          {error}
        </p>
      ) : null}
      {d ? <Thread detail={d} label={t("inbox.dossier.title")} /> : null}
    </section>
  );
}

/** An operator script: one step per paragraph (or line), placeholders filled. */
export function ScriptPanel({ script, values, onClose }: { script: Answer; values: PlaceholderValues; onClose: () => void }) {
  const { t } = useI18n();
  const filled = fillPlaceholders(script.text, values);
  const paragraphs = filled.text.split(/\n\s*\n/).map((p) => p.trim()).filter(Boolean);
  const steps = paragraphs.length > 1 ? paragraphs : filled.text.split("\n").map((l) => l.trim()).filter(Boolean);
  return (
    <section class="panel script" aria-labelledby="script-title" data-testid="script-panel">
      <div class="panel-head">
        <h2 id="script-title">{script.title}</h2>
        <button type="button" class="secondary" data-testid="script-close" onClick={onClose}>
          {t("inbox.script.close")}
        </button>
      </div>
      <p class="muted">{t("inbox.script.hint")}</p>
      <ol class="steps">
        {steps.map((s, n) => (
          <li key={n} data-testid="script-step">
            {s}
          </li>
        ))}
      </ol>
      {filled.missing.length > 0 ? (
        <p class="warning" role="status">
          {t("inbox.canned.missing", { names: filled.missing.map((m) => "{{" + m + "}}").join(", ") })}
        </p>
      ) : null}
    </section>
  );
}
