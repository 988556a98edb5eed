// Passkeys, as a person uses them in Chromium: add one on the security page
// (confirming access first), sign out, sign in with the passkey alone, and
// confirm sudo mode with it. The authenticator is Chromium's virtual one,
// attached over the DevTools protocol (WebAuthn domain); WebAuthn needs a
// secure context, which http://localhost is (an IP address is not), and the
// server's public URL is that localhost address. Every page is audited with
// axe-core and the Nu checker. With JavaScript disabled the page says what
// to do instead, and the passkey button stays disabled.
import assert from 'node:assert/strict';

import { clickAndWait } from './lib/browser.mjs';
import { confirmSudo, signOut, signUp } from './lib/flows.mjs';
import { accountNavLink, button, expectAt, expectFlash, expectHeading, expectSignedInChrome, field } from './lib/gatehouse.mjs';
import { scenario } from './lib/scenario.mjs';

/** A platform authenticator that holds discoverable credentials and verifies the user. */
async function attachAuthenticator(s) {
  const cdp = await s.context.newCDPSession(s.page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
    },
  });
  return { cdp, authenticatorId };
}

scenario('passkeys', (s) => {
  const email = `grace.${s.mode.name}@example.com`;
  const js = s.mode.javaScriptEnabled;
  let authenticator = null;

  s.step('signs up', async () => {
    await signUp(s, { email, displayName: 'Grace Hopper' });
    if (js) authenticator = await attachAuthenticator(s);
  });

  s.step('adds a passkey from the security page after confirming access', async () => {
    const { page } = s;
    await s.clickAndVisit(accountNavLink(page, 'Security'), 'security');
    await clickAndWait(page, button(page, 'Add a passkey'));
    await s.visit('sudo');
    await confirmSudo(s, 'passkey-new');
    expectAt(page, '/account/security/passkeys/new');
    await expectHeading(page, 'Add a passkey');
    const create = button(page, 'Create passkey');
    if (!js) {
      // The ceremony is JavaScript's; the page says so and keeps the
      // button disabled.
      assert.match(await page.locator('[data-passkey-nojs]').textContent(), /Passkeys need JavaScript/);
      assert.equal(await create.isDisabled(), true, 'no passkey button without JavaScript');
      return;
    }
    assert.equal(await field(page, 'Name').inputValue(), '', 'the name starts empty');
    await field(page, 'Name').fill('This laptop');
    const back = await s.clickAndVisit(create, 'security-with-passkey');
    assert.equal(back.status, 200);
    expectAt(page, '/account/security');
    await expectFlash(page, 'Passkey \u201cThis laptop\u201d added. You can now sign in with it.');
    const { credentials } = await authenticator.cdp.send('WebAuthn.getCredentials', {
      authenticatorId: authenticator.authenticatorId,
    });
    assert.equal(credentials.length, 1, 'one credential on the authenticator');
    assert.equal(credentials[0].isResidentCredential, true, 'a discoverable credential');
    const table = page.getByRole('table', { name: 'Your passkeys' });
    assert.equal(await table.count(), 1);
    assert.equal(await page.getByLabel('Name of passkey This laptop', { exact: true }).inputValue(), 'This laptop');
  });

  s.step('signs out and signs in with the passkey alone', async () => {
    if (!js) return;
    const { page } = s;
    await signOut(s);
    const overview = await s.clickAndVisit(button(page, 'Sign in with a passkey'), 'signed-in-with-passkey');
    assert.equal(overview.status, 200);
    expectAt(page, '/account');
    await expectSignedInChrome(page);
  });

  s.step('confirms sudo mode with the passkey', async () => {
    if (!js) return;
    const { page } = s;
    await s.clickAndVisit(accountNavLink(page, 'Security'), 'security-again');
    await clickAndWait(page, button(page, 'Add a passkey'));
    await s.visit('sudo-with-passkey');
    expectAt(page, '/sudo');
    // A passkey-only account confirms with the passkey, not the password.
    assert.equal(await field(page, 'Password').count(), 0, 'no password field for a passkey-only account');
    const back = await s.clickAndVisit(button(page, 'Confirm with a passkey'), 'passkey-new-again');
    assert.equal(back.status, 200);
    expectAt(page, '/account/security/passkeys/new');
  });

  s.step('creates an organization and requires passkeys of its members', async () => {
    if (!js) return;
    const { page } = s;
    await s.clickAndVisit(accountNavLink(page, 'Organizations'), 'account-orgs');
    await field(page, 'Organization name').fill('Harvard Mark I');
    await field(page, 'Address').fill('mark-one');
    await s.clickAndVisit(button(page, 'Create organization'), 'org-overview');
    expectAt(page, '/orgs/mark-one');
    await s.open('/orgs/mark-one/settings', 'org-settings');
    const box = page.getByLabel('Require a phishing-resistant factor (passkeys) for members', { exact: true });
    assert.equal(await box.isChecked(), false, 'off by default');
    await box.check();
    const saved = await s.clickAndVisit(button(page, 'Save policies'), 'org-settings-saved');
    assert.equal(saved.status, 200);
    await expectFlash(page, 'Policies saved.');
    assert.equal(await page.getByLabel('Require a phishing-resistant factor (passkeys) for members', { exact: true }).isChecked(), true);
    // She has a passkey, so the org's pages stay open to her.
    const overview = await s.open('/orgs/mark-one', 'org-overview-with-policy');
    assert.equal(overview.status, 200);
    expectAt(page, '/orgs/mark-one');
  });
});
