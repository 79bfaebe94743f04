// The admin pages in a real browser (Debian's chromium, driven by
// playwright-core). Run by admin_test.go, which starts Hotline, makes a
// supervisor through the API, and afterwards checks through the JSON API
// that what this script saved was stored. It passes:
//   HOTLINE_URL          the hub: web app and API
//   HOTLINE_TENANT       the first-start tenant
//   HOTLINE_LOGIN        the first-start admin's login
//   HOTLINE_PASSWORD     its password
//   SUPERVISOR_LOGIN     a supervisor of the tenant
//   SUPERVISOR_PASSWORD  its password
//   CHROMIUM_PATH        the browser binary
//   ARTIFACTS_DIR        optional: where to save screenshots of every page
//                        on failure
// The admin, in one browser context:
//  1. adds skill "Français" (id francais, suggested from the name);
//  2. creates queue "Sales FR" (chat and voice, requiring francais, office
//     hours plus Saturday 22:00-06:00 past midnight, a closed holiday and
//     one with special hours); an unknown time zone is refused by the
//     server and shown beside the hours; after a reload the editor shows
//     everything that was saved;
//  3. creates agent account "alice" named "Alice <b>Martin</b>" and is
//     shown its one-time password once;
//  4. gives alice a routing profile (francais, chat capacity 4); alice
//     signs in with the one-time password in a context of her own, sees
//     her name as text, not markup, and no admin pages;
//  5. tries to delete francais and is told it is in use, by the queue and
//     by alice (named as text);
//  6. writes canned answer "Welcome back" with {{customer.name}} inserted
//     by its button at the caret, sees it listed;
//  7. sets the widget's allowed origins and default queue, sees the
//     snippet name the queue, and both kept after a reload.
// The supervisor, in a third context, asks for the widget page and is told
// it may not open it. Uncaught exceptions in any page, and console errors
// other than the refusals the steps expect, fail the script. It prints one
// line per step and exits non-zero with the reason on failure. Every wait
// is for a condition, bounded only so that a hang ends. What it shares
// with the other journeys is in lib.mjs.
import { Journey, env, launch, signIn } from "./lib.mjs";

const base = env("HOTLINE_URL");
const tenant = env("HOTLINE_TENANT");
const admin = { login: env("HOTLINE_LOGIN"), password: env("HOTLINE_PASSWORD") };
const supervisor = { login: env("SUPERVISOR_LOGIN"), password: env("SUPERVISOR_PASSWORD") };

// What the admin makes; admin_test.go checks the same values through the API.
const skill = { id: "francais", name: "Français" };
const queue = { id: "sales-fr", name: "Sales FR" };
const alice = { login: "alice", name: "Alice <b>Martin</b>" };
const answer = {
  id: "welcome-back",
  title: "Welcome back",
  typed: "Hello , how can I help?",
  caret: "Hello ".length,
  text: "Hello {{customer.name}}, how can I help?",
  shortcut: "welcome",
};
const origins = ["https://shop.example.com", "http://localhost:8080"];

// Uncaught exceptions fail the script, and so do console errors except
// the failed loads of the answers the steps provoke: 401 from
// GET /api/v1/auth/me before signing in, 409 for the skill in use, 422 for
// the unknown time zone.
const expectedLoadFailure = /^Failed to load resource: the server responded with a status of (401|409|422) /;
const journey = new Journey("admin", { timeout: 30_000, expected: (m) => expectedLoadFailure.test(m.text()) });
const browser = await launch();
const newPage = (name) => journey.newPage(browser, name, { locale: "en-US", viewport: { width: 1300, height: 900 } });

const matches = (want) => (have) => (want instanceof RegExp ? typeof have === "string" && want.test(have) : have === want);

/** Waits until loc's text, trimmed, is want (a string) or matches it (a RegExp). */
async function expectText(loc, want, what = String(loc)) {
  return journey.until(`${what} to read ${want}`, async () => ((await loc.count()) ? (await loc.first().textContent()).trim() : "(absent)"), matches(want));
}

/** Waits until the input loc holds want. */
async function expectValue(loc, want, what = String(loc)) {
  return journey.until(`${what} to hold ${JSON.stringify(want)}`, async () => ((await loc.count()) ? await loc.first().inputValue() : "(absent)"), matches(want));
}

/** Waits until the checkbox loc is checked (or not). */
async function expectChecked(loc, want, what = String(loc)) {
  return journey.until(`${what} to be ${want ? "checked" : "unchecked"}`, async () => ((await loc.count()) ? await loc.first().isChecked() : "(absent)"), (v) => v === want);
}

/** Waits until nothing matches loc. */
async function expectNone(loc, what = String(loc)) {
  return journey.until(`${what} to be absent`, () => loc.count(), (n) => n === 0);
}

/** Fails if loc holds an element: text with markup in it shown as text, not run. */
async function expectNoMarkup(loc, what) {
  const elements = await loc.first().evaluate((el) => [...el.querySelectorAll("*")].map((n) => n.tagName.toLowerCase()));
  if (elements.length !== 0) throw new Error(`${what} was rendered as markup: <${elements.join(">, <")}>`);
}

/** Waits until loc's text is exactly name, and fails if it holds markup. */
async function expectPlainText(loc, name, what) {
  await expectText(loc, name, what);
  await expectNoMarkup(loc, what);
}

/** Signs login in to the tenant and waits until the app has taken them to the inbox. */
async function signInToInbox(page, login, password) {
  await signIn(page, base, { tenant, login, password });
  // Signed in, the app takes every role used here to the inbox; wait for
  // that before going elsewhere, or its redirect could follow.
  await journey.until("the inbox after signing in", () => page.evaluate(() => location.hash), (h) => h === "#/inbox");
}

/** The text page shows. */
async function bodyText(page) {
  return page.evaluate(() => document.querySelector("main")?.innerText ?? document.body.innerText);
}

try {
  const page = await newPage("admin");
  const tid = (id) => page.getByTestId(id);

  journey.step("sign in as the admin and open the skills");
  await signInToInbox(page, admin.login, admin.password);
  await page.goto(base + "/#/admin/skills");
  await tid("admin-nav-skills").waitFor();
  await tid("skills").waitFor();

  journey.step("add a skill; its id is suggested from the name");
  await tid("skill-new-name").fill(skill.name);
  await expectValue(tid("skill-new-id"), skill.id, "the suggested skill id");
  await tid("skill-add").click();
  await expectText(tid("skill-add-form").getByTestId("admin-saved"), `“${skill.name}” added.`, "the added notice");
  await expectValue(tid("skill-" + skill.id).getByTestId("skill-name"), skill.name, "the new skill's row");

  journey.step("a new queue with channels, a required skill, hours and holidays");
  await tid("admin-nav-queues").click();
  await tid("queue-new").click();
  await tid("queue-name").fill(queue.name);
  await expectValue(tid("queue-id"), queue.id, "the suggested queue id");
  await expectChecked(tid("queue-channel-chat"), true, "chat, ticked for a new queue");
  await tid("queue-channel-voice").check();
  await tid("queue-skill-" + skill.id).check();
  await tid("queue-priority").fill("2");
  await tid("queue-always-open").uncheck();
  // Unticking "open 24/7" offers office hours, Monday to Friday.
  await expectValue(tid("queue-day-monday").getByTestId("queue-span"), "09:00-17:00", "Monday's offered hours");
  await expectText(tid("queue-day-saturday"), /Closed/, "Saturday, closed");
  await tid("queue-day-saturday").getByTestId("queue-span-add").click();
  await tid("queue-day-saturday").getByTestId("queue-span").fill("22:00-06:00");
  await tid("queue-holiday-add").click();
  await tid("queue-holiday-0").getByTestId("holiday-date").fill("2026-12-25");
  await tid("queue-holiday-0").getByTestId("holiday-name").fill("Noël");
  await tid("queue-holiday-add").click();
  await tid("queue-holiday-1").getByTestId("holiday-date").fill("2026-12-31");
  await tid("queue-holiday-1").getByTestId("holiday-name").fill("New Year's Eve");
  await tid("queue-holiday-1").getByTestId("holiday-open").fill("10:00-14:00");

  journey.step("an unknown time zone is refused by the server, beside the hours");
  await tid("queue-timezone").fill("Mars/Olympus");
  await tid("queue-save").click();
  // "Refused by the server:" is the text of an error the API answered,
  // never of one the browser found itself.
  await expectText(tid("queue-hours").getByTestId("field-error"), /^Refused by the server: .*Mars\/Olympus/, "the hours' error");
  await expectNone(tid("queue-editor").getByTestId("admin-error"), "a banner besides the hours' error");
  // Still editing, nothing typed lost.
  await expectValue(tid("queue-day-saturday").getByTestId("queue-span"), "22:00-06:00", "Saturday's span after the refusal");
  await expectValue(tid("queue-holiday-1").getByTestId("holiday-open"), "10:00-14:00", "the special hours after the refusal");

  journey.step("a known time zone saves the queue");
  await tid("queue-timezone").fill("Europe/Paris");
  await tid("queue-save").click();
  await expectText(tid("admin-saved"), `“${queue.name}” saved.`, "the saved notice");
  const row = tid("queue-" + queue.id);
  await expectText(row.getByTestId("queue-name"), queue.name, "the queue's row");
  await expectText(row, /Chat, Voice.*Français.*Schedule \(Europe\/Paris\), 2 holiday\(s\)/, "the queue's row");

  journey.step("after a reload, the editor shows what was saved");
  await page.reload();
  await tid("queue-" + queue.id).getByTestId("queue-edit").click();
  await expectValue(tid("queue-name"), queue.name, "the name");
  await expectChecked(tid("queue-channel-chat"), true, "chat");
  await expectChecked(tid("queue-channel-voice"), true, "voice");
  await expectChecked(tid("queue-channel-email"), false, "email");
  await expectChecked(tid("queue-skill-" + skill.id), true, "the required skill");
  await expectValue(tid("queue-priority"), "2", "the priority");
  await expectChecked(tid("queue-always-open"), false, "open 24/7");
  await expectValue(tid("queue-timezone"), "Europe/Paris", "the time zone");
  await expectValue(tid("queue-day-monday").getByTestId("queue-span"), "09:00-17:00", "Monday");
  await expectValue(tid("queue-day-saturday").getByTestId("queue-span"), "22:00-06:00", "Saturday, past midnight");
  await expectText(tid("queue-day-sunday"), /Closed/, "Sunday");
  await expectValue(tid("queue-holiday-0").getByTestId("holiday-date"), "2026-12-25", "the first holiday's date");
  await expectValue(tid("queue-holiday-0").getByTestId("holiday-name"), "Noël", "the first holiday's name");
  await expectValue(tid("queue-holiday-0").getByTestId("holiday-open"), "", "the first holiday, closed");
  await expectValue(tid("queue-holiday-1").getByTestId("holiday-date"), "2026-12-31", "the second holiday's date");
  await expectValue(tid("queue-holiday-1").getByTestId("holiday-open"), "10:00-14:00", "the second holiday's hours");
  await expectNone(tid("queue-holiday-2"), "a third holiday");
  await tid("queue-cancel").click();
  await tid("queues").waitFor();

  journey.step("create an account: its one-time password is shown once");
  await tid("admin-nav-accounts").click();
  await tid("account-new-login").fill(alice.login);
  await tid("account-new-name").fill(alice.name);
  await tid("account-new-role").selectOption("agent");
  await tid("account-create").click();
  const secret = tid("one-time-secret");
  await expectText(secret.getByTestId("secret-login"), alice.login, "the new login");
  const alicePassword = await expectText(secret.getByTestId("secret-password"), /^[A-Za-z0-9]{16}$/, "the one-time password");
  const aliceRow = page.locator('tr[data-testid^="account-"]').filter({ has: page.getByTestId("account-login").getByText(alice.login, { exact: true }) });
  await expectValue(aliceRow.getByTestId("account-name"), alice.name, "alice's display name, as typed");
  const aliceID = (await aliceRow.getAttribute("data-testid")).slice("account-".length);
  await tid("secret-dismiss").click();
  await expectNone(secret, "the one-time password after dismissing it");
  await page.reload();
  await aliceRow.waitFor();
  await expectNone(secret, "the one-time password after a reload");
  if ((await bodyText(page)).includes(alicePassword)) throw new Error("the one-time password is shown again after a reload");

  journey.step("give the new account a routing profile");
  await tid("admin-nav-agents").click();
  const aliceAgent = tid("agent-" + aliceID);
  await expectPlainText(aliceAgent.getByTestId("agent-name"), alice.name, "alice's name in the agents' list");
  await expectText(aliceAgent.getByTestId("agent-capacity"), "Not routed", "alice's capacity before");
  await aliceAgent.getByTestId("agent-edit").click();
  await tid("agent-skill-" + skill.id).check();
  await tid("agent-capacity-chat").fill("4");
  await tid("agent-capacity-voice").fill("0");
  await tid("agent-save").click();
  await expectNone(tid("agent-editor"), "the profile editor after saving");
  await expectText(aliceAgent.getByTestId("agent-skills"), skill.name, "alice's skills");
  await expectText(aliceAgent.getByTestId("agent-capacity"), "Chat 4", "alice's capacity");

  journey.step("the one-time password signs the new account in; its name is text, not markup");
  {
    const p = await newPage("alice");
    await signInToInbox(p, alice.login, alicePassword);
    await expectPlainText(p.getByTestId("display-name"), alice.name, "alice's name in the header");
    await expectText(p.getByTestId("role"), /^Agent/, "alice's role");
    // An agent has no admin pages: no menu entry, and asking for one
    // returns to the inbox.
    await expectNone(p.getByTestId("nav-admin"), "the administration entry for an agent");
    await p.goto(base + "/#/admin/queues");
    await journey.until("an agent asking for the admin pages to land in the inbox", () => p.evaluate(() => location.hash), (h) => h === "#/inbox");
    await expectNone(p.getByTestId("admin-nav-queues"), "the admin menu for an agent");
    await p.context().close();
    journey.pages.delete("alice");
  }

  journey.step("deleting a skill in use is refused, naming its users");
  await tid("admin-nav-skills").click();
  await tid("skill-" + skill.id).getByTestId("skill-delete").click();
  await tid("skill-" + skill.id).getByTestId("skill-delete-confirm").click();
  const inUse = tid("admin-error");
  await expectText(inUse, /^Cannot delete: it is still in use\. skill "francais" is in use; queues: \[sales-fr\]; agent profiles: \[Alice <b>Martin<\/b>\]$/, "the in-use message");
  await expectNoMarkup(inUse, "the in-use message");
  await page.reload();
  await expectValue(tid("skill-" + skill.id).getByTestId("skill-name"), skill.name, "the skill after the refused delete");

  journey.step("a canned answer with a placeholder inserted by its button");
  await tid("admin-nav-answers").click();
  await tid("answer-new").click();
  await tid("answer-title").fill(answer.title);
  await expectValue(tid("answer-id"), answer.id, "the suggested answer id");
  await tid("answer-text").fill(answer.typed);
  await tid("answer-text").evaluate((el, at) => el.setSelectionRange(at, at), answer.caret);
  await tid("answer-insert-customer-name").click();
  await expectValue(tid("answer-text"), answer.text, "the text with the placeholder at the caret");
  await tid("answer-language").selectOption("en");
  await tid("answer-shortcut").fill(answer.shortcut);
  await tid("answer-queue-" + queue.id).check();
  await tid("answer-save").click();
  await expectText(tid("admin-saved"), `“${answer.title}” saved.`, "the saved notice");
  const answerRow = tid("answer-" + answer.id);
  await expectText(answerRow.getByTestId("answer-title"), answer.title, "the answer's title in the list");
  await expectText(answerRow, new RegExp(`Hello \\{\\{customer\\.name\\}\\}, how can I help\\?.*/${answer.shortcut}.*${queue.name}`), "the answer's row");

  journey.step("the widget's origins and default queue; the snippet follows");
  await tid("admin-nav-widget").click();
  const snippet = (q) => `<script src="${base}/chat/widget.js" data-tenant="${tenant}" data-queue="${q}" async></script>`;
  const before = await expectText(tid("widget-snippet"), /^<script src=/, "the snippet");
  if (before === snippet(queue.id)) throw new Error("the snippet names the new queue before it was chosen");
  // The form takes the stored settings once they are loaded (the starter
  // widget sends to queue support); typing before that would be undone.
  await expectValue(tid("widget-default-queue"), "support", "the stored default queue");
  await tid("widget-origins").fill(origins.join("\n"));
  await tid("widget-default-queue").selectOption(queue.id);
  await tid("widget-save").click();
  await expectText(tid("widget-form").getByTestId("admin-saved"), "Saved.", "the saved notice");
  await expectText(tid("widget-snippet"), snippet(queue.id), "the snippet");
  await page.reload();
  await expectValue(tid("widget-origins"), origins.join("\n"), "the origins after a reload");
  await expectValue(tid("widget-default-queue"), queue.id, "the default queue after a reload");
  await expectText(tid("widget-snippet"), snippet(queue.id), "the snippet after a reload");

  journey.step("a supervisor does not get the widget page");
  {
    const p = await newPage("supervisor");
    await signInToInbox(p, supervisor.login, supervisor.password);
    await p.goto(base + "/#/admin/widget");
    await expectText(p.getByTestId("admin-section-forbidden"), "Your role may not open that page; here is one you may use.", "the not-allowed notice");
    await expectNone(p.getByTestId("widget-form"), "the widget's form");
    await expectNone(p.getByTestId("admin-nav-widget"), "the widget in the menu");
    await p.getByTestId("admin-nav-queues").click();
    await p.getByTestId("queue-" + queue.id).waitFor();
    await expectNone(p.getByTestId("queue-new"), "a supervisor's new queue button");
  }

  journey.check();
  console.log("ok: admin journey passed");
} catch (e) {
  await journey.fail(e);
} finally {
  await browser.close();
}
