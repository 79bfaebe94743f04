// Search failures in the user's language: the code (and field) choose the
// sentence; a syntax error keeps the parser's detail and position.
import { ApiError } from "../api";
import { errorText } from "../errors";
import type { Translate } from "../i18n";
import { searchUnavailable } from "./api";

/** A search failure in the user's language; syntax errors keep the position. */
export function searchError(t: Translate, err: unknown): string {
  if (err instanceof ApiError) {
    if (searchUnavailable(err)) return t("search.error.unavailable");
    if (err.code === "invalid_query") {
      const pos = /at character (\d+)/.exec(err.message);
      return pos ? t("search.error.syntax_at", { pos: pos[1] ?? "", detail: err.message }) : t("search.error.syntax", { detail: err.message });
    }
    if (err.code === "invalid_field" && err.field) return t("search.error.field", { field: err.field, detail: err.message });
    if (err.code === "forbidden") return t("search.error.forbidden");
    if (err.code === "not_found") return t("search.error.not_found");
  }
  return errorText(t, err);
}

