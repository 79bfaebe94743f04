// The chat → inbox journey in a real browser (Debian's chromium, driven by
// playwright-core): a customer on a shop's page with the chat widget, and
// two agents in the inbox, each in a browser context of their own. Run by
// inbox_test.go, which starts Hotline, makes the second agent, serves the
// shop's page and passes:
//   HOTLINE_URL        the hub: web app, API and chat widget
//   SHOP_URL           the customer's page, on another origin
//   HOTLINE_LOGIN      the first-start admin's login (an agent too)
//   HOTLINE_PASSWORD   its password
//   AGENT2_ID          the second agent's account id
//   AGENT2_LOGIN       its login
//   AGENT2_NAME        its display name
//   AGENT2_PASSWORD    its password
//   CHROMIUM_PATH      the browser binary
//   ARTIFACTS_DIR      where to save screenshots of every page on failure
// It prints one line per step and exits non-zero with the reason, and what
// each page shows, on failure. Every wait is for a condition, bounded only
// so that a hang ends. What it shares with the other journeys is in
// lib.mjs.
import { Journey, customerWrites, env, hubAPIError, launch, noInjection, openWidget, setAvailable, signIn, widgetMessages } from "./lib.mjs";

const hubURL = env("HOTLINE_URL");
const shopURL = env("SHOP_URL");
const admin = { login: env("HOTLINE_LOGIN"), password: env("HOTLINE_PASSWORD") };
const agent2 = {
  id: env("AGENT2_ID"),
  login: env("AGENT2_LOGIN"),
  name: env("AGENT2_NAME"),
  password: env("AGENT2_PASSWORD"),
};

if (new URL(shopURL).origin === new URL(hubURL).origin) throw new Error("the shop must be on another origin than the hub");

// Uncaught exceptions and console errors (a CSP violation, a script
// error, a resource of the page that failed) in any page fail the
// journey. An error status of the hub's API is only reported: the app
// shows those itself (the sign-in page's 401 for "who am I" before anyone
// signs in, a side panel whose service is down), and the steps check
// what the agents see.
const journey = new Journey("inbox", { timeout: 45_000, expected: hubAPIError(hubURL) });
const browser = await launch();
/** The reply frames each page's inbox sockets sent, by page. */
const replyFrames = new WeakMap();
const newPage = async (name) => {
  const page = await journey.newPage(browser, name, { locale: "en-US" });
  const sent = [];
  replyFrames.set(page, sent);
  page.on("websocket", (ws) =>
    ws.on("framesent", (f) => {
      try {
        const v = JSON.parse(typeof f.payload === "string" ? f.payload : f.payload.toString());
        if (v.type === "reply") sent.push(v);
      } catch {
        // not JSON: no reply frame
      }
    }),
  );
  return page;
};

// ---- The customer's side: the widget (channels/chat/widget.js). ----

/** Waits until the widget shows exactly these messages, in this order, after its greeting. */
async function widgetShowsExactly(page, want) {
  await journey.until(
    `the widget to show exactly ${JSON.stringify(want)}`,
    () => page.evaluate(widgetMessages),
    (have) => JSON.stringify(have.slice(1).map((m) => [m.from, m.text])) === JSON.stringify(want),
  );
}

// ---- The agents' side: the inbox (webui/ui/web/src/inbox). ----

/** Signs who in and waits until the inbox is open and live. */
async function signInToInbox(page, who) {
  await signIn(page, hubURL, who);
  await page.locator('[data-testid="nav-inbox"][aria-current="page"]').waitFor();
  await page.locator('[data-testid="connection"].live').waitFor();
}

/** The open conversation: its id, status and thread ({kind: in|out|note|pending, text}). */
function openConversation() {
  const c = document.querySelector('[data-testid="conversation"]');
  return {
    id: c?.dataset.id ?? null,
    status: c?.dataset.status ?? null,
    thread: [...(c?.querySelectorAll('[data-testid="thread-entry"]') ?? [])].map((n) => ({
      kind: n.dataset.kind,
      text: n.querySelector(".text")?.textContent ?? "",
    })),
    alerts: [...document.querySelectorAll('[role="alert"]')].map((n) => n.textContent),
  };
}

/**
 * Waits until the open conversation is id with status, and its thread
 * holds each of want ([kind, text]) exactly once, confirmed by the hub.
 */
async function threadHas(page, id, status, want) {
  await journey.until(
    `conversation ${id} ${status} with ${JSON.stringify(want)} in its thread`,
    () => page.evaluate(openConversation),
    (c) => c.id === id && c.status === status && want.every(([k, t]) => c.thread.filter((e) => e.kind === k && e.text === t).length === 1),
  );
}

/** Sends a reply in the open conversation and waits until the hub confirmed it. */
async function agentReplies(page, id, text) {
  await page.locator('[data-testid="composer-tab-reply"][aria-selected="true"]').waitFor();
  await page.fill('[data-testid="composer-input"]', text);
  await page.click('[data-testid="composer-send"]');
  // The open socket carries the reply (a reply frame); the hub sends that
  // socket no frame for it: the thread shows it from the reply_result.
  await journey.until(
    `a reply frame for ${id} with ${JSON.stringify(text)}`,
    () => replyFrames.get(page).filter((f) => f.conversation_id === id && f.text === text).length,
    (n) => n === 1,
  );
  await threadHas(page, id, "assigned", [["out", text]]);
}

const texts = {
  hello: "Hello! My order 4711 has not arrived yet.",
  reply1: "Sorry to hear that, let me check order 4711 for you.",
  note: "Order 4711 is stuck in the warehouse; billing must refund the shipping.",
  reply2: "Hi, I am taking over: the shipping is refunded and the parcel leaves today.",
  after: "Thank you! One more question after the reloads.",
  script: "<script>window.__xss=1</script>",
  img: '<img src=x onerror="window.__xss=2">',
};

let conv = "";
try {
  const customer = await newPage("customer");
  const agent1 = await newPage("admin");
  const agent2Page = await newPage("agent2");

  // ---- 1. Chat → offer → accept → reply. ----
  journey.step("1. the admin signs in and becomes available");
  await signInToInbox(agent1, admin);
  await setAvailable(agent1);

  journey.step("1. the customer opens the widget on the shop's page and writes");
  await customer.goto(shopURL);
  await openWidget(customer);
  await customerWrites(journey, customer, texts.hello);

  journey.step("1. the admin is offered the chat and accepts it");
  const offer = agent1.locator('li[data-status="offered"]:has([data-testid="offer-accept"]:not([disabled]))').first();
  await offer.waitFor();
  conv = (await offer.getAttribute("data-testid")).replace(/^conv-/, "");
  console.log(`conversation: ${conv}`);
  await offer.locator('[data-testid="offer-accept"]').click();
  await agent1.waitForURL((u) => u.hash === "#/inbox/" + encodeURIComponent(conv));
  await threadHas(agent1, conv, "assigned", [["in", texts.hello]]);

  journey.step("1. the admin replies; the customer sees the reply");
  await agentReplies(agent1, conv, texts.reply1);
  await widgetShowsExactly(customer, [
    ["visitor", texts.hello],
    ["agent", texts.reply1],
  ]);
  console.log("ok: scenario 1, chat offered, accepted and answered");

  journey.step("1. the admin tags the conversation; the tags are lowercased chips");
  await agent1.locator('[data-testid="tag-input"]').fill("Billing, VIP");
  await agent1.locator('[data-testid="tag-add"]').click();
  const chips = () => agent1.locator('[data-testid="tag"] span').allTextContents();
  await journey.until("the chips billing and vip", chips, (have) => JSON.stringify(have) === '["billing","vip"]');
  await agent1.locator('[data-testid="tag-remove"]').last().click();
  await journey.until("only the chip billing", chips, (have) => JSON.stringify(have) === '["billing"]');

  // ---- 2. Transfer to a colleague with a note. ----
  journey.step("2. the second agent signs in and becomes available");
  await signInToInbox(agent2Page, agent2);
  await setAvailable(agent2Page);

  journey.step("2. the admin transfers the conversation to the second agent with a note");
  await agent1.click('[data-testid="transfer-open"]');
  await agent1.locator('[data-testid="transfer-dialog"]').waitFor();
  await agent1.check('[data-testid="transfer-to-agent"]');
  await agent1.locator(`[data-testid="transfer-agent"]:not([disabled]) option[value="${agent2.id}"]`).waitFor({ state: "attached" });
  await agent1.selectOption('[data-testid="transfer-agent"]', agent2.id);
  await agent1.fill('[data-testid="transfer-note"]', texts.note);
  await agent1.click('[data-testid="transfer-submit"]');
  await agent1.locator('[data-testid="transfer-dialog"]').waitFor({ state: "detached" });
  await agent1.locator('[data-testid="conversation-customer"] ~ .meta', { hasText: agent2.name }).waitFor();

  journey.step("2. the second agent finds it in their list and opens it, with the note");
  const mine = agent2Page.locator(`[data-testid="conv-${conv}"][data-status="assigned"] a`);
  await mine.waitFor();
  await mine.click();
  await threadHas(agent2Page, conv, "assigned", [
    ["in", texts.hello],
    ["out", texts.reply1],
    ["note", texts.note],
  ]);

  journey.step("2. the second agent replies; the customer sees that reply");
  await agentReplies(agent2Page, conv, texts.reply2);
  await widgetShowsExactly(customer, [
    ["visitor", texts.hello],
    ["agent", texts.reply1],
    ["agent", texts.reply2],
  ]);
  console.log("ok: scenario 2, transferred with a note and answered");

  // ---- 3. Reloads lose nothing. ----
  journey.step("3. the customer reloads the shop's page: the whole thread is back");
  await customer.reload();
  await openWidget(customer);
  await widgetShowsExactly(customer, [
    ["visitor", texts.hello],
    ["agent", texts.reply1],
    ["agent", texts.reply2],
  ]);

  journey.step("3. the second agent reloads the inbox: thread and note are back");
  await agent2Page.reload();
  await agent2Page.locator('[data-testid="connection"].live').waitFor();
  await threadHas(agent2Page, conv, "assigned", [
    ["in", texts.hello],
    ["out", texts.reply1],
    ["note", texts.note],
    ["out", texts.reply2],
  ]);
  const tagsAfterReload = await agent2Page.locator('[data-testid="tag"] span').allTextContents();
  if (JSON.stringify(tagsAfterReload) !== JSON.stringify(["billing"])) {
    throw new Error(`tags after the reload: ${JSON.stringify(tagsAfterReload)}, want ["billing"]`);
  }

  journey.step("3. a new message of the customer arrives live after the reload");
  await customerWrites(journey, customer, texts.after);
  await threadHas(agent2Page, conv, "assigned", [["in", texts.after]]);
  await widgetShowsExactly(customer, [
    ["visitor", texts.hello],
    ["agent", texts.reply1],
    ["agent", texts.reply2],
    ["visitor", texts.after],
  ]);
  console.log("ok: scenario 3, reloads lost nothing");

  // ---- 4. The customer's markup is text. ----
  journey.step("4. the customer writes markup");
  await customerWrites(journey, customer, texts.script);
  await customerWrites(journey, customer, texts.img);

  journey.step("4. the agents see it as literal text, and nothing ran");
  for (const [name, page] of [
    ["agent2", agent2Page],
    ["admin", agent1],
  ]) {
    await threadHas(page, conv, "assigned", [
      ["in", texts.script],
      ["in", texts.img],
    ]);
    const visible = await page.locator('[data-testid="thread"]').innerText();
    for (const t of [texts.script, texts.img]) {
      if (!visible.includes(t)) throw new Error(`${name}: the thread's visible text lacks ${JSON.stringify(t)}:\n${visible}`);
    }
    await noInjection(page, name, '[data-testid="thread"]');
  }
  await widgetShowsExactly(customer, [
    ["visitor", texts.hello],
    ["agent", texts.reply1],
    ["agent", texts.reply2],
    ["visitor", texts.after],
    ["visitor", texts.script],
    ["visitor", texts.img],
  ]);
  await noInjection(customer, "customer", ".hlc-list");
  console.log("ok: scenario 4, markup shown as text");

  journey.check();
  console.log("ok: inbox journey passed");
} catch (e) {
  await journey.fail(e, conv && `conversation ${conv}`);
} finally {
  await browser.close();
}
