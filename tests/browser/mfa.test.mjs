// Two-factor authentication, as a person does it in the browser: sign up,
// set up an authenticator app from the security page (confirming access
// first), keep the backup codes, then sign in with a code from the app and,
// another time, with a backup code. The test computes the app's codes itself
// (RFC 6238, lib/totp.mjs). Every page reached is screenshotted, audited with
// axe-core and validated with the Nu Html Checker; it runs with JavaScript
// enabled and again with JavaScript disabled.
//
// The server refuses a code whose 30-second step was already used, so the
// sign-in after enrolment may wait for the next step (at most 30 s).
import assert from 'node:assert/strict';
import { it } from 'node:test';

import { clickAndWait } from './lib/browser.mjs';
import { confirmSudo, signOut, signUp, submitSignIn } from './lib/flows.mjs';
import {
  accountNavLink,
  button,
  expectAt,
  expectFieldError,
  expectFlash,
  expectHeading,
  expectSignedInChrome,
  field,
} from './lib/gatehouse.mjs';
import { scenario } from './lib/scenario.mjs';
import { freshTotp, hotp } from './lib/totp.mjs';

const BACKUP_CODE = /^[2-9a-hjkmnp-z]{4}-[2-9a-hjkmnp-z]{4}-[2-9a-hjkmnp-z]{4}$/;

const normalise = (text) => (text ?? '').replace(/\s+/g, ' ').trim();

it('computes TOTP codes as RFC 6238 appendix B does (SHA1)', () => {
  const key = Buffer.from('12345678901234567890');
  const vectors = [
    [59, '94287082'],
    [1_111_111_109, '07081804'],
    [1_111_111_111, '14050471'],
    [1_234_567_890, '89005924'],
    [2_000_000_000, '69279037'],
    [20_000_000_000, '65353130'],
  ];
  for (const [time, expected] of vectors) {
    assert.equal(hotp(key, Math.floor(time / 30), 8), expected, `T=${time}`);
  }
});

/** The "Two-factor authentication" section of the security page. */
function mfaSection(page) {
  return page.getByRole('region', { name: 'Two-factor authentication', exact: true });
}

async function mfaSectionText(page) {
  const section = mfaSection(page);
  assert.equal(await section.count(), 1, `a section named "Two-factor authentication" on ${page.url()}`);
  return normalise(await section.textContent());
}

/** At /login/mfa: the challenge page asking for "Authentication code". */
async function expectChallenge(s) {
  const { page } = s;
  expectAt(page, '/login/mfa');
  await expectHeading(page, 'Two-factor authentication');
  assert.equal(await field(page, 'Authentication code').count(), 1, 'a field labelled "Authentication code"');
  assert.equal(await page.getByRole('button', { name: 'Sign out', exact: true }).count(), 0, 'not signed in yet');
}

/** Enters `code` on the challenge page, presses "Verify" and checks the signed-in overview. */
async function passChallenge(s, code, name) {
  const { page } = s;
  await field(page, 'Authentication code').fill(code);
  const overview = await s.clickAndVisit(button(page, 'Verify'), name);
  assert.equal(overview.status, 200, `after "Verify" (now at ${page.url()})`);
  expectAt(page, '/account');
  await expectHeading(page, 'Account overview');
  await expectSignedInChrome(page);
}

scenario('mfa', (s) => {
  const email = `katherine.${s.mode.name}@example.com`;
  let secret = null;
  let enrolmentCode = null;
  let usedStep = -1;
  let backupCodes = [];

  s.step('signs up', async () => {
    await signUp(s, { email, displayName: 'Katherine Johnson' });
  });

  s.step('sets up an authenticator app and keeps the backup codes', async () => {
    const { page } = s;
    const security = await s.clickAndVisit(accountNavLink(page, 'Security'), 'security');
    assert.equal(security.status, 200);
    expectAt(page, '/account/security');
    assert.match(await mfaSectionText(page), /\bOff\b/, 'two-factor authentication is off');

    await clickAndWait(page, button(page, 'Set up authenticator app'));
    if (s.path() === '/sudo') {
      await s.visit('sudo');
      // (The button submits an empty GET form, so `next` may end in "?".)
      const next = new URL(new URL(page.url()).searchParams.get('next') ?? '', page.url());
      assert.equal(next.pathname, '/account/security/mfa/setup', 'sudo leads back to the setup');
      await confirmSudo(s, 'mfa-setup');
    } else {
      await s.visit('mfa-setup');
    }
    expectAt(page, '/account/security/mfa/setup');
    await expectHeading(page, 'Set up two-factor authentication');

    secret = (await page.locator('#totp-secret').textContent()).replace(/\s+/g, '');
    assert.match(secret, /^[A-Z2-7]{32}$/, 'a 160-bit setup key in base 32');

    const { code, step } = await freshTotp(secret);
    await field(page, 'Authentication code').fill(code);
    const codesPage = await s.clickAndVisit(button(page, 'Verify and turn on'), 'backup-codes');
    assert.equal(codesPage.status, 200, `after "Verify and turn on" (now at ${page.url()})`);
    enrolmentCode = code;
    usedStep = step;
    expectAt(page, '/account/security/mfa/backup-codes');
    await expectFlash(page, 'Two-factor authentication is on.');

    backupCodes = (await page.locator('ul.backup-codes li').allTextContents()).map(normalise);
    assert.equal(backupCodes.length, 10, `ten backup codes: ${JSON.stringify(backupCodes)}`);
    for (const c of backupCodes) assert.match(c, BACKUP_CODE, 'a backup code');
    assert.equal(new Set(backupCodes).size, 10, 'ten different backup codes');

    await s.clickAndVisit(page.getByRole('link', { name: 'I have saved my backup codes', exact: true }), 'security-mfa-on');
    expectAt(page, '/account/security');
    const text = await mfaSectionText(page);
    assert.match(text, /\bOn\b/, `two-factor authentication is on: ${text}`);
    assert.ok(text.includes('You have 10 unused backup codes.'), `ten backup codes left: ${text}`);
  });

  s.step('signs out and in again with a code from the app', async (t) => {
    const { page } = s;
    await signOut(s);
    const challenge = await submitSignIn(s, { email }, 'mfa-challenge');
    assert.equal(challenge.status, 200);
    await expectChallenge(s);

    // The code used to turn MFA on cannot be used again.
    await field(page, 'Authentication code').fill(enrolmentCode);
    const refused = await s.clickAndVisit(button(page, 'Verify'), 'mfa-challenge-replayed');
    assert.equal(refused.status, 422, 'a used code is refused with 422');
    await expectChallenge(s);
    const { message, notes } = await expectFieldError(page, 'Authentication code');
    for (const note of notes) t.diagnostic(`note: ${note}`);
    assert.ok(message.includes('already used'), `the error says why: ${message}`);

    const started = Date.now();
    const { code, step } = await freshTotp(secret, usedStep);
    t.diagnostic(`waited ${Date.now() - started} ms for a fresh 30-second step`);
    usedStep = step;
    await passChallenge(s, code, 'signed-in-with-totp');
  });

  s.step('signs out and in again with a backup code', async () => {
    const { page } = s;
    await signOut(s);
    const challenge = await submitSignIn(s, { email }, 'mfa-challenge-again');
    assert.equal(challenge.status, 200);
    await expectChallenge(s);
    await passChallenge(s, backupCodes[0], 'signed-in-with-backup-code');

    const security = await s.clickAndVisit(accountNavLink(page, 'Security'), 'security-one-code-used');
    assert.equal(security.status, 200);
    const text = await mfaSectionText(page);
    assert.ok(text.includes('You have 9 unused backup codes.'), `nine backup codes left: ${text}`);
  });
});
