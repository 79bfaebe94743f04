// The panels beside a conversation: the customer's dossier from the search
// index (their conversations on every channel, merged contacts included,
// with counts by channel and open cases, each readable in place, and the
// contacts linked to this one) and an operator script to read aloud, step
// by step.
import { useCallback, useEffect, useMemo, useState } from "preact/hooks";
import { ApiError } from "../api";
import { useI18n } from "../i18n";
import { conversationHash } from "../route";
import { SearchApi, searchUnavailable, type Contact, type Dossier, type LookupKind, type StoredConversation } from "../search/api";
import { searchError } from "../search/errors";
import { StoredThread } from "../search/thread";
import type { Answer } from "./api";
import { expired, useInbox } from "./context";
import { channelLabel, statusLabel } from "./labels";
import { fillPlaceholders, type PlaceholderValues } from "./placeholders";
import { formatDateTime } from "./time";
import "../search/search.css";

/** How long the index usually takes to fold a merge before the dossier shows it. */
const foldDelayMs = 1500;

/**
 * The conversation on screen belongs in its customer's dossier, but a chat
 * accepted at once may not be indexed yet, and then the counts leave it
 * out: the dossier is asked again, settleTries times at most, waiting a
 * little longer each time (settleDelayMs, twice that, ...).
 */
const settleTries = 6;
const settleDelayMs = 1000;

export function DossierPanel({ current, contactId }: { current: string; contactId: string | undefined }) {
  const { t, lang } = useI18n();
  const { session, onExpired, generation } = useInbox();
  const search = useMemo(() => new SearchApi(session.account.tenant, session.csrf_token), [session.account.tenant, session.csrf_token]);
  const [dossier, setDossier] = useState<Dossier>();
  const [error, setError] = useState<string>();
  const [unavailable, setUnavailable] = useState(false);
  const [busy, setBusy] = useState(false);
  const [open, setOpen] = useState<string>();
  const [reload, setReload] = useState(0);
  const [settle, setSettle] = useState(0);

  const fail = useCallback(
    (e: unknown) => {
      if (expired(e)) return onExpired();
      if (searchUnavailable(e)) setUnavailable(true);
      else setError(searchError(t, e));
    },
    [onExpired, t],
  );

  // Another contact's dossier is never shown while this one loads.
  useEffect(() => {
    setDossier(undefined);
    setOpen(undefined);
    setSettle(0);
  }, [contactId]);

  useEffect(() => {
    if (!contactId) return;
    let live = true;
    let timer = 0;
    setError(undefined);
    setUnavailable(false);
    setBusy(true);
    search.dossier(contactId).then(
      (d) => {
        if (!live) return;
        setDossier(d);
        setBusy(false);
        // Newest first: a whole dossier on one page without the current
        // conversation means the index has not caught up with it yet.
        if (!d.next && !d.conversations.some((c) => c.id === current) && settle < settleTries) {
          timer = window.setTimeout(() => setSettle((n) => n + 1), settleDelayMs * (settle + 1));
        }
      },
      (e: unknown) => {
        if (!live) return;
        setBusy(false);
        fail(e);
      },
    );
    return () => {
      live = false;
      window.clearTimeout(timer);
    };
  }, [search, contactId, current, generation, reload, settle, fail]);

  const more = () => {
    if (!contactId || !dossier?.next) return;
    setBusy(true);
    search.dossier(contactId, dossier.next).then(
      (d) => {
        setDossier((prev) => (prev ? { ...d, conversations: [...prev.conversations, ...d.conversations] } : d));
        setBusy(false);
      },
      (e: unknown) => {
        setBusy(false);
        fail(e);
      },
    );
  };

  if (open && contactId) return <DossierConversation id={open} contactId={contactId} search={search} onBack={() => setOpen(undefined)} />;
  const list = dossier?.conversations.filter((c) => c.id !== current);
  return (
    <section class="panel dossier" aria-labelledby="dossier-title" data-testid="dossier">
      <h2 id="dossier-title">{t("inbox.dossier.title")}</h2>
      {!contactId ? (
        <p class="muted" data-testid="dossier-anonymous">
          {t("inbox.dossier.anonymous")}
        </p>
      ) : unavailable ? (
        <div class="warning" role="status" data-testid="dossier-unavailable">
          <p>{t("search.dossier.unavailable")}</p>
          <button type="button" class="secondary" data-testid="dossier-retry" onClick={() => setReload((n) => n + 1)}>
            {t("search.dossier.retry")}
          </button>
        </div>
      ) : error ? (
        <p class="error" role="alert">
          {error}
        </p>
      ) : !dossier || !list ? (
        <p class="muted">{t("inbox.canned.loading")}</p>
      ) : (
        <>
          <p class="dossier-counts" data-testid="dossier-counts">
            <span>{t("search.dossier.total", { n: dossier.total })}</span>
            <span class={dossier.open > 0 ? "open-cases" : ""} data-testid="dossier-open">
              {t("search.dossier.open", { n: dossier.open })}
            </span>
            {Object.entries(dossier.by_channel)
              .sort((a, b) => b[1] - a[1])
              .map(([c, n]) => (
                <span key={c} class="chip" data-testid={"dossier-channel-" + c}>
                  {channelLabel(t, c)} {n}
                </span>
              ))}
          </p>
          {list.length === 0 ? (
            <p class="muted" data-testid="dossier-empty">
              {t("inbox.dossier.empty")}
            </p>
          ) : (
            <ul class="dossier-list">
              {list.map((c) => (
                <li key={c.id}>
                  <button type="button" class="dossier-item" data-testid={"dossier-item-" + c.id} onClick={() => setOpen(c.id)}>
                    <span class="meta">
                      <span>{channelLabel(t, c.channel)}</span>
                      <span class={"status status-" + c.status}>{statusLabel(t, c.status)}</span>
                      <time dateTime={c.last_activity}>{formatDateTime(lang, c.last_activity)}</time>
                    </span>
                    <span class="first">{c.customer_name || c.customer_address || t("search.customer.unknown")}</span>
                  </button>
                  {c.channel === "voice" ? (
                    // The call's recording and voicemail play in the conversation view.
                    <a class="dossier-call" href={conversationHash(c.id)} data-testid={"dossier-open-call-" + c.id}>
                      {t("inbox.dossier.open_call")}
                    </a>
                  ) : null}
                </li>
              ))}
            </ul>
          )}
          {dossier.next ? (
            <button type="button" class="secondary" data-testid="dossier-more" disabled={busy} onClick={more}>
              {t("search.dossier.more")}
            </button>
          ) : null}
          <LinkContacts
            contactId={contactId}
            linked={dossier.contact_ids.filter((id) => id !== contactId)}
            search={search}
            onChanged={() => window.setTimeout(() => setReload((n) => n + 1), foldDelayMs)}
          />
        </>
      )}
    </section>
  );
}

/** The contacts merged into this one, and linking another one found by phone, email or name. */
function LinkContacts({ contactId, linked, search, onChanged }: { contactId: string; linked: string[]; search: SearchApi; onChanged: () => void }) {
  const { t } = useI18n();
  const { onExpired } = useInbox();
  const [openForm, setOpenForm] = useState(false);
  const [kind, setKind] = useState<LookupKind>("phone");
  const [value, setValue] = useState("");
  const [found, setFound] = useState<Contact[]>();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const [status, setStatus] = useState<string>();

  const act = (f: () => Promise<void>) => {
    setBusy(true);
    setError(undefined);
    setStatus(undefined);
    f().then(
      () => setBusy(false),
      (e: unknown) => {
        setBusy(false);
        if (expired(e)) onExpired();
        else setError(e instanceof ApiError && e.code === "invalid_field" ? t("search.link.invalid", { detail: e.message }) : searchError(t, e));
      },
    );
  };
  const lookup = (ev: Event) => {
    ev.preventDefault();
    if (!value.trim()) return;
    act(async () => setFound(await search.lookup(kind, value.trim())));
  };
  const merge = (id: string) =>
    act(async () => {
      await search.merge(contactId, [id]);
      setStatus(t("search.link.merged"));
      setFound(undefined);
      onChanged();
    });
  const unmerge = (id: string) =>
    act(async () => {
      await search.unmerge(contactId, [id]);
      setStatus(t("search.link.unmerged"));
      onChanged();
    });

  return (
    <div class="link-contacts" data-testid="dossier-links">
      {linked.length > 0 ? (
        <>
          <h3>{t("search.link.linked")}</h3>
          <ul class="linked">
            {linked.map((id) => (
              <li key={id} data-testid={"dossier-linked-" + id}>
                <span>{id}</span>
                <button type="button" class="link" data-testid={"dossier-unmerge-" + id} disabled={busy} onClick={() => unmerge(id)}>
                  {t("search.link.unmerge")}
                </button>
              </li>
            ))}
          </ul>
        </>
      ) : null}
      {status ? (
        <p class="muted" role="status" data-testid="dossier-link-status">
          {status}
        </p>
      ) : null}
      {error ? (
        <p class="error" role="alert" data-testid="dossier-link-error">
          {error}
        </p>
      ) : null}
      {!openForm ? (
        <button type="button" class="link" data-testid="dossier-link" onClick={() => setOpenForm(true)}>
          {t("search.link.open")}
        </button>
      ) : (
        <form class="lookup" onSubmit={lookup} aria-label={t("search.link.open")}>
          <select data-testid="dossier-lookup-kind" value={kind} aria-label={t("search.link.by")} onChange={(e) => setKind((e.target as HTMLSelectElement).value as LookupKind)}>
            <option value="phone">{t("search.link.by_phone")}</option>
            <option value="email">{t("search.link.by_email")}</option>
            <option value="name">{t("search.link.by_name")}</option>
          </select>
          <input
            type={kind === "email" ? "email" : kind === "phone" ? "tel" : "text"}
            data-testid="dossier-lookup-input"
            value={value}
            aria-label={t("search.link.value")}
            placeholder={kind === "phone" ? "+33 1 23 45 67 89" : ""}
            onInput={(e) => setValue((e.target as HTMLInputElement).value)}
          />
          <button type="submit" data-testid="dossier-lookup-submit" disabled={busy || !value.trim()}>
            {t("search.link.lookup")}
          </button>
          <button type="button" class="secondary" onClick={() => setOpenForm(false)}>
            {t("search.link.cancel")}
          </button>
        </form>
      )}
      {openForm && found ? (
        found.length === 0 ? (
          <p class="muted" data-testid="dossier-lookup-none">
            {t("search.link.none")}
          </p>
        ) : (
          <ul class="lookup-results">
            {found.map((c) => {
              const self = c.id === contactId;
              const already = linked.includes(c.id) || c.merged_into === contactId;
              return (
                <li key={c.id} data-testid={"dossier-lookup-result-" + c.id}>
                  <span class="who">
                    <strong>{c.name || c.id}</strong>
                    {c.phones?.length ? <span> · {c.phones.join(", ")}</span> : null}
                    {c.emails?.length ? <span> · {c.emails.join(", ")}</span> : null}
                    {c.merged_into && c.merged_into !== contactId ? <span class="muted"> · {t("search.link.merged_elsewhere")}</span> : null}
                  </span>
                  {self ? (
                    <span class="muted">{t("search.link.self")}</span>
                  ) : already ? (
                    <span class="muted">{t("search.link.already")}</span>
                  ) : (
                    <button type="button" data-testid={"dossier-merge-" + c.id} disabled={busy} onClick={() => merge(c.id)}>
                      {t("search.link.merge")}
                    </button>
                  )}
                </li>
              );
            })}
          </ul>
        )
      ) : null}
    </div>
  );
}

/** An earlier conversation from the index, read-only: no composer, no actions. */
function DossierConversation({ id, contactId, search, onBack }: { id: string; contactId: string; search: SearchApi; onBack: () => void }) {
  const { t, lang } = useI18n();
  const { onExpired, names } = useInbox();
  const [d, setD] = useState<StoredConversation>();
  const [error, setError] = useState<string>();

  useEffect(() => {
    let live = true;
    search.conversation(id, contactId).then(
      (v) => live && setD(v),
      (e: unknown) => {
        if (!live) return;
        if (expired(e)) onExpired();
        else setError(searchUnavailable(e) ? t("search.dossier.unavailable") : searchError(t, e));
      },
    );
    return () => {
      live = false;
    };
  }, [search, id, contactId, onExpired, t]);

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
      {d ? <StoredThread conv={d} names={names} label={t("inbox.dossier.title")} /> : null}
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
