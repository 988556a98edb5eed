// Time-based one-time passwords (RFC 6238) as an authenticator app computes
// them: HMAC-SHA1 (RFC 2104, written out here on Node's SHA-1), 6 digits,
// 30-second steps, the shared secret in RFC 4648 base 32.
import crypto from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';

export const STEP_SECONDS = 30;
export const DIGITS = 6;

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** RFC 4648 base 32 (spaces and padding ignored, case-insensitive) to bytes. */
export function base32Decode(text) {
  const clean = text.replace(/[\s=]/g, '').toUpperCase();
  let bits = 0;
  let value = 0;
  const out = [];
  for (const ch of clean) {
    const index = BASE32.indexOf(ch);
    if (index < 0) throw new Error(`not a base-32 character: ${JSON.stringify(ch)}`);
    value = (value << 5) | index;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out.push((value >>> bits) & 0xff);
    }
  }
  return Buffer.from(out);
}

const sha1 = (...parts) => {
  const hash = crypto.createHash('sha1');
  for (const part of parts) hash.update(part);
  return hash.digest();
};

/** HMAC-SHA1 (RFC 2104): H(K ^ opad, H(K ^ ipad, message)), block size 64. */
export function hmacSha1(key, message) {
  const block = Buffer.alloc(64);
  (key.length > 64 ? sha1(key) : key).copy(block);
  const ipad = Buffer.from(block.map((b) => b ^ 0x36));
  const opad = Buffer.from(block.map((b) => b ^ 0x5c));
  return sha1(opad, sha1(ipad, message));
}

/** The HOTP value (RFC 4226) of `counter`, `digits` long. */
export function hotp(key, counter, digits = DIGITS) {
  const message = Buffer.alloc(8);
  message.writeBigUInt64BE(BigInt(counter));
  const mac = hmacSha1(key, message);
  const offset = mac[mac.length - 1] & 0x0f;
  const binary = mac.readUInt32BE(offset) & 0x7fffffff;
  return String(binary % 10 ** digits).padStart(digits, '0');
}

/** The 30-second step containing `unixSeconds`. */
export function stepAt(unixSeconds = Date.now() / 1000) {
  return Math.floor(unixSeconds / STEP_SECONDS);
}

/** The TOTP code of `step` for a base-32 secret (or a key as bytes). */
export function totpAt(secret, step, digits = DIGITS) {
  const key = typeof secret === 'string' ? base32Decode(secret) : secret;
  return hotp(key, step, digits);
}

/**
 * The current code and its step, waiting first (at most one step, ≤ 30 s)
 * until the step is above `usedStep`: the server refuses a step that was
 * already used, as an authenticator app's user would find out.
 */
export async function freshTotp(secret, usedStep = -1) {
  let step = stepAt();
  if (step <= usedStep) {
    const waitMs = (usedStep + 1) * STEP_SECONDS * 1000 - Date.now() + 200;
    if (waitMs > 0) await sleep(waitMs);
    step = stepAt();
  }
  return { code: totpAt(secret, step), step };
}
