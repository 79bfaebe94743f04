// The admin pages under #/admin/<section>: a left menu and one section at
// a time. Admins (and hub operators) get every section; supervisors get
// canned answers and read-only queues and agents; other roles are told they
// may not be here. The server enforces the same rules on every call.
import { useEffect, useMemo, useState } from "preact/hooks";
import type { Session } from "../api";
import { useI18n, type MessageKey } from "../i18n";
import { AdminApi } from "./api";
import { Admin, type AdminContext } from "./common";
import { TenantSection } from "./tenant";
import { AccountsSection } from "./accounts";
import { AgentsSection } from "./agents";
import { SkillsSection } from "./skills";
import { QueuesSection } from "./queues";
import { AnswersSection } from "./answers";
import { WidgetSection } from "./widget";
import "./admin.css";

type Section = "tenant" | "accounts" | "agents" | "skills" | "queues" | "answers" | "widget";

const sections: { id: Section; label: MessageKey; supervisor: boolean }[] = [
  { id: "tenant", label: "admin.nav.tenant", supervisor: false },
  { id: "accounts", label: "admin.nav.accounts", supervisor: false },
  { id: "agents", label: "admin.nav.agents", supervisor: true },
  { id: "skills", label: "admin.nav.skills", supervisor: false },
  { id: "queues", label: "admin.nav.queues", supervisor: true },
  { id: "answers", label: "admin.nav.answers", supervisor: true },
  { id: "widget", label: "admin.nav.widget", supervisor: false },
];

/** The section named by the hash ("#/admin/queues"), if any. */
function sectionOf(hash: string): string | undefined {
  return /^#\/admin\/([a-z-]+)/.exec(hash)?.[1];
}

function useHash(): string {
  const [hash, setHash] = useState(() => location.hash);
  useEffect(() => {
    const on = () => setHash(location.hash);
    window.addEventListener("hashchange", on);
    return () => window.removeEventListener("hashchange", on);
  }, []);
  return hash;
}

export function AdminPage(props: { session: Session; onExpired: () => void }) {
  const { t } = useI18n();
  const { session, onExpired } = props;
  const acc = session.account;
  const canAdmin = acc.operator || acc.role === "admin";
  const isSupervisor = !canAdmin && acc.role === "supervisor";
  const [timeZone, setTimeZone] = useState(session.tenant?.time_zone || "UTC");
  const api = useMemo(() => new AdminApi(acc.tenant, session.csrf_token), [acc.tenant, session.csrf_token]);
  const ctx: AdminContext = useMemo(
    () => ({ session, api, canAdmin, isSupervisor, timeZone, setTimeZone, onExpired }),
    [session, api, canAdmin, isSupervisor, timeZone, onExpired],
  );
  const hash = useHash();

  if (!canAdmin && !isSupervisor) {
    return (
      <div class="admin-denied" data-testid="admin-forbidden" role="alert">
        <h1>{t("admin.title")}</h1>
        <p>{t("admin.forbidden")}</p>
      </div>
    );
  }

  const allowed = sections.filter((s) => canAdmin || s.supervisor);
  const asked = sectionOf(hash);
  const current = allowed.find((s) => s.id === asked) ?? allowed[0];
  const refused = asked !== undefined && current?.id !== asked && sections.some((s) => s.id === asked);

  let body;
  switch (current?.id) {
    case "tenant":
      body = <TenantSection />;
      break;
    case "accounts":
      body = <AccountsSection />;
      break;
    case "agents":
      body = <AgentsSection />;
      break;
    case "skills":
      body = <SkillsSection />;
      break;
    case "queues":
      body = <QueuesSection />;
      break;
    case "answers":
      body = <AnswersSection />;
      break;
    case "widget":
      body = <WidgetSection />;
      break;
  }

  return (
    <Admin.Provider value={ctx}>
      <div class="admin">
        <nav class="admin-nav" aria-label={t("admin.title")}>
          <ul>
            {allowed.map((s) => (
              <li key={s.id}>
                <a
                  href={"#/admin/" + s.id}
                  data-testid={"admin-nav-" + s.id}
                  aria-current={s.id === current?.id ? "page" : undefined}
                  class={s.id === current?.id ? "current" : undefined}
                >
                  {t(s.label)}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <section class="admin-body" key={current?.id}>
          {refused ? (
            <p class="error banner" role="alert" data-testid="admin-section-forbidden">
              {t("admin.section_forbidden")}
            </p>
          ) : null}
          {body}
        </section>
      </div>
    </Admin.Provider>
  );
}
