// The foundation flow, as a person does it in the browser: sign up, edit the
// profile, change notification preferences, change the password, sign out,
// sign in with the new password, and meet a validation error on a bad form.
// Every page reached is screenshotted, audited with axe-core and validated
// with the Nu Html Checker (see lib/browser.mjs). It runs with JavaScript
// enabled and again with JavaScript disabled.
import assert from 'node:assert/strict';

import {
  NEW_PASSWORD,
  PASSWORD,
  accountNavLink,
  button,
  checkbox,
  expectAt,
  expectFieldError,
  expectFlash,
  expectFormError,
  expectHeading,
  expectSignedInChrome,
  expectSomeFlash,
  field,
  flashTexts,
} from './lib/gatehouse.mjs';
import { scenario } from './lib/scenario.mjs';

const NOTIFICATION_CHOICES = [
  'Security alerts by email',
  'Security alerts in app',
  'API key events by email',
  'API key events in app',
  'Organization membership changes by email',
  'Organization membership changes in app',
  'Product updates by email',
  'Product updates in app',
];
const TOGGLED = ['Product updates by email', 'API key events in app'];

const PROFILE = {
  'Display name': 'Ada King',
  'Contact phone': '+49 30 1234567',
  'Job title': 'Analytical engineer',
  'Time zone': 'Europe/Berlin',
};

async function expectProfile(page, expected) {
  for (const [label, value] of Object.entries(expected)) {
    assert.equal(await field(page, label).inputValue(), value, `the "${label}" field on ${page.url()}`);
  }
}

scenario('foundation', (s) => {
  const email = `ada.${s.mode.name}@example.com`;
  const expectedChoices = {};

  s.step('signs up and lands, signed in, on the account overview', async () => {
    const { page } = s;
    const signup = await s.open('/signup', 'signup');
    assert.equal(signup.status, 200, 'GET /signup');
    await field(page, 'Email').fill(email);
    await field(page, 'Display name').fill('Ada Lovelace');
    await field(page, 'Password').fill(PASSWORD);
    await field(page, 'Confirm password').fill(PASSWORD);
    const overview = await s.clickAndVisit(button(page, 'Create account'), 'account-overview');
    assert.equal(overview.status, 200);
    expectAt(page, '/account');
    await expectSomeFlash(page);
    await expectHeading(page, 'Account overview');
    await expectSignedInChrome(page);
  });

  s.step('edits the profile', async () => {
    const { page } = s;
    const profile = await s.clickAndVisit(accountNavLink(page, 'Profile'), 'profile');
    assert.equal(profile.status, 200);
    expectAt(page, '/account/profile');
    assert.equal(await field(page, 'Display name').inputValue(), 'Ada Lovelace', 'the display name given at sign-up');
    await field(page, 'Display name').fill(PROFILE['Display name']);
    await field(page, 'Contact phone').fill(PROFILE['Contact phone']);
    await field(page, 'Job title').fill(PROFILE['Job title']);
    await field(page, 'Time zone').selectOption(PROFILE['Time zone']);
    const saved = await s.clickAndVisit(button(page, 'Save profile'), 'profile-saved');
    assert.equal(saved.status, 200);
    await expectFlash(page, 'Profile saved.');

    const reloaded = await s.open('/account/profile', 'profile-reloaded');
    assert.equal(reloaded.status, 200);
    await expectProfile(page, PROFILE);
  });

  s.step('changes notification preferences', async () => {
    const { page } = s;
    const notifications = await s.clickAndVisit(accountNavLink(page, 'Notifications'), 'notifications');
    assert.equal(notifications.status, 200);
    expectAt(page, '/account/notifications');
    for (const name of NOTIFICATION_CHOICES) {
      assert.equal(await checkbox(page, name).count(), 1, `one checkbox named "${name}"`);
      expectedChoices[name] = await checkbox(page, name).isChecked();
    }
    const securityByEmail = checkbox(page, 'Security alerts by email');
    assert.ok(await securityByEmail.isChecked(), '"Security alerts by email" is checked');
    assert.ok(await securityByEmail.isDisabled(), '"Security alerts by email" cannot be turned off');

    for (const name of TOGGLED) {
      expectedChoices[name] = !expectedChoices[name];
      await checkbox(page, name).setChecked(expectedChoices[name]);
    }
    const saved = await s.clickAndVisit(button(page, 'Save preferences'), 'notifications-saved');
    assert.equal(saved.status, 200);
    await expectFlash(page, 'Notification preferences saved.');

    await s.open('/account/notifications', 'notifications-reloaded');
    for (const name of NOTIFICATION_CHOICES) {
      assert.equal(await checkbox(page, name).isChecked(), expectedChoices[name], `"${name}" after saving`);
    }
    assert.ok(await securityByEmail.isChecked(), '"Security alerts by email" is still checked');
    assert.ok(await securityByEmail.isDisabled(), '"Security alerts by email" is still disabled');
  });

  s.step('changes the password', async () => {
    const { page } = s;
    const security = await s.clickAndVisit(accountNavLink(page, 'Security'), 'security');
    assert.equal(security.status, 200);
    expectAt(page, '/account/security');
    const form = page.locator('form').filter({ has: button(page, 'Change password') });
    await form.getByLabel('Current password', { exact: true }).fill(PASSWORD);
    await form.getByLabel('New password', { exact: true }).fill(NEW_PASSWORD);
    await form.getByLabel('Confirm new password', { exact: true }).fill(NEW_PASSWORD);
    const changed = await s.clickAndVisit(button(page, 'Change password'), 'password-changed');
    assert.equal(changed.status, 200);
    await expectFlash(page, 'Password changed.', { startsWith: true });
  });

  s.step('signs out', async () => {
    const { page } = s;
    const signedOut = await s.clickAndVisit(button(page, 'Sign out'), 'signed-out');
    assert.equal(signedOut.status, 200);
    expectAt(page, '/login');
    await expectSomeFlash(page);

    // The account pages now ask for a sign-in.
    await page.goto(s.url('/account'));
    expectAt(page, '/login');
    await s.visit('login-required');
  });

  s.step('is refused with the old password', async () => {
    const { page } = s;
    await field(page, 'Email').fill(email);
    await field(page, 'Password').fill(PASSWORD);
    await s.clickAndVisit(button(page, 'Sign in'), 'login-wrong-password');
    expectAt(page, '/login');
    await expectFormError(page, 'Incorrect email or password.');
    assert.equal(await field(page, 'Password').inputValue(), '', 'the password is never sent back');
    assert.equal(await field(page, 'Email').inputValue(), email, 'the email is kept');
  });

  s.step('signs in with the new password', async () => {
    const { page } = s;
    await field(page, 'Email').fill(email);
    await field(page, 'Password').fill(NEW_PASSWORD);
    const overview = await s.clickAndVisit(button(page, 'Sign in'), 'signed-in');
    assert.equal(overview.status, 200);
    expectAt(page, '/account');
    await expectHeading(page, 'Account overview');
    await expectSignedInChrome(page);
  });

  s.step('sees a validation error on a bad profile form, and nothing changes', async (t) => {
    const { page } = s;
    await s.clickAndVisit(accountNavLink(page, 'Profile'), 'profile-again');
    expectAt(page, '/account/profile');
    await expectProfile(page, PROFILE);

    await field(page, 'Contact phone').fill('abc');
    await field(page, 'Job title').fill('Chief analytical engineer');
    const invalid = await s.clickAndVisit(button(page, 'Save profile'), 'profile-invalid');
    assert.equal(invalid.status, 422, 'a form with bad input answers 422');
    expectAt(page, '/account/profile');
    const { notes } = await expectFieldError(page, 'Contact phone');
    for (const note of notes) t.diagnostic(`note: ${note}`);
    await expectProfile(page, { ...PROFILE, 'Contact phone': 'abc', 'Job title': 'Chief analytical engineer' });
    assert.ok(!(await flashTexts(page)).some((f) => f.includes('Profile saved.')), 'no "Profile saved." on a rejected form');

    await s.open('/account/profile', 'profile-unchanged');
    await expectProfile(page, PROFILE);
  });
});
