// What every admin page shares: who is signed in and what they may do, the
// API, loading and saving with busy/error/success states, and the way a
// server error becomes a sentence next to its field or in a banner.
import { createContext } from "preact";
import { useCallback, useContext, useEffect, useRef, useState } from "preact/hooks";
import { ApiError, type Session } from "../api";
import { errorText } from "../errors";
import { useI18n, type MessageKey, type Translate } from "../i18n";
import type { AdminApi } from "./api";

export interface AdminContext {
  session: Session;
  api: AdminApi;
  /** Admin of the tenant, or hub operator: may change everything. */
  canAdmin: boolean;
  /** Supervisor: edits canned answers, reads queues and agents. */
  isSupervisor: boolean;
  /** The tenant's time zone, the default of new queues' hours. */
  timeZone: string;
  setTimeZone: (tz: string) => void;
  onExpired: () => void;
}

export const Admin = createContext<AdminContext | null>(null);

export function useAdmin(): AdminContext {
  const c = useContext(Admin);
  if (!c) throw new Error("admin page outside AdminPage");
  return c;
}

/** Whether an API field ("hours.weekly.monday", "channels[1]") is about one of names. */
export function fieldIn(field: string | undefined, names: readonly string[]): boolean {
  if (!field) return false;
  const f = field.startsWith("data.") ? field.slice(5) : field;
  return names.some((n) => f === n || f.startsWith(n + ".") || f.startsWith(n + "["));
}

/** The field a validation error names, or undefined. */
export function errorField(err: unknown): string | undefined {
  if (err instanceof Problem) return err.field;
  return err instanceof ApiError && err.code === "invalid_field" ? err.field : undefined;
}

const byCode: Record<string, MessageKey> = {
  in_use: "admin.error.in_use",
  conflict: "admin.error.conflict",
  invalid_field: "admin.error.invalid",
  invalid_json: "admin.error.invalid",
  unknown_field: "admin.error.invalid",
};

/** A problem found before asking the server; its message is already in the user's language. */
export class Problem extends Error {
  constructor(
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = "Problem";
  }
}

/** A server error as a sentence; the server's detail is kept where it names what is wrong. */
export function adminErrorText(t: Translate, err: unknown): string {
  if (err instanceof Problem) return err.message;
  if (err instanceof ApiError) {
    if (err.code === "forbidden") return t("admin.error.forbidden");
    if (err.code === "not_found") return t("admin.error.not_found");
    const key = byCode[err.code];
    if (key) return t(key, { message: err.message });
  }
  return errorText(t, err);
}

/**
 * Runs an action with a busy flag, keeping its error or success message.
 * A 401 ends the session (onExpired) instead.
 */
export function useAction() {
  const { onExpired } = useAdmin();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const [done, setDone] = useState<string>();
  const run = useCallback(
    async (fn: () => Promise<string | undefined | void>): Promise<boolean> => {
      setBusy(true);
      setError(undefined);
      setDone(undefined);
      try {
        const msg = await fn();
        if (msg) setDone(msg);
        return true;
      } catch (e) {
        if (e instanceof ApiError && e.status === 401) onExpired();
        else setError(e);
        return false;
      } finally {
        setBusy(false);
      }
    },
    [onExpired],
  );
  const clear = useCallback(() => {
    setError(undefined);
    setDone(undefined);
  }, []);
  return { busy, error, done, run, clear, setError };
}

/** Scrolls the first error shown in root into view, once it is rendered. */
export function revealError(root: HTMLElement | null): void {
  requestAnimationFrame(() => root?.querySelector('[role="alert"]')?.scrollIntoView({ block: "center", behavior: "smooth" }));
}

/** Loads data with load(), again on reload(); a 401 ends the session. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]) {
  const { onExpired } = useAdmin();
  const [data, setData] = useState<T>();
  const [error, setError] = useState<unknown>();
  const [n, setN] = useState(0);
  useEffect(() => {
    let live = true;
    setError(undefined);
    load().then(
      (d) => live && setData(d),
      (e) => {
        if (!live) return;
        if (e instanceof ApiError && e.status === 401) onExpired();
        else setError(e);
      },
    );
    return () => {
      live = false;
    };
    // load is a new closure each render; deps say when its result changes.
  }, [...deps, n]);
  const reload = useCallback(() => setN((x) => x + 1), []);
  return { data, error, reload, setData };
}

/** The error banner, unless the error is shown next to one of fields. */
export function ErrorBanner({ error, fields = [] }: { error: unknown; fields?: readonly string[] }) {
  const { t } = useI18n();
  if (!error || fieldIn(errorField(error), fields)) return null;
  return (
    <p class="error banner" role="alert" data-testid="admin-error">
      {adminErrorText(t, error)}
    </p>
  );
}

export function Done({ text }: { text: string | undefined }) {
  if (!text) return null;
  return (
    <p class="notice" role="status" data-testid="admin-saved">
      {text}
    </p>
  );
}

/** The server's complaint about one of names, shown under the input. */
export function FieldError({ error, names, exact }: { error: unknown; names: readonly string[]; exact?: boolean }) {
  const { t } = useI18n();
  const field = errorField(error);
  if (exact ? !field || !names.includes(field) : !fieldIn(field, names)) return null;
  return (
    <small class="error field-error" role="alert" data-testid="field-error">
      {error instanceof Problem ? error.message : t("admin.error.field", { message: error instanceof Error ? error.message : String(error) })}
    </small>
  );
}

/** A loading line or the load's error. */
export function Loading({ error }: { error: unknown }) {
  const { t } = useI18n();
  if (error) return <ErrorBanner error={error} />;
  return (
    <p class="loading" role="status">
      {t("app.loading")}
    </p>
  );
}

/** Copies text to the clipboard, falling back to selecting it in a hidden field. */
export function CopyButton({ text, testid }: { text: string; testid: string }) {
  const { t } = useI18n();
  const [copied, setCopied] = useState<boolean>();
  const fallback = useRef<HTMLTextAreaElement>(null);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
      setCopied(true);
    } catch {
      const ta = fallback.current;
      if (ta) {
        ta.hidden = false;
        ta.select();
        // The clipboard API needs a secure context; execCommand still works elsewhere.
        const ok = document.execCommand("copy");
        ta.hidden = true;
        setCopied(ok);
      } else setCopied(false);
    }
  };
  return (
    <span class="copy">
      <button type="button" class="secondary" data-testid={testid} onClick={copy}>
        {t("admin.copy")}
      </button>
      <textarea ref={fallback} hidden readOnly value={text} aria-hidden="true" tabIndex={-1} />
      {copied === true ? (
        <span class="notice" role="status">
          {t("admin.copied")}
        </span>
      ) : null}
      {copied === false ? (
        <span class="error" role="alert">
          {t("admin.copy_failed")}
        </span>
      ) : null}
    </span>
  );
}

/** A new account's login and one-time password, shown once. */
export function OneTimeSecret(props: { tenant?: string; login: string; password: string; onDismiss: () => void }) {
  const { t } = useI18n();
  return (
    <section class="secret card" role="status" data-testid="one-time-secret" aria-labelledby="secret-title">
      <h3 id="secret-title">{t("admin.secret.title")}</h3>
      <p>{t("admin.secret.once")}</p>
      <dl>
        {props.tenant ? (
          <>
            <dt>{t("admin.secret.tenant")}</dt>
            <dd>
              <code data-testid="secret-tenant">{props.tenant}</code>
            </dd>
          </>
        ) : null}
        <dt>{t("admin.secret.login")}</dt>
        <dd>
          <code data-testid="secret-login">{props.login}</code>
        </dd>
        <dt>{t("admin.secret.password")}</dt>
        <dd>
          <code data-testid="secret-password">{props.password}</code>
        </dd>
      </dl>
      <div class="actions">
        <CopyButton text={props.password} testid="secret-copy" />
        <button type="button" data-testid="secret-dismiss" onClick={props.onDismiss}>
          {t("admin.secret.dismiss")}
        </button>
      </div>
    </section>
  );
}

/** A delete (or disable) button that asks for a second click. */
export function ConfirmButton(props: { label: string; confirm: string; testid: string; disabled?: boolean; onConfirm: () => void }) {
  const { t } = useI18n();
  const [asking, setAsking] = useState(false);
  const confirmRef = useRef<HTMLButtonElement>(null);
  // The first button is replaced: keep the keyboard focus on its successor.
  useEffect(() => {
    if (asking) confirmRef.current?.focus();
  }, [asking]);
  if (!asking) {
    return (
      <button type="button" class="secondary danger" data-testid={props.testid} disabled={props.disabled} onClick={() => setAsking(true)}>
        {props.label}
      </button>
    );
  }
  return (
    <span class="confirm">
      <button
        ref={confirmRef}
        type="button"
        class="danger"
        data-testid={props.testid + "-confirm"}
        disabled={props.disabled}
        onClick={() => {
          setAsking(false);
          props.onConfirm();
        }}
      >
        {props.confirm}
      </button>
      <button type="button" class="secondary" data-testid={props.testid + "-cancel"} onClick={() => setAsking(false)}>
        {t("admin.cancel")}
      </button>
    </span>
  );
}

/** IANA zones for a datalist, UTC first. */
export function timeZones(): string[] {
  try {
    return ["UTC", ...Intl.supportedValuesOf("timeZone").filter((z) => z !== "UTC")];
  } catch {
    return ["UTC"];
  }
}

/** Whether the browser knows tz; the server decides, this only spares a round trip. */
export function knownTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat("en", { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

export function TimeZoneList() {
  return (
    <datalist id="admin-timezones">
      {timeZones().map((z) => (
        <option key={z} value={z} />
      ))}
    </datalist>
  );
}
