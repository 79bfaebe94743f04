// Calls in the inbox: the bar above a voice conversation's thread (who
// calls, where the call stands and for how long, Hold / Resume, the
// number to call back), the call log lines among the messages, the
// recording and voicemail players, and the call's badge in the lists.
// Numbers and everything else the caller or the phone network sent are
// rendered as text nodes, never markup.
import { useState } from "preact/hooks";
import { useI18n } from "../i18n";
import type { Detail, Summary } from "./api";
import { callbackNumber, caseKey, controllable, endReasonKey, logLine, running, stateKey, telHref, type Call, type CallEntry, type Message, type Recording } from "./calls";
import { expired, inboxError, useInbox } from "./context";
import { formatDateTime, formatTime, useNow } from "./time";

function useText() {
  const { t } = useI18n();
  return (m: Message) => t(m.key, m.vars);
}

/** The phone icon, hidden from assistive technology (the state says it in words). */
export function PhoneIcon() {
  return (
    <svg class="phone-icon" viewBox="0 0 24 24" width="14" height="14" aria-hidden="true" focusable="false">
      <path
        fill="currentColor"
        d="M6.6 10.8a15.1 15.1 0 0 0 6.6 6.6l2.2-2.2c.3-.3.7-.4 1-.2 1.1.4 2.3.6 3.6.6.6 0 1 .4 1 1V20c0 .6-.4 1-1 1A17 17 0 0 1 3 4c0-.6.4-1 1-1h3.5c.6 0 1 .4 1 1 0 1.3.2 2.5.6 3.6.1.3 0 .7-.2 1l-2.3 2.2z"
      />
    </svg>
  );
}

/** A number as a tel: link when it is one, else as text. */
function PhoneNumber({ value, testid }: { value: string; testid?: string }) {
  const href = telHref(value);
  return href ? (
    <a href={href} data-testid={testid}>
      {value}
    </a>
  ) : (
    <span data-testid={testid}>{value}</span>
  );
}

/** A recording or voicemail player; a deleted one says so instead. */
export function RecordingPlayer({ conversation, rec, label }: { conversation: string; rec: Recording; label: string }) {
  const { t } = useI18n();
  const { api } = useInbox();
  if (rec.deleted) {
    return (
      <p class="muted recording-gone" data-testid="recording-deleted" data-sha256={rec.sha256}>
        {t("inbox.call.recording.deleted")}
      </p>
    );
  }
  return (
    <audio
      class="recording"
      controls
      preload="metadata"
      src={api.recordingURL(conversation, rec.sha256)}
      aria-label={label}
      data-testid={rec.kind === "voicemail" ? "voicemail-player" : "recording-player"}
      data-sha256={rec.sha256}
    />
  );
}

/** The call's badge in a list: phone icon, state or case, and the number to call back. */
export function CallBadge({ s }: { s: Summary }) {
  const { t } = useI18n();
  const c = s.call;
  if (!c) return null;
  const ck = caseKey(c);
  const number = ck ? callbackNumber(c) : undefined;
  return (
    <span class={"call-badge call-" + (ck ? "case-" + c.case : c.state)} data-testid="call-badge" data-state={c.state} data-case={c.case ?? ""}>
      <PhoneIcon />
      <span>{ck ? t(ck) : t(stateKey(c.state))}</span>
      {number ? <span class="number">{number}</span> : null}
    </span>
  );
}

interface BarProps {
  conv: Detail;
  /** The signed-in agent may hold and resume (the call is theirs, or they supervise). */
  canControl: boolean;
  /** The call rings the signed-in agent's phone. */
  ringingForMe: boolean;
  onDone: (d: Detail) => void;
}

/** The call above a voice conversation's thread. */
export function CallBar({ conv, canControl, ringingForMe, onDone }: BarProps) {
  const { t, lang } = useI18n();
  const text = useText();
  const { api, me, myName, names, onExpired } = useInbox();
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string>();
  const [pending, setPending] = useState(false);
  const c = conv.call as Call;
  const ticking = c.state === "answered" || c.state === "held";
  const now = useNow(ticking);
  const run = running(c, now);
  const ck = caseKey(c);
  const back = callbackNumber(c);
  const agent = c.agent_id ? (c.agent_id === me ? myName : names.get(c.agent_id) ?? t("inbox.thread.agent")) : undefined;
  const reason = endReasonKey(c.end_reason);

  const act = async (hold: boolean) => {
    setBusy(true);
    setProblem(undefined);
    setPending(false);
    try {
      const r = await api.hold(conv.id, hold);
      onDone(r.detail);
      setPending(!r.confirmed);
    } catch (e) {
      if (expired(e)) return onExpired();
      setProblem(inboxError(t, e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section class={"call-bar call-" + c.state} aria-label={t("inbox.call.label")} data-testid="call-bar" data-state={c.state} data-case={c.case ?? ""}>
      <div class="call-line">
        <PhoneIcon />
        <strong data-testid="call-from">
          {c.from && c.from !== "anonymous" ? t("inbox.call.from", { number: c.from }) : t("inbox.call.anonymous")}
        </strong>
        <span class={"call-state state-" + c.state} role="status" data-testid="call-state">
          {t(stateKey(c.state))}
          {c.state === "ended" && reason ? " · " + t(reason) : ""}
        </span>
        {run ? (
          <span class="call-time" data-testid="call-time">
            {text(run)}
          </span>
        ) : null}
        {agent && c.state !== "ended" ? <span>{t("inbox.conv.agent", { name: agent })}</span> : null}
        {c.answered_at ? (
          <time class="muted" dateTime={c.answered_at} title={formatDateTime(lang, c.answered_at)}>
            {t("inbox.call.answered_at", { time: formatTime(lang, c.answered_at) })}
          </time>
        ) : null}
        {canControl && controllable(c) ? (
          c.state === "held" ? (
            <button type="button" data-testid="call-resume" disabled={busy} onClick={() => void act(false)}>
              {t("inbox.call.resume")}
            </button>
          ) : (
            <button type="button" class="secondary" data-testid="call-hold" disabled={busy} onClick={() => void act(true)}>
              {t("inbox.call.hold")}
            </button>
          )
        ) : null}
      </div>
      {ringingForMe ? (
        <p class="ringing-hint" data-testid="call-pick-up">
          {t("inbox.call.pick_up")}
        </p>
      ) : null}
      {ck ? (
        <p class="call-case" data-testid="call-case">
          <span class="chip">{t(ck)}</span>{" "}
          {back ? (
            <>
              {t("inbox.call.callback")} <PhoneNumber value={back} testid="callback-number" />
            </>
          ) : (
            t("inbox.call.no_number")
          )}
        </p>
      ) : null}
      {c.voicemail ? <RecordingPlayer conversation={conv.id} rec={c.voicemail} label={t("inbox.call.voicemail_label")} /> : null}
      {pending ? (
        <p class="muted" role="status" data-testid="call-pending">
          {t("inbox.call.pending")}
        </p>
      ) : null}
      {problem ? (
        <p class="error" role="alert" data-testid="call-error">
          {problem}
        </p>
      ) : null}
    </section>
  );
}

/** One call log line in the thread; a recording's line plays it. */
export function CallLine({ e, conv }: { e: CallEntry; conv: Detail }) {
  const { t, lang } = useI18n();
  const text = useText();
  const { me, myName, names, queues } = useInbox();
  const name = (id: string) => (id === me ? myName : names.get(id) || t("inbox.thread.agent"));
  const queue = (id: string) => queues.find((q) => q.id === id)?.name || id;
  const rec = e.kind === "recorded" && e.recording ? conv.recordings?.find((r) => r.sha256 === e.recording) : undefined;
  return (
    <li class={"call-entry call-entry-" + e.kind} data-testid="call-entry" data-kind={e.kind} data-id={e.id}>
      <PhoneIcon />
      <span class="text">{text(logLine(e, name, queue))}</span>
      <time dateTime={e.time} title={formatDateTime(lang, e.time)}>
        {formatTime(lang, e.time)}
      </time>
      {rec ? (
        <RecordingPlayer
          conversation={conv.id}
          rec={rec}
          label={rec.kind === "voicemail" ? t("inbox.call.voicemail_label") : t("inbox.call.recording_label")}
        />
      ) : null}
    </li>
  );
}
