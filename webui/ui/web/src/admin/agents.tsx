// Agents' routing profiles: which skills each account has and how many
// conversations of each channel it takes at once. Admins edit them;
// supervisors see them.
import { Fragment } from "preact";
import { useState } from "preact/hooks";
import { useI18n, type MessageKey } from "../i18n";
import { channels, type Agent, type Capacity, type Channel, type Skill } from "./api";
import { roleKeys } from "./accounts";
import { ConfirmButton, Done, ErrorBanner, FieldError, Loading, Problem, useAction, useAdmin, useLoad } from "./common";

export const channelKeys: Record<Channel, MessageKey> = {
  chat: "admin.channel.chat",
  voice: "admin.channel.voice",
  email: "admin.channel.email",
  sms: "admin.channel.sms",
};

const maxCapacity = 1000;

export function AgentsSection() {
  const { t } = useI18n();
  const { api, canAdmin } = useAdmin();
  const load = useLoad(() => Promise.all([api.agents(), api.skills()]), [api]);
  const [editing, setEditing] = useState<string>();
  const removed = useAction();

  if (!load.data) return <Loading error={load.error} />;
  const [agents, skills] = load.data;
  const skillName = new Map(skills.map((s) => [s.id, s.name]));
  const replace = (a: Agent) => load.setData([agents.map((x) => (x.account_id === a.account_id ? a : x)), skills]);

  const remove = (a: Agent) =>
    removed.run(async () => {
      await api.removeProfile(a.account_id);
      replace({ ...a, profile: null });
      setEditing(undefined);
      return t("admin.agents.removed", { name: a.display_name || a.login });
    });

  return (
    <>
      <h1>{t("admin.agents.title")}</h1>
      <p class="hint">{canAdmin ? t("admin.agents.intro") : t("admin.read_only")}</p>
      <ErrorBanner error={removed.error} />
      <Done text={removed.done} />
      <table class="admin-table" data-testid="agents">
        <thead>
          <tr>
            <th>{t("admin.agents.name")}</th>
            <th>{t("admin.accounts.role")}</th>
            <th>{t("admin.agents.skills")}</th>
            <th>{t("admin.agents.capacity")}</th>
            <th>
              <span class="sr-only">{t("admin.actions")}</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {agents.map((a) => (
            <Fragment key={a.account_id}>
              <tr data-testid={"agent-" + a.account_id} class={a.disabled ? "disabled" : undefined}>
                <td>
                  <span data-testid="agent-name">{a.display_name || a.login}</span> <code class="muted">{a.login}</code>
                  {a.disabled ? <span class="badge">{t("admin.accounts.disabled")}</span> : null}
                </td>
                <td>{roleKeys[a.role] ? t(roleKeys[a.role] ?? "role.agent") : a.role}</td>
                <td data-testid="agent-skills">
                  {a.profile ? a.profile.skills.map((s) => skillName.get(s) ?? s).join(", ") || "—" : null}
                </td>
                <td data-testid="agent-capacity">
                  {a.profile ? (
                    channels
                      .filter((c) => (a.profile?.capacity[c] ?? 0) > 0)
                      .map((c) => `${t(channelKeys[c])} ${a.profile?.capacity[c] ?? 0}`)
                      .join(", ")
                  ) : (
                    <span class="muted">{t("admin.agents.not_routed")}</span>
                  )}
                </td>
                <td class="row-actions">
                  {canAdmin ? (
                    <>
                      <button
                        type="button"
                        class="secondary"
                        data-testid="agent-edit"
                        aria-expanded={editing === a.account_id}
                        onClick={() => setEditing(editing === a.account_id ? undefined : a.account_id)}
                      >
                        {a.profile ? t("admin.edit") : t("admin.agents.add_routing")}
                      </button>
                      {a.profile ? (
                        <ConfirmButton
                          testid="agent-remove"
                          label={t("admin.agents.remove")}
                          confirm={t("admin.agents.remove_confirm")}
                          disabled={removed.busy}
                          onConfirm={() => void remove(a)}
                        />
                      ) : null}
                    </>
                  ) : null}
                </td>
              </tr>
              {editing === a.account_id ? (
                <tr class="editor-row">
                  <td colSpan={5}>
                    <ProfileEditor
                      agent={a}
                      skills={skills}
                      onSaved={(saved) => {
                        replace(saved);
                        setEditing(undefined);
                      }}
                      onCancel={() => setEditing(undefined)}
                    />
                  </td>
                </tr>
              ) : null}
            </Fragment>
          ))}
        </tbody>
      </table>
      {agents.length === 0 ? <p class="muted">{t("admin.agents.none")}</p> : null}
    </>
  );
}

function ProfileEditor(props: { agent: Agent; skills: Skill[]; onSaved: (a: Agent) => void; onCancel: () => void }) {
  const { t } = useI18n();
  const { api } = useAdmin();
  const { agent } = props;
  const [skills, setSkills] = useState<string[]>(agent.profile?.skills ?? []);
  const [capacity, setCapacity] = useState<Record<Channel, string>>(() => {
    const c = agent.profile?.capacity ?? { chat: 3 };
    return { chat: String(c.chat ?? 0), voice: String(c.voice ?? 0), email: String(c.email ?? 0), sms: String(c.sms ?? 0) };
  });
  const save = useAction();
  const known = new Set(props.skills.map((s) => s.id));
  // Skills the profile names that left the catalogue are listed so they can be unticked.
  const shown: Skill[] = [...props.skills, ...skills.filter((s) => !known.has(s)).map((s) => ({ id: s, name: s }))];

  const submit = async (e: Event) => {
    e.preventDefault();
    await save.run(async () => {
      const cap: Capacity = {};
      let total = 0;
      for (const c of channels) {
        const raw = capacity[c].trim();
        const n = raw === "" ? 0 : Number(raw);
        if (!Number.isInteger(n) || n < 0 || n > maxCapacity)
          throw new Problem(t("admin.agents.capacity_invalid", { max: maxCapacity }), "capacity." + c);
        cap[c] = n;
        total += n;
      }
      if (total === 0) throw new Problem(t("admin.agents.capacity_zero"), "capacity");
      props.onSaved(await api.setProfile(agent.account_id, { skills, capacity: cap }));
      return t("admin.saved");
    });
  };

  return (
    <form class="admin-form editor" onSubmit={submit} noValidate data-testid="agent-editor">
      <h3>{t("admin.agents.edit_title", { name: agent.display_name || agent.login })}</h3>
      <ErrorBanner error={save.error} fields={["skills", "capacity"]} />
      <Done text={save.done} />
      <fieldset disabled={save.busy}>
        <fieldset class="checks">
          <legend>{t("admin.agents.skills")}</legend>
          {shown.length === 0 ? <p class="muted">{t("admin.skills.none")}</p> : null}
          {shown.map((s) => (
            <label key={s.id} class="check">
              <input
                type="checkbox"
                data-testid={"agent-skill-" + s.id}
                checked={skills.includes(s.id)}
                onChange={(e) => setSkills(e.currentTarget.checked ? [...skills, s.id] : skills.filter((x) => x !== s.id))}
              />
              <span>{s.name}</span>
            </label>
          ))}
          <FieldError error={save.error} names={["skills"]} />
        </fieldset>
        <fieldset class="row">
          <legend>{t("admin.agents.capacity")}</legend>
          {channels.map((c) => (
            <label key={c} class="narrow">
              <span>{t(channelKeys[c])}</span>
              <input
                type="number"
                min={0}
                max={maxCapacity}
                step={1}
                data-testid={"agent-capacity-" + c}
                value={capacity[c]}
                onInput={(e) => setCapacity({ ...capacity, [c]: e.currentTarget.value })}
              />
              <FieldError error={save.error} names={["capacity." + c]} />
            </label>
          ))}
        </fieldset>
        <small class="hint">{t("admin.agents.capacity_hint")}</small>
        <FieldError error={save.error} names={["capacity"]} exact />
        <div class="actions">
          <button type="button" class="secondary" data-testid="agent-cancel" onClick={props.onCancel}>
            {t("admin.cancel")}
          </button>
          <button type="submit" data-testid="agent-save">
            {save.busy ? t("admin.saving") : t("admin.save")}
          </button>
        </div>
      </fieldset>
    </form>
  );
}
