// The change-password dialog (POST /api/v1/auth/password). The server's
// policy is the authority; the checks here only spare a round trip.
import { useEffect, useRef, useState } from "preact/hooks";
import { ApiError, changePassword, type Session } from "./api";
import { errorText } from "./errors";
import { useI18n } from "./i18n";

/** The server's minimum (webui/auth.MinPasswordLength). */
const minLength = 10;

interface Props {
  session: Session;
  onClose: () => void;
  onExpired: () => void;
}

export function PasswordDialog({ session, onClose, onExpired }: Props) {
  const { t } = useI18n();
  const ref = useRef<HTMLDialogElement>(null);
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const [confirm, setConfirm] = useState("");
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string>();
  const [done, setDone] = useState(false);

  useEffect(() => {
    const d = ref.current;
    if (d && !d.open) d.showModal();
  }, []);

  const submit = async (e: Event) => {
    e.preventDefault();
    if ([...next].length < minLength) return setProblem(t("password.too_short", { min: minLength }));
    if (next !== confirm) return setProblem(t("password.mismatch"));
    setBusy(true);
    setProblem(undefined);
    try {
      await changePassword(session.csrf_token, current, next);
      setDone(true);
      setCurrent("");
      setNext("");
      setConfirm("");
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) return onExpired();
      if (err instanceof ApiError && err.code === "invalid_credentials") setProblem(t("password.current_wrong"));
      else if (err instanceof ApiError && err.code === "invalid_field" && err.field === "new_password")
        setProblem(t("password.weak", { min: minLength }));
      else setProblem(errorText(t, err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <dialog ref={ref} class="card" aria-labelledby="pw-title" onClose={onClose}>
      <form onSubmit={submit} noValidate>
        <h2 id="pw-title">{t("password.title")}</h2>
        {problem ? (
          <p class="error" role="alert">
            {problem}
          </p>
        ) : null}
        {done ? (
          <p class="notice" role="status">
            {t("password.done")}
          </p>
        ) : null}
        <input type="text" name="username" autocomplete="username" value={session.account.login} readOnly hidden />
        <label>
          <span>{t("password.current")}</span>
          <input
            type="password"
            name="current_password"
            autocomplete="current-password"
            required
            value={current}
            onInput={(e) => setCurrent(e.currentTarget.value)}
          />
        </label>
        <label>
          <span>{t("password.new")}</span>
          <input
            type="password"
            name="new_password"
            autocomplete="new-password"
            required
            value={next}
            onInput={(e) => setNext(e.currentTarget.value)}
          />
          <small>{t("password.rule", { min: minLength })}</small>
        </label>
        <label>
          <span>{t("password.confirm")}</span>
          <input
            type="password"
            name="confirm_password"
            autocomplete="new-password"
            required
            value={confirm}
            onInput={(e) => setConfirm(e.currentTarget.value)}
          />
        </label>
        <div class="actions">
          <button type="button" class="secondary" onClick={() => ref.current?.close()}>
            {t("password.cancel")}
          </button>
          <button type="submit" disabled={busy || !current || !next || !confirm}>
            {t("password.submit")}
          </button>
        </div>
      </form>
    </dialog>
  );
}
