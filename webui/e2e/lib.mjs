// What the browser journeys (signin.mjs, inbox.mjs, admin.mjs, search.mjs)
// share: the environment the Go tests pass, Debian's chromium launched the
// same way for all, a Journey that names the step, watches every page for
// uncaught exceptions and console errors and reports a failure with what
// each page shows, and the helpers for the chat widget and the staff's
// pages that more than one journey drives.
import { chromium } from "playwright-core";
import { join } from "node:path";

/** The value of the environment variable name; an error if it is unset or empty. */
export function env(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
}

/** chromium's flags: headless, and nothing of its own on the network. */
const chromiumArgs = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
  "--disable-quic",
];

/** Launches the browser at CHROMIUM_PATH, headless. */
export function launch() {
  return chromium.launch({ executablePath: env("CHROMIUM_PATH"), headless: true, args: chromiumArgs });
}

/** Launches the browser at CHROMIUM_PATH with the profile in dir, and options for its one context. */
export function launchPersistent(dir, options = {}) {
  return chromium.launchPersistentContext(dir, { executablePath: env("CHROMIUM_PATH"), headless: true, ...options, args: chromiumArgs });
}

/**
 * Reads read() until ok(value) holds; after limit milliseconds the error
 * says what was awaited and what was read last.
 */
export async function until(what, read, ok, limit) {
  const deadline = Date.now() + limit;
  let last;
  for (;;) {
    try {
      last = await read();
      if (ok(last)) return last;
    } catch (e) {
      // A page being reloaded or re-rendered: read it again.
      last = `(unreadable: ${e instanceof Error ? e.message.split("\n")[0] : e})`;
    }
    if (Date.now() > deadline) throw new Error(`waiting for ${what}; found: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * A predicate for console messages: a failed load of hubURL's API, whose
 * error status the app shows itself (the sign-in page's 401 for "who am
 * I" before anyone signs in, a side panel whose service is down).
 */
export function hubAPIError(hubURL) {
  const hubOrigin = new URL(hubURL).origin;
  return (m) => {
    if (!/^Failed to load resource: the server responded with a status of \d+/.test(m.text())) return false;
    try {
      const u = new URL(m.location().url);
      return u.origin === hubOrigin && u.pathname.startsWith("/api/");
    } catch {
      return false;
    }
  };
}

/**
 * One run of a script: the step it is at, its pages by name, and what
 * they logged. Uncaught exceptions and console errors fail the journey
 * (see check), except the console errors expected(message) accepts, which
 * are only reported.
 */
export class Journey {
  /** script names the screenshots; timeout bounds every wait of the pages and of until. */
  constructor(script, { timeout, expected = () => false }) {
    this.script = script;
    this.timeout = timeout;
    this.expected = expected;
    this.stepName = "start";
    /** The pages by name, for the report on failure. */
    this.pages = new Map();
    this.pageErrors = [];
    this.consoleErrors = [];
    this.expectedErrors = [];
  }

  /** Names the step the script is at, and prints it. */
  step(name) {
    this.stepName = name;
    console.log(`step: ${name}`);
  }

  /** Records page's exceptions and console errors under name, and keeps it for the report. */
  watch(name, page) {
    page.on("pageerror", (e) => this.pageErrors.push(`${name}: ${e.message}`));
    page.on("console", (m) => {
      if (m.type() !== "error") return;
      (this.expected(m) ? this.expectedErrors : this.consoleErrors).push(`${name}: ${m.text()} (${m.location().url})`);
    });
    this.pages.set(name, page);
    return page;
  }

  /** A page in a browser context of its own, made with options (locale, viewport), watched as name. */
  async newPage(browser, name, options) {
    const context = await browser.newContext(options);
    context.setDefaultTimeout(this.timeout);
    return this.watch(name, await context.newPage());
  }

  /** until, bounded by the journey's timeout unless limit says otherwise. */
  until(what, read, ok, limit = this.timeout) {
    return until(what, read, ok, limit);
  }

  /** Throws if any page had an uncaught exception or an unexpected console error; prints the expected ones. */
  check() {
    if (this.pageErrors.length) throw new Error("uncaught exceptions in the pages:\n" + this.pageErrors.join("\n"));
    if (this.consoleErrors.length) throw new Error("console errors in the pages:\n" + this.consoleErrors.join("\n"));
    if (this.expectedErrors.length) console.log("expected errors the pages logged (not failures):\n" + this.expectedErrors.join("\n"));
  }

  /**
   * Reports failure e at the current step (with detail, if any): what the
   * pages logged, what each shows, and a screenshot of each in
   * ARTIFACTS_DIR when it is set; the script then exits non-zero.
   */
  async fail(e, detail = "") {
    console.error(`FAIL at step "${this.stepName}"${detail ? ` (${detail})` : ""}: ${e instanceof Error ? e.message : e}`);
    if (this.pageErrors.length) console.error("uncaught exceptions:\n" + this.pageErrors.join("\n"));
    if (this.consoleErrors.length) console.error("console errors:\n" + this.consoleErrors.join("\n"));
    if (this.expectedErrors.length) console.error("expected errors the pages logged:\n" + this.expectedErrors.join("\n"));
    const dir = process.env.ARTIFACTS_DIR;
    for (const [name, page] of this.pages) {
      const text = await page
        .evaluate(() => {
          const widget = document.querySelector(".hlc-panel");
          return widget ? widget.textContent : document.querySelector("main")?.innerText ?? document.body.innerText;
        })
        .catch((err) => `(unreadable: ${err})`);
      console.error(`--- ${name} at ${page.url()}:\n${text}`);
      if (dir) {
        const shot = join(dir, `${this.script}-failure-${name}.png`);
        await page.screenshot({ path: shot, fullPage: true }).then(
          () => console.error(`screenshot: ${shot}`),
          () => {},
        );
      }
    }
    process.exitCode = 1;
  }
}

/** Nothing of the customer's text became markup in container, and no script of it ran. */
export async function noInjection(page, name, container) {
  const found = await page.evaluate(
    (sel) => ({
      xss: typeof window.__xss === "undefined" ? null : String(window.__xss),
      elements: [...document.querySelectorAll(sel)].flatMap((c) => [...c.querySelectorAll("img, script, iframe, svg")]).map((n) => n.outerHTML),
      containers: document.querySelectorAll(sel).length,
    }),
    container,
  );
  if (found.containers === 0) throw new Error(`${name}: no ${container} on the page`);
  if (found.xss !== null) throw new Error(`${name}: the customer's markup ran: window.__xss = ${found.xss}`);
  if (found.elements.length) throw new Error(`${name}: the customer's text became markup: ${found.elements.join(" ")}`);
}

// ---- The customers' side: the widget (channels/chat/widget.js). ----

/** The widget's messages: {from: "visitor"|"agent", text, meta}. Runs in the page. */
export function widgetMessages() {
  return [...document.querySelectorAll(".hlc-list .hlc-msg")].map((n) => ({
    from: n.classList.contains("hlc-agent") ? "agent" : "visitor",
    text: n.firstChild?.nodeType === Node.TEXT_NODE ? n.firstChild.data : "",
    meta: n.querySelector(".hlc-meta")?.textContent ?? "",
  }));
}

/** Opens the widget on the page it is on. */
export async function openWidget(page) {
  await page.locator(".hlc-bubble").click();
  await page.locator(".hlc-panel.hlc-open textarea").waitFor();
}

/** The widget's "sent" in the languages the customers use. */
const sentWord = { en: "sent", fr: "envoyé", ru: "отправлено" };

/** Writes text in the widget, which speaks lang, and waits until the hub acknowledged it. */
export async function customerWrites(journey, page, text, lang = "en") {
  const word = sentWord[lang];
  if (!word) throw new Error(`no word for "sent" in ${JSON.stringify(lang)}`);
  await page.locator(".hlc-panel textarea").fill(text);
  await page.locator(".hlc-panel form button[type=submit]").click();
  const sent = new RegExp(` · ${word}$`);
  await journey.until(
    `the widget to show ${JSON.stringify(text)} as sent`,
    () => page.evaluate(widgetMessages),
    (have) => have.some((m) => m.from === "visitor" && m.text === text && sent.test(m.meta)),
  );
}

// ---- The staff's side. ----

/** Fills the sign-in form with who ({tenant, login, password}; no tenant: the form's own) and submits it. */
export async function submitSignIn(page, who) {
  if (who.tenant !== undefined) await page.fill('input[name="tenant"]', who.tenant);
  await page.fill('input[name="login"]', who.login);
  await page.fill('input[name="password"]', who.password);
  await page.click('form button[type="submit"]');
}

/** Signs who in on hubURL's sign-in page and waits until the app shows them signed in. */
export async function signIn(page, hubURL, who) {
  await page.goto(hubURL + "/");
  await submitSignIn(page, who);
  await page.getByTestId("signout").waitFor();
}

/** Sets the agent's presence in the inbox to available and waits until the hub took it. */
export async function setAvailable(page) {
  await page.locator('select[data-testid="presence"]:not([disabled])').waitFor();
  await page.selectOption('select[data-testid="presence"]', "available");
  await page.locator('select[data-testid="presence"].presence-available:not([disabled])').waitFor();
}
