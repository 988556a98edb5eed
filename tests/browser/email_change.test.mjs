// Changing the email address, as a person does it in the browser: from the
// profile page, through "Confirm access" (sudo), a taken address refused
// beside the field, the link read from the mail sent to the new address,
// the confirmation page, and signing in with the new address (the old one
// fails). Every page reached is screenshotted, audited with axe-core and
// validated with the Nu Html Checker, with JavaScript on and off.
import assert from 'node:assert/strict';

import { confirmSudo, signOut, signUp, submitSignIn } from './lib/flows.mjs';
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
import { linkInMail } from './lib/mailbox.mjs';
import { scenario } from './lib/scenario.mjs';

scenario('email-change', (s) => {
  const oldEmail = `lin.${s.mode.name}@example.com`;
  const newEmail = `lin.${s.mode.name}@new.example`;
  const takenEmail = `taken.${s.mode.name}@example.com`;
  let link;

  s.step('another account holds an address; Lin signs up', async () => {
    await signUp(s, { email: takenEmail, displayName: 'Taken' });
    await signOut(s, 'taken-signed-out');
    await signUp(s, { email: oldEmail, displayName: 'Lin' });
  });

  s.step('opens "Change email address" from the profile and confirms access', async () => {
    const { page } = s;
    const profile = await s.clickAndVisit(accountNavLink(page, 'Profile'), 'profile');
    assert.equal(profile.status, 200);
    await s.clickAndVisit(page.getByRole('link', { name: 'Change email address', exact: true }), 'sudo');
    expectAt(page, '/sudo');
    assert.equal(new URL(page.url()).searchParams.get('next'), '/account/profile/email', 'sudo leads back to the form');
    await confirmSudo(s, 'email-form');
    expectAt(page, '/account/profile/email');
    await expectHeading(page, 'Change email address');
  });

  s.step('is refused an address another account uses, beside the field', async () => {
    const { page } = s;
    await field(page, 'New email address').fill(takenEmail);
    const refused = await s.clickAndVisit(button(page, 'Send confirmation link'), 'email-taken');
    assert.equal(refused.status, 422);
    await expectFormError(page, 'Nothing was changed. Please correct the field marked below.');
    await expectFieldError(page, 'New email address');
    assert.equal(await field(page, 'New email address').inputValue(), takenEmail, 'the typed address is kept');
  });

  s.step('asks for the new address; the page says the old one stays until confirmed', async () => {
    const { page } = s;
    await field(page, 'New email address').fill(newEmail);
    const sent = await s.clickAndVisit(button(page, 'Send confirmation link'), 'email-requested');
    assert.equal(sent.status, 200);
    expectAt(page, '/account/profile');
    await expectFlash(page, `We sent a link to ${newEmail}; your address stays ${oldEmail} until you confirm.`);
    assert.equal(await page.locator('#email').inputValue(), oldEmail, 'the address has not changed yet');
    link = await linkInMail(s.server, newEmail, '/email/change/');
    assert.match(link, new RegExp(`^${s.baseUrl}/email/change/\\S+$`));
    // The old address is told, without the link.
    await assert.rejects(linkInMail(s.server, oldEmail, '/email/change/', 1500));
    const pending = await s.open('/account/profile/email', 'email-pending');
    assert.equal(pending.status, 200);
    assert.equal(await page.getByRole('region', { name: 'Waiting for confirmation', exact: true }).count(), 1);
  });

  s.step('opens the link, confirms, and the address is the new one', async () => {
    const { page } = s;
    const confirm = await s.open(link, 'email-confirm');
    assert.equal(confirm.status, 200);
    await expectHeading(page, 'Confirm your new email address');
    const done = await s.clickAndVisit(button(page, 'Change my email address'), 'email-changed');
    assert.equal(done.status, 200);
    expectAt(page, '/account/profile');
    await expectFlash(page, `Your email address is now ${newEmail}. Your other sessions were signed out.`);
    assert.equal(await page.locator('#email').inputValue(), newEmail);
  });

  s.step('the link works once', async () => {
    const again = await s.open(link, 'email-link-spent');
    assert.equal(again.status, 410);
    await expectHeading(s.page, 'This link is no longer valid');
  });

  s.step('signs in with the new address; the old one fails', async () => {
    const { page } = s;
    await s.open('/account', 'account-again');
    await signOut(s, 'signed-out');
    await submitSignIn(s, { email: oldEmail, password: PASSWORD }, 'login-old-address');
    expectAt(page, '/login');
    await expectFormError(page, 'Incorrect email or password.');
    const signedIn = await submitSignIn(s, { email: newEmail, password: PASSWORD }, 'login-new-address');
    assert.equal(signedIn.status, 200);
    expectAt(page, '/account');
  });
});
