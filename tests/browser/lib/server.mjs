// Starts a throwaway Gatehouse (release build) on a free port with its own
// SQLite database, waits until it is ready and stops it by its pid.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { gatehouseBin } from './paths.mjs';

const READY_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 10_000;

/** Every server still running, so that an abrupt exit of the test process still stops them. */
const running = new Set();
process.on('exit', () => {
  for (const child of running) {
    try {
      process.kill(child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

/** Asks the kernel for a free TCP port on 127.0.0.1. */
export async function freePort() {
  return await new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.unref();
    probe.on('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

function tail(file, lines = 40) {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no server log)';
  }
}

/**
 * Starts `gatehouse serve` and resolves once `GET /readyz` answers 200.
 *
 * @param {object} options
 * @param {string} options.logFile where the server's stdout and stderr go
 * @returns {Promise<{ baseUrl: string, port: number, pid: number, logFile: string, databaseUrl: string, outboxDir: string, stop: () => Promise<void> }>}
 */
export async function startGatehouse({ logFile }) {
  if (!fs.existsSync(gatehouseBin)) {
    throw new Error(`Gatehouse binary not found at ${gatehouseBin}: run tests/browser/run.sh (it builds it) or set GATEHOUSE_BIN`);
  }
  const dataDir = await fsp.mkdtemp(path.join(os.tmpdir(), 'gatehouse-browser-'));
  const port = await freePort();
  const baseUrl = `http://localhost:${port}`;
  const databaseUrl = `sqlite://${path.join(dataDir, 'gatehouse.db')}`;
  const args = [
    'serve',
    '--bind', `127.0.0.1:${port}`,
    '--database-url', databaseUrl,
    '--public-url', baseUrl,
    // Mail is written as .eml files here (no SMTP server): scenarios read
    // what a person would find in their mailbox (`mailbox.mjs`).
    '--outbox-dir', path.join(dataDir, 'outbox'),
  ];
  await fsp.mkdir(path.dirname(logFile), { recursive: true });
  const log = fs.openSync(logFile, 'w');
  fs.writeSync(log, `$ ${gatehouseBin} ${args.join(' ')}\n`);
  const child = spawn(gatehouseBin, args, {
    stdio: ['ignore', log, log],
    env: { ...process.env, RUST_LOG: process.env.RUST_LOG || 'info', NO_COLOR: '1' },
  });
  fs.closeSync(log);
  running.add(child);

  let exited = null;
  const exitedPromise = new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      exited = { code, signal };
      running.delete(child);
      resolve(exited);
    });
    child.on('error', (error) => {
      exited = { code: null, signal: null, error };
      running.delete(child);
      resolve(exited);
    });
  });

  const stop = async () => {
    if (exited === null && child.pid !== undefined) {
      try {
        process.kill(child.pid, 'SIGTERM');
      } catch {
        // already gone
      }
      const timer = sleep(STOP_TIMEOUT_MS).then(() => 'timeout');
      if ((await Promise.race([exitedPromise, timer])) === 'timeout') {
        try {
          process.kill(child.pid, 'SIGKILL');
        } catch {
          // already gone
        }
        await exitedPromise;
      }
    }
    await fsp.rm(dataDir, { recursive: true, force: true });
  };

  // Node may resolve "localhost" to ::1 first; the server listens on 127.0.0.1.
  const readyUrl = `http://127.0.0.1:${port}/readyz`;
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let lastProblem = 'no answer yet';
  while (true) {
    if (exited !== null) {
      await stop();
      const how = exited.error ? exited.error.message : `exit code ${exited.code}, signal ${exited.signal}`;
      throw new Error(`Gatehouse exited before it was ready (${how}). Log ${logFile}:\n${tail(logFile)}`);
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`Gatehouse did not answer GET /readyz with 200 within ${READY_TIMEOUT_MS} ms (${lastProblem}). Log ${logFile}:\n${tail(logFile)}`);
    }
    try {
      const response = await fetch(readyUrl, { signal: AbortSignal.timeout(2_000) });
      await response.arrayBuffer();
      if (response.status === 200) break;
      lastProblem = `last status ${response.status}`;
    } catch (error) {
      lastProblem = error.cause?.code || error.message;
    }
    await sleep(100);
  }

  return { baseUrl, port, pid: child.pid, logFile, databaseUrl, outboxDir: path.join(dataDir, 'outbox'), stop };
}
