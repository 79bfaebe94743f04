// The skill catalogue: add, rename, delete. Deleting a skill a queue or an
// agent still uses is refused by the server (409 in_use), whose message
// names the users; it is shown as is.
import { useEffect, useState } from "preact/hooks";
import { useI18n } from "../i18n";
import { idPattern, slug, type Skill } from "./api";
import { ConfirmButton, Done, ErrorBanner, FieldError, Loading, Problem, useAction, useAdmin, useLoad } from "./common";

export function SkillsSection() {
  const { t } = useI18n();
  const { api } = useAdmin();
  const list = useLoad(() => api.skills(), [api]);
  const del = useAction();

  if (!list.data) return <Loading error={list.error} />;
  const skills = list.data;

  const remove = (s: Skill) =>
    del.run(async () => {
      await api.deleteSkill(s.id);
      list.setData(skills.filter((x) => x.id !== s.id));
      return t("admin.deleted", { name: s.name });
    });

  return (
    <>
      <h1>{t("admin.skills.title")}</h1>
      <p class="hint">{t("admin.skills.intro")}</p>
      <AddSkill
        existing={skills}
        onAdded={(s) => list.setData([...skills.filter((x) => x.id !== s.id), s].sort((a, b) => (a.id < b.id ? -1 : 1)))}
      />
      <ErrorBanner error={del.error} />
      <Done text={del.done} />
      <table class="admin-table" data-testid="skills">
        <thead>
          <tr>
            <th>{t("admin.id")}</th>
            <th>{t("admin.skills.name")}</th>
            <th>
              <span class="sr-only">{t("admin.actions")}</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {skills.map((s) => (
            <SkillRow
              key={s.id}
              skill={s}
              busy={del.busy}
              onSaved={(n) => list.setData(skills.map((x) => (x.id === n.id ? n : x)))}
              onDelete={() => void remove(s)}
            />
          ))}
        </tbody>
      </table>
      {skills.length === 0 ? <p class="muted">{t("admin.skills.none")}</p> : null}
    </>
  );
}

function SkillRow(props: { skill: Skill; busy: boolean; onSaved: (s: Skill) => void; onDelete: () => void }) {
  const { t } = useI18n();
  const { api } = useAdmin();
  const { skill } = props;
  const [name, setName] = useState(skill.name);
  const save = useAction();
  useEffect(() => setName(skill.name), [skill]);

  const submit = (e: Event) => {
    e.preventDefault();
    void save.run(async () => {
      if (!name.trim()) throw new Problem(t("admin.skills.name_required"), "name");
      props.onSaved(await api.saveSkill({ id: skill.id, name: name.trim() }));
      return t("admin.saved");
    });
  };

  return (
    <tr data-testid={"skill-" + skill.id}>
      <td>
        <code>{skill.id}</code>
      </td>
      <td>
        <form id={"skill-form-" + skill.id} onSubmit={submit} noValidate>
          <input
            data-testid="skill-name"
            aria-label={t("admin.skills.name")}
            value={name}
            maxLength={200}
            disabled={save.busy}
            onInput={(e) => setName(e.currentTarget.value)}
          />
        </form>
        <FieldError error={save.error} names={["name"]} />
        <ErrorBanner error={save.error} fields={["name"]} />
        <Done text={save.done} />
      </td>
      <td class="row-actions">
        <button type="submit" form={"skill-form-" + skill.id} data-testid="skill-save" disabled={save.busy || name === skill.name}>
          {t("admin.skills.rename")}
        </button>
        <ConfirmButton
          testid="skill-delete"
          label={t("admin.delete")}
          confirm={t("admin.delete_confirm")}
          disabled={props.busy}
          onConfirm={props.onDelete}
        />
      </td>
    </tr>
  );
}

function AddSkill(props: { existing: Skill[]; onAdded: (s: Skill) => void }) {
  const { t } = useI18n();
  const { api } = useAdmin();
  const [name, setName] = useState("");
  const [id, setId] = useState("");
  const [idTouched, setIdTouched] = useState(false);
  const add = useAction();

  const submit = async (e: Event) => {
    e.preventDefault();
    await add.run(async () => {
      if (!name.trim()) throw new Problem(t("admin.skills.name_required"), "name");
      if (!idPattern.test(id)) throw new Problem(t("admin.id_invalid"), "id");
      if (props.existing.some((s) => s.id === id)) throw new Problem(t("admin.id_taken", { id }), "id");
      const s = await api.saveSkill({ id, name: name.trim() });
      props.onAdded(s);
      setName("");
      setId("");
      setIdTouched(false);
      return t("admin.added", { name: s.name });
    });
  };

  return (
    <form class="card admin-form" onSubmit={submit} noValidate data-testid="skill-add-form">
      <h2>{t("admin.skills.add")}</h2>
      <ErrorBanner error={add.error} fields={["name", "id", "skill_id"]} />
      <Done text={add.done} />
      <fieldset disabled={add.busy} class="row">
        <label>
          <span>{t("admin.skills.name")}</span>
          <input
            data-testid="skill-new-name"
            value={name}
            maxLength={200}
            onInput={(e) => {
              const v = e.currentTarget.value;
              setName(v);
              if (!idTouched) setId(slug(v));
            }}
          />
          <FieldError error={add.error} names={["name"]} />
        </label>
        <label>
          <span>{t("admin.id")}</span>
          <input
            data-testid="skill-new-id"
            value={id}
            autocapitalize="none"
            spellcheck={false}
            maxLength={64}
            onInput={(e) => {
              setId(e.currentTarget.value);
              setIdTouched(true);
            }}
          />
          <small>{t("admin.id_hint")}</small>
          <FieldError error={add.error} names={["id", "skill_id"]} />
        </label>
        <div class="actions">
          <button type="submit" data-testid="skill-add">
            {add.busy ? t("admin.saving") : t("admin.skills.add")}
          </button>
        </div>
      </fieldset>
    </form>
  );
}
