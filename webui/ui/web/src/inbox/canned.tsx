// The picker of canned answers and operator scripts: opened by its button
// (with a search field) or by typing "/" and a shortcut in the composer
// (the composer then drives it with the arrow keys, Enter and Escape).
import { useEffect, useRef, useState } from "preact/hooks";
import { useI18n } from "../i18n";
import type { Answer } from "./api";

/** The answers matching query: by shortcut first, then by title or text. */
export function matchAnswers(answers: Answer[], query: string, slash: boolean): Answer[] {
  const q = query.trim().toLowerCase();
  if (!q) return answers;
  const byShortcut = answers.filter((a) => a.shortcut && a.shortcut.toLowerCase().startsWith(q));
  if (slash) return byShortcut.concat(answers.filter((a) => !byShortcut.includes(a) && a.title.toLowerCase().startsWith(q)));
  const rest = answers.filter((a) => !byShortcut.includes(a) && (a.title + "\n" + a.text).toLowerCase().includes(q));
  return byShortcut.concat(rest);
}

interface Props {
  answers: Answer[] | undefined;
  /** The search text: typed in the picker, or after "/" in the composer. */
  query: string;
  /** Opened by "/" in the composer: no search field of its own. */
  slash: boolean;
  active: number;
  onQuery: (q: string) => void;
  onActive: (n: number) => void;
  onPick: (a: Answer) => void;
  onClose: () => void;
  error?: string | undefined;
}

export function CannedPicker({ answers, query, slash, active, onQuery, onActive, onPick, onClose, error }: Props) {
  const { t } = useI18n();
  const search = useRef<HTMLInputElement>(null);
  const list = answers ? matchAnswers(answers, query, slash) : [];
  const [focusedOnce, setFocusedOnce] = useState(false);

  useEffect(() => {
    if (!slash && !focusedOnce) {
      search.current?.focus();
      setFocusedOnce(true);
    }
  }, [slash, focusedOnce]);

  const keys = (e: KeyboardEvent) => {
    if (e.key === "ArrowDown") {
      e.preventDefault();
      onActive(Math.min(active + 1, list.length - 1));
    } else if (e.key === "ArrowUp") {
      e.preventDefault();
      onActive(Math.max(active - 1, 0));
    } else if (e.key === "Enter") {
      e.preventDefault();
      const a = list[active];
      if (a) onPick(a);
    } else if (e.key === "Escape") {
      e.preventDefault();
      onClose();
    }
  };

  return (
    <div class="canned" data-testid="canned-picker">
      {!slash ? (
        <label class="canned-search">
          <span class="sr-only">{t("inbox.canned.search")}</span>
          <input
            ref={search}
            type="search"
            data-testid="canned-search"
            placeholder={t("inbox.canned.search")}
            value={query}
            role="combobox"
            aria-expanded="true"
            aria-controls="canned-list"
            aria-activedescendant={list[active] ? "canned-" + list[active].id : undefined}
            onInput={(e) => {
              onQuery(e.currentTarget.value);
              onActive(0);
            }}
            onKeyDown={keys}
          />
        </label>
      ) : null}
      {error ? (
        <p class="error" role="alert">
          {error}
        </p>
      ) : null}
      {!answers && !error ? <p class="muted">{t("inbox.canned.loading")}</p> : null}
      {answers && list.length === 0 ? (
        <p class="muted" data-testid="canned-none">
          {t("inbox.canned.none")}
        </p>
      ) : null}
      <ul id="canned-list" role="listbox" aria-label={t("inbox.canned.title")}>
        {list.map((a, n) => (
          <li
            key={a.id}
            id={"canned-" + a.id}
            role="option"
            aria-selected={n === active}
            class={n === active ? "active" : ""}
            data-testid={"canned-item-" + a.id}
            data-kind={a.kind}
            onMouseDown={(e) => e.preventDefault()}
            onClick={() => onPick(a)}
            onMouseEnter={() => onActive(n)}
          >
            <span class="title">{a.title}</span>
            {a.kind === "script" ? <span class="tag">{t("inbox.canned.script")}</span> : null}
            {a.shortcut ? <kbd>/{a.shortcut}</kbd> : null}
            <span class="preview">{a.text}</span>
          </li>
        ))}
      </ul>
    </div>
  );
}
