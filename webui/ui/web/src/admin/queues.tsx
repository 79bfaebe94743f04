// Queues: list, create, edit, delete. The editor covers the whole queue
// (channels, required skills, priority, offer timeout, overflow and hours of
// operation); the server's 422 names a field, shown next to its input when
// the form has one, else in a banner. Supervisors see the same, read-only.
import { useRef, useState } from "preact/hooks";
import { useI18n } from "../i18n";
import { channels, idPattern, slug, type Queue, type Skill } from "./api";
import { channelKeys } from "./agents";
import { ConfirmButton, Done, ErrorBanner, FieldError, Loading, Problem, revealError, TimeZoneList, useAction, useAdmin, useLoad } from "./common";
import { fromDraft, HoursEditor, toDraft, type HoursDraft } from "./hours";

/** Fields of a queue the form has an input for; other fields' errors go to the banner. */
const queueFields = [
  "id",
  "queue_id",
  "name",
  "channels",
  "skills",
  "priority",
  "offer_timeout_seconds",
  "offer_timeout_ms",
  "overflow_after_seconds",
  "overflow_after_ms",
  "overflow_queue",
  "hours",
] as const;

type Editing = { queue: Queue; isNew: boolean } | undefined;

export function QueuesSection() {
  const { t } = useI18n();
  const { api, canAdmin, timeZone } = useAdmin();
  const load = useLoad(() => Promise.all([api.queues(), api.skills()]), [api]);
  const [editing, setEditing] = useState<Editing>();
  const [notice, setNotice] = useState<string>();
  const del = useAction();

  if (!load.data) return <Loading error={load.error} />;
  const [queues, skills] = load.data;
  const skillName = new Map(skills.map((s) => [s.id, s.name]));
  const queueName = new Map(queues.map((q) => [q.id, q.name]));

  if (editing) {
    return (
      <>
        <TimeZoneList />
        <QueueEditor
          key={editing.queue.id}
          queue={editing.queue}
          isNew={editing.isNew}
          queues={queues}
          skills={skills}
          readOnly={!canAdmin}
          onDone={(saved) => {
            if (saved) {
              const rest = queues.filter((q) => q.id !== saved.id);
              load.setData([[...rest, saved].sort((a, b) => (a.id < b.id ? -1 : 1)), skills]);
              setNotice(t("admin.saved_named", { name: saved.name }));
            } else setNotice(undefined);
            setEditing(undefined);
          }}
        />
      </>
    );
  }

  const remove = (q: Queue) =>
    del.run(async () => {
      setNotice(undefined);
      await api.deleteQueue(q.id);
      load.setData([queues.filter((x) => x.id !== q.id), skills]);
      return t("admin.deleted", { name: q.name });
    });

  const blank: Queue = {
    id: "",
    name: "",
    channels: ["chat"],
    skills: [],
    priority: 0,
    hours: null,
    overflow_after_seconds: 0,
    overflow_queue: "",
    offer_timeout_seconds: 0,
  };

  return (
    <>
      <h1>{t("admin.queues.title")}</h1>
      {canAdmin ? (
        <div class="actions start">
          <button type="button" data-testid="queue-new" onClick={() => setEditing({ queue: blank, isNew: true })}>
            {t("admin.queues.new")}
          </button>
        </div>
      ) : (
        <p class="hint">{t("admin.read_only")}</p>
      )}
      <ErrorBanner error={del.error} />
      <Done text={del.done ?? notice} />
      <table class="admin-table" data-testid="queues">
        <thead>
          <tr>
            <th>{t("admin.id")}</th>
            <th>{t("admin.queues.name")}</th>
            <th>{t("admin.queues.channels")}</th>
            <th>{t("admin.queues.skills")}</th>
            <th>{t("admin.queues.priority")}</th>
            <th>{t("admin.hours.title")}</th>
            <th>{t("admin.queues.overflow")}</th>
            <th>
              <span class="sr-only">{t("admin.actions")}</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {queues.map((q) => (
            <tr key={q.id} data-testid={"queue-" + q.id}>
              <td>
                <code>{q.id}</code>
              </td>
              <td data-testid="queue-name">{q.name}</td>
              <td>{q.channels.map((c) => (c in channelKeys ? t(channelKeys[c as keyof typeof channelKeys]) : c)).join(", ")}</td>
              <td>{q.skills.map((s) => skillName.get(s) ?? s).join(", ") || "—"}</td>
              <td>{q.priority}</td>
              <td>
                {!q.hours || (q.hours.always_open && (q.hours.holidays?.length ?? 0) === 0)
                  ? t("admin.hours.always_open")
                  : t("admin.queues.hours_summary", { zone: q.hours.timezone || timeZone, n: q.hours.holidays?.length ?? 0 })}
              </td>
              <td>
                {q.overflow_queue
                  ? t("admin.queues.overflow_summary", { seconds: q.overflow_after_seconds, queue: queueName.get(q.overflow_queue) ?? q.overflow_queue })
                  : "—"}
              </td>
              <td class="row-actions">
                <button type="button" class="secondary" data-testid={canAdmin ? "queue-edit" : "queue-view"} onClick={() => setEditing({ queue: q, isNew: false })}>
                  {canAdmin ? t("admin.edit") : t("admin.view")}
                </button>
                {canAdmin ? (
                  <ConfirmButton
                    testid="queue-delete"
                    label={t("admin.delete")}
                    confirm={t("admin.delete_confirm")}
                    disabled={del.busy}
                    onConfirm={() => void remove(q)}
                  />
                ) : null}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {queues.length === 0 ? <p class="muted">{t("admin.queues.none")}</p> : null}
    </>
  );
}

interface Form {
  id: string;
  name: string;
  channels: string[];
  skills: string[];
  priority: string;
  offerTimeout: string;
  overflowAfter: string;
  overflowQueue: string;
  hours: HoursDraft;
}

function QueueEditor(props: {
  queue: Queue;
  isNew: boolean;
  queues: Queue[];
  skills: Skill[];
  readOnly: boolean;
  onDone: (saved?: Queue) => void;
}) {
  const { t } = useI18n();
  const { api, timeZone } = useAdmin();
  const q = props.queue;
  const [f, setF] = useState<Form>(() => ({
    id: q.id,
    name: q.name,
    channels: [...q.channels],
    skills: [...q.skills],
    priority: String(q.priority ?? 0),
    offerTimeout: String(q.offer_timeout_seconds ?? 0),
    overflowAfter: String(q.overflow_after_seconds ?? 0),
    overflowQueue: q.overflow_queue ?? "",
    hours: toDraft(q.hours, timeZone),
  }));
  const [idTouched, setIdTouched] = useState(!props.isNew);
  const save = useAction();
  const formRef = useRef<HTMLFormElement>(null);
  const known = new Set(props.skills.map((s) => s.id));
  const shownSkills: Skill[] = [...props.skills, ...f.skills.filter((s) => !known.has(s)).map((s) => ({ id: s, name: s }))];
  const toggle = (list: string[], v: string, on: boolean) => (on ? [...list.filter((x) => x !== v), v] : list.filter((x) => x !== v));

  const whole = (raw: string, field: string): number => {
    const n = raw.trim() === "" ? 0 : Number(raw);
    if (!Number.isInteger(n) || n < 0) throw new Problem(t("admin.queues.whole_number"), field);
    return n;
  };

  const submit = async (e: Event) => {
    e.preventDefault();
    const ok = await save.run(async () => {
      if (props.isNew) {
        if (!idPattern.test(f.id)) throw new Problem(t("admin.id_invalid"), "id");
        if (props.queues.some((x) => x.id === f.id)) throw new Problem(t("admin.id_taken", { id: f.id }), "id");
      }
      if (!f.name.trim()) throw new Problem(t("admin.queues.name_required"), "name");
      if (f.channels.length === 0) throw new Problem(t("admin.queues.channels_required"), "channels");
      const overflowAfter = whole(f.overflowAfter, "overflow_after_seconds");
      if (overflowAfter > 0 && !f.overflowQueue) throw new Problem(t("admin.queues.overflow_queue_required"), "overflow_queue");
      if (overflowAfter === 0 && f.overflowQueue) throw new Problem(t("admin.queues.overflow_after_required"), "overflow_after_seconds");
      const queue: Queue = {
        id: f.id,
        name: f.name.trim(),
        channels: channels.filter((c) => f.channels.includes(c)),
        skills: f.skills,
        priority: whole(f.priority, "priority"),
        offer_timeout_seconds: whole(f.offerTimeout, "offer_timeout_seconds"),
        overflow_after_seconds: overflowAfter,
        overflow_queue: f.overflowQueue,
        hours: fromDraft(f.hours, t),
      };
      const saved = await api.saveQueue(queue);
      props.onDone(saved);
    });
    if (!ok) revealError(formRef.current);
  };

  const title = props.isNew ? t("admin.queues.new") : props.readOnly ? q.name : t("admin.queues.edit_title", { name: q.name });

  return (
    <form ref={formRef} class="admin-form editor card" onSubmit={submit} noValidate data-testid="queue-editor">
      <h1>{title}</h1>
      <ErrorBanner error={save.error} fields={queueFields} />
      <Done text={save.done} />
      <fieldset disabled={save.busy || props.readOnly}>
        <div class="row">
          <label>
            <span>{t("admin.queues.name")}</span>
            <input
              data-testid="queue-name"
              value={f.name}
              maxLength={200}
              onInput={(e) => {
                const name = e.currentTarget.value;
                setF({ ...f, name, id: idTouched ? f.id : slug(name) });
              }}
            />
            <FieldError error={save.error} names={["name"]} />
          </label>
          <label>
            <span>{t("admin.id")}</span>
            <input
              data-testid="queue-id"
              value={f.id}
              readOnly={!props.isNew}
              autocapitalize="none"
              spellcheck={false}
              maxLength={64}
              onInput={(e) => {
                setIdTouched(true);
                setF({ ...f, id: e.currentTarget.value });
              }}
            />
            {props.isNew ? <small>{t("admin.id_hint")}</small> : null}
            <FieldError error={save.error} names={["id", "queue_id"]} />
          </label>
        </div>
        <fieldset class="checks">
          <legend>{t("admin.queues.channels")}</legend>
          {channels.map((c) => (
            <label key={c} class="check">
              <input
                type="checkbox"
                data-testid={"queue-channel-" + c}
                checked={f.channels.includes(c)}
                onChange={(e) => setF({ ...f, channels: toggle(f.channels, c, e.currentTarget.checked) })}
              />
              <span>{t(channelKeys[c])}</span>
            </label>
          ))}
          <FieldError error={save.error} names={["channels"]} />
        </fieldset>
        <fieldset class="checks">
          <legend>{t("admin.queues.skills")}</legend>
          <small class="hint">{t("admin.queues.skills_hint")}</small>
          {shownSkills.length === 0 ? <p class="muted">{t("admin.skills.none")}</p> : null}
          {shownSkills.map((s) => (
            <label key={s.id} class="check">
              <input
                type="checkbox"
                data-testid={"queue-skill-" + s.id}
                checked={f.skills.includes(s.id)}
                onChange={(e) => setF({ ...f, skills: toggle(f.skills, s.id, e.currentTarget.checked) })}
              />
              <span>{s.name}</span>
            </label>
          ))}
          <FieldError error={save.error} names={["skills"]} />
        </fieldset>
        <div class="row">
          <label class="narrow">
            <span>{t("admin.queues.priority")}</span>
            <input type="number" min={0} step={1} data-testid="queue-priority" value={f.priority} onInput={(e) => setF({ ...f, priority: e.currentTarget.value })} />
            <small>{t("admin.queues.priority_hint")}</small>
            <FieldError error={save.error} names={["priority"]} />
          </label>
          <label class="narrow">
            <span>{t("admin.queues.offer_timeout")}</span>
            <input
              type="number"
              min={0}
              step={1}
              data-testid="queue-offer-timeout"
              value={f.offerTimeout}
              onInput={(e) => setF({ ...f, offerTimeout: e.currentTarget.value })}
            />
            <small>{t("admin.queues.offer_timeout_hint")}</small>
            <FieldError error={save.error} names={["offer_timeout_seconds", "offer_timeout_ms"]} />
          </label>
        </div>
        <fieldset class="row">
          <legend>{t("admin.queues.overflow")}</legend>
          <label class="narrow">
            <span>{t("admin.queues.overflow_after")}</span>
            <input
              type="number"
              min={0}
              step={1}
              data-testid="queue-overflow-after"
              value={f.overflowAfter}
              onInput={(e) => setF({ ...f, overflowAfter: e.currentTarget.value })}
            />
            <FieldError error={save.error} names={["overflow_after_seconds", "overflow_after_ms"]} />
          </label>
          <label>
            <span>{t("admin.queues.overflow_queue")}</span>
            <select data-testid="queue-overflow-queue" value={f.overflowQueue} onChange={(e) => setF({ ...f, overflowQueue: e.currentTarget.value })}>
              <option value="">{t("admin.queues.overflow_none")}</option>
              {props.queues
                .filter((x) => x.id !== f.id)
                .map((x) => (
                  <option key={x.id} value={x.id}>
                    {x.name}
                  </option>
                ))}
            </select>
            <FieldError error={save.error} names={["overflow_queue"]} />
          </label>
          <small class="hint">{t("admin.queues.overflow_hint")}</small>
        </fieldset>
        <HoursEditor draft={f.hours} error={save.error} onChange={(hours) => setF({ ...f, hours })} />
      </fieldset>
      <div class="actions">
        <button type="button" class="secondary" data-testid="queue-cancel" disabled={save.busy} onClick={() => props.onDone()}>
          {props.readOnly ? t("admin.back") : t("admin.cancel")}
        </button>
        {props.readOnly ? null : (
          <button type="submit" data-testid="queue-save" disabled={save.busy}>
            {save.busy ? t("admin.saving") : t("admin.save")}
          </button>
        )}
      </div>
    </form>
  );
}
