// The scenario harness: each scenario runs twice, once in a browser context
// with JavaScript enabled and once with it disabled, each time against its
// own Gatehouse (fresh SQLite database, free port) in its own Chromium.
//
//   scenario('foundation', (s) => {
//     s.step('signs up', async () => {
//       await s.open('/signup', 'signup');
//       ...
//     });
//   });
//
// Steps run in order; once one fails the later ones are skipped (they would
// only fail for the same reason). A page that fails the audit (axe-core,
// Nu checker) fails its step, but the flow goes on, so that one run reports
// the audit problems of every page.
import { AssertionError } from 'node:assert';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { auditPage, clickAndWait, closeAuditContext, failureScreenshot, launchChromium, openPage } from './browser.mjs';
import { screenshotsRoot } from './paths.mjs';
import { startGatehouse } from './server.mjs';
import { stopValidator } from './vnu.mjs';

export const MODES = [
  { name: 'js', javaScriptEnabled: true, title: 'JavaScript enabled' },
  { name: 'nojs', javaScriptEnabled: false, title: 'JavaScript disabled' },
].filter((mode) => {
  // BROWSER_TEST_MODES=js or =nojs runs one mode only (both by default).
  const only = process.env.BROWSER_TEST_MODES;
  return !only || only.split(',').map((m) => m.trim()).includes(mode.name);
});

class ScenarioRun {
  constructor(name, mode) {
    this.name = name;
    this.mode = mode;
    this.id = `${name}-${mode.name}`;
    this.outDir = path.join(screenshotsRoot, this.id);
    this.server = null;
    this.browser = null;
    this.context = null;
    this.page = null;
    this.failed = false;
    this.auditProblems = [];
  }

  get baseUrl() {
    return this.server.baseUrl;
  }

  /** An absolute URL on this run's Gatehouse. */
  url(pathAndQuery) {
    return new URL(pathAndQuery, this.server.baseUrl).toString();
  }

  /** The current page's path (without query). */
  path() {
    return new URL(this.page.url()).pathname;
  }

  async setUp() {
    await fsp.rm(this.outDir, { recursive: true, force: true });
    await fsp.mkdir(this.outDir, { recursive: true });
    this.server = await startGatehouse({ logFile: path.join(this.outDir, 'server.log') });
    this.browser = await launchChromium();
    const { context, page } = await openPage(this.browser, {
      javaScriptEnabled: this.mode.javaScriptEnabled,
      outDir: this.outDir,
      scenario: this.id,
    });
    this.context = context;
    this.page = page;
  }

  async tearDown() {
    const problems = [];
    const attempt = async (what, fn) => {
      try {
        await fn();
      } catch (error) {
        problems.push(`${what}: ${error.message}`);
      }
    };
    const { page, context, browser, server } = this;
    this.context = null;
    this.browser = null;
    this.server = null;
    if (page) await attempt('closing the audit context', () => closeAuditContext(page));
    if (context) await attempt('closing the browser context', () => context.close());
    if (browser) await attempt('closing Chromium', () => browser.close());
    if (server) await attempt('stopping Gatehouse', () => server.stop());
    if (problems.length > 0) throw new Error(problems.join('\n'));
  }

  /**
   * Screenshot, axe audit and HTML validation of the current page. Problems
   * found fail the current step when it ends.
   */
  async visit(name) {
    const result = await auditPage(this.page, name);
    this.auditProblems.push(...result.problems);
    return result;
  }

  /** Navigates to `pathAndQuery`, then `visit`s it. Resolves to the visit's result. */
  async open(pathAndQuery, name) {
    await this.page.goto(this.url(pathAndQuery));
    return await this.visit(name);
  }

  /** Clicks a submit button or a link, waits for the next page and `visit`s it. */
  async clickAndVisit(locator, name) {
    await clickAndWait(this.page, locator);
    return await this.visit(name);
  }

  /** Declares one step of the scenario (a node:test test). */
  step(title, fn, { timeout = 180_000 } = {}) {
    it(title, { timeout }, async (t) => {
      if (this.failed) {
        t.skip('an earlier step failed');
        return;
      }
      this.auditProblems = [];
      try {
        await fn(t);
      } catch (error) {
        this.failed = true;
        const shot = await failureScreenshot(this.page, title.replace(/[^a-z0-9]+/gi, '-').toLowerCase());
        if (shot) t.diagnostic(`screenshot at failure: ${shot} (page ${this.page?.url()})`);
        if (this.server) t.diagnostic(`server log: ${this.server.logFile}`);
        for (const problem of this.auditProblems) t.diagnostic(`audit problem: ${problem}`);
        throw error;
      }
      if (this.auditProblems.length > 0) {
        throw new AssertionError({ message: `accessibility / HTML problems:\n${this.auditProblems.join('\n')}` });
      }
    });
  }
}

/**
 * Declares a scenario, run once per mode (JavaScript enabled, then disabled).
 * `define(s)` declares the steps with `s.step(title, fn)`.
 */
let hooked = false;

export function scenario(name, define) {
  if (!hooked) {
    hooked = true;
    after(() => stopValidator(), { timeout: 30_000 });
  }
  for (const mode of MODES) {
    describe(`${name} (${mode.title})`, () => {
      const run = new ScenarioRun(name, mode);
      before(async () => {
        try {
          await run.setUp();
        } catch (error) {
          await run.tearDown().catch(() => {});
          throw error;
        }
      }, { timeout: 120_000 });
      after(async () => {
        await run.tearDown();
      }, { timeout: 60_000 });
      define(run);
    });
  }
}
