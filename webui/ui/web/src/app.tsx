// The UI's top level: find out whether a session exists, then show the
// sign-in page or the shell. Any 401 from the API ends in the sign-in page.
import { useCallback, useEffect, useMemo, useState } from "preact/hooks";
import { ApiError, me, type Session } from "./api";
import { chooseLang, I18n, storeLang, translator, type Lang } from "./i18n";
import { SignIn } from "./signin";
import { Shell } from "./shell";

type State =
  | { kind: "loading" }
  | { kind: "signed-out"; notice?: "expired" | "signed_out"; error?: unknown }
  | { kind: "signed-in"; session: Session };

export function App() {
  const [state, setState] = useState<State>({ kind: "loading" });
  const [lang, setLang] = useState<Lang>(() => chooseLang());
  const i18n = useMemo(() => ({ lang, t: translator(lang) }), [lang]);

  useEffect(() => {
    document.documentElement.lang = lang;
    document.title = "Hotline";
  }, [lang]);

  const pickLang = useCallback((l: Lang) => {
    storeLang(l);
    setLang(l);
  }, []);

  const signedIn = useCallback((session: Session) => {
    setLang(chooseLang(session.tenant?.language));
    setState({ kind: "signed-in", session });
  }, []);

  const expired = useCallback(() => setState({ kind: "signed-out", notice: "expired" }), []);

  // Is the session still alive? On load, and each time the tab comes back
  // into view, since a session may have ended while the tab was hidden.
  const check = useCallback(
    async (initial: boolean) => {
      try {
        signedIn(await me());
      } catch (e) {
        if (e instanceof ApiError && e.status === 401) {
          setState((s) => (initial || s.kind !== "signed-in" ? { kind: "signed-out" } : { kind: "signed-out", notice: "expired" }));
        } else if (initial) {
          setState({ kind: "signed-out", error: e });
        }
      }
    },
    [signedIn],
  );

  useEffect(() => {
    void check(true);
  }, [check]);

  useEffect(() => {
    if (state.kind !== "signed-in") return;
    const onVisible = () => {
      if (document.visibilityState === "visible") void check(false);
    };
    document.addEventListener("visibilitychange", onVisible);
    // Look again just after the session's announced end.
    let timer: number | undefined;
    const end = state.session.expires_at ? Date.parse(state.session.expires_at) : NaN;
    if (Number.isFinite(end)) {
      const delay = Math.min(Math.max(end - Date.now() + 1000, 1000), 2 ** 31 - 1);
      timer = window.setTimeout(() => void check(false), delay);
    }
    return () => {
      document.removeEventListener("visibilitychange", onVisible);
      if (timer !== undefined) window.clearTimeout(timer);
    };
  }, [state, check]);

  let body;
  switch (state.kind) {
    case "loading":
      body = (
        <p class="loading" role="status">
          {i18n.t("app.loading")}
        </p>
      );
      break;
    case "signed-out":
      body = <SignIn notice={state.notice} initialError={state.error} onSignedIn={signedIn} onLang={pickLang} />;
      break;
    case "signed-in":
      body = (
        <Shell
          session={state.session}
          onLang={pickLang}
          onSignedOut={() => setState({ kind: "signed-out", notice: "signed_out" })}
          onExpired={expired}
        />
      );
      break;
  }
  return <I18n.Provider value={i18n}>{body}</I18n.Provider>;
}
