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
      // "q: unclosed quote at character 12": the sentence names the
      // position itself, and the parameter is the search box.
      const pos = /\s*at character (\d+)\s*$/.exec(err.message);
      const detail = err.message.replace(/^q:\s*/, "").replace(/\s*at character \d+\s*$/, "");
      return pos ? t("search.error.syntax_at", { pos: pos[1] ?? "", detail }) : t("search.error.syntax", { detail });
    }
    if (err.code === "invalid_field" && err.field) {
      const field = err.field;
      const detail = err.message.startsWith(field + ":") ? err.message.slice(field.length + 1).trim() : err.message;
      return t("search.error.field", { field, detail });
    }
    if (err.code === "forbidden") return t("search.error.forbidden");
    if (err.code === "not_found") return t("search.error.not_found");
  }
  return errorText(t, err);
}

