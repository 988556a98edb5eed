// Steps shared by scenarios, done as a person does them in the browser:
// sign up, sign in, sign out, confirm access (sudo). And the API as a
// program calls it (Node's fetch, not the browser).
import assert from 'node:assert/strict';

import { PASSWORD, button, expectAt, expectHeading, expectSignedInChrome, expectSomeFlash, field } from './gatehouse.mjs';

/** Signs up at /signup and checks the signed-in account overview. */
export async function signUp(s, { email, displayName, password = PASSWORD }) {
  const { page } = s;
  const signup = await s.open('/signup', 'signup');
  assert.equal(signup.status, 200, 'GET /signup');
  await field(page, 'Email').fill(email);
  await field(page, 'Display name').fill(displayName);
  await field(page, 'Password').fill(password);
  await field(page, 'Confirm password').fill(password);
  const overview = await s.clickAndVisit(button(page, 'Create account'), 'account-overview');
  assert.equal(overview.status, 200);
  expectAt(page, '/account');
  await expectHeading(page, 'Account overview');
  await expectSignedInChrome(page);
}

/** Presses "Sign out" in the header and checks the sign-in page. */
export async function signOut(s, name = 'signed-out') {
  const { page } = s;
  const signedOut = await s.clickAndVisit(button(page, 'Sign out'), name);
  assert.equal(signedOut.status, 200);
  expectAt(page, '/login');
  await expectSomeFlash(page);
}

/** Fills the sign-in form (the browser must be at /login) and presses "Sign in". */
export async function submitSignIn(s, { email, password = PASSWORD }, name) {
  const { page } = s;
  expectAt(page, '/login');
  await field(page, 'Email').fill(email);
  await field(page, 'Password').fill(password);
  return await s.clickAndVisit(button(page, 'Sign in'), name);
}

/**
 * On "Confirm access" (/sudo): checks the page, enters the password (and a
 * code when given), presses "Confirm" and visits the page it leads back to.
 */
export async function confirmSudo(s, name, { password = PASSWORD, code } = {}) {
  const { page } = s;
  expectAt(page, '/sudo');
  await expectHeading(page, 'Confirm access');
  await field(page, 'Password').fill(password);
  if (code !== undefined) await field(page, 'Authentication code').fill(code);
  const back = await s.clickAndVisit(button(page, 'Confirm'), name);
  assert.equal(back.status, 200, `after "Confirm" on /sudo (now at ${page.url()})`);
  assert.notEqual(s.path(), '/sudo', 'the right password leaves "Confirm access"');
  return back;
}

/** The sudo banner (a region named "Sudo mode"). */
export function sudoBanner(page) {
  return page.getByRole('region', { name: 'Sudo mode', exact: true });
}

/** Asserts the sudo banner is shown, reading "Sudo mode is on until HH:MM UTC." with a "Leave sudo mode" button. */
export async function expectSudoBanner(page) {
  const banner = sudoBanner(page);
  assert.equal(await banner.count(), 1, `expected the sudo banner (a region named "Sudo mode") on ${page.url()}`);
  const text = (await banner.textContent()).replace(/\s+/g, ' ').trim();
  assert.match(text, /^Sudo mode is on until \d\d:\d\d UTC\./, `the sudo banner on ${page.url()}`);
  assert.equal(await banner.getByRole('button', { name: 'Leave sudo mode', exact: true }).count(), 1, 'a "Leave sudo mode" button in the banner');
}

/** Asserts no sudo banner is shown. */
export async function expectNoSudoBanner(page) {
  assert.equal(await sudoBanner(page).count(), 0, `expected no sudo banner on ${page.url()}`);
  assert.equal(await page.getByText('Sudo mode is on until').count(), 0, `expected no "Sudo mode is on until" on ${page.url()}`);
}

/**
 * `GET path` on this run's Gatehouse API with `Authorization: Bearer token`,
 * from Node (a program using its key, not the browser).
 */
export async function apiGet(s, path, token) {
  // Node may resolve "localhost" to ::1 first; the server listens on 127.0.0.1.
  const url = `http://127.0.0.1:${s.server.port}${path}`;
  const response = await fetch(url, {
    headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
    signal: AbortSignal.timeout(15_000),
  });
  const text = await response.text();
  let body = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: kept as text for the assertion messages
  }
  return { status: response.status, body };
}
