// The composer: a reply to the customer or an internal note. Enter sends,
// Shift+Enter starts a new line; "/" and a shortcut, or the button, open
// the canned answers. While the agent writes a reply the customer is told
// they are typing (never for a note).
import { useEffect, useRef, useState } from "preact/hooks";
import { useI18n } from "../i18n";
import type { Answer } from "./api";
import { tabKeys } from "./a11y";
import { CannedPicker, matchAnswers } from "./canned";
import { useInbox } from "./context";
import { fillPlaceholders, type PlaceholderValues } from "./placeholders";

export type Mode = "reply" | "note";

interface Props {
  conversationId: string;
  canReply: boolean;
  canNote: boolean;
  answers: Answer[] | undefined;
  answersError: string | undefined;
  values: PlaceholderValues;
  onSend: (kind: Mode, text: string) => void;
  onScript: (a: Answer) => void;
}

interface Picker {
  slash: boolean;
  query: string;
  active: number;
  /** With slash: where the "/" is in the text. */
  start: number;
}

/** How long after the last keystroke the agent counts as no longer typing. */
const typingIdle = 4000;
/** How often "still typing" is repeated while the agent types. */
const typingRepeat = 3000;

export function Composer({ conversationId, canReply, canNote, answers, answersError, values, onSend, onScript }: Props) {
  const { t } = useI18n();
  const { socket } = useInbox();
  const [mode, setMode] = useState<Mode>(canReply ? "reply" : "note");
  const [drafts, setDrafts] = useState<Record<Mode, string>>({ reply: "", note: "" });
  const [picker, setPicker] = useState<Picker>();
  const [missing, setMissing] = useState<string[]>([]);
  const area = useRef<HTMLTextAreaElement>(null);
  const typing = useRef({ active: false, last: 0, timer: 0 });
  const text = drafts[mode];

  // Follow the conversation: replying once it is assigned to me (unless a
  // note is being written), notes only once it no longer is.
  const couldReply = useRef(canReply);
  useEffect(() => {
    if (!canReply && mode === "reply" && canNote) setMode("note");
    if (canReply && !couldReply.current && !drafts.note.trim()) setMode("reply");
    couldReply.current = canReply;
  }, [canReply, canNote, mode, drafts.note]);

  const stopTyping = () => {
    const ty = typing.current;
    window.clearTimeout(ty.timer);
    if (ty.active) {
      ty.active = false;
      socket?.typing(conversationId, false);
    }
  };
  // Leaving the conversation ends the typing signal.
  const stopRef = useRef(stopTyping);
  stopRef.current = stopTyping;
  useEffect(() => () => stopRef.current(), [conversationId]);

  const typed = () => {
    if (mode !== "reply" || !canReply) return;
    const ty = typing.current;
    const now = Date.now();
    if (!ty.active || now - ty.last > typingRepeat) {
      socket?.typing(conversationId, true);
      ty.active = true;
      ty.last = now;
    }
    window.clearTimeout(ty.timer);
    ty.timer = window.setTimeout(stopTyping, typingIdle);
  };

  const setText = (v: string) => {
    setDrafts((d) => ({ ...d, [mode]: v }));
    if (!v.trim()) setMissing([]);
  };

  // "/" at the start of a word opens the picker on the shortcut typed so far.
  const follow = (value: string, caret: number) => {
    const m = /(^|\s)\/([^\s/]*)$/.exec(value.slice(0, caret));
    if (m && answers !== undefined) {
      const start = caret - m[2]!.length - 1;
      setPicker((p) => ({ slash: true, query: m[2]!, active: p?.slash && p.query === m[2] ? p.active : 0, start }));
    } else if (picker?.slash) {
      setPicker(undefined);
    }
  };

  const send = () => {
    const v = text;
    if (!v.trim()) return;
    if (mode === "reply") stopTyping();
    onSend(mode, v);
    setText("");
    setMissing([]);
    setPicker(undefined);
  };

  const pick = (a: Answer) => {
    const p = picker;
    setPicker(undefined);
    if (a.kind === "script") {
      // Scripts are read aloud, not sent: drop the "/shortcut" typed.
      if (p?.slash) {
        const caret = p.start + 1 + p.query.length;
        setText(text.slice(0, p.start) + text.slice(caret));
      }
      onScript(a);
      return;
    }
    const filled = fillPlaceholders(a.text, values);
    const el = area.current;
    let from = el ? el.selectionStart : text.length;
    let to = el ? el.selectionEnd : text.length;
    if (p?.slash) {
      from = p.start;
      to = p.start + 1 + p.query.length;
    }
    const next = text.slice(0, from) + filled.text + text.slice(to);
    setText(next);
    setMissing(filled.missing);
    const caret = from + filled.text.length;
    window.setTimeout(() => {
      el?.focus();
      el?.setSelectionRange(caret, caret);
    }, 0);
  };

  const keyDown = (e: KeyboardEvent) => {
    if (picker?.slash) {
      const list = answers ? matchAnswers(answers, picker.query, true) : [];
      if (e.key === "ArrowDown" || e.key === "ArrowUp") {
        e.preventDefault();
        const d = e.key === "ArrowDown" ? 1 : -1;
        setPicker({ ...picker, active: Math.max(0, Math.min(picker.active + d, list.length - 1)) });
        return;
      }
      if ((e.key === "Enter" || e.key === "Tab") && !e.shiftKey && list.length > 0) {
        e.preventDefault();
        const a = list[picker.active] ?? list[0];
        if (a) pick(a);
        return;
      }
      if (e.key === "Escape") {
        e.preventDefault();
        setPicker(undefined);
        return;
      }
    }
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing && !e.altKey && !e.ctrlKey && !e.metaKey) {
      e.preventDefault();
      send();
    }
  };

  if (!canReply && !canNote) return null;
  const label = mode === "reply" ? t("inbox.composer.reply_label") : t("inbox.composer.note_label");
  return (
    <div class={"composer mode-" + mode}>
      <div class="tabs small" role="tablist" aria-label={t("inbox.composer.mode")} onKeyDown={tabKeys}>
        {canReply ? (
          <button
            type="button"
            role="tab"
            aria-selected={mode === "reply"}
            tabIndex={mode === "reply" ? 0 : -1}
            class={mode === "reply" ? "tab current" : "tab"}
            data-testid="composer-tab-reply"
            onClick={() => setMode("reply")}
          >
            {t("inbox.composer.reply")}
          </button>
        ) : null}
        {canNote ? (
          <button
            type="button"
            role="tab"
            aria-selected={mode === "note"}
            tabIndex={mode === "note" ? 0 : -1}
            class={mode === "note" ? "tab current" : "tab"}
            data-testid="notes-tab"
            onClick={() => {
              stopTyping();
              setMode("note");
            }}
          >
            {t("inbox.composer.note")}
          </button>
        ) : null}
        <button
          type="button"
          class="secondary canned-open"
          data-testid="canned-open"
          aria-expanded={picker !== undefined && !picker.slash}
          onClick={() => setPicker(picker && !picker.slash ? undefined : { slash: false, query: "", active: 0, start: 0 })}
        >
          {t("inbox.canned.open")}
        </button>
      </div>
      {picker ? (
        <CannedPicker
          answers={answers}
          error={answersError}
          query={picker.query}
          slash={picker.slash}
          active={picker.active}
          onQuery={(q) => setPicker({ ...picker, query: q })}
          onActive={(n) => setPicker({ ...picker, active: n })}
          onPick={pick}
          onClose={() => {
            setPicker(undefined);
            area.current?.focus();
          }}
        />
      ) : null}
      {mode === "note" ? <p class="note-hint">{t("inbox.composer.note_hint")}</p> : null}
      <form
        class="compose-row"
        onSubmit={(e) => {
          e.preventDefault();
          send();
        }}
      >
        <label class="grow">
          <span class="sr-only">{label}</span>
          <textarea
            ref={area}
            rows={3}
            data-testid={mode === "reply" ? "composer-input" : "note-input"}
            placeholder={label}
            value={text}
            aria-describedby="composer-help"
            onInput={(e) => {
              const el = e.currentTarget;
              setText(el.value);
              follow(el.value, el.selectionStart);
              typed();
            }}
            onKeyDown={keyDown}
            onBlur={() => picker?.slash && setPicker(undefined)}
          />
        </label>
        <button type="submit" data-testid={mode === "reply" ? "composer-send" : "note-send"} disabled={!text.trim()}>
          {mode === "reply" ? t("inbox.composer.send") : t("inbox.composer.add_note")}
        </button>
      </form>
      <p id="composer-help" class="help">
        {t("inbox.composer.help")}
      </p>
      {missing.length > 0 ? (
        <p class="warning" role="status" data-testid="placeholder-warning">
          {t("inbox.canned.missing", { names: missing.map((m) => "{{" + m + "}}").join(", ") })}
        </p>
      ) : null}
    </div>
  );
}
