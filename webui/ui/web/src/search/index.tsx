// The analysts' search page (#/search): a query in the search syntax,
// filters (channel, queue, agent, status, tags, dates), facets by channel
// and by day, results with their highlighted matches, more results by
// cursor, and a conversation opened read-only with its whole thread.
import { useCallback, useEffect, useMemo, useRef, useState } from "preact/hooks";
import { ApiError, type Session } from "../api";
import { useI18n } from "../i18n";
import { channelLabel, statusLabel } from "../inbox/labels";
import { formatDateTime } from "../inbox/time";
import { channels, noFilters, SearchApi, searchStatuses, type Filters, type Result, type StoredConversation } from "./api";
import { searchError } from "./errors";
import { customerOf, Marked, StoredThread } from "./thread";
import "../inbox/inbox.css";
import "./search.css";

interface Props {
  session: Session;
  onExpired: () => void;
}

function expired(err: unknown): boolean {
  return err instanceof ApiError && err.status === 401;
}

export function SearchPage({ session, onExpired }: Props) {
  const { t, lang } = useI18n();
  const acc = session.account;
  const api = useMemo(() => new SearchApi(acc.tenant, session.csrf_token), [acc.tenant, session.csrf_token]);
  const [input, setInput] = useState("");
  const [tagsInput, setTagsInput] = useState("");
  const [text, setText] = useState("");
  const [filters, setFilters] = useState<Filters>(noFilters);
  const [result, setResult] = useState<Result>();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const [open, setOpen] = useState<string>();
  const [queues, setQueues] = useState<{ id: string; name: string }[]>([]);
  const [names, setNames] = useState<Map<string, string>>(new Map());
  const seq = useRef(0);

  // The filters' choices: the tenant's queues and agents.
  useEffect(() => {
    let live = true;
    api.queues().then(
      (q) => live && setQueues(q),
      (e: unknown) => live && expired(e) && onExpired(),
    );
    api.agents().then(
      (a) => live && setNames(new Map(a.map((x) => [x.account_id, x.display_name]))),
      (e: unknown) => live && expired(e) && onExpired(),
    );
    return () => {
      live = false;
    };
  }, [api, onExpired]);

  const run = useCallback(
    (after: string) => {
      const n = ++seq.current;
      setBusy(true);
      setError(undefined);
      api.search(text, filters, after, !after).then(
        (r) => {
          if (n !== seq.current) return;
          setResult((prev) => (after && prev ? { ...r, hits: [...prev.hits, ...r.hits], ...(prev.facets ? { facets: prev.facets } : {}) } : r));
          setBusy(false);
        },
        (e: unknown) => {
          if (n !== seq.current) return;
          setBusy(false);
          if (expired(e)) return onExpired();
          setError(searchError(t, e));
          // The results of the previous query would read as this one's;
          // a failed "more" keeps the pages already shown.
          if (!after) setResult(undefined);
        },
      );
    },
    [api, text, filters, onExpired, t],
  );

  // A new query or filter starts again from the first page.
  useEffect(() => run(""), [run]);

  const submit = (ev: Event) => {
    ev.preventDefault();
    // Tags are stored lowercase (the inbox lowercases them) and matched exactly.
    const tags = tagsInput
      .split(",")
      .map((s) => s.trim().toLowerCase())
      .filter(Boolean);
    const sameTags = tags.join(",") === filters.tags.join(",");
    if (input !== text) setText(input);
    if (!sameTags) setFilters((f) => ({ ...f, tags }));
    if (input === text && sameTags) run(""); // the same search again: refresh
  };
  const set = (patch: Partial<Filters>) => setFilters((f) => ({ ...f, ...patch }));
  const toggleChannel = (c: string) =>
    setFilters((f) => ({ ...f, channels: f.channels.includes(c) ? f.channels.filter((x) => x !== c) : [...f.channels, c] }));
  const reset = () => {
    setInput("");
    setTagsInput("");
    setText("");
    setFilters(noFilters);
  };

  return (
    <div class="search-page" data-testid="search-page">
      <form class="search-form" role="search" aria-label={t("search.title")} onSubmit={submit}>
        <div class="search-line">
          <label class="sr-only" for="search-q">
            {t("search.box.label")}
          </label>
          <input
            id="search-q"
            type="search"
            data-testid="search-box"
            value={input}
            maxLength={1000}
            placeholder={t("search.box.placeholder")}
            aria-describedby="search-hint"
            onInput={(e) => setInput((e.target as HTMLInputElement).value)}
          />
          <button type="submit" data-testid="search-submit" disabled={busy}>
            {t("search.box.submit")}
          </button>
        </div>
        <p id="search-hint" class="muted hint" data-testid="search-hint">
          {t("search.box.hint")}
        </p>
        <fieldset class="search-filters" data-testid="search-filters">
          <legend>{t("search.filters.title")}</legend>
          <div class="filter-channels" role="group" aria-label={t("search.filters.channel")}>
            {channels.map((c) => (
              <label key={c}>
                <input
                  type="checkbox"
                  data-testid={"search-filter-channel-" + c}
                  checked={filters.channels.includes(c)}
                  onChange={() => toggleChannel(c)}
                />
                {channelLabel(t, c)}
              </label>
            ))}
          </div>
          <label>
            {t("search.filters.queue")}
            <select data-testid="search-filter-queue" value={filters.queue} onChange={(e) => set({ queue: (e.target as HTMLSelectElement).value })}>
              <option value="">{t("search.filters.any")}</option>
              {queues.map((q) => (
                <option key={q.id} value={q.id}>
                  {q.name || q.id}
                </option>
              ))}
            </select>
          </label>
          <label>
            {t("search.filters.agent")}
            <select data-testid="search-filter-agent" value={filters.agent} onChange={(e) => set({ agent: (e.target as HTMLSelectElement).value })}>
              <option value="">{t("search.filters.any")}</option>
              {[...names.entries()].map(([id, name]) => (
                <option key={id} value={id}>
                  {name || id}
                </option>
              ))}
            </select>
          </label>
          <label>
            {t("search.filters.status")}
            <select data-testid="search-filter-status" value={filters.status} onChange={(e) => set({ status: (e.target as HTMLSelectElement).value })}>
              <option value="">{t("search.filters.any")}</option>
              {searchStatuses.map((s) => (
                <option key={s} value={s}>
                  {statusLabel(t, s)}
                </option>
              ))}
            </select>
          </label>
          <label>
            {t("search.filters.tags")}
            <input
              type="text"
              data-testid="search-filter-tags"
              value={tagsInput}
              placeholder={t("search.filters.tags_placeholder")}
              onInput={(e) => setTagsInput((e.target as HTMLInputElement).value)}
            />
          </label>
          <label>
            {t("search.filters.from")}
            <input type="date" data-testid="search-filter-from" value={filters.from} onChange={(e) => set({ from: (e.target as HTMLInputElement).value })} />
          </label>
          <label>
            {t("search.filters.to")}
            <input type="date" data-testid="search-filter-to" value={filters.to} onChange={(e) => set({ to: (e.target as HTMLInputElement).value })} />
          </label>
          <button type="button" class="secondary" data-testid="search-reset" onClick={reset}>
            {t("search.filters.reset")}
          </button>
        </fieldset>
      </form>
      {error ? (
        <p class="error banner" role="alert" data-testid="search-error">
          {error}
        </p>
      ) : null}
      <div class={open ? "search-body with-conv" : "search-body"}>
        <aside class="search-facets" data-testid="search-facets" aria-label={t("search.facets.title")}>
          {result?.facets ? <FacetsView result={result} selected={filters.channels} onChannel={toggleChannel} /> : null}
        </aside>
        <section class="search-results" aria-label={t("search.results.title")} aria-busy={busy}>
          {result ? (
            <p class="muted" data-testid="search-total" role="status">
              {t("search.results.total", { n: result.total })}
            </p>
          ) : busy ? (
            <p class="muted">{t("search.results.loading")}</p>
          ) : null}
          {result && result.hits.length === 0 ? (
            <p class="muted" data-testid="search-empty">
              {t("search.results.none")}
            </p>
          ) : null}
          <ol class="hits">
            {result?.hits.map((h) => {
              const c = h.conversation;
              return (
                <li key={c.id} data-testid={"search-hit-" + c.id} class={open === c.id ? "hit selected" : "hit"}>
                  <button type="button" class="hit-open" aria-current={open === c.id ? "true" : undefined} onClick={() => setOpen(c.id)}>
                    <span class="meta">
                      <span>{channelLabel(t, c.channel)}</span>
                      <span class={"status status-" + c.status}>{statusLabel(t, c.status)}</span>
                      <time dateTime={c.last_activity}>{formatDateTime(lang, c.last_activity)}</time>
                      <span class="customer">{customerOf(t, c)}</span>
                    </span>
                    {h.highlights && h.highlights.length > 0 ? (
                      h.highlights.map((hl, n) => (
                        <span class="hl" key={n} data-testid="search-highlight">
                          <Marked h={hl} />
                        </span>
                      ))
                    ) : (
                      <span class="first">{h.first_line || t("inbox.dossier.no_text")}</span>
                    )}
                  </button>
                </li>
              );
            })}
          </ol>
          {result?.next ? (
            <button type="button" class="secondary" data-testid="search-more" disabled={busy} onClick={() => run(result.next ?? "")}>
              {t("search.results.more")}
            </button>
          ) : null}
        </section>
        {open ? <ConversationPane id={open} api={api} names={names} queues={queues} onClose={() => setOpen(undefined)} onExpired={onExpired} /> : null}
      </div>
    </div>
  );
}

function FacetsView({ result, selected, onChannel }: { result: Result; selected: string[]; onChannel: (c: string) => void }) {
  const { t, lang } = useI18n();
  const f = result.facets;
  if (!f) return null;
  const byChannel = Object.entries(f.channels).sort((a, b) => b[1] - a[1]);
  const max = Math.max(1, ...f.days.map((d) => d.count));
  const dayLabel = (day: string) => {
    const d = new Date(day + "T00:00:00Z");
    return Number.isNaN(d.getTime()) ? day : new Intl.DateTimeFormat(lang, { dateStyle: "medium", timeZone: "UTC" }).format(d);
  };
  return (
    <>
      <h2>{t("search.facets.channels")}</h2>
      <ul class="facet-channels">
        {byChannel.map(([c, n]) => (
          <li key={c}>
            <button type="button" class="facet" data-testid={"search-facet-channel-" + c} aria-pressed={selected.includes(c)} onClick={() => onChannel(c)}>
              <span>{channelLabel(t, c)}</span>
              <span class="count">{n}</span>
            </button>
          </li>
        ))}
      </ul>
      <h2>{t("search.facets.days")}</h2>
      {f.days.length === 0 ? <p class="muted">{t("search.facets.no_days")}</p> : null}
      <ul class="facet-days" data-testid="search-facet-days">
        {f.days.map((d) => (
          <li key={d.day} data-testid={"search-facet-day-" + d.day} title={t("search.facets.day_count", { day: dayLabel(d.day), n: d.count })}>
            <span class="day">{dayLabel(d.day)}</span>
            <span class="day-bar" aria-hidden="true">
              <span style={{ width: (100 * d.count) / max + "%" }} />
            </span>
            <span class="count">{d.count}</span>
          </li>
        ))}
      </ul>
    </>
  );
}

function ConversationPane({
  id,
  api,
  names,
  queues,
  onClose,
  onExpired,
}: {
  id: string;
  api: SearchApi;
  names: Map<string, string>;
  queues: { id: string; name: string }[];
  onClose: () => void;
  onExpired: () => void;
}) {
  const { t, lang } = useI18n();
  const [conv, setConv] = useState<StoredConversation>();
  const [error, setError] = useState<string>();
  useEffect(() => {
    let live = true;
    setConv(undefined);
    setError(undefined);
    api.conversation(id).then(
      (c) => live && setConv(c),
      (e: unknown) => {
        if (!live) return;
        if (expired(e)) onExpired();
        else setError(searchError(t, e));
      },
    );
    return () => {
      live = false;
    };
  }, [api, id, onExpired, t]);
  return (
    <section class="search-conversation panel dossier" data-testid="search-conversation" aria-labelledby="search-conv-title">
      <div class="panel-head">
        <h2 id="search-conv-title">
          {conv ? t("search.conversation.title", { channel: channelLabel(t, conv.channel), date: formatDateTime(lang, conv.started) }) : t("search.conversation.loading")}
        </h2>
        <button type="button" class="secondary" data-testid="search-conversation-close" onClick={onClose}>
          {t("search.conversation.close")}
        </button>
      </div>
      <p class="muted">{t("search.conversation.read_only")}</p>
      {error ? (
        <p class="error" role="alert">
          {error}
        </p>
      ) : null}
      {conv ? (
        <>
          <p class="meta" data-testid="search-conversation-meta">
            <span>{customerOf(t, conv)}</span>
            <span class={"status status-" + conv.status}>{statusLabel(t, conv.status)}</span>
            {conv.queue ? <span>{t("search.conversation.queue", { queue: queues.find((q) => q.id === conv.queue)?.name || conv.queue })}</span> : null}
            {conv.agent_id ? <span>{t("search.conversation.agent", { agent: names.get(conv.agent_id) ?? conv.agent_id })}</span> : null}
            {conv.tags && conv.tags.length > 0 ? <span>{t("search.conversation.tags", { tags: conv.tags.join(", ") })}</span> : null}
          </p>
          <StoredThread conv={conv} names={names} label={t("search.conversation.thread")} />
        </>
      ) : null}
    </section>
  );
}
