// A conversation's tags as chips, and for who may change them a small
// input to add more and a button on each chip to remove it. Every change
// sends the whole set (PUT .../tags); the server trims and lowercases
// tags too, and refuses what the rule below refuses.
import { useState } from "preact/hooks";
import { useI18n } from "../i18n";
import type { Detail } from "./api";
import { expired, inboxError, useInbox } from "./context";
import { maxTags, parseTags } from "./tagrule";

interface Props {
  conversation: Detail;
  editable: boolean;
  onDone: (d: Detail) => void;
}

export function Tags({ conversation, editable, onDone }: Props) {
  const { t } = useI18n();
  const { api, onExpired } = useInbox();
  const [input, setInput] = useState("");
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string>();
  const tags = conversation.tags ?? [];

  const save = async (next: string[]): Promise<boolean> => {
    setBusy(true);
    setProblem(undefined);
    try {
      onDone(await api.tags(conversation.id, next));
      return true;
    } catch (e) {
      if (expired(e)) onExpired();
      else setProblem(inboxError(t, e));
      return false;
    } finally {
      setBusy(false);
    }
  };

  const add = async (ev: Event) => {
    ev.preventDefault();
    const { tags: typed, invalid } = parseTags(input);
    if (invalid !== undefined) {
      setProblem(t("inbox.tags.invalid", { tag: invalid }));
      return;
    }
    const next = [...tags, ...typed.filter((x) => !tags.includes(x))];
    if (next.length === tags.length) {
      setInput("");
      return;
    }
    if (next.length > maxTags) {
      setProblem(t("inbox.tags.too_many", { max: maxTags }));
      return;
    }
    if (await save(next)) setInput("");
  };

  if (!editable && tags.length === 0) return null;
  return (
    <div class="tags" data-testid="conversation-tags">
      <ul class="chips" aria-label={t("inbox.tags.label")}>
        {tags.map((tag) => (
          <li class="chip" key={tag} data-testid="tag">
            <span>{tag}</span>
            {editable ? (
              <button
                type="button"
                class="chip-remove"
                aria-label={t("inbox.tags.remove", { tag })}
                title={t("inbox.tags.remove", { tag })}
                data-testid="tag-remove"
                disabled={busy}
                onClick={() => void save(tags.filter((x) => x !== tag))}
              >
                ×
              </button>
            ) : null}
          </li>
        ))}
        {tags.length === 0 ? <li class="muted">{t("inbox.tags.none")}</li> : null}
      </ul>
      {editable ? (
        <form class="tag-add" onSubmit={add} noValidate>
          <input
            type="text"
            value={input}
            maxLength={400}
            aria-label={t("inbox.tags.input")}
            placeholder={t("inbox.tags.placeholder")}
            data-testid="tag-input"
            disabled={busy}
            onInput={(e) => {
              setInput((e.target as HTMLInputElement).value);
              setProblem(undefined);
            }}
          />
          <button type="submit" class="secondary" data-testid="tag-add" disabled={busy || !input.trim()}>
            {t("inbox.tags.add")}
          </button>
        </form>
      ) : null}
      {problem ? (
        <p class="error" role="alert" data-testid="tags-error">
          {problem}
        </p>
      ) : null}
    </div>
  );
}
