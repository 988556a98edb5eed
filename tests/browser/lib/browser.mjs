// Headless Chromium, and the checks run on every page a scenario reaches:
// a full-page screenshot, an axe-core audit (no serious or critical
// violation) and the Nu Html Checker on the raw HTML (no error).
import { AssertionError } from 'node:assert';
import fsp from 'node:fs/promises';
import path from 'node:path';

import AxeBuilder from '@axe-core/playwright';
import { chromium } from 'playwright-core';

import { describeVnuErrors, validateHtml } from './vnu.mjs';

export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export const AXE_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];
const BLOCKING_IMPACTS = new Set(['serious', 'critical']);

export async function launchChromium() {
  return await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
}

/** Per-page bookkeeping: scenario folder, screenshot counter, last document response. */
const pages = new WeakMap();

function withoutHash(url) {
  const parsed = new URL(url);
  parsed.hash = '';
  return parsed.toString();
}

function isRedirect(response) {
  const status = response.status();
  return status >= 300 && status < 400 && response.headers().location !== undefined;
}

/**
 * Opens a browser context and page for one scenario run and starts tracking
 * the main frame's document responses (so that `visit` can validate the raw
 * HTML the server sent, including the body of a POST that re-rendered a form).
 *
 * @param {import('playwright-core').Browser} browser
 * @param {{ javaScriptEnabled: boolean, outDir: string, scenario: string }} options
 */
export async function openPage(browser, { javaScriptEnabled, outDir, scenario }) {
  const contextOptions = { javaScriptEnabled, viewport: { width: 1280, height: 800 }, locale: 'en-GB' };
  const context = await browser.newContext(contextOptions);
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  page.setDefaultNavigationTimeout(30_000);
  const state = {
    scenario,
    outDir,
    counter: 0,
    lastDocument: null,
    javaScriptEnabled,
    browser,
    contextOptions,
    auditContext: null,
    auditPage: null,
    pendingAuditDocument: null,
  };
  page.on('response', (response) => {
    const request = response.request();
    if (request.isNavigationRequest() && response.frame() === page.mainFrame() && !isRedirect(response)) {
      state.lastDocument = response;
    }
  });
  pages.set(page, state);
  return { context, page };
}

/** Closes the helper context used to audit pages of a JavaScript-disabled context. */
export async function closeAuditContext(page) {
  const state = pages.get(page);
  if (state?.auditContext) {
    await state.auditContext.close().catch(() => {});
    state.auditContext = null;
    state.auditPage = null;
  }
}

function stateOf(page) {
  const state = pages.get(page);
  if (!state) throw new Error('this page was not opened with openPage()');
  return state;
}

/** The last non-redirect document response of the page's main frame. */
export function lastDocument(page) {
  return stateOf(page).lastDocument;
}

/**
 * Clicks something that submits a form or follows a link, waits until the
 * resulting document has loaded and returns its (final, non-redirect) response.
 */
export async function navigateBy(page, action) {
  const state = stateOf(page);
  const before = state.lastDocument;
  const navigated = page.waitForEvent('framenavigated', {
    predicate: (frame) => frame === page.mainFrame(),
    timeout: 30_000,
  });
  await action();
  await navigated;
  await page.waitForLoadState('load');
  const response = state.lastDocument;
  if (response === before || response === null) {
    throw new Error(`navigation to ${page.url()} produced no new document response`);
  }
  return response;
}

/** Clicks `locator` (a submit button or a link) and waits for the next page. */
export async function clickAndWait(page, locator) {
  return await navigateBy(page, () => locator.click());
}

/** The HTML the server sent for the page's current document, and its status. */
async function rawDocument(page) {
  const state = stateOf(page);
  const response = state.lastDocument;
  if (response && withoutHash(response.url()) === withoutHash(page.url())) {
    try {
      return { html: (await response.body()).toString('utf8'), status: response.status(), headers: response.headers(), source: 'response' };
    } catch {
      // body no longer available: fall through
    }
  }
  // A plain GET of the same URL with the context's cookies.
  const fetched = await page.context().request.get(page.url(), { maxRedirects: 0 });
  return { html: await fetched.text(), status: fetched.status(), headers: fetched.headers(), source: 'refetch' };
}

/**
 * axe-core needs script execution in the page it audits. A context created
 * with `javaScriptEnabled: false` cannot run it (timers never fire), so its
 * pages are audited in a helper context with JavaScript on: the very same
 * HTML (served from memory at the same URL, with the same response headers)
 * and the same style sheets and images (fetched from the server), at the same
 * viewport size. Only the document itself is substituted; nothing is posted.
 */
async function auditPageFor(page, document) {
  const state = stateOf(page);
  if (state.javaScriptEnabled) return page;
  if (!state.auditContext) {
    state.auditContext = await state.browser.newContext({ ...state.contextOptions, javaScriptEnabled: true });
    state.auditPage = await state.auditContext.newPage();
    state.auditPage.setDefaultTimeout(15_000);
    await state.auditPage.route('**/*', async (route) => {
      const request = route.request();
      const pending = state.pendingAuditDocument;
      if (pending && request.isNavigationRequest() && withoutHash(request.url()) === withoutHash(pending.url)) {
        const headers = { ...pending.headers };
        delete headers['content-length'];
        delete headers['content-encoding'];
        delete headers['transfer-encoding'];
        delete headers['set-cookie'];
        await route.fulfill({ status: pending.status, headers, body: pending.html });
      } else if (request.method() === 'GET' || request.method() === 'HEAD') {
        await route.continue();
      } else {
        await route.abort();
      }
    });
  }
  await state.auditContext.clearCookies();
  await state.auditContext.addCookies(await page.context().cookies());
  state.pendingAuditDocument = { url: page.url(), ...document };
  await state.auditPage.goto(page.url(), { waitUntil: 'load' });
  state.pendingAuditDocument = null;
  return state.auditPage;
}

function describeAxeViolations(violations) {
  return violations
    .map((v) => {
      const nodes = v.nodes
        .slice(0, 10)
        .map((n) => {
          const summary = (n.failureSummary || '').replace(/\s+/g, ' ').trim();
          return `    - ${n.target.join(' ')}\n      ${n.html.replace(/\s+/g, ' ').slice(0, 300)}\n      ${summary}`;
        })
        .join('\n');
      const more = v.nodes.length > 10 ? `\n    … and ${v.nodes.length - 10} more` : '';
      return `  [${v.impact}] ${v.id}: ${v.help} (${v.helpUrl})\n${nodes}${more}`;
    })
    .join('\n');
}

/**
 * The checks of one page, without throwing: a full-page screenshot into
 * `<target>/browser-screenshots/<scenario>/<nn>-<name>.png` (with the raw HTML
 * and the axe report beside it), an axe-core audit and the Nu checker.
 * `problems` lists axe's serious and critical violations and the checker's
 * errors, readably.
 *
 * @returns {Promise<{ status: number, html: string, url: URL, screenshot: string, problems: string[] }>}
 */
export async function auditPage(page, name) {
  const state = stateOf(page);
  await page.waitForLoadState('load');
  state.counter += 1;
  const stem = `${String(state.counter).padStart(2, '0')}-${name}`;
  const file = (ext) => path.join(state.outDir, `${stem}${ext}`);
  await fsp.mkdir(state.outDir, { recursive: true });

  await page.screenshot({ path: file('.png'), fullPage: true });

  const document = await rawDocument(page);
  await fsp.writeFile(file('.html'), document.html);

  const problems = [];

  const auditPage = await auditPageFor(page, document);
  const axe = await new AxeBuilder({ page: auditPage }).withTags(AXE_TAGS).analyze();
  await fsp.writeFile(
    file('.axe.json'),
    JSON.stringify(
      {
        url: page.url(),
        violations: axe.violations,
        incomplete: axe.incomplete.map((r) => ({ id: r.id, impact: r.impact, help: r.help, nodes: r.nodes.map((n) => n.target) })),
      },
      null,
      2,
    ),
  );
  const blocking = axe.violations.filter((v) => BLOCKING_IMPACTS.has(v.impact));
  const lesser = axe.violations.filter((v) => !BLOCKING_IMPACTS.has(v.impact));
  if (lesser.length > 0) {
    console.log(`# note: ${state.scenario}/${stem}: axe reports lesser violations: ${lesser.map((v) => `${v.id} (${v.impact})`).join(', ')}`);
  }
  if (blocking.length > 0) {
    problems.push(`axe-core found ${blocking.length} serious or critical violation(s):\n${describeAxeViolations(blocking)}`);
  }

  const htmlErrors = await validateHtml(document.html);
  if (htmlErrors.length > 0) {
    problems.push(`the Nu Html Checker found ${htmlErrors.length} error(s) in the HTML (saved as ${file('.html')}):\n${describeVnuErrors(htmlErrors)}`);
  }

  const described = problems.length > 0
    ? [`page "${name}" (${page.url()}, HTTP ${document.status}, screenshot ${file('.png')}):\n${problems.join('\n')}`]
    : [];
  return { status: document.status, html: document.html, url: new URL(page.url()), screenshot: file('.png'), problems: described };
}

/**
 * Call after every navigation: `auditPage`, then throw (listing every
 * problem) when axe found a serious or critical violation or the Nu checker
 * found an error.
 *
 * @returns {Promise<{ status: number, html: string, url: URL, screenshot: string }>}
 */
export async function visit(page, name) {
  const result = await auditPage(page, name);
  if (result.problems.length > 0) {
    throw new AssertionError({ message: result.problems.join('\n') });
  }
  return result;
}

/** A screenshot for the record when a step fails (never throws). */
export async function failureScreenshot(page, name) {
  const state = pages.get(page);
  if (!state) return null;
  try {
    await fsp.mkdir(state.outDir, { recursive: true });
    const file = path.join(state.outDir, `zz-failed-${name}.png`);
    await page.screenshot({ path: file, fullPage: true, timeout: 5_000 });
    return file;
  } catch {
    return null;
  }
}
