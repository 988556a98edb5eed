// The Nu Html Checker (vnu.jar from the vnu-jar npm package, on the machine's
// Java). One checker service per test process is started on first use on a
// free 127.0.0.1 port (a JVM start costs ~2 s, a check in a warm service
// ~30 ms) and stopped by its pid (stopValidator, and at process exit). If the
// service cannot start, each document is checked with
// `java -jar vnu.jar --errors-only --stdout -` instead.
import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';

import { vnuJar } from './paths.mjs';
import { freePort } from './server.mjs';

const START_TIMEOUT_MS = 60_000;

let service = null; // Promise<{ url, child } | null>
let serviceChild = null;

process.on('exit', () => {
  if (serviceChild && serviceChild.exitCode === null && serviceChild.signalCode === null) {
    try {
      process.kill(serviceChild.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

async function startService() {
  const port = await freePort();
  const child = spawn(
    'java',
    ['-Xss4m', '-Dnu.validator.servlet.bind-address=127.0.0.1', '-cp', vnuJar, 'nu.validator.servlet.Main', String(port)],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  serviceChild = child;
  let output = '';
  child.stderr.setEncoding('utf8').on('data', (d) => {
    output = (output + d).slice(-4000);
  });
  let exited = false;
  child.on('exit', () => {
    exited = true;
  });
  child.on('error', () => {
    exited = true;
  });
  const url = `http://127.0.0.1:${port}/`;
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (!exited && Date.now() < deadline) {
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      await response.arrayBuffer();
      if (response.ok) return { url, child };
    } catch {
      // not listening yet
    }
    await sleep(200);
  }
  await stopChild(child);
  console.log(`# note: the Nu checker service did not start (${output.trim().split('\n').slice(-3).join(' | ')}); falling back to one JVM per page`);
  return null;
}

async function stopChild(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  try {
    process.kill(child.pid, 'SIGTERM');
  } catch {
    return;
  }
  const timeout = sleep(5_000).then(() => 'timeout');
  if ((await Promise.race([exited, timeout])) === 'timeout') {
    try {
      process.kill(child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
    await exited;
  }
}

/** Stops the checker service of this process, if one was started. */
export async function stopValidator() {
  const current = service;
  service = null;
  const started = current ? await current : null;
  if (started) await stopChild(started.child);
  serviceChild = null;
}

async function checkWithService(url, html) {
  const response = await fetch(`${url}?out=json&level=error`, {
    method: 'POST',
    headers: { 'content-type': 'text/html; charset=utf-8' },
    body: html,
    signal: AbortSignal.timeout(60_000),
  });
  if (!response.ok) throw new Error(`the Nu checker service answered HTTP ${response.status}`);
  return await response.json();
}

async function checkWithCli(html) {
  const child = spawn('java', ['-Xss4m', '-jar', vnuJar, '--errors-only', '--format', 'json', '--stdout', '-'], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
  const done = new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve(code));
  });
  child.stdin.on('error', () => {});
  child.stdin.end(html);
  const code = await done;
  try {
    return JSON.parse(stdout);
  } catch {
    throw new Error(`the Nu checker gave no JSON report (exit ${code}): ${stderr || stdout}`);
  }
}

/** Checks an HTML document; resolves to the checker's error messages (empty when valid). */
export async function validateHtml(html) {
  if (service === null) service = startService();
  const started = await service;
  const report = started ? await checkWithService(started.url, html) : await checkWithCli(html);
  return report.messages.filter((m) => m.type === 'error' || m.type === 'non-document-error');
}

/** The checker's messages as readable lines. */
export function describeVnuErrors(errors) {
  return errors
    .map((m) => {
      const line = m.firstLine ?? m.lastLine;
      const where = line !== undefined ? `line ${line}:${m.firstColumn ?? m.lastColumn}` : 'document';
      const extract = m.extract ? `\n      ${m.extract.replace(/\s+/g, ' ')}` : '';
      return `    - ${where}: ${m.message}${extract}`;
    })
    .join('\n');
}
