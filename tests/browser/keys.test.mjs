// API keys, as a person does it in the browser: sign up, go to "API keys",
// confirm access (sudo) to create a key, read it once, use it from a
// program, rotate its secret with a grace period, leave sudo mode and
// revoke the key. The API is called from Node (a program holding the key),
// not from the browser. Every page reached is screenshotted, audited with
// axe-core and validated with the Nu Html Checker; it runs with JavaScript
// enabled and again with JavaScript disabled.
import assert from 'node:assert/strict';

import { apiGet, confirmSudo, expectNoSudoBanner, expectSudoBanner, signUp, sudoBanner } from './lib/flows.mjs';
import { accountNavLink, button, checkbox, expectAt, expectFlash, expectHeading, field } from './lib/gatehouse.mjs';
import { scenario } from './lib/scenario.mjs';

const KEY_NAME = 'Nightly export job';
const SCOPES = ['profile:read', 'keys:read'];

const normalise = (text) => (text ?? '').replace(/\s+/g, ' ').trim();

/** The row of the keys table whose name link reads `name`. */
function keyRow(page, name) {
  return page.getByRole('row').filter({ has: page.getByRole('link', { name, exact: true }) });
}

/** The "Status" cell of `name`'s row in the keys table. */
async function listedStatus(page, name) {
  const row = keyRow(page, name);
  assert.equal(await row.count(), 1, `one row for the key "${name}" in the keys table on ${page.url()}`);
  const headers = (await page.getByRole('columnheader').allTextContents()).map(normalise);
  const column = headers.indexOf('Status');
  assert.ok(column >= 0, `a "Status" column in the keys table (columns: ${JSON.stringify(headers)})`);
  return normalise(await row.getByRole('cell').nth(column).textContent());
}

/** On the page that shows a key once: the read-only "API key" field and its warning. */
async function readShownKey(page) {
  const input = field(page, 'API key');
  assert.equal(await input.count(), 1, `a field labelled "API key" on ${page.url()}`);
  assert.ok(!(await input.isEditable()), 'the "API key" field is read-only');
  const statuses = (await page.getByRole('status').allTextContents()).map(normalise);
  assert.ok(
    statuses.some((t) => t.includes('It will not be shown again.')),
    `a warning (role=status) that the key will not be shown again; found ${JSON.stringify(statuses)}`,
  );
  const token = await input.inputValue();
  assert.match(token, /^gtk_\S+$/, 'the key shown is a Gatehouse key (gtk_…)');
  return token;
}

async function expectMeWorks(s, token, email, what) {
  const me = await apiGet(s, '/v1/me', token);
  assert.equal(me.status, 200, `GET /v1/me with ${what}: ${JSON.stringify(me.body)}`);
  assert.equal(me.body.email, email, `GET /v1/me with ${what} answers the owner's email`);
}

async function expectMeRefused(s, token, what, code) {
  const me = await apiGet(s, '/v1/me', token);
  assert.equal(me.status, 401, `GET /v1/me with ${what} after revocation: ${JSON.stringify(me.body)}`);
  assert.equal(me.body?.error?.code, code, `error.code of GET /v1/me with ${what}: ${JSON.stringify(me.body)}`);
}

scenario('keys', (s) => {
  const email = `grace.${s.mode.name}@example.com`;
  let firstKey = null;
  let rotatedKey = null;
  let keyPath = null;

  s.step('signs up', async () => {
    await signUp(s, { email, displayName: 'Grace Hopper' });
  });

  s.step('goes to "API keys" and is asked to confirm access before creating a key', async () => {
    const { page } = s;
    const keys = await s.clickAndVisit(accountNavLink(page, 'API keys'), 'keys-empty');
    assert.equal(keys.status, 200);
    expectAt(page, '/account/keys');
    await expectHeading(page, 'API keys');
    await expectNoSudoBanner(page);

    // The empty list offers the same link again; either one will do.
    const sudo = await s.clickAndVisit(page.getByRole('link', { name: 'Create a key', exact: true }).first(), 'sudo');
    assert.equal(sudo.status, 200);
    expectAt(page, '/sudo');
    assert.equal(new URL(page.url()).searchParams.get('next'), '/account/keys/new', 'sudo leads back to the form');

    await confirmSudo(s, 'key-new');
    expectAt(page, '/account/keys/new');
    await expectHeading(page, 'Create an API key');
    await expectSudoBanner(page);
  });

  s.step('creates a key and sees it once', async () => {
    const { page } = s;
    await field(page, 'Name').fill(KEY_NAME);
    for (const scope of SCOPES) {
      const box = page.getByLabel(scope, { exact: true });
      assert.equal(await box.count(), 1, `one field labelled "${scope}"`);
      await box.check();
      assert.ok(await checkbox(page, scope).isChecked(), `the checkbox "${scope}" is ticked`);
    }
    await page.getByLabel('30 days', { exact: true }).check();
    const shown = await s.clickAndVisit(button(page, 'Create key'), 'key-created');
    assert.equal(shown.status, 200);
    assert.match(s.path(), /^\/account\/keys\/[^/]+\/reveal$/);
    keyPath = s.path().replace(/\/reveal$/, '');
    await expectHeading(page, KEY_NAME);
    firstKey = await readShownKey(page);
  });

  s.step('uses the key from a program: GET /v1/me', async () => {
    await expectMeWorks(s, firstKey, email, 'the new key');
  });

  s.step('reloads the page: the key is no longer shown', async () => {
    const { page } = s;
    const reloaded = await s.open(`${keyPath}/reveal`, 'key-reveal-reloaded');
    assert.equal(reloaded.status, 200);
    assert.equal(await field(page, 'API key').count(), 0, 'no "API key" field after a reload');
    assert.ok(!reloaded.html.includes(firstKey), 'the key is nowhere in the reloaded page');
    const statuses = (await page.getByRole('status').allTextContents()).map(normalise);
    assert.ok(statuses.some((t) => t.includes('no longer displayed')), `a note that the secret is no longer displayed; found ${JSON.stringify(statuses)}`);
  });

  s.step('sees the key listed as "Active"', async () => {
    const { page } = s;
    const list = await s.clickAndVisit(page.getByRole('link', { name: 'Back to API keys', exact: true }), 'keys-one-active');
    assert.equal(list.status, 200);
    expectAt(page, '/account/keys');
    assert.equal(await listedStatus(page, KEY_NAME), 'Active');
    assert.ok(!list.html.includes(firstKey), 'the list does not show the key');
  });

  s.step('rotates the secret, the old one working for another hour', async () => {
    const { page } = s;
    const detail = await s.clickAndVisit(keyRow(page, KEY_NAME).getByRole('link', { name: KEY_NAME, exact: true }), 'key-detail');
    assert.equal(detail.status, 200);
    expectAt(page, keyPath);
    const details = normalise(await page.locator('dl').textContent());
    for (const scope of SCOPES) assert.ok(details.includes(scope), `the details list the scope ${scope}: ${details}`);

    const rotate = await s.clickAndVisit(page.getByRole('link', { name: 'Rotate secret', exact: true }), 'key-rotate');
    assert.equal(rotate.status, 200);
    expectAt(page, `${keyPath}/rotate`);
    await expectSudoBanner(page);
    await page.getByLabel('After 1 hour', { exact: true }).check();
    const shown = await s.clickAndVisit(button(page, 'Rotate secret'), 'key-rotated');
    assert.equal(shown.status, 200);
    expectAt(page, `${keyPath}/reveal`);
    rotatedKey = await readShownKey(page);
    assert.notEqual(rotatedKey, firstKey, 'rotation gives a new secret');

    await expectMeWorks(s, rotatedKey, email, 'the new secret');
    await expectMeWorks(s, firstKey, email, 'the old secret, within its hour of grace');
  });

  s.step('leaves sudo mode', async () => {
    const { page } = s;
    await s.open(keyPath, 'key-detail-sudo');
    await expectSudoBanner(page);
    const left = await s.clickAndVisit(sudoBanner(page).getByRole('button', { name: 'Leave sudo mode', exact: true }), 'sudo-left');
    assert.equal(left.status, 200);
    expectAt(page, keyPath);
    await expectFlash(page, 'Sudo mode ended.');
    await expectNoSudoBanner(page);

    // Rotating now asks for the password again.
    await s.clickAndVisit(page.getByRole('link', { name: 'Rotate secret', exact: true }), 'sudo-again');
    expectAt(page, '/sudo');
    await expectHeading(page, 'Confirm access');
    await expectNoSudoBanner(page);
  });

  s.step('revokes the key: programs are refused, the list says "Revoked"', async () => {
    const { page } = s;
    const detail = await s.open(keyPath, 'key-detail-before-revoke');
    assert.equal(detail.status, 200);
    const list = await s.clickAndVisit(button(page, 'Revoke key'), 'key-revoked');
    assert.equal(list.status, 200);
    expectAt(page, '/account/keys');
    await expectFlash(page, `The key “${KEY_NAME}” was revoked.`);
    assert.equal(await listedStatus(page, KEY_NAME), 'Revoked');

    await expectMeRefused(s, rotatedKey, 'the new secret', 'token_revoked');
    // A secret still in its rotation grace period is refused as revoked too.
    await expectMeRefused(s, firstKey, 'the old secret', 'token_revoked');
  });
});
