// The operator console, as a support person uses it: made an operator on the
// command line, confirms sudo mode, creates an account on someone's behalf,
// its set-up link arriving by email instead of a password on screen,
// looks at it (giving a reason), uses the support tools (a password change
// required, sign out everywhere), disables it, meets the "reason required"
// error, reads the audit log, and deletes the account after confirming. Every page is screenshotted, audited with
// axe-core and validated with the Nu Html Checker, with JavaScript on and off.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';

import {
  PASSWORD,
  button,
  expectAt,
  expectFieldError,
  expectFlash,
  expectFormError,
  expectHeading,
  field,
} from './lib/gatehouse.mjs';
import { linkInMail } from './lib/mailbox.mjs';
import { gatehouseBin } from './lib/paths.mjs';
import { scenario } from './lib/scenario.mjs';

function opsNavLink(page, text) {
  return page.getByRole('navigation', { name: 'Operator console' }).getByRole('link', { name: text, exact: true });
}

// A user's page has one reason field per action: each form is found by the
// heading it sits under.
function sectionTitled(page, heading) {
  return page.locator('section', { has: page.getByRole('heading', { name: heading, exact: true, level: 2 }) });
}

function supportForm(page, title) {
  return page.locator('form', { has: page.getByRole('heading', { name: title, exact: true, level: 3 }) });
}

scenario('ops', (s) => {
  const email = `olga.${s.mode.name}@example.com`;
  const customer = `alan.${s.mode.name}@example.com`;

  s.step('is made an operator on the command line and enters the console through sudo', async () => {
    const { page } = s;
    await s.open('/signup', 'signup');
    await field(page, 'Email').fill(email);
    await field(page, 'Display name').fill('Olga Operator');
    await field(page, 'Password').fill(PASSWORD);
    await field(page, 'Confirm password').fill(PASSWORD);
    await s.clickAndVisit(button(page, 'Create account'), 'account-overview');
    assert.equal((await s.open('/ops', 'ops-as-non-operator')).status, 404, 'the console is hidden from non-operators');
    execFileSync(gatehouseBin, ['operator', 'grant', email, '--database-url', s.server.databaseUrl]);
    await s.open('/ops', 'sudo');
    expectAt(page, '/sudo');
    await field(page, 'Password').fill(PASSWORD);
    await s.clickAndVisit(button(page, 'Confirm'), 'ops-overview');
    expectAt(page, '/ops');
    await expectHeading(page, 'Operator console');
    assert.ok((await page.getByText('Protect your operator account with MFA').count()) === 1, 'the MFA banner');
  });

  s.step('creates an account, needing a reason', async () => {
    const { page } = s;
    await s.clickAndVisit(opsNavLink(page, 'Create an account'), 'ops-account-new');
    await field(page, 'Email address').fill(customer);
    await field(page, 'Display name').fill('Alan Turing');
    const refused = await s.clickAndVisit(button(page, 'Create account'), 'ops-account-no-reason');
    assert.equal(refused.status, 422);
    await expectFieldError(page, 'Reason');
    await field(page, 'Reason').fill('Ticket 99: cannot sign up from the kiosk');
    await s.clickAndVisit(button(page, 'Create account'), 'ops-account-created');
    await expectHeading(page, 'Account created');
    // No password is shown: the person gets a set-up link by email.
    assert.ok((await page.getByText(`was emailed to ${customer}`).count()) > 0, 'the page names the address');
    assert.equal(await page.getByLabel('Initial password').count(), 0, 'no password on the page');
    const link = await linkInMail(s.server, customer, '/password/setup/');
    assert.ok(link.includes('/password/setup/'));
  });

  s.step('finds the account, says why and looks at it', async () => {
    const { page } = s;
    await s.clickAndVisit(opsNavLink(page, 'Users'), 'ops-users');
    await field(page, 'Search by email or name').fill('turing');
    await s.clickAndVisit(button(page, 'Search'), 'ops-users-search');
    await s.clickAndVisit(page.getByRole('link', { name: customer, exact: true }), 'ops-user-gate');
    await field(page, 'Reason').fill('Ticket 99 follow-up');
    await s.clickAndVisit(button(page, 'Show details'), 'ops-user-detail');
    await expectHeading(page, 'Alan Turing Active');
  });

  s.step('requires a password change and signs the user out everywhere, each with a reason', async () => {
    const { page } = s;
    const title = 'Require a password change at next sign-in';
    const refused = await s.clickAndVisit(button(supportForm(page, title), 'Require password change'), 'ops-support-no-reason');
    assert.equal(refused.status, 422);
    await expectFormError(page, 'Nothing was changed');
    const reason = field(supportForm(page, title), 'Reason');
    assert.equal(await reason.getAttribute('aria-invalid'), 'true', 'the refused form marks its reason');
    assert.equal(await page.locator('.field-error').count(), 1, 'only the refused form shows the error');
    await reason.fill('Ticket 99: the person asked to choose a new one');
    await s.clickAndVisit(button(supportForm(page, title), 'Require password change'), 'ops-support-password-change');
    // A set-up account has no forced change yet (the person chooses their own password).
    await expectFlash(page, 'must change their password at next sign-in');
    const signOut = supportForm(page, 'Sign out everywhere (every session, pending sign-ins too)');
    await field(signOut, 'Reason').fill('Ticket 99: lost laptop');
    await s.clickAndVisit(button(signOut, 'Sign out everywhere'), 'ops-support-signed-out');
    await expectFlash(page, 'had no sessions; nothing changed');
  });

  s.step('disables the account, needing a reason', async () => {
    const { page } = s;
    const disable = sectionTitled(page, 'Disable this account');
    const refused = await s.clickAndVisit(button(disable, 'Disable account'), 'ops-user-disable-no-reason');
    assert.equal(refused.status, 422);
    await expectFormError(page, 'Nothing was changed');
    await field(sectionTitled(page, 'Disable this account'), 'Reason').fill('Ticket 99: account compromised');
    await s.clickAndVisit(button(sectionTitled(page, 'Disable this account'), 'Disable account'), 'ops-user-disabled');
    await expectFlash(page, 'is disabled');
  });

  s.step('reads the flags, the master keys and the audit log', async () => {
    const { page } = s;
    await s.clickAndVisit(opsNavLink(page, 'Feature flags'), 'ops-flags');
    await s.clickAndVisit(opsNavLink(page, 'Master keys'), 'ops-master-keys');
    await s.clickAndVisit(opsNavLink(page, 'Audit log'), 'ops-audit');
    await field(page, 'Action').fill('ops.user');
    await s.clickAndVisit(button(page, 'Apply filters'), 'ops-audit-filtered');
    assert.ok((await page.getByText('ops.user.disabled', { exact: true }).count()) >= 1);
    await field(page, 'Organization id').fill('not-a-uuid');
    const bad = await s.clickAndVisit(button(page, 'Apply filters'), 'ops-audit-bad-filter');
    assert.equal(bad.status, 422);
  });

  s.step('deletes the account on the person\'s verified request, after confirming', async () => {
    const { page } = s;
    await s.open('/ops/users?q=turing', 'ops-users-search-again');
    await s.clickAndVisit(page.getByRole('link', { name: customer, exact: true }), 'ops-user-detail-again');
    const remove = supportForm(page, 'Delete the account (the self-service erasure)');
    await field(remove, 'Reason').fill('Ticket 100: deletion requested, identity verified by phone');
    await s.clickAndVisit(button(remove, 'Delete account…'), 'ops-user-delete-confirm');
    await expectHeading(page, 'Delete this account?');
    assert.ok((await page.getByText('This cannot be undone.', { exact: false }).count()) >= 1);
    await s.clickAndVisit(button(page, 'Delete account'), 'ops-user-deleted');
    expectAt(page, '/ops/users');
    await expectFlash(page, 'is deleted');
    await s.open('/ops/audit?action=ops.user.deleted', 'ops-audit-deleted');
    assert.ok((await page.getByText('ops.user.deleted', { exact: true }).count()) >= 1);
  });
});
