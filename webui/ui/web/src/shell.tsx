// The signed-in frame: who is signed in, the language switch, the password
// dialog and sign-out. The inbox views mount in <main> once the inbox API
// exists; until then the main area says so plainly.
import { useState } from "preact/hooks";
import { ApiError, logout, type Session } from "./api";
import { errorText } from "./errors";
import { useI18n, type Lang, type MessageKey } from "./i18n";
import { LangSwitch } from "./langswitch";
import { PasswordDialog } from "./password";

interface Props {
  session: Session;
  onLang: (l: Lang) => void;
  onSignedOut: () => void;
  onExpired: () => void;
}

const roleKeys: Record<string, MessageKey> = {
  agent: "role.agent",
  supervisor: "role.supervisor",
  analyst: "role.analyst",
  admin: "role.admin",
};

export function Shell({ session, onLang, onSignedOut, onExpired }: Props) {
  const { t } = useI18n();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const [pwOpen, setPwOpen] = useState(false);
  const acc = session.account;
  const roleKey = roleKeys[acc.role];

  const signOut = async () => {
    setBusy(true);
    setError(undefined);
    try {
      await logout(session.csrf_token);
      onSignedOut();
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) return onExpired();
      setError(e);
      setBusy(false);
    }
  };

  return (
    <div class="shell">
      <header class="bar">
        <span class="brand">Hotline</span>
        <section class="who" aria-label={t("shell.account")}>
          <span class="name" data-testid="display-name">
            {acc.display_name || acc.login}
          </span>
          <span class="role" data-testid="role">
            {roleKey ? t(roleKey) : acc.role}
            {acc.operator ? " · " + t("role.operator") : ""}
          </span>
          <span class="tenant" data-testid="tenant" title={session.tenant?.id ?? acc.tenant}>
            {session.tenant?.name || acc.tenant}
          </span>
        </section>
        <LangSwitch onLang={onLang} />
        <button type="button" class="secondary" onClick={() => setPwOpen(true)}>
          {t("shell.change_password")}
        </button>
        <button type="button" data-testid="signout" disabled={busy} onClick={signOut}>
          {t("shell.signout")}
        </button>
      </header>
      {error ? (
        <p class="error banner" role="alert">
          {errorText(t, error)}
        </p>
      ) : null}
      <main class="empty">
        <p data-testid="empty-main">{t("shell.empty")}</p>
      </main>
      {pwOpen ? <PasswordDialog session={session} onClose={() => setPwOpen(false)} onExpired={onExpired} /> : null}
    </div>
  );
}
