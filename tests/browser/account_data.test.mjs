// Sessions, the data export page and account deletion, as a person does them
// in the browser. Every page reached is screenshotted, audited with axe-core
// and validated with the Nu Html Checker, with JavaScript on and off. (The
// export download itself is checked by the integration suite: a browser
// download is not a page to audit.)
import assert from 'node:assert/strict';

import {
  PASSWORD,
  accountNavLink,
  button,
  expectAt,
  expectFieldError,
  expectFlash,
  expectFormError,
  expectHeading,
  field,
} from './lib/gatehouse.mjs';
import { scenario } from './lib/scenario.mjs';

scenario('account-data', (s) => {
  const email = `grace.${s.mode.name}@example.com`;

  s.step('signs up and sees this session on the sessions page', async () => {
    const { page } = s;
    await s.open('/signup', 'signup');
    await field(page, 'Email').fill(email);
    await field(page, 'Display name').fill('Grace Hopper');
    await field(page, 'Password').fill(PASSWORD);
    await field(page, 'Confirm password').fill(PASSWORD);
    await s.clickAndVisit(button(page, 'Create account'), 'account-overview');
    expectAt(page, '/account');
    const sessions = await s.clickAndVisit(accountNavLink(page, 'Sessions'), 'sessions');
    assert.equal(sessions.status, 200);
    await expectHeading(page, 'Sessions');
    assert.equal(await page.locator('.badge-this-device').count(), 1);
  });

  s.step('reads what the data export contains', async () => {
    const { page } = s;
    const exportPage = await s.clickAndVisit(accountNavLink(page, 'Export data'), 'export');
    assert.equal(exportPage.status, 200);
    await expectHeading(page, 'Export your data');
    assert.equal(await button(page, 'Download my data').count(), 1);
  });

  s.step('is refused deletion with a wrong password, then deletes the account', async () => {
    const { page } = s;
    const del = await s.clickAndVisit(accountNavLink(page, 'Delete account'), 'delete');
    assert.equal(del.status, 200);
    await expectHeading(page, 'Delete your account');
    await field(page, 'Current password').fill('Wrong-Password-123!');
    const refused = await s.clickAndVisit(button(page, 'Delete my account'), 'delete-refused');
    assert.equal(refused.status, 422);
    await expectFieldError(page, 'Current password');
    await field(page, 'Current password').fill(PASSWORD);
    const deleted = await s.clickAndVisit(button(page, 'Delete my account'), 'deleted');
    assert.equal(deleted.status, 200);
    expectAt(page, '/account/deleted');
    await expectHeading(page, 'Account deleted');
    await expectFlash(page, 'Your account has been deleted.', { startsWith: true });
  });

  s.step('is signed out, and the old password fails', async () => {
    const { page } = s;
    await page.goto(s.url('/account'));
    expectAt(page, '/login');
    await field(page, 'Email').fill(email);
    await field(page, 'Password').fill(PASSWORD);
    await s.clickAndVisit(button(page, 'Sign in'), 'login-after-deletion');
    expectAt(page, '/login');
    await expectFormError(page, 'Incorrect email or password.');
  });
});
