// The sign-in page: tenant (optional), login and password.
import { useState } from "preact/hooks";
import { ApiError, login, type Session } from "./api";
import { errorText } from "./errors";
import { useI18n, type Lang } from "./i18n";
import { LangSwitch } from "./langswitch";

interface Props {
  notice: "expired" | "signed_out" | undefined;
  initialError: unknown;
  onSignedIn: (s: Session) => void;
  onLang: (l: Lang) => void;
}

const tenantPattern = /^[a-z0-9][a-z0-9-]{0,62}$/;

export function SignIn({ notice, initialError, onSignedIn, onLang }: Props) {
  const { t } = useI18n();
  const [tenant, setTenant] = useState("");
  const [loginName, setLogin] = useState("");
  const [password, setPassword] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(initialError);

  const submit = async (e: Event) => {
    e.preventDefault();
    const tn = tenant.trim();
    const ln = loginName.trim();
    if (!ln) return setError(new ApiError(400, "invalid_field", "login is empty", "login"));
    if (!password) return setError(new ApiError(400, "invalid_field", "password is empty", "password"));
    if (tn && !tenantPattern.test(tn)) return setError(new ApiError(400, "invalid_field", "tenant is not a tenant id", "tenant"));
    setBusy(true);
    setError(undefined);
    try {
      const s = await login(tn, ln, password);
      onSignedIn(s);
    } catch (err) {
      setError(err);
      setPassword("");
      setBusy(false);
    }
  };

  return (
    <main class="signin">
      <header class="signin-top">
        <LangSwitch onLang={onLang} />
      </header>
      <form class="card" onSubmit={submit} noValidate>
        <h1>{t("signin.title")}</h1>
        {notice && !error ? (
          <p class="notice" role="status" data-testid="signin-notice">
            {t(notice === "expired" ? "signin.expired" : "signin.signed_out")}
          </p>
        ) : null}
        {error ? (
          <p class="error" role="alert" data-testid="signin-error">
            {errorText(t, error)}
          </p>
        ) : null}
        <label>
          <span>{t("signin.tenant")}</span>
          <input
            name="tenant"
            autocomplete="organization"
            autocapitalize="none"
            spellcheck={false}
            value={tenant}
            onInput={(e) => setTenant(e.currentTarget.value)}
          />
          <small>{t("signin.tenant_hint")}</small>
        </label>
        <label>
          <span>{t("signin.login")}</span>
          <input
            name="login"
            autocomplete="username"
            autocapitalize="none"
            spellcheck={false}
            required
            value={loginName}
            onInput={(e) => setLogin(e.currentTarget.value)}
          />
        </label>
        <label>
          <span>{t("signin.password")}</span>
          <input
            name="password"
            type="password"
            autocomplete="current-password"
            required
            value={password}
            onInput={(e) => setPassword(e.currentTarget.value)}
          />
        </label>
        <button type="submit" disabled={busy}>
          {busy ? t("signin.submitting") : t("signin.submit")}
        </button>
      </form>
    </main>
  );
}
