// Canned answers and operator scripts: a filtered list and an editor with
// the placeholders the inbox fills in when an agent inserts the text.
// Admins and supervisors edit them.
import { useRef, useState } from "preact/hooks";
import { autonyms, isLang, languages, useI18n, type MessageKey } from "../i18n";
import { idPattern, slug, type Answer, type Queue } from "./api";
import { ConfirmButton, Done, ErrorBanner, FieldError, Loading, Problem, revealError, useAction, useAdmin, useLoad } from "./common";

/** The placeholders the inbox fills in, with what each becomes. */
export const placeholders: { name: string; testid: string; help: MessageKey }[] = [
  { name: "customer.name", testid: "customer-name", help: "admin.answers.ph.customer_name" },
  { name: "customer.address", testid: "customer-address", help: "admin.answers.ph.customer_address" },
  { name: "case.number", testid: "case-number", help: "admin.answers.ph.case_number" },
  { name: "agent.name", testid: "agent-name", help: "admin.answers.ph.agent_name" },
  { name: "queue.name", testid: "queue-name", help: "admin.answers.ph.queue_name" },
];

const kindKeys: Record<Answer["kind"], MessageKey> = {
  answer: "admin.answers.kind_answer",
  script: "admin.answers.kind_script",
};

const answerFields = ["id", "answer_id", "kind", "title", "text", "language", "shortcut", "queues"] as const;
const maxText = 5000;

interface Filter {
  kind: string;
  language: string;
  queue: string;
}

export function AnswersSection() {
  const { t } = useI18n();
  const { api } = useAdmin();
  const [filter, setFilter] = useState<Filter>({ kind: "", language: "", queue: "" });
  const queues = useLoad(() => api.queues(), [api]);
  const list = useLoad(() => api.answers(filter), [api, filter.kind, filter.language, filter.queue]);
  const [editing, setEditing] = useState<{ answer: Answer; isNew: boolean }>();
  const [notice, setNotice] = useState<string>();
  const del = useAction();

  if (!queues.data) return <Loading error={queues.error} />;
  const queueList = queues.data;
  const queueName = new Map(queueList.map((q) => [q.id, q.name]));

  if (editing) {
    return (
      <AnswerEditor
        key={editing.answer.id}
        answer={editing.answer}
        isNew={editing.isNew}
        queues={queueList}
        onDone={(saved) => {
          if (saved) {
            setNotice(t("admin.saved_named", { name: saved.title }));
            list.reload();
          } else setNotice(undefined);
          setEditing(undefined);
        }}
      />
    );
  }

  const remove = (a: Answer) =>
    del.run(async () => {
      setNotice(undefined);
      await api.deleteAnswer(a.id);
      list.setData((list.data ?? []).filter((x) => x.id !== a.id));
      return t("admin.deleted", { name: a.title });
    });

  const blank: Answer = { id: "", kind: "answer", title: "", text: "", language: "", shortcut: "", queues: [] };

  return (
    <>
      <h1>{t("admin.answers.title")}</h1>
      <div class="actions start">
        <button type="button" data-testid="answer-new" onClick={() => setEditing({ answer: blank, isNew: true })}>
          {t("admin.answers.new")}
        </button>
      </div>
      <form class="filters row" onSubmit={(e) => e.preventDefault()} aria-label={t("admin.answers.filters")}>
        <label>
          <span>{t("admin.answers.kind")}</span>
          <select data-testid="answers-filter-kind" value={filter.kind} onChange={(e) => setFilter({ ...filter, kind: e.currentTarget.value })}>
            <option value="">{t("admin.answers.all")}</option>
            <option value="answer">{t(kindKeys.answer)}</option>
            <option value="script">{t(kindKeys.script)}</option>
          </select>
        </label>
        <label>
          <span>{t("admin.answers.language")}</span>
          <select
            data-testid="answers-filter-language"
            value={filter.language}
            onChange={(e) => setFilter({ ...filter, language: e.currentTarget.value })}
          >
            <option value="">{t("admin.answers.all")}</option>
            {languages.map((l) => (
              <option key={l} value={l}>
                {autonyms[l]}
              </option>
            ))}
          </select>
        </label>
        <label>
          <span>{t("admin.answers.queue")}</span>
          <select data-testid="answers-filter-queue" value={filter.queue} onChange={(e) => setFilter({ ...filter, queue: e.currentTarget.value })}>
            <option value="">{t("admin.answers.all")}</option>
            {queueList.map((q) => (
              <option key={q.id} value={q.id}>
                {q.name}
              </option>
            ))}
          </select>
        </label>
      </form>
      <ErrorBanner error={del.error} />
      <Done text={del.done ?? notice} />
      {list.data ? (
        <>
          <table class="admin-table" data-testid="answers">
            <thead>
              <tr>
                <th>{t("admin.answers.title_field")}</th>
                <th>{t("admin.answers.kind")}</th>
                <th>{t("admin.answers.language")}</th>
                <th>{t("admin.answers.shortcut")}</th>
                <th>{t("admin.answers.queues")}</th>
                <th>
                  <span class="sr-only">{t("admin.actions")}</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {list.data.map((a) => (
                <tr key={a.id} data-testid={"answer-" + a.id}>
                  <td>
                    <span data-testid="answer-title">{a.title}</span>
                    <div class="muted preview">{a.text.length > 120 ? a.text.slice(0, 120) + "…" : a.text}</div>
                  </td>
                  <td>{t(kindKeys[a.kind] ?? kindKeys.answer)}</td>
                  <td>{isLang(a.language) ? autonyms[a.language] : t("admin.answers.any_language")}</td>
                  <td>{a.shortcut ? <code>/{a.shortcut}</code> : "—"}</td>
                  <td>{a.queues?.length ? a.queues.map((q) => queueName.get(q) ?? q).join(", ") : t("admin.answers.all_queues")}</td>
                  <td class="row-actions">
                    <button type="button" class="secondary" data-testid="answer-edit" onClick={() => setEditing({ answer: a, isNew: false })}>
                      {t("admin.edit")}
                    </button>
                    <ConfirmButton
                      testid="answer-delete"
                      label={t("admin.delete")}
                      confirm={t("admin.delete_confirm")}
                      disabled={del.busy}
                      onConfirm={() => void remove(a)}
                    />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {list.data.length === 0 ? <p class="muted">{t("admin.answers.none")}</p> : null}
        </>
      ) : (
        <Loading error={list.error} />
      )}
    </>
  );
}

function AnswerEditor(props: { answer: Answer; isNew: boolean; queues: Queue[]; onDone: (saved?: Answer) => void }) {
  const { t } = useI18n();
  const { api } = useAdmin();
  const [a, setA] = useState<Answer>({ ...props.answer, queues: [...(props.answer.queues ?? [])] });
  const [idTouched, setIdTouched] = useState(!props.isNew);
  const text = useRef<HTMLTextAreaElement>(null);
  const save = useAction();
  const formRef = useRef<HTMLFormElement>(null);

  const insert = (name: string) => {
    const ph = `{{${name}}}`;
    const ta = text.current;
    const start = ta?.selectionStart ?? a.text.length;
    const end = ta?.selectionEnd ?? a.text.length;
    setA({ ...a, text: a.text.slice(0, start) + ph + a.text.slice(end) });
    requestAnimationFrame(() => {
      ta?.focus();
      ta?.setSelectionRange(start + ph.length, start + ph.length);
    });
  };

  const submit = async (e: Event) => {
    e.preventDefault();
    const ok = await save.run(async () => {
      if (props.isNew) {
        if (!idPattern.test(a.id)) throw new Problem(t("admin.id_invalid"), "id");
        // The list may be filtered: ask for every answer before taking an id.
        if ((await api.answers()).some((x) => x.id === a.id)) throw new Problem(t("admin.id_taken", { id: a.id }), "id");
      }
      if (!a.title.trim()) throw new Problem(t("admin.answers.title_required"), "title");
      if (!a.text.trim()) throw new Problem(t("admin.answers.text_required"), "text");
      if ([...a.text].length > maxText) throw new Problem(t("admin.answers.text_long", { max: maxText }), "text");
      const shortcut = a.shortcut.trim().replace(/^\//, "");
      if (shortcut && !idPattern.test(shortcut)) throw new Problem(t("admin.answers.shortcut_invalid"), "shortcut");
      props.onDone(await api.saveAnswer({ ...a, title: a.title.trim(), shortcut }));
    });
    if (!ok) revealError(formRef.current);
  };

  return (
    <form ref={formRef} class="admin-form editor card" onSubmit={submit} noValidate data-testid="answer-editor">
      <h1>{props.isNew ? t("admin.answers.new") : t("admin.answers.edit_title", { name: props.answer.title })}</h1>
      <ErrorBanner error={save.error} fields={answerFields} />
      <fieldset disabled={save.busy}>
        <div class="row">
          <label>
            <span>{t("admin.answers.kind")}</span>
            <select
              data-testid="answer-kind"
              value={a.kind}
              onChange={(e) => setA({ ...a, kind: e.currentTarget.value === "script" ? "script" : "answer" })}
            >
              <option value="answer">{t(kindKeys.answer)}</option>
              <option value="script">{t(kindKeys.script)}</option>
            </select>
            <FieldError error={save.error} names={["kind"]} />
          </label>
          <label class="grow">
            <span>{t("admin.answers.title_field")}</span>
            <input
              data-testid="answer-title"
              value={a.title}
              maxLength={200}
              onInput={(e) => {
                const title = e.currentTarget.value;
                setA({ ...a, title, id: idTouched ? a.id : slug(title) });
              }}
            />
            <FieldError error={save.error} names={["title"]} />
          </label>
          <label>
            <span>{t("admin.id")}</span>
            <input
              data-testid="answer-id"
              value={a.id}
              readOnly={!props.isNew}
              autocapitalize="none"
              spellcheck={false}
              maxLength={64}
              onInput={(e) => {
                setIdTouched(true);
                setA({ ...a, id: e.currentTarget.value });
              }}
            />
            <FieldError error={save.error} names={["id", "answer_id"]} />
          </label>
        </div>
        <label>
          <span>{a.kind === "script" ? t("admin.answers.text_script") : t("admin.answers.text")}</span>
          <textarea
            ref={text}
            data-testid="answer-text"
            rows={a.kind === "script" ? 12 : 6}
            value={a.text}
            onInput={(e) => setA({ ...a, text: e.currentTarget.value })}
          />
          <small>{t("admin.answers.text_count", { n: [...a.text].length, max: maxText })}</small>
          <FieldError error={save.error} names={["text"]} />
        </label>
        <div class="placeholders" data-testid="answer-placeholders">
          <p class="hint">{t("admin.answers.ph_help")}</p>
          <ul>
            {placeholders.map((p) => (
              <li key={p.name}>
                <button type="button" class="secondary" data-testid={"answer-insert-" + p.testid} onClick={() => insert(p.name)}>
                  {t("admin.answers.insert", { placeholder: `{{${p.name}}}` })}
                </button>
                <span class="muted">{t(p.help)}</span>
              </li>
            ))}
          </ul>
        </div>
        <div class="row">
          <label>
            <span>{t("admin.answers.language")}</span>
            <select data-testid="answer-language" value={a.language} onChange={(e) => setA({ ...a, language: e.currentTarget.value })}>
              <option value="">{t("admin.answers.any_language")}</option>
              {languages.map((l) => (
                <option key={l} value={l}>
                  {autonyms[l]}
                </option>
              ))}
            </select>
            <FieldError error={save.error} names={["language"]} />
          </label>
          <label>
            <span>{t("admin.answers.shortcut")}</span>
            <input
              data-testid="answer-shortcut"
              value={a.shortcut}
              autocapitalize="none"
              spellcheck={false}
              maxLength={64}
              onInput={(e) => setA({ ...a, shortcut: e.currentTarget.value })}
            />
            <small>{t("admin.answers.shortcut_hint")}</small>
            <FieldError error={save.error} names={["shortcut"]} />
          </label>
        </div>
        <fieldset class="checks">
          <legend>{t("admin.answers.queues")}</legend>
          <small class="hint">{t("admin.answers.queues_hint")}</small>
          {props.queues.map((q) => (
            <label key={q.id} class="check">
              <input
                type="checkbox"
                data-testid={"answer-queue-" + q.id}
                checked={a.queues.includes(q.id)}
                onChange={(e) =>
                  setA({ ...a, queues: e.currentTarget.checked ? [...a.queues.filter((x) => x !== q.id), q.id] : a.queues.filter((x) => x !== q.id) })
                }
              />
              <span>{q.name}</span>
            </label>
          ))}
          <FieldError error={save.error} names={["queues"]} />
        </fieldset>
      </fieldset>
      <div class="actions">
        <button type="button" class="secondary" data-testid="answer-cancel" disabled={save.busy} onClick={() => props.onDone()}>
          {t("admin.cancel")}
        </button>
        <button type="submit" data-testid="answer-save" disabled={save.busy}>
          {save.busy ? t("admin.saving") : t("admin.save")}
        </button>
      </div>
    </form>
  );
}
