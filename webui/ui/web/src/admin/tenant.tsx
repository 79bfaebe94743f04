// The tenant's own settings (PATCH /api/v1/tenants/{tenant}) and, for hub
// operators, every tenant and "create tenant", which also creates the new
// tenant's first admin with a one-time password shown once.
import { useEffect, useState } from "preact/hooks";
import type { Tenant } from "../api";
import { autonyms, isLang, languages, useI18n } from "../i18n";
import { newPassword, type TenantSettings } from "./api";
import {
  Done,
  Problem,
  ErrorBanner,
  FieldError,
  Loading,
  OneTimeSecret,
  TimeZoneList,
  knownTimeZone,
  useAction,
  useAdmin,
  useLoad,
} from "./common";

const tenantFields = ["name", "language", "time_zone"] as const;
const tenantPattern = /^[a-z0-9][a-z0-9-]{0,62}$/;

function LanguageSelect(props: { value: string; testid: string; onChange: (v: string) => void }) {
  return (
    <select data-testid={props.testid} value={props.value} onChange={(e) => props.onChange(e.currentTarget.value)}>
      {languages.map((l) => (
        <option key={l} value={l}>
          {autonyms[l]}
        </option>
      ))}
    </select>
  );
}

export function TenantSection() {
  const { t } = useI18n();
  const { api, session } = useAdmin();
  return (
    <>
      <h1>{t("admin.tenant.title")}</h1>
      <TimeZoneList />
      <OwnTenant />
      {session.account.operator ? <Tenants key={api.tenant} /> : null}
    </>
  );
}

function OwnTenant() {
  const { t } = useI18n();
  const { api, setTimeZone } = useAdmin();
  const load = useLoad(() => api.tenantInfo(), [api]);
  const [form, setForm] = useState<TenantSettings>();
  const save = useAction();

  useEffect(() => {
    if (load.data) setForm({ name: load.data.name, language: load.data.language, time_zone: load.data.time_zone });
  }, [load.data]);

  if (!form) return <Loading error={load.error} />;

  const submit = async (e: Event) => {
    e.preventDefault();
    if (!form.name.trim()) return save.setError(new Problem(t("admin.tenant.name_required"), "name"));
    if (!knownTimeZone(form.time_zone)) return save.setError(new Problem(t("admin.tz_unknown", { zone: form.time_zone }), "time_zone"));
    await save.run(async () => {
      const saved = await api.saveTenant({ ...form, name: form.name.trim() });
      setTimeZone(saved.time_zone);
      load.setData(saved);
      return t("admin.saved");
    });
  };

  return (
    <form class="card admin-form" onSubmit={submit} noValidate data-testid="tenant-form">
      <h2>{t("admin.tenant.own", { id: api.tenant })}</h2>
      <ErrorBanner error={save.error} fields={tenantFields} />
      <Done text={save.done} />
      <fieldset disabled={save.busy}>
        <label>
          <span>{t("admin.tenant.name")}</span>
          <input data-testid="tenant-name" value={form.name} maxLength={200} onInput={(e) => setForm({ ...form, name: e.currentTarget.value })} />
          <FieldError error={save.error} names={["name"]} />
        </label>
        <label>
          <span>{t("admin.tenant.language")}</span>
          <LanguageSelect testid="tenant-language" value={form.language} onChange={(v) => setForm({ ...form, language: v })} />
          <FieldError error={save.error} names={["language"]} />
        </label>
        <label>
          <span>{t("admin.tenant.time_zone")}</span>
          <input
            data-testid="tenant-timezone"
            list="admin-timezones"
            value={form.time_zone}
            onInput={(e) => setForm({ ...form, time_zone: e.currentTarget.value.trim() })}
          />
          <FieldError error={save.error} names={["time_zone"]} />
        </label>
        <div class="actions">
          <button type="submit" data-testid="tenant-save">
            {save.busy ? t("admin.saving") : t("admin.save")}
          </button>
        </div>
      </fieldset>
    </form>
  );
}

interface Created {
  tenant: string;
  login: string;
  password: string;
}

function Tenants() {
  const { t } = useI18n();
  const { api, timeZone } = useAdmin();
  const list = useLoad(() => api.tenants(), [api]);
  const [id, setId] = useState("");
  const [form, setForm] = useState<TenantSettings>({ name: "", language: "en", time_zone: timeZone });
  const [adminLogin, setAdminLogin] = useState("admin");
  // A tenant created whose first admin failed: the next try only retries the admin.
  const [pending, setPending] = useState<string>();
  const [created, setCreated] = useState<Created>();
  const create = useAction();

  const submit = async (e: Event) => {
    e.preventDefault();
    const tid = id.trim();
    if (!tenantPattern.test(tid)) return create.setError(new Problem(t("admin.tenant.id_invalid"), "id"));
    if (!form.name.trim()) return create.setError(new Problem(t("admin.tenant.name_required"), "name"));
    if (!knownTimeZone(form.time_zone)) return create.setError(new Problem(t("admin.tz_unknown", { zone: form.time_zone }), "time_zone"));
    if (!adminLogin.trim()) return create.setError(new Problem(t("admin.accounts.login_required"), "login"));
    await create.run(async () => {
      if (pending !== tid) {
        await api.createTenant(tid, { ...form, name: form.name.trim() });
        setPending(tid);
        list.reload();
      }
      const password = newPassword();
      const login = adminLogin.trim();
      await api.createAccount({ login, display_name: login, role: "admin", password }, tid);
      setPending(undefined);
      setCreated({ tenant: tid, login, password });
      setId("");
      setForm({ name: "", language: "en", time_zone: timeZone });
      setAdminLogin("admin");
    });
  };

  return (
    <section class="card" data-testid="tenants">
      <h2>{t("admin.tenants.title")}</h2>
      {list.data ? (
        <table class="admin-table">
          <thead>
            <tr>
              <th>{t("admin.tenants.id")}</th>
              <th>{t("admin.tenant.name")}</th>
              <th>{t("admin.tenant.language")}</th>
              <th>{t("admin.tenant.time_zone")}</th>
            </tr>
          </thead>
          <tbody>
            {list.data.map((tn: Tenant) => (
              <tr key={tn.id} data-testid={"tenant-" + tn.id}>
                <td>
                  <code>{tn.id}</code>
                </td>
                <td>{tn.name}</td>
                <td>{isLang(tn.language) ? autonyms[tn.language] : tn.language}</td>
                <td>{tn.time_zone}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        <Loading error={list.error} />
      )}
      {created ? (
        <OneTimeSecret tenant={created.tenant} login={created.login} password={created.password} onDismiss={() => setCreated(undefined)} />
      ) : null}
      <form class="admin-form" onSubmit={submit} noValidate data-testid="tenant-create-form">
        <h3>{t("admin.tenants.create")}</h3>
        {pending ? (
          <p class="error" role="alert">
            {t("admin.tenants.pending", { id: pending })}
          </p>
        ) : null}
        <ErrorBanner error={create.error} fields={["id", ...tenantFields, "login"]} />
        <fieldset disabled={create.busy}>
          <label>
            <span>{t("admin.tenants.id")}</span>
            <input
              data-testid="new-tenant-id"
              value={id}
              autocapitalize="none"
              spellcheck={false}
              onInput={(e) => setId(e.currentTarget.value.toLowerCase())}
            />
            <small>{t("admin.tenants.id_hint")}</small>
            <FieldError error={create.error} names={["id"]} />
          </label>
          <label>
            <span>{t("admin.tenant.name")}</span>
            <input data-testid="new-tenant-name" value={form.name} maxLength={200} onInput={(e) => setForm({ ...form, name: e.currentTarget.value })} />
            <FieldError error={create.error} names={["name"]} />
          </label>
          <label>
            <span>{t("admin.tenant.language")}</span>
            <LanguageSelect testid="new-tenant-language" value={form.language} onChange={(v) => setForm({ ...form, language: v })} />
          </label>
          <label>
            <span>{t("admin.tenant.time_zone")}</span>
            <input
              data-testid="new-tenant-timezone"
              list="admin-timezones"
              value={form.time_zone}
              onInput={(e) => setForm({ ...form, time_zone: e.currentTarget.value.trim() })}
            />
            <FieldError error={create.error} names={["time_zone"]} />
          </label>
          <label>
            <span>{t("admin.tenants.admin_login")}</span>
            <input
              data-testid="new-tenant-admin-login"
              value={adminLogin}
              autocapitalize="none"
              spellcheck={false}
              onInput={(e) => setAdminLogin(e.currentTarget.value)}
            />
            <FieldError error={create.error} names={["login"]} />
          </label>
          <div class="actions">
            <button type="submit" data-testid="new-tenant-create">
              {create.busy ? t("admin.saving") : t("admin.tenants.create")}
            </button>
          </div>
        </fieldset>
      </form>
    </section>
  );
}
