// The tenant's accounts: list, create (with a one-time password generated
// here and shown once), change display name and role, disable (one way:
// the server never enables an account again).
import { useEffect, useState } from "preact/hooks";
import { useI18n, type MessageKey } from "../i18n";
import { newPassword, type AdminAccount } from "./api";
import { ConfirmButton, Done, ErrorBanner, FieldError, Loading, OneTimeSecret, Problem, useAction, useAdmin, useLoad } from "./common";

export const roles = ["agent", "supervisor", "analyst", "admin"] as const;

export const roleKeys: Record<string, MessageKey> = {
  agent: "role.agent",
  supervisor: "role.supervisor",
  analyst: "role.analyst",
  admin: "role.admin",
};

function RoleSelect(props: { value: string; testid: string; disabled?: boolean; onChange: (v: string) => void }) {
  const { t } = useI18n();
  return (
    <select data-testid={props.testid} value={props.value} disabled={props.disabled} onChange={(e) => props.onChange(e.currentTarget.value)}>
      {roles.map((r) => (
        <option key={r} value={r}>
          {t(roleKeys[r] ?? "role.agent")}
        </option>
      ))}
    </select>
  );
}

export function AccountsSection() {
  const { t } = useI18n();
  const { api } = useAdmin();
  const list = useLoad(() => api.accounts(), [api]);
  const [created, setCreated] = useState<{ login: string; password: string }>();

  const replace = (a: AdminAccount) => list.setData(list.data?.map((x) => (x.id === a.id ? a : x)));

  return (
    <>
      <h1>{t("admin.accounts.title")}</h1>
      {created ? <OneTimeSecret login={created.login} password={created.password} onDismiss={() => setCreated(undefined)} /> : null}
      <CreateAccount
        onCreated={(a, password) => {
          setCreated({ login: a.login, password });
          list.setData([...(list.data ?? []), a]);
        }}
      />
      {list.data ? (
        <table class="admin-table" data-testid="accounts">
          <thead>
            <tr>
              <th>{t("admin.accounts.login")}</th>
              <th>{t("admin.accounts.display_name")}</th>
              <th>{t("admin.accounts.role")}</th>
              <th>{t("admin.accounts.status")}</th>
              <th>
                <span class="sr-only">{t("admin.actions")}</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {list.data.map((a) => (
              <AccountRow key={a.id} account={a} onSaved={replace} />
            ))}
          </tbody>
        </table>
      ) : (
        <Loading error={list.error} />
      )}
    </>
  );
}

function AccountRow({ account, onSaved }: { account: AdminAccount; onSaved: (a: AdminAccount) => void }) {
  const { t } = useI18n();
  const { api, session } = useAdmin();
  const [name, setName] = useState(account.display_name);
  const [role, setRole] = useState(account.role);
  const save = useAction();
  const self = account.id === session.account.id && account.tenant === session.account.tenant;
  // An operator's account is changed by operators only.
  const locked = account.disabled || (account.operator && !session.account.operator);
  useEffect(() => {
    setName(account.display_name);
    setRole(account.role);
  }, [account]);

  const changed = name !== account.display_name || role !== account.role;
  const submit = () =>
    save.run(async () => {
      if (!name.trim()) throw new Problem(t("admin.accounts.name_required"), "display_name");
      const patch: { display_name?: string; role?: string } = {};
      if (name.trim() !== account.display_name) patch.display_name = name.trim();
      if (role !== account.role) patch.role = role;
      onSaved(await api.patchAccount(account.id, patch));
      return t("admin.saved");
    });
  const disable = () =>
    save.run(async () => {
      onSaved(await api.patchAccount(account.id, { disabled: true }));
      return t("admin.accounts.disabled_done");
    });

  return (
    <tr data-testid={"account-" + account.id} class={account.disabled ? "disabled" : undefined}>
      <td>
        <code data-testid="account-login">{account.login}</code>
        {account.operator ? <span class="badge">{t("role.operator")}</span> : null}
      </td>
      <td>
        <input
          data-testid="account-name"
          aria-label={t("admin.accounts.display_name")}
          value={name}
          maxLength={200}
          disabled={save.busy || locked}
          onInput={(e) => setName(e.currentTarget.value)}
        />
        <FieldError error={save.error} names={["display_name"]} />
      </td>
      <td>
        <RoleSelect testid="account-role" value={role} disabled={save.busy || locked || self} onChange={setRole} />
        <FieldError error={save.error} names={["role"]} />
      </td>
      <td data-testid="account-status">{account.disabled ? t("admin.accounts.disabled") : t("admin.accounts.active")}</td>
      <td class="row-actions">
        {locked ? null : (
          <>
            <button type="button" data-testid="account-save" disabled={save.busy || !changed} onClick={submit}>
              {t("admin.save")}
            </button>
            {self ? null : (
              <ConfirmButton
                testid="account-disable"
                label={t("admin.accounts.disable")}
                confirm={t("admin.accounts.disable_confirm")}
                disabled={save.busy}
                onConfirm={disable}
              />
            )}
          </>
        )}
        <ErrorBanner error={save.error} fields={["display_name", "role"]} />
        <Done text={save.done} />
      </td>
    </tr>
  );
}

function CreateAccount({ onCreated }: { onCreated: (a: AdminAccount, password: string) => void }) {
  const { t } = useI18n();
  const { api } = useAdmin();
  const [login, setLogin] = useState("");
  const [name, setName] = useState("");
  const [role, setRole] = useState("agent");
  const create = useAction();

  const submit = async (e: Event) => {
    e.preventDefault();
    await create.run(async () => {
      const l = login.trim();
      if (!l) throw new Problem(t("admin.accounts.login_required"), "login");
      if (/\s/.test(l)) throw new Problem(t("admin.accounts.login_invalid"), "login");
      const password = newPassword();
      const a = await api.createAccount({ login: l, display_name: name.trim() || l, role, password });
      onCreated(a, password);
      setLogin("");
      setName("");
      setRole("agent");
    });
  };

  return (
    <form class="card admin-form" onSubmit={submit} noValidate data-testid="account-create-form">
      <h2>{t("admin.accounts.create")}</h2>
      <ErrorBanner error={create.error} fields={["login", "display_name", "role"]} />
      <fieldset disabled={create.busy} class="row">
        <label>
          <span>{t("admin.accounts.login")}</span>
          <input
            data-testid="account-new-login"
            value={login}
            autocapitalize="none"
            spellcheck={false}
            maxLength={100}
            onInput={(e) => setLogin(e.currentTarget.value)}
          />
          <small>{t("admin.accounts.login_hint")}</small>
          <FieldError error={create.error} names={["login"]} />
        </label>
        <label>
          <span>{t("admin.accounts.display_name")}</span>
          <input data-testid="account-new-name" value={name} maxLength={200} onInput={(e) => setName(e.currentTarget.value)} />
          <FieldError error={create.error} names={["display_name"]} />
        </label>
        <label>
          <span>{t("admin.accounts.role")}</span>
          <RoleSelect testid="account-new-role" value={role} onChange={setRole} />
          <FieldError error={create.error} names={["role"]} />
        </label>
        <div class="actions">
          <button type="submit" data-testid="account-create">
            {create.busy ? t("admin.saving") : t("admin.accounts.create")}
          </button>
        </div>
      </fieldset>
      <p class="hint">{t("admin.accounts.password_hint")}</p>
    </form>
  );
}
