// The hours-of-operation editor of a queue (routing/hours.Config): open
// 24/7 or a weekly schedule of "HH:MM-HH:MM" spans per day (a span ending
// before it starts runs past midnight), in a time zone, with holidays that
// close a date or give it special hours.
import { useI18n, type MessageKey } from "../i18n";
import { days, type Day, type Hours } from "./api";
import { errorField, fieldIn, FieldError, Problem } from "./common";

export interface HolidayDraft {
  date: string;
  name: string;
  /** Special hours as typed: spans separated by commas; empty means closed. */
  open: string;
}

export interface HoursDraft {
  alwaysOpen: boolean;
  timezone: string;
  weekly: Record<Day, string[]>;
  holidays: HolidayDraft[];
}

export const dayKeys: Record<Day, MessageKey> = {
  monday: "admin.day.monday",
  tuesday: "admin.day.tuesday",
  wednesday: "admin.day.wednesday",
  thursday: "admin.day.thursday",
  friday: "admin.day.friday",
  saturday: "admin.day.saturday",
  sunday: "admin.day.sunday",
};

const clock = "(?:[01]\\d|2[0-3]):[0-5]\\d";
const spanPattern = new RegExp(`^${clock}-(?:${clock}|24:00)$`);
const datePattern = /^\d{4}-\d{2}-\d{2}$/;

/** Whether s is one opening span, "HH:MM-HH:MM". */
export function validSpan(s: string): boolean {
  return spanPattern.test(s.trim());
}

function emptyWeek(): Record<Day, string[]> {
  return { monday: [], tuesday: [], wednesday: [], thursday: [], friday: [], saturday: [], sunday: [] };
}

/** Office hours, offered when a 24/7 queue gets a schedule. */
function officeWeek(): Record<Day, string[]> {
  const w = emptyWeek();
  for (const d of ["monday", "tuesday", "wednesday", "thursday", "friday"] as const) w[d] = ["09:00-17:00"];
  return w;
}

export function toDraft(h: Hours | null, defaultTz: string): HoursDraft {
  if (!h) return { alwaysOpen: true, timezone: defaultTz, weekly: emptyWeek(), holidays: [] };
  const weekly = emptyWeek();
  for (const d of days) weekly[d] = [...(h.weekly?.[d] ?? [])];
  return {
    alwaysOpen: h.always_open,
    timezone: h.timezone || defaultTz,
    weekly,
    holidays: (h.holidays ?? []).map((x) => ({ date: x.date, name: x.name, open: (x.open ?? []).join(", ") })),
  };
}

/**
 * The API's hours for a draft: null for plain 24/7 (no holidays). Throws a
 * Problem naming the field of the first mistake the browser can see.
 */
export function fromDraft(d: HoursDraft, t: (k: MessageKey, v?: Record<string, string | number>) => string): Hours | null {
  if (d.alwaysOpen && d.holidays.length === 0) return null;
  if (!d.timezone.trim()) throw new Problem(t("admin.hours.tz_required"), "hours.timezone");
  const weekly: Partial<Record<Day, string[]>> = {};
  if (!d.alwaysOpen) {
    for (const day of days) {
      const spans = d.weekly[day].map((s) => s.trim()).filter((s) => s !== "");
      for (const s of spans) {
        if (!validSpan(s)) throw new Problem(t("admin.hours.span_invalid", { span: s }), "hours.weekly." + day);
      }
      if (spans.length > 0) weekly[day] = spans;
    }
    if (Object.keys(weekly).length === 0) throw new Problem(t("admin.hours.no_hours"), "hours.weekly");
  }
  const seen = new Set<string>();
  const holidays = d.holidays.map((h, i) => {
    if (!datePattern.test(h.date)) throw new Problem(t("admin.hours.date_invalid"), `hours.holidays[${i}].date`);
    if (seen.has(h.date)) throw new Problem(t("admin.hours.date_twice", { date: h.date }), `hours.holidays[${i}].date`);
    seen.add(h.date);
    const open = h.open
      .split(/[,;\s]+/)
      .map((s) => s.trim())
      .filter((s) => s !== "");
    for (const s of open) {
      if (!validSpan(s)) throw new Problem(t("admin.hours.span_invalid", { span: s }), `hours.holidays[${i}].open`);
    }
    return { date: h.date, name: h.name.trim(), open };
  });
  return { timezone: d.timezone.trim(), always_open: d.alwaysOpen, weekly, holidays };
}

export function HoursEditor(props: { draft: HoursDraft; error: unknown; onChange: (d: HoursDraft) => void }) {
  const { t } = useI18n();
  const { draft, onChange } = props;
  const setDay = (day: Day, spans: string[]) => onChange({ ...draft, weekly: { ...draft.weekly, [day]: spans } });
  const setHoliday = (i: number, h: HolidayDraft) => onChange({ ...draft, holidays: draft.holidays.map((x, j) => (j === i ? h : x)) });
  const hasWeekly = days.some((d) => draft.weekly[d].length > 0);
  // Fields shown beside their own input; any other "hours..." error is shown at the top.
  const placed = [
    "hours.timezone",
    ...(draft.alwaysOpen ? [] : days.map((d) => "hours.weekly." + d)),
    ...draft.holidays.flatMap((_, i) => [`hours.holidays[${i}].date`, `hours.holidays[${i}].open`]),
  ];
  const field = errorField(props.error);
  const elsewhere = fieldIn(field, ["hours"]) && !fieldIn(field, placed);

  return (
    <fieldset class="hours" data-testid="queue-hours">
      <legend>{t("admin.hours.title")}</legend>
      {elsewhere ? (
        <small class="error field-error" role="alert" data-testid="field-error">
          {props.error instanceof Problem ? props.error.message : t("admin.error.field", { message: props.error instanceof Error ? props.error.message : "" })}
        </small>
      ) : null}
      <label class="check">
        <input
          type="checkbox"
          data-testid="queue-always-open"
          checked={draft.alwaysOpen}
          onChange={(e) => {
            const alwaysOpen = e.currentTarget.checked;
            onChange({ ...draft, alwaysOpen, weekly: !alwaysOpen && !hasWeekly ? officeWeek() : draft.weekly });
          }}
        />
        <span>{t("admin.hours.always_open")}</span>
      </label>
      <label>
        <span>{t("admin.hours.timezone")}</span>
        <input
          data-testid="queue-timezone"
          list="admin-timezones"
          value={draft.timezone}
          onInput={(e) => onChange({ ...draft, timezone: e.currentTarget.value.trim() })}
        />
        <small>{t("admin.hours.timezone_hint")}</small>
        <FieldError error={props.error} names={["hours.timezone"]} />
      </label>
      {draft.alwaysOpen ? null : (
        <div class="weekly">
          <p class="hint">{t("admin.hours.weekly_hint")}</p>
          <table class="admin-table week">
            <tbody>
              {days.map((day) => (
                <tr key={day} data-testid={"queue-day-" + day}>
                  <th scope="row">{t(dayKeys[day])}</th>
                  <td>
                    <div class="spans">
                      {draft.weekly[day].length === 0 ? <span class="muted">{t("admin.hours.closed")}</span> : null}
                      {draft.weekly[day].map((s, i) => (
                        <span class="span" key={i}>
                          <input
                            class={validSpan(s) || s.trim() === "" ? "time-span" : "time-span invalid"}
                            data-testid="queue-span"
                            aria-label={t("admin.hours.span_label", { day: t(dayKeys[day]), n: i + 1 })}
                            aria-invalid={!validSpan(s) && s.trim() !== ""}
                            placeholder="08:00-12:00"
                            value={s}
                            size={11}
                            onInput={(e) => setDay(day, draft.weekly[day].map((x, j) => (j === i ? e.currentTarget.value : x)))}
                          />
                          <button
                            type="button"
                            class="secondary icon"
                            data-testid="queue-span-remove"
                            aria-label={t("admin.hours.span_remove")}
                            title={t("admin.hours.span_remove")}
                            onClick={() => setDay(day, draft.weekly[day].filter((_, j) => j !== i))}
                          >
                            ×
                          </button>
                        </span>
                      ))}
                      <button
                        type="button"
                        class="secondary"
                        data-testid="queue-span-add"
                        onClick={() => {
                          const prev = draft.weekly[day];
                          setDay(day, [...prev, prev.length === 0 ? "09:00-17:00" : ""]);
                        }}
                      >
                        {t("admin.hours.span_add")}
                      </button>
                    </div>
                    <FieldError error={props.error} names={["hours.weekly." + day]} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <div class="holidays">
        <h4>{t("admin.hours.holidays")}</h4>
        <p class="hint">{t("admin.hours.holidays_hint")}</p>
        {draft.holidays.map((h, i) => (
          <div class="holiday row" key={i} data-testid={"queue-holiday-" + i}>
            <label>
              <span>{t("admin.hours.date")}</span>
              <input type="date" data-testid="holiday-date" value={h.date} onInput={(e) => setHoliday(i, { ...h, date: e.currentTarget.value })} />
              <FieldError error={props.error} names={[`hours.holidays[${i}].date`]} />
            </label>
            <label>
              <span>{t("admin.hours.holiday_name")}</span>
              <input data-testid="holiday-name" value={h.name} maxLength={200} onInput={(e) => setHoliday(i, { ...h, name: e.currentTarget.value })} />
            </label>
            <label>
              <span>{t("admin.hours.special")}</span>
              <input
                data-testid="holiday-open"
                placeholder="10:00-14:00"
                value={h.open}
                onInput={(e) => setHoliday(i, { ...h, open: e.currentTarget.value })}
              />
              <small>{t("admin.hours.special_hint")}</small>
              <FieldError error={props.error} names={[`hours.holidays[${i}].open`]} />
            </label>
            <button
              type="button"
              class="secondary"
              data-testid="holiday-remove"
              onClick={() => onChange({ ...draft, holidays: draft.holidays.filter((_, j) => j !== i) })}
            >
              {t("admin.hours.holiday_remove")}
            </button>
          </div>
        ))}
        <button
          type="button"
          class="secondary"
          data-testid="queue-holiday-add"
          onClick={() => onChange({ ...draft, holidays: [...draft.holidays, { date: "", name: "", open: "" }] })}
        >
          {t("admin.hours.holiday_add")}
        </button>
      </div>
    </fieldset>
  );
}
