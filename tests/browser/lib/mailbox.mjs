// The mailbox of a scenario: with no SMTP server, Gatehouse writes every
// message as an .eml file under its --outbox-dir (its outbox worker runs
// every few seconds). A scenario reads the link a person would follow.

import fsp from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * The first link to `pathPrefix` (e.g. `/invitations/`) in the newest message
 * to `recipient`, waiting up to `timeoutMs` for the worker to write it.
 */
export async function linkInMail(server, recipient, pathPrefix, timeoutMs = 20000) {
  const deadline = Date.now() + timeoutMs;
  const pattern = new RegExp(`https?://\\S+${pathPrefix.replace(/[/]/g, '\\/')}[A-Za-z0-9]+`);
  while (Date.now() < deadline) {
    let names = [];
    try {
      names = (await fsp.readdir(server.outboxDir)).filter((n) => n.endsWith('.eml')).sort().reverse();
    } catch {
      // not created yet
    }
    for (const name of names) {
      const text = await fsp.readFile(path.join(server.outboxDir, name), 'utf8');
      if (!new RegExp(`^To: ${recipient.replace(/[.+]/g, '\\$&')}\\r?$`, 'mi').test(text)) continue;
      const found = text.match(pattern);
      if (found) return found[0];
    }
    await sleep(250);
  }
  throw new Error(`no message to ${recipient} with a ${pathPrefix} link within ${timeoutMs} ms`);
}
