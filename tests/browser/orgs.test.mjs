// Organizations, as two people do it in two browsers: Ada signs up, creates
// an organization and a team, and invites Grace (member, on the team) with a
// link shown once (inviting needs sudo: the form keeps its values across
// "Confirm access"). Grace opens the link, signs up through it (which accepts
// it), sees her team read-only (the owner pages are refused to her). Ada makes
// Grace a "Runner" on the team, Grace sees it; Ada removes Grace from the
// organization, Grace's next visit is a 404, and the audit log lists it all.
// Every page either person reaches is screenshotted, audited with axe-core
// and validated with the Nu Html Checker; it runs with JavaScript enabled and
// again with JavaScript disabled.
import assert from 'node:assert/strict';
import { after } from 'node:test';

import { auditPage, clickAndWait, closeAuditContext, openPage } from './lib/browser.mjs';
import { confirmSudo, expectSudoBanner, signUp } from './lib/flows.mjs';
import {
  PASSWORD,
  accountNavLink,
  button,
  checkbox,
  expectAt,
  expectFlash,
  expectHeading,
  field,
} from './lib/gatehouse.mjs';
import { linkInMail } from './lib/mailbox.mjs';
import { scenario } from './lib/scenario.mjs';

const ORG_NAME = 'Acme Research';
const SLUG = 'acme-research';
const ORG_PATH = `/orgs/${SLUG}`;
const TEAM = 'Research';

const normalise = (text) => (text ?? '').replace(/\s+/g, ' ').trim();

/** A link of the organization's side navigation, by its text. */
function orgNavLink(page, text) {
  return page
    .getByRole('navigation')
    .getByRole('link', { name: text, exact: true })
    .and(page.locator(`a[href^="${ORG_PATH}"]`));
}

/**
 * The second person: their own browser context (same mode) in the run's
 * Chromium, with the same checks on every page they reach (problems fail
 * the current step, like the first person's).
 */
async function openSecondPerson(s, who) {
  const { context, page } = await openPage(s.browser, {
    javaScriptEnabled: s.mode.javaScriptEnabled,
    outDir: s.outDir,
    scenario: `${s.id}/${who}`,
  });
  const visit = async (name) => {
    const result = await auditPage(page, `${who}-${name}`);
    s.auditProblems.push(...result.problems);
    return result;
  };
  return {
    context,
    page,
    path: () => new URL(page.url()).pathname,
    visit,
    async open(pathAndQuery, name) {
      await page.goto(s.url(pathAndQuery));
      return await visit(name);
    },
    async clickAndVisit(locator, name) {
      await clickAndWait(page, locator);
      return await visit(name);
    },
    async close() {
      await closeAuditContext(page).catch(() => {});
      await context.close().catch(() => {});
    },
  };
}

/** The rows of the "Your teams" table: [{ team, role }] (role: the team's roles on workspaces). */
async function yourTeams(page) {
  const table = page.getByRole('region', { name: 'Your teams', exact: true }).getByRole('table');
  assert.equal(await table.count(), 1, `a "Your teams" table on ${page.url()}`);
  const rows = table.getByRole('row').filter({ has: page.getByRole('cell') });
  const out = [];
  for (let i = 0; i < (await rows.count()); i += 1) {
    const cells = (await rows.nth(i).getByRole('cell').allTextContents()).map(normalise);
    out.push({ team: cells[0], role: cells[1] });
  }
  return out;
}

scenario('orgs', (s) => {
  const adaEmail = `ada.${s.mode.name}@example.com`;
  const graceEmail = `grace.${s.mode.name}@example.com`;
  let grace = null;
  let invitationLink = null;

  after(async () => {
    if (grace) await grace.close();
  });

  s.step('Ada signs up and creates the organization', async () => {
    const { page } = s;
    await signUp(s, { email: adaEmail, displayName: 'Ada Lovelace' });
    const orgs = await s.clickAndVisit(accountNavLink(page, 'Organizations'), 'account-orgs');
    assert.equal(orgs.status, 200);
    expectAt(page, '/account/orgs');
    await expectHeading(page, 'Organizations');

    await field(page, 'Organization name').fill(ORG_NAME);
    await field(page, 'Address').fill(SLUG);
    const created = await s.clickAndVisit(button(page, 'Create organization'), 'org-overview');
    assert.equal(created.status, 200);
    expectAt(page, ORG_PATH);
    await expectHeading(page, ORG_NAME);
    assert.equal(await page.getByText('You are an owner of this organization.', { exact: true }).count(), 1, 'Ada is told she is an owner');
  });

  s.step('Ada creates the team "Research"', async () => {
    const { page } = s;
    const teams = await s.clickAndVisit(orgNavLink(page, 'Teams'), 'org-teams');
    assert.equal(teams.status, 200);
    expectAt(page, `${ORG_PATH}/teams`);
    await expectHeading(page, 'Teams');
    await field(page, 'Team name').fill(TEAM);
    const team = await s.clickAndVisit(button(page, 'Create team'), 'team-created');
    assert.equal(team.status, 200);
    assert.match(s.path(), new RegExp(`^${ORG_PATH}/teams/[^/]+$`));
    await expectHeading(page, TEAM);
    await expectFlash(page, `Team “${TEAM}” created.`);
  });

  s.step('Ada invites Grace as a member of "Research" and reads the link once', async () => {
    const { page } = s;
    const invitations = await s.clickAndVisit(orgNavLink(page, 'Invitations'), 'org-invitations');
    assert.equal(invitations.status, 200);
    expectAt(page, `${ORG_PATH}/invitations`);
    await expectHeading(page, 'Invitations');

    await field(page, 'Email').fill(graceEmail);
    await page.getByRole('radio', { name: 'Member', exact: true }).check();
    await checkbox(page, TEAM).check();
    assert.ok(await checkbox(page, TEAM).isChecked(), `the team "${TEAM}" is ticked`);
    // An invitation grants access, so it needs sudo: the first press leads
    // to "Confirm access", which leads back to the form, still filled in.
    await s.clickAndVisit(button(page, 'Create invitation link'), 'invitation-sudo');
    expectAt(page, '/sudo');
    assert.equal(new URL(page.url()).searchParams.get('next'), `${ORG_PATH}/invitations`, 'sudo leads back to the form');
    await confirmSudo(s, 'org-invitations-sudo');
    expectAt(page, `${ORG_PATH}/invitations`);
    await expectSudoBanner(page);
    assert.equal(await field(page, 'Email').inputValue(), graceEmail, 'the email is kept across the sudo step');
    assert.ok(await page.getByRole('radio', { name: 'Member', exact: true }).isChecked(), 'the role is kept');
    assert.ok(await checkbox(page, TEAM).isChecked(), `the team "${TEAM}" is still ticked`);
    const created = await s.clickAndVisit(button(page, 'Create invitation link'), 'invitation-created');
    assert.equal(created.status, 200);

    // The link goes to Grace by email only; the page says so and shows no link.
    assert.equal(await field(page, 'Invitation link').count(), 0, 'no "Invitation link" field: the link is emailed');
    await expectFlash(page, `Invitation for ${graceEmail} created and sent by email.`);
    invitationLink = await linkInMail(s.server, graceEmail, '/invitations/');
    assert.match(invitationLink, new RegExp(`^${s.baseUrl}/invitations/\\S+$`), 'an invitation link on this Gatehouse');
    assert.ok(!created.html.includes(invitationLink), 'the link is nowhere on the page');
    const pending = page.getByRole('region', { name: 'Pending invitations', exact: true }).getByRole('row').filter({ hasText: graceEmail });
    assert.equal(await pending.count(), 1, `Grace's invitation is pending`);
    assert.ok(normalise(await pending.textContent()).includes(TEAM), `the pending invitation lists the team "${TEAM}"`);

    const reloaded = await s.open(`${ORG_PATH}/invitations`, 'invitations-reloaded');
    assert.equal(await field(page, 'Invitation link').count(), 0, 'no "Invitation link" field after a reload');
    assert.ok(!reloaded.html.includes(invitationLink), 'the link is nowhere in the reloaded page');
  });

  s.step('Grace opens the link and signs up through it, which accepts it', async () => {
    grace = await openSecondPerson(s, 'grace');
    const { page } = grace;
    const invitation = await grace.open(invitationLink, 'invitation');
    assert.equal(invitation.status, 200);
    await expectHeading(page, `Join ${ORG_NAME}`);

    const signup = await grace.clickAndVisit(page.getByRole('link', { name: `Create an account for ${graceEmail}`, exact: true }), 'signup-invited');
    assert.equal(signup.status, 200);
    expectAt(page, '/signup');
    await expectHeading(page, 'Create an account');
    const email = field(page, 'Email');
    assert.equal(await email.inputValue(), graceEmail, 'the sign-up form has the invited email');
    assert.ok(!(await email.isEditable()), 'the invited email cannot be changed');
    await field(page, 'Display name').fill('Grace Hopper');
    await field(page, 'Password').fill(PASSWORD);
    await field(page, 'Confirm password').fill(PASSWORD);
    // Signing up through the link accepts the invitation: Grace lands in the organization.
    const joined = await grace.clickAndVisit(button(page, 'Create account'), 'org-overview-member');
    assert.equal(joined.status, 200);
    expectAt(page, ORG_PATH);
    await expectFlash(page, `You joined ${ORG_NAME} as member.`);
    assert.equal(await button(page, 'Sign out').count(), 1, 'Grace is signed in');
    await expectHeading(page, ORG_NAME);
    assert.equal(await page.getByText('You are a member of this organization.', { exact: true }).count(), 1, 'Grace is told she is a member');
    assert.deepEqual((await yourTeams(page)).map((t) => t.team), [TEAM], 'Grace is on the team');
    assert.equal(await page.getByRole('link', { name: 'Manage members', exact: true }).count(), 0, 'no "Manage members" for a member');
    assert.equal(await page.getByRole('button').filter({ hasText: TEAM }).count(), 0, 'the team is shown read-only');

    const members = await grace.open(`${ORG_PATH}/members`, 'members-forbidden');
    assert.equal(members.status, 403, `a member GETting ${ORG_PATH}/members`);
  });

  s.step('Ada grants the team "Runner" on the default workspace; Grace sees what the team gives her', async () => {
    const { page } = s;
    await s.clickAndVisit(orgNavLink(page, 'Teams'), 'org-teams-one');
    const team = await s.clickAndVisit(page.getByRole('link', { name: TEAM, exact: true }), 'team');
    assert.equal(team.status, 200);
    await expectHeading(page, TEAM);
    const row = page.getByRole('region', { name: 'Team members', exact: true }).getByRole('row').filter({ hasText: graceEmail });
    assert.equal(await row.count(), 1, 'Grace is listed on the team');
    assert.equal(await page.getByLabel('Team role').count(), 0, 'a team gives its members no role of their own');

    const access = await s.open(`${ORG_PATH}/workspaces/default/access`, 'workspace-access');
    assert.equal(access.status, 200);
    await field(page, 'Team').selectOption({ label: TEAM });
    await field(page, 'Role').selectOption({ label: 'Runner' });
    await s.clickAndVisit(button(page, 'Grant role'), 'workspace-grant');
    if (s.path() === '/sudo') {
      // Granting hands out access: sudo first, the form's choices kept.
      await confirmSudo(s, 'workspace-grant-sudo');
      await field(page, 'Team').selectOption({ label: TEAM });
      await field(page, 'Role').selectOption({ label: 'Runner' });
      await s.clickAndVisit(button(page, 'Grant role'), 'workspace-granted');
    }
    const grants = page.getByRole('region', { name: 'Teams and their roles', exact: true }).getByRole('row').filter({ hasText: TEAM });
    assert.match(normalise(await grants.textContent()), /Runner/, 'the team holds Runner here');

    const reloaded = await grace.open(ORG_PATH, 'org-overview-runner');
    assert.equal(reloaded.status, 200);
    assert.deepEqual(await yourTeams(grace.page), [{ team: TEAM, role: 'default: Runner' }], 'Grace sees the role her team holds');
  });

  s.step('Ada removes Grace from the organization; Grace gets a 404', async () => {
    const { page } = s;
    const members = await s.clickAndVisit(orgNavLink(page, 'Members'), 'org-members');
    assert.equal(members.status, 200);
    expectAt(page, `${ORG_PATH}/members`);
    const member = await s.clickAndVisit(page.getByRole('link', { name: 'Grace Hopper', exact: true }), 'member-grace');
    assert.equal(member.status, 200);
    await expectHeading(page, 'Grace Hopper');
    const remove = page.getByRole('button', { name: /^Remove/ });
    assert.equal(await remove.count(), 1, 'one "Remove…" button');
    const removed = await s.clickAndVisit(remove, 'member-removed');
    assert.equal(removed.status, 200);
    expectAt(page, `${ORG_PATH}/members`);
    await expectFlash(page, 'Grace Hopper was removed from the organization.');
    assert.equal(await page.getByRole('link', { name: 'Grace Hopper', exact: true }).count(), 0, 'Grace is no longer listed');

    const gone = await grace.open(ORG_PATH, 'org-after-removal');
    assert.equal(gone.status, 404, `Grace GETting ${ORG_PATH} after her removal`);
  });

  s.step('Ada reads the audit log', async () => {
    const { page } = s;
    const audit = await s.clickAndVisit(orgNavLink(page, 'Audit log'), 'org-audit');
    assert.equal(audit.status, 200);
    expectAt(page, `${ORG_PATH}/audit`);
    const text = normalise(await page.locator('main').textContent());
    for (const action of ['member.removed', 'team.created']) {
      assert.ok(text.includes(action), `the audit log shows ${action}`);
    }
  });
});
