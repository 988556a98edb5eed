// Workspaces, as an owner uses them: Ada creates an organization and a
// "production" workspace, opens its agents, creates one (a first try without
// a model is refused with a message beside the configuration, the text kept),
// runs it, reads the run history, the workspace's access tab and the roles
// page. Every page is screenshotted, audited with axe-core and validated with
// the Nu Html Checker, with JavaScript enabled and again disabled.
import assert from 'node:assert/strict';

import { signUp } from './lib/flows.mjs';
import { accountNavLink, button, expectAt, expectHeading, field } from './lib/gatehouse.mjs';
import { scenario } from './lib/scenario.mjs';

const ORG_PATH = '/orgs/acme-ws';
const WS_PATH = `${ORG_PATH}/workspaces/production`;

function orgNavLink(page, text) {
  return page
    .getByRole('navigation')
    .getByRole('link', { name: text, exact: true })
    .and(page.locator(`a[href^="${ORG_PATH}"]`));
}

scenario('workspaces', (s) => {
  s.step('Ada creates an organization and a "production" workspace', async () => {
    const { page } = s;
    await signUp(s, { email: `ada.ws.${s.mode.name}@example.com`, displayName: 'Ada Lovelace' });
    await s.clickAndVisit(accountNavLink(page, 'Organizations'), 'account-orgs');
    await field(page, 'Organization name').fill('Acme Workspaces');
    await field(page, 'Address').fill('acme-ws');
    await s.clickAndVisit(button(page, 'Create organization'), 'org-overview');
    expectAt(page, ORG_PATH);

    const list = await s.clickAndVisit(orgNavLink(page, 'Workspaces'), 'workspaces');
    assert.equal(list.status, 200);
    await expectHeading(page, 'Workspaces');
    const listed = page.getByRole('region', { name: 'Workspaces', exact: true });
    assert.equal(await listed.getByRole('link', { name: 'default', exact: true }).count(), 1, 'every org starts with "default"');

    await field(page, 'Name').fill('production');
    const created = await s.clickAndVisit(button(page, 'Create workspace'), 'workspace-created');
    assert.equal(created.status, 200);
    await s.open(WS_PATH, 'workspace');
    await expectHeading(page, 'production');
    const why = (await page.locator('main').textContent()) ?? '';
    assert.ok(/owner/i.test(why), 'the owner is told where the permissions come from');
  });

  s.step('Ada creates an agent: the first try without a model is refused beside the field', async () => {
    const { page } = s;
    const agents = await s.clickAndVisit(page.getByRole('link', { name: 'Agents', exact: true }), 'agents');
    assert.equal(agents.status, 200);
    expectAt(page, `${WS_PATH}/agents`);
    await s.clickAndVisit(page.getByRole('link', { name: /^New/ }), 'agent-new');
    await field(page, 'Name').fill('triage');
    const config = field(page, 'Configuration (JSON)');
    await config.fill('{"instructions": "Sort the tickets."}');
    const refused = await s.clickAndVisit(button(page, 'Create agent'), 'agent-refused');
    assert.equal(refused.status, 422);
    const error = page.locator('#config-error');
    assert.match((await error.textContent()) ?? '', /config\.model/, 'the message names config.model');
    assert.equal(await config.getAttribute('aria-invalid'), 'true', 'the configuration is marked invalid');
    assert.match(await config.inputValue(), /Sort the tickets/, 'the entered configuration is kept');

    await config.fill('{"model": "gpt-large", "instructions": "Sort the tickets."}');
    const made = await s.clickAndVisit(button(page, 'Create agent'), 'agent-created');
    assert.equal(made.status, 200);
    assert.match(s.path(), new RegExp(`^${WS_PATH}/agents/[0-9a-f-]{36}$`));
    await expectHeading(page, 'triage');
  });

  s.step('Ada runs the agent and reads the run history', async () => {
    const { page } = s;
    const agentPath = s.path();
    const runs = await s.open(`${agentPath}/runs`, 'agent-runs');
    assert.equal(runs.status, 200);
    await field(page, 'Input (JSON, optional)').fill('{"ticket": 42}');
    const requested = await s.clickAndVisit(button(page, 'Run'), 'run-requested');
    assert.equal(requested.status, 200);
    assert.ok(/queued/i.test((await page.locator('main').textContent()) ?? ''), 'the run is queued');
    const history = await s.open(`${WS_PATH}/runs`, 'workspace-runs');
    assert.equal(history.status, 200);
    assert.ok(/queued/i.test((await page.locator('main').textContent()) ?? ''), 'the history lists it');
  });

  s.step('Ada reads the access tab and the roles', async () => {
    const { page } = s;
    const access = await s.open(`${WS_PATH}/access`, 'workspace-access');
    assert.equal(access.status, 200);
    const roles = await s.clickAndVisit(orgNavLink(page, 'Roles'), 'roles');
    assert.equal(roles.status, 200);
    await expectHeading(page, 'Roles');
    const text = (await page.locator('main').textContent()) ?? '';
    for (const role of ['Viewer', 'Runner', 'Creator']) {
      assert.ok(text.includes(role), `the roles page lists ${role}`);
    }
  });
});
