import { autonyms, isLang, languages, useI18n, type Lang } from "./i18n";

/** The language switch; the choice is remembered in localStorage. */
export function LangSwitch({ onLang }: { onLang: (l: Lang) => void }) {
  const { lang, t } = useI18n();
  return (
    <label class="lang">
      <span>{t("lang.label")}</span>
      <select
        name="lang"
        value={lang}
        onChange={(e) => {
          const v = e.currentTarget.value;
          if (isLang(v)) onLang(v);
        }}
      >
        {languages.map((l) => (
          <option key={l} value={l} lang={l}>
            {autonyms[l]}
          </option>
        ))}
      </select>
    </label>
  );
}
