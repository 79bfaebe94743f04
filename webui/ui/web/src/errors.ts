// Turns an API failure into a sentence in the user's language, chosen by
// the error's code (and field), never by the server's English message.
import { ApiError } from "./api";
import type { MessageKey, Translate } from "./i18n";

const byCode: Record<string, MessageKey> = {
  invalid_credentials: "error.invalid_credentials",
  account_locked: "error.account_locked",
  rate_limited: "error.rate_limited",
  csrf_failed: "error.csrf_failed",
  not_authenticated: "error.not_authenticated",
  unavailable: "error.unavailable",
  internal: "error.internal",
  network: "error.network",
};

const byField: Record<string, MessageKey> = {
  login: "error.login_required",
  password: "error.password_required",
  tenant: "error.tenant_invalid",
};

export function errorText(t: Translate, err: unknown): string {
  if (!(err instanceof ApiError)) {
    return t("error.unknown", { code: "client", message: err instanceof Error ? err.message : String(err) });
  }
  const fieldKey = err.code === "invalid_field" && err.field ? byField[err.field] : undefined;
  if (fieldKey) return t(fieldKey);
  const key = byCode[err.code];
  if (key) return t(key);
  return t("error.unknown", { code: err.code, message: err.message });
}
