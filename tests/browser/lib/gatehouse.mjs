// Gatehouse's page contract, as seen by a person using the browser: flash
// messages, the signed-in header and side navigation, field errors.
import assert from 'node:assert/strict';

/** Strong passwords (12–128 characters, zxcvbn score ≥ 3). */
export const PASSWORD = 'Correct-Horse-Battery-42!';
export const NEW_PASSWORD = 'Another-Strong-Passphrase-77';

const normalise = (text) => (text ?? '').replace(/\s+/g, ' ').trim();

/** The text of every flash message on the page. */
export async function flashTexts(page) {
  return (await page.locator('.flash').allTextContents()).map(normalise);
}

/**
 * Asserts a success flash (element `.flash`, announced as role=status) whose
 * text contains `text` (or, with `startsWith`, begins with it).
 */
export async function expectFlash(page, text, { startsWith = false } = {}) {
  const flashes = await flashTexts(page);
  const matches = flashes.filter((f) => (startsWith ? f.startsWith(text) : f.includes(text)));
  assert.ok(
    matches.length > 0,
    `expected a flash message ${startsWith ? 'beginning with' : 'containing'} "${text}" on ${page.url()}; flash messages: ${JSON.stringify(flashes)}`,
  );
  const statuses = (await page.getByRole('status').allTextContents()).map(normalise);
  assert.ok(
    statuses.some((s) => s.includes(text)),
    `the flash "${matches[0]}" on ${page.url()} is not inside an element with role=status (role=status texts: ${JSON.stringify(statuses)})`,
  );
}

/** Asserts that a flash message is shown (element `.flash` inside role=status), whatever its text. */
export async function expectSomeFlash(page) {
  const flashes = (await flashTexts(page)).filter((f) => f.length > 0);
  assert.ok(flashes.length > 0, `expected a flash message on ${page.url()}`);
  await expectFlash(page, flashes[0]);
}

/** Asserts an error shown in `.flash-error` or `.form-error` containing `text`. */
export async function expectFormError(page, text) {
  const errors = (await page.locator('.flash-error, .form-error').allTextContents()).map(normalise);
  assert.ok(
    errors.some((e) => e.includes(text)),
    `expected "${text}" in a .flash-error or .form-error on ${page.url()}; found ${JSON.stringify(errors)}`,
  );
}

/** Asserts the page's (only) h1 reads `text`. */
export async function expectHeading(page, text) {
  const headings = (await page.getByRole('heading', { level: 1 }).allTextContents()).map(normalise);
  assert.deepEqual(headings, [text], `expected one h1 "${text}" on ${page.url()}; found ${JSON.stringify(headings)}`);
}

/** Asserts the browser is at `pathname` (query ignored). */
export function expectAt(page, pathname) {
  const url = new URL(page.url());
  assert.equal(url.pathname, pathname, `expected to be at ${pathname}, but the browser is at ${page.url()}`);
}

/** The side navigation of the signed-in pages. */
export function accountNav(page) {
  return page.getByRole('navigation', { name: 'Account' });
}

/** A link of the side navigation, by its text. */
export function accountNavLink(page, text) {
  return accountNav(page).getByRole('link', { name: text, exact: true });
}

/** Asserts the signed-in chrome: a "Sign out" button and the side navigation. */
export async function expectSignedInChrome(page) {
  assert.equal(await page.getByRole('button', { name: 'Sign out', exact: true }).count(), 1, `expected one "Sign out" button on ${page.url()}`);
  for (const link of ['Overview', 'Profile', 'Notifications', 'Security']) {
    assert.equal(await accountNavLink(page, link).count(), 1, `expected a "${link}" link in the navigation labelled "Account" on ${page.url()}`);
  }
}

/** A form field by its visible label (exact match). */
export function field(page, label) {
  return page.getByLabel(label, { exact: true });
}

/** A button by its text (exact match). */
export function button(page, name) {
  return page.getByRole('button', { name, exact: true });
}

/** A checkbox by its accessible name (exact match). */
export function checkbox(page, name) {
  return page.getByRole('checkbox', { name, exact: true });
}

/**
 * Asserts that `label`'s field is flagged invalid: aria-invalid="true" and a
 * `.field-error` message on the page. Returns the message text. Where the
 * message is not tied to the field by aria-describedby, a note is returned
 * in `notes` (WCAG 3.3.1 is better served when it is).
 */
export async function expectFieldError(page, label) {
  const input = field(page, label);
  assert.equal(await input.getAttribute('aria-invalid'), 'true', `expected aria-invalid="true" on the "${label}" field at ${page.url()}`);
  const errors = (await page.locator('.field-error').allTextContents()).map(normalise).filter(Boolean);
  assert.ok(errors.length > 0, `expected a .field-error message on ${page.url()}`);
  const notes = [];
  const describedBy = (await input.getAttribute('aria-describedby')) ?? '';
  let message = errors[0];
  const described = [];
  for (const id of describedBy.split(/\s+/).filter(Boolean)) {
    const target = page.locator(`[id="${id}"]`);
    if ((await target.count()) === 1) described.push(normalise(await target.textContent()));
  }
  const linked = errors.find((e) => described.some((d) => d.includes(e)));
  if (linked) {
    message = linked;
  } else {
    notes.push(`the "${label}" field's .field-error message is not referenced by its aria-describedby (${JSON.stringify(describedBy)})`);
  }
  return { message, notes };
}
