// The signed-in frame: navigation, who is signed in, the language switch,
// the password dialog and sign-out; the page the hash names mounts in
// <main>: the inbox (agents, supervisors, admins), the search (analysts,
// supervisors, admins, hub operators) or the admin pages (admins, hub
// operators, and supervisors for canned answers).
import { useEffect, useState } from "preact/hooks";
import { AdminPage } from "./admin";
import { ApiError, logout, type Session } from "./api";
import { errorText } from "./errors";
import { useI18n, type Lang, type MessageKey } from "./i18n";
import { InboxPage } from "./inbox";
import { LangSwitch } from "./langswitch";
import { PasswordDialog } from "./password";
import { redirect, useRoute } from "./route";
import { SearchPage } from "./search";

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

/** Who sees the inbox: the roles that handle conversations. */
export function mayInbox(s: Session): boolean {
  return ["agent", "supervisor", "admin"].includes(s.account.role);
}

/** Who searches all conversations: analysts (it is their page), supervisors, admins, operators. */
export function maySearch(s: Session): boolean {
  return s.account.operator || ["analyst", "supervisor", "admin"].includes(s.account.role);
}

/** Who sees the admin pages (the server decides what each may change). */
export function mayAdmin(s: Session): boolean {
  return s.account.operator || s.account.role === "admin" || s.account.role === "supervisor";
}

export function Shell({ session, onLang, onSignedOut, onExpired }: Props) {
  const { t } = useI18n();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const [pwOpen, setPwOpen] = useState(false);
  const acc = session.account;
  const roleKey = roleKeys[acc.role];
  const route = useRoute();
  const inbox = mayInbox(session);
  const admin = mayAdmin(session);
  const search = maySearch(session);
  const page =
    route.page === "inbox" && inbox
      ? "inbox"
      : route.page === "search" && search
        ? "search"
        : route.page === "admin" && admin
          ? "admin"
          : "none";

  // Home, or a page the role may not see, goes to the role's first page.
  useEffect(() => {
    if (page !== "none") return;
    if (inbox) redirect("#/inbox");
    else if (search) redirect("#/search");
    else if (admin) redirect("#/admin");
  }, [page, inbox, search, admin]);

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
        {inbox || search || admin ? (
          <nav class="nav" aria-label={t("nav.label")}>
            {inbox ? (
              <a href="#/inbox" data-testid="nav-inbox" aria-current={page === "inbox" ? "page" : undefined}>
                {t("nav.inbox")}
              </a>
            ) : null}
            {search ? (
              <a href="#/search" data-testid="nav-search" aria-current={page === "search" ? "page" : undefined}>
                {t("search.nav")}
              </a>
            ) : null}
            {admin ? (
              <a href="#/admin" data-testid="nav-admin" aria-current={page === "admin" ? "page" : undefined}>
                {t("nav.admin")}
              </a>
            ) : null}
          </nav>
        ) : null}
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
      {page === "inbox" ? (
        <main class="page">
          <InboxPage session={session} conversation={route.page === "inbox" ? route.conversation : undefined} onExpired={onExpired} />
        </main>
      ) : page === "search" ? (
        <main class="page">
          <SearchPage session={session} onExpired={onExpired} />
        </main>
      ) : page === "admin" ? (
        <main class="page">
          <AdminPage session={session} onExpired={onExpired} />
        </main>
      ) : (
        <main class="empty">
          <p data-testid="empty-main">{t("shell.nothing")}</p>
        </main>
      )}
      {pwOpen ? <PasswordDialog session={session} onClose={() => setPwOpen(false)} onExpired={onExpired} /> : null}
    </div>
  );
}
