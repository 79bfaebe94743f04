// The analysts' search page and the agents' dossier panel in a real
// browser (Debian's chromium, driven by playwright-core). Run by
// search_test.go, which starts Hotline, makes the accounts, the returns
// queue and the other tenant through the API, serves the shop pages and
// passes:
//   HOTLINE_URL             the hub: web app, API and chat widget
//   SHOP_URL                the shops, on another origin: /{tenant}/{queue}
//                           ("-": the tenant's default queue)
//   HOTLINE_TENANT          the tenant of the analyst and the agent
//   OTHER_TENANT            another tenant, whose customer must never show
//   RETURNS_QUEUE           the queue of the returning customer
//   ANALYST_LOGIN           an analyst of HOTLINE_TENANT
//   ANALYST_PASSWORD        its password
//   OTHER_ANALYST_LOGIN     an analyst of OTHER_TENANT
//   OTHER_ANALYST_PASSWORD  its password
//   AGENT_LOGIN             the agent serving RETURNS_QUEUE
//   AGENT_NAME              its display name
//   AGENT_PASSWORD          its password
//   SEARCH_TEXTS            JSON: what the customers write (journeyTexts)
//   CHROMIUM_PATH           the browser binary
//   ARTIFACTS_DIR           where to save screenshots of every page on failure
// Steps:
//  0. customers write through the chat widget, each in a browser context
//     of their own and their own language: French, Russian (with markup
//     around a corpus sentence), English, a returning customer in the
//     returns queue, and a Russian customer of the other tenant writing the
//     same sentence; the analysts' search API is polled until all of it is
//     indexed;
//  1. the analyst searches another inflected form of the Russian word:
//     one hit, the word in a <mark>, the markup as text in the hit and its
//     highlight, nothing run; the other tenant's customer never shows;
//  2. a date filter empties and restores the results; the channel facet
//     filters by chat; a syntax error is explained;
//  3. the analyst opens the conversation from the results and reads its
//     thread; there is no reply box, and the inbox is not theirs;
//  4. the agent accepts the returning customer's chat and resolves it; the
//     customer writes again; the agent accepts the new chat and sees the
//     dossier: the earlier conversation, the counts by channel and the
//     open cases, and reads the earlier conversation there, read-only.
// Uncaught exceptions and console errors (other than API answers the app
// shows itself) fail the script. It prints one line per step and exits
// non-zero with the reason on failure. Every wait is for a condition,
// bounded only so that a hang ends.
import { chromium } from "playwright-core";
import { join } from "node:path";

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
};
const hubURL = env("HOTLINE_URL");
const shopURL = env("SHOP_URL");
const tenant = env("HOTLINE_TENANT");
const otherTenant = env("OTHER_TENANT");
const returnsQueue = env("RETURNS_QUEUE");
const analyst = { tenant, login: env("ANALYST_LOGIN"), password: env("ANALYST_PASSWORD") };
const otherAnalyst = { tenant: otherTenant, login: env("OTHER_ANALYST_LOGIN"), password: env("OTHER_ANALYST_PASSWORD") };
const agent = { tenant, login: env("AGENT_LOGIN"), name: env("AGENT_NAME"), password: env("AGENT_PASSWORD") };
const texts = JSON.parse(env("SEARCH_TEXTS"));
const timeout = 45_000;
/** Indexing runs behind the bus; this bounds a wait for it, it measures nothing. */
const indexTimeout = 90_000;

if (new URL(shopURL).origin === new URL(hubURL).origin) throw new Error("the shops must be on another origin than the hub");

// What the customers write. The Russian message wraps a corpus sentence in
// markup, so that the highlight of its word holds the markup too.
const markup = {
  img: '<img src=x onerror="window.__xss=2">',
  script: "<script>window.__xss=1</script>",
};
const messages = {
  french: texts.french,
  russian: `${markup.img} ${texts.russian}. ${markup.script}`,
  english: texts.english,
  other: `${texts.russian}. ${texts.other_only}`,
  returning: texts.returning,
  again: texts.again,
};

const browser = await chromium.launch({
  executablePath: env("CHROMIUM_PATH"),
  headless: true,
  args: [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
  ],
});

// Uncaught exceptions and console errors fail the journey, except the
// failed loads of the hub's API that the app shows itself (the sign-in
// page's 401 before anyone signs in, the query with a syntax error): those
// are only reported.
const pageErrors = [];
const consoleErrors = [];
const apiErrors = [];
const hubOrigin = new URL(hubURL).origin;
function apiError(m) {
  if (!/^Failed to load resource: the server responded with a status of \d+/.test(m.text())) return false;
  try {
    const u = new URL(m.location().url);
    return u.origin === hubOrigin && u.pathname.startsWith("/api/");
  } catch {
    return false;
  }
}
/** The pages by name, for the report on failure. */
const pages = new Map();

async function newPage(name, locale) {
  const context = await browser.newContext({ locale, viewport: { width: 1400, height: 950 } });
  context.setDefaultTimeout(timeout);
  const page = await context.newPage();
  page.on("pageerror", (e) => pageErrors.push(`${name}: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() !== "error") return;
    (apiError(m) ? apiErrors : consoleErrors).push(`${name}: ${m.text()} (${m.location().url})`);
  });
  pages.set(name, page);
  return page;
}

let stepName = "start";
const step = (name) => {
  stepName = name;
  console.log(`step: ${name}`);
};

/**
 * Reads read() until ok(value) holds; on timeout the error says what was
 * awaited and what was read last.
 */
async function until(what, read, ok, limit = timeout) {
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
    await new Promise((r) => setTimeout(r, 150));
  }
}

// ---- The customers' side: the widget (channels/chat/widget.js). ----

/** The widget's "sent" in the languages the customers use. */
const sentWord = { en: "sent", fr: "envoyé", ru: "отправлено" };

/** Opens the shop page of tenant and queue ("-": the default one) with the widget open. */
async function openShop(page, shopTenant, queue) {
  await page.goto(`${shopURL}/${shopTenant}/${queue}`);
  await page.locator(".hlc-bubble").click();
  await page.locator(".hlc-panel.hlc-open textarea").waitFor();
}

/** Writes text in the widget and waits until the hub acknowledged it. */
async function customerWrites(page, lang, text) {
  await page.locator(".hlc-panel textarea").fill(text);
  await page.locator(".hlc-panel form button[type=submit]").click();
  const sent = new RegExp(` · ${sentWord[lang]}$`);
  await until(
    `the widget to show ${JSON.stringify(text)} as sent`,
    () =>
      page.evaluate(() =>
        [...document.querySelectorAll(".hlc-list .hlc-msg:not(.hlc-agent)")].map((n) => ({
          text: n.firstChild?.nodeType === Node.TEXT_NODE ? n.firstChild.data : "",
          meta: n.querySelector(".hlc-meta")?.textContent ?? "",
        })),
      ),
    (have) => have.some((m) => m.text === text && sent.test(m.meta)),
  );
}

// ---- The staff's side. ----

async function signIn(page, who) {
  await page.goto(hubURL + "/");
  await page.fill('input[name="tenant"]', who.tenant);
  await page.fill('input[name="login"]', who.login);
  await page.fill('input[name="password"]', who.password);
  await page.click('form button[type="submit"]');
  await page.getByTestId("signout").waitFor();
}

/** GET path of the hub's API with page's session; the decoded answer, or an error naming the status. */
async function apiGet(page, path) {
  const res = await page.request.get(hubURL + path);
  const body = await res.text();
  if (!res.ok()) throw new Error(`GET ${path}: ${res.status()} ${body}`);
  return JSON.parse(body);
}

/** The tenant's search API answer for q (and more query parameters). */
function searchAPI(page, searchTenant, params) {
  return apiGet(page, `/api/v1/tenants/${encodeURIComponent(searchTenant)}/search?` + new URLSearchParams(params).toString());
}

/** Polls the search API until ok(result) holds: the index caught up. */
function indexed(page, searchTenant, what, params, ok) {
  return until(`the index to hold ${what}`, () => searchAPI(page, searchTenant, params), ok, indexTimeout);
}

/** The search page's results as shown. */
function shownResults() {
  const total = document.querySelector('[data-testid="search-total"]');
  return {
    total: total ? Number((/\d+/.exec(total.textContent) ?? ["-1"])[0]) : null,
    busy: document.querySelector(".search-results")?.getAttribute("aria-busy") === "true",
    error: document.querySelector('[data-testid="search-error"]')?.textContent ?? null,
    hits: [...document.querySelectorAll('li[data-testid^="search-hit-"]')].map((li) => ({
      id: li.dataset.testid.replace(/^search-hit-/, ""),
      text: li.innerText,
      highlights: [...li.querySelectorAll('[data-testid="search-highlight"]')].map((h) => ({
        text: h.textContent,
        marks: [...h.querySelectorAll("mark")].map((m) => m.textContent),
        elements: [...h.querySelectorAll("*")].map((n) => n.tagName.toLowerCase()),
      })),
    })),
  };
}

/** Waits until the search page, done searching, shows results for which ok holds. */
function resultsAre(page, what, ok) {
  return until(what, () => page.evaluate(shownResults), (r) => !r.busy && r.total !== null && ok(r));
}

/** Nothing of the customers' text became markup in container, and no script of it ran. */
async function noInjection(page, name, container) {
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

/** Submits query in the search box. */
async function searchFor(page, query) {
  await page.getByTestId("search-box").fill(query);
  await page.getByTestId("search-submit").click();
}

/** YYYY-MM-DD of the browser's today plus days. */
function localDay(page, days) {
  return page.evaluate((n) => {
    const d = new Date();
    d.setDate(d.getDate() + n);
    const p = (x) => String(x).padStart(2, "0");
    return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
  }, days);
}

let conv = "";
try {
  const customers = {
    french: { page: await newPage("customer-fr", "fr-FR"), lang: "fr", tenant, queue: "-" },
    russian: { page: await newPage("customer-ru", "ru-RU"), lang: "ru", tenant, queue: "-" },
    english: { page: await newPage("customer-en", "en-US"), lang: "en", tenant, queue: "-" },
    returning: { page: await newPage("customer-returning", "en-US"), lang: "en", tenant, queue: returnsQueue },
    other: { page: await newPage("customer-other-tenant", "ru-RU"), lang: "ru", tenant: otherTenant, queue: "-" },
  };

  // ---- 0. Conversations through the widget, then indexed. ----
  for (const [who, c] of Object.entries(customers)) {
    step(`0. the ${who} customer writes through the widget`);
    await openShop(c.page, c.tenant, c.queue);
    await customerWrites(c.page, c.lang, messages[who]);
  }

  step("0. the analysts sign in; their search API has every conversation indexed");
  const ana = await newPage("analyst", "en-US");
  await signIn(ana, analyst);
  const olga = await newPage("other-analyst", "en-US");
  await signIn(olga, otherAnalyst);
  const all = await indexed(ana, tenant, "the tenant's four conversations", { size: "50" }, (r) => r.total === 4);
  const firstLines = Object.fromEntries(all.hits.map((h) => [h.first_line, h.conversation.id]));
  const ids = {};
  for (const who of ["french", "russian", "english", "returning"]) {
    ids[who] = firstLines[messages[who].split(/\s+/).join(" ")];
    if (!ids[who]) throw new Error(`no indexed conversation starts with the ${who} message; first lines: ${JSON.stringify(Object.keys(firstLines))}`);
  }
  console.log(`conversations: ${JSON.stringify(ids)}`);
  const others = await indexed(olga, otherTenant, "the other tenant's conversation", { q: texts.other_only }, (r) => r.total === 1);
  const otherID = others.hits[0].conversation.id;
  await indexed(olga, otherTenant, "the other tenant's Russian stems", { q: texts.russian_query }, (r) => r.total === 1);
  console.log("ok: step 0, five conversations through the widget, indexed");

  // ---- 1. A Russian word in another form, highlighted, markup as text. ----
  step("1. the analyst lands on the search page, every conversation of the tenant listed");
  await ana.locator('[data-testid="nav-search"][aria-current="page"]').waitFor();
  if (await ana.getByTestId("nav-inbox").count()) throw new Error("the analyst is offered the inbox");
  await resultsAre(ana, "the landing page to list the four conversations", (r) => r.total === 4 && r.hits.length === 4);

  step(`1. the analyst searches ${texts.russian_query}: the conversation with ${texts.russian_word}`);
  conv = ids.russian;
  await searchFor(ana, texts.russian_query);
  const ru = await resultsAre(ana, `one hit for ${texts.russian_query}`, (r) => r.total === 1 && r.hits.length === 1);
  if (ru.hits[0].id !== ids.russian) throw new Error(`the hit is ${ru.hits[0].id}, not the Russian conversation ${ids.russian}`);
  if (ru.hits.some((h) => h.id === otherID)) throw new Error("the other tenant's conversation is among the hits");
  const hl = ru.hits[0].highlights;
  if (hl.length === 0) throw new Error(`the hit has no highlight: ${JSON.stringify(ru.hits[0])}`);
  if (!hl.some((h) => h.marks.some((m) => m.toLowerCase() === texts.russian_word))) {
    throw new Error(`no <mark>${texts.russian_word}</mark> in the highlights: ${JSON.stringify(hl)}`);
  }
  for (const h of hl) {
    if (h.elements.some((e) => e !== "mark")) throw new Error(`a highlight holds elements other than <mark>: ${JSON.stringify(h)}`);
    for (const m of [markup.img, markup.script]) {
      if (!h.text.includes(m)) throw new Error(`the highlight lacks the customer's ${JSON.stringify(m)} as text: ${JSON.stringify(h.text)}`);
    }
  }
  await noInjection(ana, "analyst", '[data-testid="search-page"]');
  console.log("ok: step 1, another inflected form found, highlighted with <mark>, markup shown as text");

  step("1. the other tenant's word finds nothing here");
  await searchFor(ana, texts.other_only);
  await resultsAre(ana, `no hit for ${texts.other_only}`, (r) => r.total === 0 && r.hits.length === 0);
  await ana.getByTestId("search-empty").waitFor();

  // ---- 2. Filters and facets. ----
  step("2. a date filter from tomorrow empties the results; up to today brings them back");
  await searchFor(ana, texts.russian_query);
  await resultsAre(ana, "the Russian hit again", (r) => r.total === 1);
  await ana.getByTestId("search-filter-from").fill(await localDay(ana, 1));
  await resultsAre(ana, "no hit from tomorrow on", (r) => r.total === 0);
  await ana.getByTestId("search-filter-from").fill("");
  await ana.getByTestId("search-filter-to").fill(await localDay(ana, 0));
  await resultsAre(ana, "the hit again, up to today", (r) => r.total === 1 && r.hits[0]?.id === ids.russian);

  step("2. the facets count the hit by channel and by day; the chat facet filters by channel");
  const chatFacet = ana.getByTestId("search-facet-channel-chat");
  await until("the chat facet to count 1", async () => (await chatFacet.locator(".count").textContent()).trim(), (n) => n === "1");
  await until("one day in the day facet, counting 1", () => ana.locator('[data-testid^="search-facet-day-"] .count').allTextContents(), (c) => c.length === 1 && c[0] === "1");
  const bar = await ana.locator('[data-testid^="search-facet-day-"] .day-bar > span').evaluate((n) => n.getBoundingClientRect());
  if (!(bar.width > 0 && bar.height > 0)) throw new Error(`the day's bar is not drawn: ${JSON.stringify(bar)}`);
  await chatFacet.click();
  await ana.locator('[data-testid="search-facet-channel-chat"][aria-pressed="true"]').waitFor();
  if (!(await ana.getByTestId("search-filter-channel-chat").isChecked())) throw new Error("the chat facet did not tick the chat filter");
  await resultsAre(ana, "the hit, filtered by chat", (r) => r.total === 1 && r.hits[0]?.id === ids.russian);
  await ana.getByTestId("search-filter-channel-voice").check();
  await ana.getByTestId("search-filter-channel-chat").uncheck();
  await resultsAre(ana, "no voice conversation", (r) => r.total === 0);
  await ana.getByTestId("search-reset").click();
  await resultsAre(ana, "every conversation after clearing", (r) => r.total === 4);

  step("2. a syntax error is explained, with its position, and no stale results beside it");
  await searchFor(ana, '"unclosed');
  await until(
    "the syntax error alone",
    () => ana.evaluate(shownResults),
    (r) => !r.busy && r.error === "The query has an error at character 1 (unclosed quote)." && r.total === null && r.hits.length === 0,
  );
  console.log("ok: step 2, date filter, channel filter and facets");

  // ---- 3. Open a conversation, read-only. ----
  step("3. the analyst opens the Russian conversation from the results");
  await searchFor(ana, texts.russian_query);
  await resultsAre(ana, "the Russian hit", (r) => r.total === 1 && r.error === null);
  await ana.getByTestId("search-hit-" + ids.russian).locator("button").click();
  const pane = ana.getByTestId("search-conversation");
  await until(
    "the conversation's thread in the pane",
    () => pane.locator('[data-testid="stored-entry"]').evaluateAll((ns) => ns.map((n) => [n.dataset.kind, n.querySelector(".text")?.textContent])),
    (es) => es.length === 1 && es[0][0] === "in" && es[0][1] === messages.russian,
  );
  await until("the conversation's queue by name", async () => (await pane.getByTestId("search-conversation-meta").innerText()).split("\n"), (m) => m.some((x) => /Queue: Support/.test(x)));
  await noInjection(ana, "analyst", '[data-testid="search-conversation"]');

  step("3. no reply box for the analyst, here or in the inbox");
  const writable = () => ana.evaluate(() => document.querySelectorAll('textarea, [contenteditable="true"], [data-testid="composer-input"], [data-testid="composer-send"]').length);
  if ((await writable()) !== 0) throw new Error("the search page offers the analyst a place to write");
  await ana.goto(hubURL + "/#/inbox/" + encodeURIComponent(ids.russian));
  await until("the analyst sent back to the search page", () => ana.evaluate(() => location.hash), (h) => h === "#/search");
  await ana.getByTestId("search-page").waitFor();
  if ((await writable()) !== 0) throw new Error("the inbox route offers the analyst a place to write");
  console.log("ok: step 3, the conversation read from the results, read-only");

  // ---- 4. The dossier of a returning customer. ----
  conv = ids.returning;
  step("4. the agent signs in, becomes available and accepts the returning customer's chat");
  const rita = await newPage("agent", "en-US");
  await signIn(rita, agent);
  await rita.locator('[data-testid="connection"].live').waitFor();
  await rita.locator('select[data-testid="presence"]:not([disabled])').waitFor();
  await rita.selectOption('select[data-testid="presence"]', "available");
  await rita.locator('select[data-testid="presence"].presence-available:not([disabled])').waitFor();
  const first = rita.locator(`li[data-testid="conv-${ids.returning}"][data-status="offered"] [data-testid="offer-accept"]:not([disabled])`);
  await first.click();
  await rita.waitForURL((u) => u.hash === "#/inbox/" + encodeURIComponent(ids.returning));
  await rita.locator(`[data-testid="conversation"][data-id="${ids.returning}"][data-status="assigned"]`).waitFor();

  step("4. the agent resolves it; the index folds it");
  await rita.getByTestId("resolve").click();
  await rita.locator(`[data-testid="conversation"][data-id="${ids.returning}"][data-status="resolved"]`).waitFor();
  await indexed(ana, tenant, "the first chat resolved", { status: "resolved" }, (r) => r.hits.some((h) => h.conversation.id === ids.returning));

  step("4. the customer comes back; the agent is offered the new chat");
  const back = customers.returning;
  await customerWrites(back.page, back.lang, messages.again);
  const offer = rita.locator('li[data-status="offered"]:has([data-testid="offer-accept"]:not([disabled]))').first();
  await offer.waitFor();
  const again = (await offer.getAttribute("data-testid")).replace(/^conv-/, "");
  if (again === ids.returning) throw new Error("the customer's new message reopened the resolved conversation instead of starting one");
  conv = again;
  console.log(`conversation of the return: ${again}`);

  // Accepted at once, maybe before the index has the new chat: the panel
  // asks again until its counts include it.
  step("4. the agent accepts it: the dossier lists the earlier conversation, with counts by channel");
  await offer.locator('[data-testid="offer-accept"]').click();
  await rita.waitForURL((u) => u.hash === "#/inbox/" + encodeURIComponent(again));
  const dossier = rita.getByTestId("dossier");
  await dossier.getByTestId("dossier-item-" + ids.returning).waitFor();
  const counts = await until(
    "the dossier's counts",
    () =>
      dossier.getByTestId("dossier-counts").evaluate((n) => ({
        text: n.innerText,
        chat: n.querySelector('[data-testid="dossier-channel-chat"]')?.textContent ?? null,
        open: n.querySelector('[data-testid="dossier-open"]')?.textContent ?? null,
        chips: n.querySelectorAll('[data-testid^="dossier-channel-"]').length,
      })),
    (c) => /\b2\b/.test(c.text) && /\b2\b/.test(c.chat ?? "") && /\b1\b/.test(c.open ?? "") && c.chips === 1,
  );
  console.log(`dossier counts: ${JSON.stringify(counts)}`);
  if (await dossier.getByTestId("dossier-item-" + again).count()) throw new Error("the dossier lists the open conversation as an earlier one");

  step("4. the agent reads the earlier conversation in the dossier, read-only");
  await dossier.getByTestId("dossier-item-" + ids.returning).click();
  const earlier = rita.getByTestId("dossier-conversation");
  await until(
    "the earlier conversation's thread",
    () => earlier.locator('[data-testid="stored-entry"]').evaluateAll((ns) => ns.map((n) => [n.dataset.kind, n.querySelector(".text")?.textContent])),
    (es) => es.some(([k, text]) => k === "in" && text === messages.returning) && !es.some(([, text]) => text === messages.again),
  );
  if (await earlier.locator("textarea, button:not([data-testid=dossier-back])").count()) throw new Error("the earlier conversation offers actions");
  await earlier.getByTestId("dossier-back").click();
  await dossier.getByTestId("dossier-item-" + ids.returning).waitFor();
  console.log("ok: step 4, the returning customer's dossier");

  if (pageErrors.length) throw new Error("uncaught exceptions in the pages:\n" + pageErrors.join("\n"));
  if (consoleErrors.length) throw new Error("console errors in the pages:\n" + consoleErrors.join("\n"));
  if (apiErrors.length) console.log("API errors the pages logged (not failures):\n" + apiErrors.join("\n"));
  console.log("ok: search journey passed");
} catch (e) {
  console.error(`FAIL at step "${stepName}"${conv ? ` (conversation ${conv})` : ""}: ${e instanceof Error ? e.message : e}`);
  if (pageErrors.length) console.error("uncaught exceptions:\n" + pageErrors.join("\n"));
  if (consoleErrors.length) console.error("console errors:\n" + consoleErrors.join("\n"));
  if (apiErrors.length) console.error("API errors the pages logged:\n" + apiErrors.join("\n"));
  const dir = process.env.ARTIFACTS_DIR;
  for (const [name, page] of pages) {
    const text = await page
      .evaluate(() => {
        const widget = document.querySelector(".hlc-panel");
        return widget ? widget.textContent : document.querySelector("main")?.innerText ?? document.body.innerText;
      })
      .catch((err) => `(unreadable: ${err})`);
    console.error(`--- ${name} at ${page.url()}:\n${text}`);
    if (dir) {
      const shot = join(dir, `search-failure-${name}.png`);
      await page.screenshot({ path: shot, fullPage: true }).then(
        () => console.error(`screenshot: ${shot}`),
        () => {},
      );
    }
  }
  process.exitCode = 1;
} finally {
  await browser.close();
}
