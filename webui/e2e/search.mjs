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
// bounded only so that a hang ends. What it shares with the other
// journeys is in lib.mjs.
import { Journey, customerWrites, env, hubAPIError, launch, noInjection, openWidget, setAvailable, signIn } from "./lib.mjs";

const hubURL = env("HOTLINE_URL");
const shopURL = env("SHOP_URL");
const tenant = env("HOTLINE_TENANT");
const otherTenant = env("OTHER_TENANT");
const returnsQueue = env("RETURNS_QUEUE");
const analyst = { tenant, login: env("ANALYST_LOGIN"), password: env("ANALYST_PASSWORD") };
const otherAnalyst = { tenant: otherTenant, login: env("OTHER_ANALYST_LOGIN"), password: env("OTHER_ANALYST_PASSWORD") };
const agent = { tenant, login: env("AGENT_LOGIN"), name: env("AGENT_NAME"), password: env("AGENT_PASSWORD") };
const texts = JSON.parse(env("SEARCH_TEXTS"));
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

// Uncaught exceptions and console errors fail the journey, except the
// failed loads of the hub's API that the app shows itself (the sign-in
// page's 401 before anyone signs in, the query with a syntax error): those
// are only reported.
const journey = new Journey("search", { timeout: 45_000, expected: hubAPIError(hubURL) });
const browser = await launch();
const newPage = (name, locale) => journey.newPage(browser, name, { locale, viewport: { width: 1400, height: 950 } });

// ---- The customers' side: the widget (channels/chat/widget.js). ----

/** Opens the shop page of tenant and queue ("-": the default one) with the widget open. */
async function openShop(page, shopTenant, queue) {
  await page.goto(`${shopURL}/${shopTenant}/${queue}`);
  await openWidget(page);
}

// ---- The staff's side. ----

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
  return journey.until(`the index to hold ${what}`, () => searchAPI(page, searchTenant, params), ok, indexTimeout);
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
  return journey.until(what, () => page.evaluate(shownResults), (r) => !r.busy && r.total !== null && ok(r));
}

/** The read-only thread shown in container: [kind, text] of each entry. */
function storedThread(container) {
  return container.locator('[data-testid="stored-entry"]').evaluateAll((ns) => ns.map((n) => [n.dataset.kind, n.querySelector(".text")?.textContent]));
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
    journey.step(`0. the ${who} customer writes through the widget`);
    await openShop(c.page, c.tenant, c.queue);
    await customerWrites(journey, c.page, messages[who], c.lang);
  }

  journey.step("0. the analysts sign in; their search API has every conversation indexed");
  const ana = await newPage("analyst", "en-US");
  await signIn(ana, hubURL, analyst);
  const olga = await newPage("other-analyst", "en-US");
  await signIn(olga, hubURL, otherAnalyst);
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
  journey.step("1. the analyst lands on the search page, every conversation of the tenant listed");
  await ana.locator('[data-testid="nav-search"][aria-current="page"]').waitFor();
  if (await ana.getByTestId("nav-inbox").count()) throw new Error("the analyst is offered the inbox");
  await resultsAre(ana, "the landing page to list the four conversations", (r) => r.total === 4 && r.hits.length === 4);

  journey.step(`1. the analyst searches ${texts.russian_query}: the conversation with ${texts.russian_word}`);
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

  journey.step("1. the other tenant's word finds nothing here");
  await searchFor(ana, texts.other_only);
  await resultsAre(ana, `no hit for ${texts.other_only}`, (r) => r.total === 0 && r.hits.length === 0);
  await ana.getByTestId("search-empty").waitFor();

  // ---- 2. Filters and facets. ----
  journey.step("2. a date filter from tomorrow empties the results; up to today brings them back");
  await searchFor(ana, texts.russian_query);
  await resultsAre(ana, "the Russian hit again", (r) => r.total === 1);
  await ana.getByTestId("search-filter-from").fill(await localDay(ana, 1));
  await resultsAre(ana, "no hit from tomorrow on", (r) => r.total === 0);
  await ana.getByTestId("search-filter-from").fill("");
  await ana.getByTestId("search-filter-to").fill(await localDay(ana, 0));
  await resultsAre(ana, "the hit again, up to today", (r) => r.total === 1 && r.hits[0]?.id === ids.russian);

  journey.step("2. the facets count the hit by channel and by day; the chat facet filters by channel");
  const chatFacet = ana.getByTestId("search-facet-channel-chat");
  await journey.until("the chat facet to count 1", async () => (await chatFacet.locator(".count").textContent()).trim(), (n) => n === "1");
  await journey.until("one day in the day facet, counting 1", () => ana.locator('[data-testid^="search-facet-day-"] .count').allTextContents(), (c) => c.length === 1 && c[0] === "1");
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

  journey.step("2. a syntax error is explained, with its position, and no stale results beside it");
  await searchFor(ana, '"unclosed');
  await journey.until(
    "the syntax error alone",
    () => ana.evaluate(shownResults),
    (r) => !r.busy && r.error === "The query has an error at character 1 (unclosed quote)." && r.total === null && r.hits.length === 0,
  );
  console.log("ok: step 2, date filter, channel filter and facets");

  // ---- 3. Open a conversation, read-only. ----
  journey.step("3. the analyst opens the Russian conversation from the results");
  await searchFor(ana, texts.russian_query);
  await resultsAre(ana, "the Russian hit", (r) => r.total === 1 && r.error === null);
  await ana.getByTestId("search-hit-" + ids.russian).locator("button").click();
  const pane = ana.getByTestId("search-conversation");
  await journey.until(
    "the conversation's thread in the pane",
    () => storedThread(pane),
    (es) => es.length === 1 && es[0][0] === "in" && es[0][1] === messages.russian,
  );
  await journey.until("the conversation's queue by name", async () => (await pane.getByTestId("search-conversation-meta").innerText()).split("\n"), (m) => m.some((x) => /Queue: Support/.test(x)));
  await noInjection(ana, "analyst", '[data-testid="search-conversation"]');

  journey.step("3. no reply box for the analyst, here or in the inbox");
  const writable = () => ana.evaluate(() => document.querySelectorAll('textarea, [contenteditable="true"], [data-testid="composer-input"], [data-testid="composer-send"]').length);
  if ((await writable()) !== 0) throw new Error("the search page offers the analyst a place to write");
  await ana.goto(hubURL + "/#/inbox/" + encodeURIComponent(ids.russian));
  await journey.until("the analyst sent back to the search page", () => ana.evaluate(() => location.hash), (h) => h === "#/search");
  await ana.getByTestId("search-page").waitFor();
  if ((await writable()) !== 0) throw new Error("the inbox route offers the analyst a place to write");
  console.log("ok: step 3, the conversation read from the results, read-only");

  // ---- 4. The dossier of a returning customer. ----
  conv = ids.returning;
  journey.step("4. the agent signs in, becomes available and accepts the returning customer's chat");
  const rita = await newPage("agent", "en-US");
  await signIn(rita, hubURL, agent);
  await rita.locator('[data-testid="connection"].live').waitFor();
  await setAvailable(rita);
  const first = rita.locator(`li[data-testid="conv-${ids.returning}"][data-status="offered"] [data-testid="offer-accept"]:not([disabled])`);
  await first.click();
  await rita.waitForURL((u) => u.hash === "#/inbox/" + encodeURIComponent(ids.returning));
  await rita.locator(`[data-testid="conversation"][data-id="${ids.returning}"][data-status="assigned"]`).waitFor();

  journey.step("4. the agent resolves it; the index folds it");
  await rita.getByTestId("resolve").click();
  await rita.locator(`[data-testid="conversation"][data-id="${ids.returning}"][data-status="resolved"]`).waitFor();
  await indexed(ana, tenant, "the first chat resolved", { status: "resolved" }, (r) => r.hits.some((h) => h.conversation.id === ids.returning));

  journey.step("4. the customer comes back; the agent is offered the new chat");
  const back = customers.returning;
  await customerWrites(journey, back.page, messages.again, back.lang);
  const offer = rita.locator('li[data-status="offered"]:has([data-testid="offer-accept"]:not([disabled]))').first();
  await offer.waitFor();
  const again = (await offer.getAttribute("data-testid")).replace(/^conv-/, "");
  if (again === ids.returning) throw new Error("the customer's new message reopened the resolved conversation instead of starting one");
  conv = again;
  console.log(`conversation of the return: ${again}`);

  // Accepted at once, maybe before the index has the new chat: the panel
  // asks again until its counts include it.
  journey.step("4. the agent accepts it: the dossier lists the earlier conversation, with counts by channel");
  await offer.locator('[data-testid="offer-accept"]').click();
  await rita.waitForURL((u) => u.hash === "#/inbox/" + encodeURIComponent(again));
  const dossier = rita.getByTestId("dossier");
  await dossier.getByTestId("dossier-item-" + ids.returning).waitFor();
  const counts = await journey.until(
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

  journey.step("4. the agent reads the earlier conversation in the dossier, read-only");
  await dossier.getByTestId("dossier-item-" + ids.returning).click();
  const earlier = rita.getByTestId("dossier-conversation");
  await journey.until(
    "the earlier conversation's thread",
    () => storedThread(earlier),
    (es) => es.some(([k, text]) => k === "in" && text === messages.returning) && !es.some(([, text]) => text === messages.again),
  );
  if (await earlier.locator("textarea, button:not([data-testid=dossier-back])").count()) throw new Error("the earlier conversation offers actions");
  await earlier.getByTestId("dossier-back").click();
  await dossier.getByTestId("dossier-item-" + ids.returning).waitFor();
  console.log("ok: step 4, the returning customer's dossier");

  journey.check();
  console.log("ok: search journey passed");
} catch (e) {
  await journey.fail(e, conv && `conversation ${conv}`);
} finally {
  await browser.close();
}
