// The agent inbox: presence, the lists (mine, queues, all), offers with
// their countdown, and the open conversation. Lists come from the API and
// stay current through the live socket; each time the socket (re)opens
// they are fetched again, so nothing that happened while it was down is
// missed.
import { useCallback, useEffect, useMemo, useRef, useState } from "preact/hooks";
import { ApiError, type Session } from "../api";
import { useI18n } from "../i18n";
import { conversationHash, navigate } from "../route";
import { byActivity, InboxApi, isMine, presences, privileged, statuses, type ListView, type Me, type Presence, type Queue, type Summary } from "./api";
import { CallBadge, PhoneIcon } from "./call";
import { live as callLive } from "./calls";
import { ConversationView } from "./conversation";
import { tabKeys } from "./a11y";
import { expired, Inbox, inboxError, useInbox, type InboxContext } from "./context";
import { channelLabel, customerLabel, presenceLabel, statusLabel } from "./labels";
import { LiveSocket, type Frame, type SocketState } from "./socket";
import { clock, formatTime, secondsLeft, useNow } from "./time";
import "./inbox.css";

interface Props {
  session: Session;
  conversation: string | undefined;
  onExpired: () => void;
}

const seenKey = "hotline.inbox.seen";

function loadSeen(): Record<string, number> {
  try {
    const v: unknown = JSON.parse(sessionStorage.getItem(seenKey) ?? "{}");
    return typeof v === "object" && v !== null ? (v as Record<string, number>) : {};
  } catch {
    return {};
  }
}

export function InboxPage({ session, conversation, onExpired }: Props) {
  const { t, lang } = useI18n();
  const acc = session.account;
  const api = useMemo(() => new InboxApi(acc.tenant, session.csrf_token), [acc.tenant, session.csrf_token]);
  const canAll = privileged(acc.role);
  const [tab, setTab] = useState<ListView>("mine");
  const [convs, setConvs] = useState<Map<string, Summary>>(() => new Map());
  const [queueIds, setQueueIds] = useState<Set<string>>(() => new Set());
  const [allFilter, setAllFilter] = useState("");
  const [me, setMe] = useState<Me>();
  const [error, setError] = useState<unknown>();
  const [noInbox, setNoInbox] = useState(false);
  const retryTimer = useRef<number>();
  const [sockState, setSockState] = useState<SocketState>("connecting");
  const [generation, setGeneration] = useState(0);
  const [names, setNames] = useState<Map<string, string>>(() => new Map());
  const [queues, setQueues] = useState<Queue[]>([]);
  const [seen, setSeen] = useState<Record<string, number>>(loadSeen);
  const [announce, setAnnounce] = useState("");
  const listeners = useRef(new Set<(f: Frame) => void>());
  const [socket, setSocket] = useState<LiveSocket>();

  const fail = useCallback(
    (e: unknown) => {
      if (expired(e)) onExpired();
      else setError(e);
    },
    [onExpired],
  );

  // Conversations the socket updated since the last fetch began: a fetch
  // answered after their frame must not undo it.
  const touched = useRef(new Set<string>());

  // The lists, fetched whole: on start and after each (re)connection.
  const refetch = useCallback(async () => {
    touched.current = new Set();
    try {
      const views: ListView[] = canAll ? ["mine", "queues", "all"] : ["mine", "queues"];
      const [lists, m] = await Promise.all([Promise.all(views.map((v) => api.list(v))), api.me()]);
      setConvs((prev) => {
        const next = new Map<string, Summary>();
        for (const l of lists) for (const s of l) next.set(s.id, s);
        for (const id of touched.current) {
          const live = prev.get(id);
          const got = next.get(id);
          if (live && (!got || Date.parse(live.last_activity) > Date.parse(got.last_activity))) next.set(id, live);
        }
        return next;
      });
      setQueueIds((prev) => {
        const next = new Set((lists[1] ?? []).map((s) => s.id));
        for (const id of touched.current) {
          if (prev.has(id)) next.add(id);
          else next.delete(id);
        }
        return next;
      });
      setMe(m);
      setError(undefined);
      setNoInbox(false);
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) setNoInbox(true);
      else fail(e);
      // Catching up with the log after a restart: ask again shortly.
      if (e instanceof ApiError && e.status === 503) retryTimer.current = window.setTimeout(() => void refetchRef.current(), 2000);
    }
  }, [api, canAll, fail]);

  // Supervisors' "queues" list depends on their own skills; ask again.
  const queuesTimer = useRef<number>();
  const refetchQueues = useCallback(() => {
    window.clearTimeout(queuesTimer.current);
    queuesTimer.current = window.setTimeout(() => {
      api.list("queues").then((l) => setQueueIds(new Set(l.map((s) => s.id))), fail);
    }, 500);
  }, [api, fail]);

  // My load per channel changes with what is assigned to me: ask again.
  const meTimer = useRef<number>();
  const refetchMe = useCallback(() => {
    window.clearTimeout(meTimer.current);
    meTimer.current = window.setTimeout(() => {
      api.me().then(setMe, fail);
    }, 500);
  }, [api, fail]);
  useEffect(
    () => () => {
      window.clearTimeout(meTimer.current);
      window.clearTimeout(queuesTimer.current);
      window.clearTimeout(retryTimer.current);
    },
    [],
  );

  const onFrame = useCallback(
    (f: Frame) => {
      if (f.type === "conversation") {
        const s = f.conversation;
        touched.current.add(s.id);
        setConvs((prev) => {
          const old = prev.get(s.id);
          if (old && Date.parse(old.last_activity) > Date.parse(s.last_activity)) return prev;
          const next = new Map(prev);
          next.set(s.id, s);
          if (s.status === "offered" && s.offer?.agent_id === acc.id && old?.status !== "offered") {
            setAnnounce(t("inbox.offer.announce", { name: customerLabel(t, s.customer) }));
          }
          if (isMine(acc.id, s) || (old && isMine(acc.id, old))) refetchMe();
          return next;
        });
        if (s.status !== "waiting" || !canAll) {
          // An agent is sent a waiting conversation only if they can take it.
          setQueueIds((prev) => {
            const has = prev.has(s.id);
            const want = s.status === "waiting";
            if (has === want) return prev;
            const next = new Set(prev);
            if (want) next.add(s.id);
            else next.delete(s.id);
            return next;
          });
        } else {
          refetchQueues();
        }
      }
      for (const l of listeners.current) l(f);
    },
    [acc.id, canAll, refetchQueues, refetchMe, t],
  );
  const frameRef = useRef(onFrame);
  frameRef.current = onFrame;
  const refetchRef = useRef(refetch);
  refetchRef.current = refetch;

  useEffect(() => {
    const s = new LiveSocket(api.socketURL(), {
      onFrame: (f) => frameRef.current(f),
      onOpen: () => {
        setGeneration((g) => g + 1);
        void refetchRef.current();
      },
      onState: setSockState,
    });
    setSocket(s);
    const wake = () => {
      if (document.visibilityState === "visible") s.nudge();
    };
    document.addEventListener("visibilitychange", wake);
    window.addEventListener("online", wake);
    return () => {
      document.removeEventListener("visibilitychange", wake);
      window.removeEventListener("online", wake);
      s.close();
    };
  }, [api]);

  useEffect(() => {
    void refetch();
  }, [refetch]);

  // The directory: colleagues' names and queue names. Optional: without
  // it, names fall back to generic words.
  useEffect(() => {
    api
      .agents()
      .then((as) => setNames(new Map(as.map((a) => [a.account_id, a.display_name || a.login]))))
      .catch((e: unknown) => expired(e) && onExpired());
    api
      .queues()
      .then(setQueues)
      .catch((e: unknown) => expired(e) && onExpired());
  }, [api, onExpired]);

  const markSeen = useCallback((id: string, messages: number) => {
    setSeen((prev) => {
      if (prev[id] === messages) return prev;
      const next = { ...prev, [id]: messages };
      try {
        sessionStorage.setItem(seenKey, JSON.stringify(next));
      } catch {
        // storage full or disabled: counts last for the page only
      }
      return next;
    });
  }, []);

  const listen = useCallback((f: (frame: Frame) => void) => {
    listeners.current.add(f);
    return () => void listeners.current.delete(f);
  }, []);

  // As the conversation frame split from a message frame would: the lists
  // take it, the open conversation has the entry already.
  const applySummary = useCallback(
    (s: Summary) => frameRef.current({ type: "conversation", conversation: s, withMessage: true }),
    [],
  );

  const ctx: InboxContext = useMemo(
    () => ({
      api,
      session,
      me: acc.id,
      role: acc.role,
      myName: acc.display_name || acc.login,
      names,
      queues,
      socket,
      listen,
      applySummary,
      generation,
      onExpired,
      markSeen,
    }),
    [api, session, acc, names, queues, socket, listen, applySummary, generation, onExpired, markSeen],
  );

  const all = useMemo(() => [...convs.values()].sort(byActivity), [convs]);
  const mine = all.filter((s) => isMine(acc.id, s));
  const waiting = all.filter((s) => queueIds.has(s.id) && s.status === "waiting");
  const everything = all.filter((s) => !allFilter || s.status === allFilter);
  const unread = (s: Summary) =>
    s.id === conversation || !isMine(acc.id, s) ? 0 : Math.max(0, s.messages - (seen[s.id] ?? 0));
  const unreadMine = mine.reduce((n, s) => n + unread(s), 0);
  const shown = tab === "mine" ? mine : tab === "queues" ? waiting : everything;
  const hasOffers = mine.some((s) => s.status === "offered");
  const now = useNow(hasOffers);
  // Calls ringing the agent's phone pop up: the first opens by itself when
  // no conversation is open, so the caller's dossier shows as the phone rings.
  const ringing = mine.filter((s) => s.status === "offered" && s.offer?.agent_id === acc.id && s.call?.state === "ringing");
  const popped = useRef(new Set<string>());
  const firstRinging = ringing[0]?.id;
  useEffect(() => {
    if (!firstRinging || popped.current.has(firstRinging)) return;
    popped.current.add(firstRinging);
    if (!conversation) navigate(conversationHash(firstRinging));
  }, [firstRinging, conversation]);

  const tabs: { id: ListView; label: string; count: number; badge?: number }[] = [
    { id: "mine", label: t("inbox.tab.mine"), count: mine.length, badge: unreadMine },
    { id: "queues", label: t("inbox.tab.queues"), count: waiting.length },
  ];
  if (canAll) tabs.push({ id: "all", label: t("inbox.tab.all"), count: everything.length });

  return (
    <Inbox.Provider value={ctx}>
      <div class="inbox">
        <aside class="inbox-side" aria-label={t("inbox.lists")}>
          <PresenceBar me={me} api={api} onMe={setMe} onError={fail} socketState={sockState} />
          {error ? (
            <p class="error" role="alert" data-testid="inbox-error">
              {inboxError(t, error)}
            </p>
          ) : null}
          {noInbox ? (
            <p class="notice-box" role="status" data-testid="no-inbox">
              {t("inbox.no_inbox")}
            </p>
          ) : null}
          {ringing.map((s) => (
            <div key={s.id} class="ringing-call" role="alert" data-testid="ringing-call" data-id={s.id}>
              <PhoneIcon />
              <span>
                {s.call && s.call.from !== "anonymous" ? t("inbox.call.incoming", { number: s.call.from }) : t("inbox.call.incoming_anonymous")}
              </span>
              {s.id === conversation ? null : (
                <a href={conversationHash(s.id)} data-testid="ringing-open">
                  {t("inbox.call.open")}
                </a>
              )}
            </div>
          ))}
          {noInbox ? null : (
            <>
              <div class="tabs" role="tablist" aria-label={t("inbox.lists")} onKeyDown={tabKeys}>
                {tabs.map((tb) => (
                  <button
                    key={tb.id}
                    type="button"
                    role="tab"
                    id={"tab-" + tb.id}
                    aria-selected={tab === tb.id}
                    tabIndex={tab === tb.id ? 0 : -1}
                    aria-controls="conv-list"
                    class={tab === tb.id ? "tab current" : "tab"}
                    data-testid={"tab-" + tb.id}
                    onClick={() => setTab(tb.id)}
                  >
                    {tb.label} <span class="count" data-testid={"count-" + tb.id}>{tb.count}</span>
                    {tb.badge ? (
                      <span class="badge" title={t("inbox.unread", { n: tb.badge })}>
                        {tb.badge}
                      </span>
                    ) : null}
                  </button>
                ))}
              </div>
              {tab === "all" ? (
                <label class="filter">
                  <span>{t("inbox.filter.status")}</span>
                  <select data-testid="all-status" value={allFilter} onChange={(e) => setAllFilter(e.currentTarget.value)}>
                    <option value="">{t("inbox.filter.any")}</option>
                    {statuses.map((s) => (
                      <option key={s} value={s}>
                        {statusLabel(t, s)}
                      </option>
                    ))}
                  </select>
                </label>
              ) : null}
              <ul class="conv-list" id="conv-list" role="tabpanel" aria-labelledby={"tab-" + tab}>
                {shown.length === 0 ? (
                  <li class="none" data-testid="list-empty">
                    {tab === "mine" ? t("inbox.empty.mine") : tab === "queues" ? t("inbox.empty.queues") : t("inbox.empty.all")}
                  </li>
                ) : null}
                {shown.map((s) => (
                  <ListItem
                    key={s.id}
                    s={s}
                    current={s.id === conversation}
                    unread={unread(s)}
                    now={now}
                    lang={lang}
                    offeredToMe={s.status === "offered" && s.offer?.agent_id === acc.id}
                    onError={fail}
                  />
                ))}
              </ul>
            </>
          )}
          <div class="sr-only" role="status" aria-live="polite">
            {announce}
          </div>
        </aside>
        <section class="inbox-main">
          {conversation ? (
            <ConversationView key={conversation} id={conversation} summary={convs.get(conversation)} />
          ) : (
            <p class="placeholder" data-testid="no-conversation">
              {t("inbox.pick")}
            </p>
          )}
        </section>
      </div>
    </Inbox.Provider>
  );
}

function PresenceBar(props: {
  me: Me | undefined;
  api: InboxApi;
  onMe: (m: Me) => void;
  onError: (e: unknown) => void;
  socketState: SocketState;
}) {
  const { t } = useI18n();
  const { me, api, onMe, onError, socketState } = props;
  const [busy, setBusy] = useState(false);
  const change = async (p: Presence) => {
    setBusy(true);
    try {
      onMe(await api.presence(p));
    } catch (e) {
      onError(e);
    } finally {
      setBusy(false);
    }
  };
  const live = socketState === "open";
  return (
    <div class="presence">
      {me?.agent ? (
        <label>
          <span>{t("inbox.presence.label")}</span>
          <select
            data-testid="presence"
            class={"presence-" + (me.presence ?? "offline")}
            value={me.presence ?? "offline"}
            disabled={busy}
            onChange={(e) => void change(e.currentTarget.value as Presence)}
          >
            {presences.map((p) => (
              <option key={p} value={p}>
                {presenceLabel(t, p)}
              </option>
            ))}
          </select>
        </label>
      ) : me ? (
        <span class="muted" data-testid="presence-none">
          {t("inbox.presence.none")}
        </span>
      ) : null}
      {me?.capacity ? (
        <span class="load" data-testid="load">
          {Object.entries(me.capacity)
            .filter(([, c]) => c.capacity > 0)
            .map(([ch, c]) => t("inbox.load", { channel: channelLabel(t, ch), load: c.load, capacity: c.capacity }))
            .join(" · ")}
        </span>
      ) : null}
      <span class={live ? "conn live" : "conn down"} role="status" data-testid="connection">
        {live ? t("inbox.connection.live") : t("inbox.connection.down")}
      </span>
    </div>
  );
}

function ListItem(props: {
  s: Summary;
  current: boolean;
  unread: number;
  now: number;
  lang: string;
  offeredToMe: boolean;
  onError: (e: unknown) => void;
}) {
  const { t } = useI18n();
  const { api, queues } = useInbox();
  const { s, current, unread, now, lang, offeredToMe, onError } = props;
  const [busy, setBusy] = useState(false);
  const act = async (accept: boolean) => {
    setBusy(true);
    try {
      if (accept) {
        await api.accept(s.id);
        navigate(conversationHash(s.id));
      } else {
        await api.decline(s.id);
      }
    } catch (e) {
      onError(e);
    } finally {
      setBusy(false);
    }
  };
  const left = offeredToMe && s.offer ? secondsLeft(s.offer.deadline, now) : 0;
  return (
    <li class={current ? "conv current" : "conv"} data-testid={"conv-" + s.id} data-status={s.status}>
      <a href={conversationHash(s.id)} aria-current={current ? "page" : undefined}>
        <span class="who">{customerLabel(t, s.customer)}</span>
        <span class="meta">
          <span class={"status status-" + s.status}>{statusLabel(t, s.status)}</span>
          {s.call ? <CallBadge s={s} /> : <span>{channelLabel(t, s.channel)}</span>}
          {s.queue ? <span>{queues.find((q) => q.id === s.queue)?.name || s.queue}</span> : null}
          <time dateTime={s.last_activity}>{formatTime(lang, s.last_activity, now)}</time>
        </span>
        {unread > 0 ? (
          <span class="badge" data-testid="unread" title={t("inbox.unread", { n: unread })}>
            {unread}
          </span>
        ) : null}
      </a>
      {offeredToMe && callLive(s.call) ? (
        <p class="offer ringing-hint" data-testid="offer-pick-up">
          {t("inbox.call.pick_up")}
        </p>
      ) : offeredToMe ? (
        <div class="offer" role="group" aria-label={t("inbox.offer.label")}>
          <span class="countdown" data-testid="offer-countdown" aria-live="off">
            {left > 0 ? t("inbox.offer.expires", { time: clock(left) }) : t("inbox.offer.expired")}
          </span>
          <button type="button" data-testid="offer-accept" disabled={busy || left === 0} onClick={() => void act(true)}>
            {t("inbox.offer.accept")}
          </button>
          <button type="button" class="secondary" data-testid="offer-decline" disabled={busy} onClick={() => void act(false)}>
            {t("inbox.offer.decline")}
          </button>
        </div>
      ) : null}
    </li>
  );
}
