// Message catalogues and the choice of language. Every catalogue has the
// same keys and placeholders (checked by webui/ui/i18n_test.go); English is
// the reference and the fallback.
import { createContext } from "preact";
import { useContext } from "preact/hooks";
// Catalogues come in parts, each owned by its screens: the frame
// (src/i18n), the inbox (src/inbox/i18n, keys "inbox.*"), the admin pages
// (src/admin/i18n, keys "admin.*") and the search (src/search/i18n, keys
// "search.*").
import coreEn from "./i18n/en.json";
import coreFr from "./i18n/fr.json";
import coreRu from "./i18n/ru.json";
import coreDe from "./i18n/de.json";
import inboxEn from "./inbox/i18n/en.json";
import inboxFr from "./inbox/i18n/fr.json";
import inboxRu from "./inbox/i18n/ru.json";
import inboxDe from "./inbox/i18n/de.json";
import adminEn from "./admin/i18n/en.json";
import adminFr from "./admin/i18n/fr.json";
import adminRu from "./admin/i18n/ru.json";
import adminDe from "./admin/i18n/de.json";
import searchEn from "./search/i18n/en.json";
import searchFr from "./search/i18n/fr.json";
import searchRu from "./search/i18n/ru.json";
import searchDe from "./search/i18n/de.json";

const en = { ...coreEn, ...inboxEn, ...adminEn, ...searchEn };
export type MessageKey = keyof typeof en;
type Catalogue = Record<MessageKey, string>;

export const languages = ["fr", "en", "ru", "de"] as const;
export type Lang = (typeof languages)[number];

const catalogues: Record<Lang, Catalogue> = {
  en,
  fr: { ...coreFr, ...inboxFr, ...adminFr, ...searchFr },
  ru: { ...coreRu, ...inboxRu, ...adminRu, ...searchRu },
  de: { ...coreDe, ...inboxDe, ...adminDe, ...searchDe },
};

/** Each language's name in itself, for the language switch. */
export const autonyms: Record<Lang, string> = {
  fr: "Français",
  en: "English",
  ru: "Русский",
  de: "Deutsch",
};

const storageKey = "hotline.lang";

export function isLang(v: unknown): v is Lang {
  return typeof v === "string" && (languages as readonly string[]).includes(v);
}

/** The language from a tag such as "de-AT" or "ru", or undefined. */
function fromTag(tag: string | undefined): Lang | undefined {
  const base = tag?.toLowerCase().split("-")[0];
  return isLang(base) ? base : undefined;
}

/** The language the user picked with the switch, if any. */
export function storedLang(): Lang | undefined {
  try {
    const v = localStorage.getItem(storageKey);
    return isLang(v) ? v : undefined;
  } catch {
    return undefined; // storage disabled: the choice lasts for the page only
  }
}

export function storeLang(lang: Lang): void {
  try {
    localStorage.setItem(storageKey, lang);
  } catch {
    // storage disabled: keep the choice for this page only
  }
}

/**
 * The language to show: the user's explicit choice, else the browser's
 * first supported language, else the tenant's language, else English.
 */
export function chooseLang(tenantLang?: string): Lang {
  const stored = storedLang();
  if (stored) return stored;
  for (const tag of navigator.languages ?? [navigator.language]) {
    const l = fromTag(tag);
    if (l) return l;
  }
  return fromTag(tenantLang) ?? "en";
}

export type Translate = (key: MessageKey, vars?: Record<string, string | number>) => string;

/** A translator for lang: {name} placeholders are replaced by vars. */
export function translator(lang: Lang): Translate {
  const cat = catalogues[lang];
  return (key, vars) => {
    const msg = cat[key] ?? en[key] ?? key;
    if (!vars) return msg;
    return msg.replace(/\{(\w+)\}/g, (m, name: string) => (name in vars ? String(vars[name]) : m));
  };
}

export const I18n = createContext<{ lang: Lang; t: Translate }>({ lang: "en", t: translator("en") });

export function useI18n() {
  return useContext(I18n);
}
