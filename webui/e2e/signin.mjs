// The sign-in journey in a real browser (Debian's chromium, driven by
// playwright-core). Run by e2e_test.go, which starts Hotline and passes:
//   HOTLINE_URL        the UI's base URL
//   HOTLINE_LOGIN      the first-start admin's login
//   HOTLINE_PASSWORD   its password
//   CHROMIUM_PATH      the browser binary
//   USER_DATA_DIR      a fresh, empty profile directory
//   ARTIFACTS_DIR      optional: where to write screenshots of the main
//                      screens, and of the page on failure
// It prints one line per step and exits non-zero with the reason on failure.
// What it shares with the other journeys is in lib.mjs.
import { Journey, env, launchPersistent, submitSignIn } from "./lib.mjs";
import { join } from "node:path";

const base = env("HOTLINE_URL");
const loginName = env("HOTLINE_LOGIN");
const password = env("HOTLINE_PASSWORD");
const newPassword = "e2e-" + password + "-changed";
const timeout = 20_000;

// Anything the page logs as an error (a CSP violation, an exception, a
// failed script) fails the test, except the 401 the app expects from
// GET /api/v1/auth/me and failed logins, which the console reports as
// failed resource loads.
const journey = new Journey("signin", {
  timeout,
  expected: (m) => /Failed to load resource: the server responded with a status of (401|403)/.test(m.text()),
});
const context = await launchPersistent(env("USER_DATA_DIR"), { locale: "en-US" });
context.setDefaultTimeout(timeout);
const page = journey.watch("admin", context.pages()[0] ?? (await context.newPage()));

/** Waits until selector's text is exactly want. */
async function expectText(selector, want) {
  const loc = page.locator(selector).first();
  try {
    await page.waitForFunction(
      ([sel, w]) => document.querySelector(sel)?.textContent?.trim() === w,
      [selector, want],
      { timeout },
    );
  } catch {
    const have = (await loc.count()) ? await loc.textContent() : "(absent)";
    throw new Error(`${selector}: want ${JSON.stringify(want)}, have ${JSON.stringify(have)}`);
  }
}

/** Saves a screenshot when ARTIFACTS_DIR is set, for a human to look at. */
async function shot(name) {
  const dir = process.env.ARTIFACTS_DIR;
  if (dir) await page.screenshot({ path: join(dir, name + ".png"), fullPage: true });
}

/** Submits the sign-in form with the admin's login and pw. */
function signIn(pw) {
  return submitSignIn(page, { login: loginName, password: pw });
}

try {
  journey.step("open the sign-in page");
  await page.goto(base + "/");
  await expectText("h1", "Sign in to Hotline");
  await shot("1-signin");

  journey.step("a wrong password shows the error in the chosen language");
  await page.selectOption('select[name="lang"]', "fr");
  await expectText("h1", "Connexion à Hotline");
  await signIn("not-the-password");
  await expectText('[data-testid="signin-error"]', "Identifiant ou mot de passe incorrect.");
  await page.selectOption('select[name="lang"]', "en");
  await expectText('[data-testid="signin-error"]', "Wrong login or password.");
  await shot("2-signin-error");

  journey.step("sign in as the admin");
  await signIn(password);
  await expectText('[data-testid="display-name"]', "Administrator");
  await expectText('[data-testid="role"]', "Administrator · Hub operator");
  await expectText('[data-testid="signout"]', "Sign out");
  await expectText('[data-testid="nav-inbox"]', "Inbox");
  await expectText('[data-testid="nav-admin"]', "Administration");
  await shot("3-shell");

  journey.step("change the password");
  await page.click("text=Change password");
  await page.fill('input[name="current_password"]', "not-the-password");
  await page.fill('input[name="new_password"]', newPassword);
  await page.fill('input[name="confirm_password"]', newPassword);
  await page.click('dialog button[type="submit"]');
  await expectText('dialog [role="alert"]', "The current password is wrong.");
  await shot("4-password-dialog");
  await page.fill('input[name="current_password"]', password);
  await page.click('dialog button[type="submit"]');
  await expectText('dialog [role="status"]', "Your password has been changed; your other sessions have been signed out.");
  await page.click('dialog button.secondary');
  await page.locator("dialog").waitFor({ state: "detached" });

  journey.step("switch to Russian");
  await page.selectOption('select[name="lang"]', "ru");
  await expectText('[data-testid="signout"]', "Выйти");
  await expectText('[data-testid="role"]', "Администратор · Оператор платформы");
  // The app sets <html lang> in an effect, after the render that showed
  // the Russian text: wait for it rather than read it once.
  try {
    await page.waitForFunction(() => document.documentElement.lang === "ru", null, { timeout });
  } catch {
    throw new Error(`html lang is ${JSON.stringify(await page.getAttribute("html", "lang"))}, not "ru"`);
  }
  await shot("5-shell-ru");

  journey.step("reload: still signed in, still in Russian");
  await page.reload();
  await expectText('[data-testid="display-name"]', "Administrator");
  await expectText('[data-testid="signout"]', "Выйти");

  journey.step("sign out");
  await page.click('[data-testid="signout"]');
  await expectText("h1", "Вход в Hotline");
  await expectText('[data-testid="signin-notice"]', "Вы вышли из системы.");

  journey.step("reload: still signed out");
  await page.reload();
  await expectText("h1", "Вход в Hotline");

  journey.step("the old password no longer works, the new one does");
  await signIn(password);
  await expectText('[data-testid="signin-error"]', "Неверный логин или пароль.");
  await signIn(newPassword);
  await expectText('[data-testid="display-name"]', "Administrator");

  journey.step("a session that ended elsewhere returns to the sign-in page");
  // The inbox starts with a burst of calls (lists, presence, directory,
  // and again once its socket opens); let it settle first.
  await page.locator('[data-testid="connection"].live').waitFor();
  await page.locator('[data-testid="load"]').waitFor();
  await context.clearCookies();
  // From now on every call answers 401. The inbox may still make one of
  // its own and return to the sign-in page first; otherwise the password
  // change does.
  const signinNotice = page.locator('[data-testid="signin-notice"]');
  await page.locator('[data-testid="signin-notice"], button:has-text("Сменить пароль")').first().waitFor();
  if ((await signinNotice.count()) === 0) {
    await page.click("text=Сменить пароль");
    await page.fill('input[name="current_password"]', newPassword);
    await page.fill('input[name="new_password"]', newPassword + "-again");
    await page.fill('input[name="confirm_password"]', newPassword + "-again");
    await page.click('dialog button[type="submit"]');
  }
  await expectText('[data-testid="signin-notice"]', "Ваш сеанс завершён. Войдите снова.");

  journey.check();
  console.log("ok: sign-in journey passed");
} catch (e) {
  await journey.fail(e);
} finally {
  await context.close();
}
