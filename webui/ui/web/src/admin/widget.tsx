// The chat widget: which web origins may embed it, the queue a widget
// naming none sends its conversations to, and the snippet to paste into a
// page, with a copy button.
import { useEffect, useState } from "preact/hooks";
import { useI18n } from "../i18n";
import { Done, ErrorBanner, FieldError, Loading, CopyButton, Problem, useAction, useAdmin, useLoad } from "./common";

const widgetFields = ["allowed_origins", "default_queue"] as const;

/** Why o is not "*" or an origin (scheme://host[:port]), or "" if it is one. */
function originProblem(o: string): boolean {
  if (o === "*") return false;
  try {
    const u = new URL(o);
    return !(u.protocol === "http:" || u.protocol === "https:") || u.origin !== o;
  } catch {
    return true;
  }
}

export function WidgetSection() {
  const { t } = useI18n();
  const { api } = useAdmin();
  const load = useLoad(() => Promise.all([api.widget(), api.queues()]), [api]);
  const [origins, setOrigins] = useState("");
  const [queue, setQueue] = useState("");
  const save = useAction();

  useEffect(() => {
    if (!load.data) return;
    setOrigins(load.data[0].allowed_origins.join("\n"));
    setQueue(load.data[0].default_queue);
  }, [load.data]);

  if (!load.data) return <Loading error={load.error} />;
  const [widget, queues] = load.data;
  const chatQueues = queues.filter((q) => q.channels.includes("chat"));

  const submit = async (e: Event) => {
    e.preventDefault();
    await save.run(async () => {
      const list = origins
        .split(/[\s,]+/)
        .map((o) => o.trim().replace(/\/+$/, ""))
        .filter((o) => o !== "");
      const bad = list.find(originProblem);
      if (bad !== undefined) throw new Problem(t("admin.widget.origin_invalid", { origin: bad }), "allowed_origins");
      const saved = await api.saveWidget({ allowed_origins: [...new Set(list)], default_queue: queue });
      load.setData([saved, queues]);
      return t("admin.saved");
    });
  };

  return (
    <>
      <h1>{t("admin.widget.title")}</h1>
      <form class="card admin-form" onSubmit={submit} noValidate data-testid="widget-form">
        <ErrorBanner error={save.error} fields={widgetFields} />
        <Done text={save.done} />
        <fieldset disabled={save.busy}>
          <label>
            <span>{t("admin.widget.origins")}</span>
            <textarea
              data-testid="widget-origins"
              rows={4}
              value={origins}
              placeholder="https://www.example.com"
              spellcheck={false}
              onInput={(e) => setOrigins(e.currentTarget.value)}
            />
            <small>{t("admin.widget.origins_hint")}</small>
            <FieldError error={save.error} names={["allowed_origins"]} />
          </label>
          <label>
            <span>{t("admin.widget.default_queue")}</span>
            <select data-testid="widget-default-queue" value={queue} onChange={(e) => setQueue(e.currentTarget.value)}>
              <option value="">{t("admin.widget.no_queue")}</option>
              {chatQueues.map((q) => (
                <option key={q.id} value={q.id}>
                  {q.name}
                </option>
              ))}
              {queue && !chatQueues.some((q) => q.id === queue) ? <option value={queue}>{queue}</option> : null}
            </select>
            <small>{t("admin.widget.default_queue_hint")}</small>
            <FieldError error={save.error} names={["default_queue"]} />
          </label>
          <div class="actions">
            <button type="submit" data-testid="widget-save">
              {save.busy ? t("admin.saving") : t("admin.save")}
            </button>
          </div>
        </fieldset>
      </form>
      <section class="card" data-testid="widget-embed">
        <h2>{t("admin.widget.snippet")}</h2>
        <p class="hint">{t("admin.widget.snippet_hint")}</p>
        <pre class="snippet">
          <code data-testid="widget-snippet">{widget.snippet}</code>
        </pre>
        <div class="actions start">
          <CopyButton text={widget.snippet} testid="widget-copy" />
        </div>
      </section>
    </>
  );
}
