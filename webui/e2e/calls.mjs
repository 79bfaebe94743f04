// The calls journey in a real browser (Debian's chromium, driven by
// playwright-core): an agent's inbox while a caller rings, talks, is held
// and resumed, hangs up, and while another leaves a voicemail. Run by
// calls_test.go, which runs the hub in its own process and plays the
// voice channel on its bus at this script's request (POST CONTROL_URL/call,
// /answer, /end, /voicemail), and passes:
//   HOTLINE_URL              the hub: web app and API
//   CONTROL_URL              the test's voice channel
//   HOTLINE_LOGIN            the first-start admin's login (an agent with a phone line)
//   HOTLINE_PASSWORD         its password
//   CALL_CONVERSATION        the call's conversation id
//   PAST_CONVERSATION        an earlier call of the same caller (in the dossier)
//   CALLER                   the caller's number
//   VOICEMAIL_CONVERSATION   the voicemail case's conversation id
//   VOICEMAIL_CALLER         its caller's number
//   CHROMIUM_PATH            the browser binary
//   ARTIFACTS_DIR            where to save screenshots on failure
// It prints one line per step and exits non-zero with the reason, and what
// the page shows, on failure. Every wait is for a condition, bounded only
// so that a hang ends.
import { Journey, env, hubAPIError, launch, setAvailable, signIn } from "./lib.mjs";

const hubURL = env("HOTLINE_URL");
const controlURL = env("CONTROL_URL");
const admin = { login: env("HOTLINE_LOGIN"), password: env("HOTLINE_PASSWORD") };
const conv = env("CALL_CONVERSATION");
const past = env("PAST_CONVERSATION");
const caller = env("CALLER");
const vmConv = env("VOICEMAIL_CONVERSATION");
const vmCaller = env("VOICEMAIL_CALLER");

const journey = new Journey("calls", { timeout: 45_000, expected: hubAPIError(hubURL) });
const browser = await launch();

/** Asks the test's voice channel to play a step of the call. */
async function voice(step) {
  const res = await fetch(controlURL + "/" + step, { method: "POST" });
  if (res.status !== 204) throw new Error(`voice channel step ${step}: ${res.status} ${await res.text()}`);
}

/** The call bar of the open conversation: its state, texts and buttons. */
function callBar() {
  const c = document.querySelector('[data-testid="conversation"]');
  const bar = c?.querySelector('[data-testid="call-bar"]');
  return {
    id: c?.dataset.id ?? null,
    status: c?.dataset.status ?? null,
    state: bar?.getAttribute("data-state") ?? null,
    from: bar?.querySelector('[data-testid="call-from"]')?.textContent ?? "",
    pickUp: !!bar?.querySelector('[data-testid="call-pick-up"]'),
    hold: !!bar?.querySelector('[data-testid="call-hold"]:not([disabled])'),
    resume: !!bar?.querySelector('[data-testid="call-resume"]:not([disabled])'),
    log: [...(c?.querySelectorAll('[data-testid="call-entry"]') ?? [])].map((n) => n.getAttribute("data-kind")),
    alerts: [...document.querySelectorAll('[role="alert"]')].map((n) => n.textContent),
  };
}

/** Waits until the open conversation's call satisfies ok. */
async function barShows(page, what, ok) {
  return journey.until(`the call bar to show ${what}`, () => page.evaluate(callBar), ok);
}

/**
 * Loads the audio element matching selector and waits until the browser
 * has its metadata: a playable recording of some length.
 */
async function plays(page, selector) {
  await page.locator(selector).first().waitFor();
  await page.evaluate((sel) => document.querySelector(sel)?.load(), selector);
  return journey.until(
    `${selector} to load`,
    () =>
      page.evaluate((sel) => {
        const a = document.querySelector(sel);
        return a ? { readyState: a.readyState, duration: a.duration, error: a.error?.code ?? null, src: a.currentSrc } : null;
      }, selector),
    (a) => a && a.error === null && a.readyState >= 1 && Number.isFinite(a.duration) && a.duration > 0,
  );
}

try {
  const page = await journey.newPage(browser, "agent", { locale: "en-US" });

  journey.step("1. the agent signs in and becomes available");
  await signIn(page, hubURL, admin);
  await page.locator('[data-testid="nav-inbox"][aria-current="page"]').waitFor();
  await page.locator('[data-testid="connection"].live').waitFor();
  await setAvailable(page);

  journey.step("1. a caller reaches the queue; the agent's phone rings and the call pops up");
  await voice("call");
  await page.locator(`[data-testid="ringing-call"][data-id="${conv}"]`).waitFor();
  const ringing = await page.locator(`[data-testid="ringing-call"][data-id="${conv}"]`).innerText();
  if (!ringing.includes(caller)) throw new Error(`the ringing pop-up does not show the caller's number: ${ringing}`);
  // Nothing else open: the ringing call opens by itself.
  await barShows(page, "the ringing call", (b) => b.id === conv && b.state === "ringing" && b.from.includes(caller) && b.pickUp);
  await page.locator(`[data-testid="conv-${conv}"] [data-testid="offer-pick-up"]`).waitFor();
  if (await page.locator(`[data-testid="conv-${conv}"] [data-testid="offer-accept"]`).count()) {
    throw new Error("a ringing call offers Accept in the list: it is answered on the phone");
  }

  journey.step("1. the caller's dossier shows beside the ringing call, with the earlier call");
  await page.locator('[data-testid="dossier"] [data-testid="dossier-counts"]').waitFor();
  await page.locator(`[data-testid="dossier-open-call-${past}"]`).waitFor();
  const voiceCount = await page.locator('[data-testid="dossier-channel-voice"]').innerText();
  console.log(`ok: ringing call from ${caller} with the dossier (${voiceCount.trim()})`);

  journey.step("2. the agent picks up the phone: the call is answered");
  await voice("answer");
  await barShows(page, "the answered call", (b) => b.status === "assigned" && b.state === "answered" && b.hold && b.log.includes("answered"));
  await page.locator('[data-testid="transfer-open"]').waitFor();

  journey.step("2. Hold: the phone system holds the call");
  await page.click('[data-testid="call-hold"]');
  await barShows(page, "the held call", (b) => b.state === "held" && b.resume && b.log.includes("held"));
  await page.locator('[data-testid="call-time"]').waitFor();

  journey.step("2. Resume: caller and agent talk again");
  await page.click('[data-testid="call-resume"]');
  await barShows(page, "the resumed call", (b) => b.state === "answered" && b.hold && b.log.includes("resumed"));
  console.log("ok: answered, held and resumed");

  journey.step("3. the caller hangs up: the recording plays in the thread");
  await voice("end");
  await barShows(page, "the ended call", (b) => b.state === "ended" && b.log.includes("ended") && b.log.includes("recorded"));
  const rec = await plays(page, '[data-testid="call-entry"][data-kind="recorded"] [data-testid="recording-player"]');
  console.log(`ok: the recording plays (${rec.duration.toFixed(2)} s)`);

  journey.step("4. a voicemail case waits in the queue with the number and its message");
  await voice("voicemail");
  await page.click('[data-testid="tab-queues"]');
  const item = page.locator(`[data-testid="conv-${vmConv}"]`);
  await item.locator('[data-testid="call-badge"][data-case="voicemail"]').waitFor();
  const badge = await item.locator('[data-testid="call-badge"]').innerText();
  if (!badge.includes(vmCaller)) throw new Error(`the voicemail case does not show the number to call back: ${badge}`);
  await item.locator("a").first().click();
  await barShows(page, "the voicemail case", (b) => b.id === vmConv && b.state === "ended");
  await page.locator('[data-testid="call-case"] [data-testid="callback-number"]').waitFor();
  const vm = await plays(page, '[data-testid="call-bar"] [data-testid="voicemail-player"]');
  console.log(`ok: the voicemail plays (${vm.duration.toFixed(2)} s)`);

  journey.check();
  console.log("ok: calls journey passed");
} catch (e) {
  await journey.fail(e, `conversation ${conv}`);
} finally {
  await browser.close();
}
