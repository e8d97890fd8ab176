import { randomBytes } from 'node:crypto';
import { Secret, TOTP } from 'otpauth';

/** RFC 6238 as every authenticator app reads it: SHA-1, 6 digits, 30-second steps. */
export const TOTP_PERIOD = 30;
const DIGITS = 6;
/** Codes of one step before and after the current one are accepted too (clock drift). */
const WINDOW = 1;
/** 160 bits, RFC 4226's recommendation. */
const SECRET_BYTES = 20;

export const newTotpSecret = (): string =>
  new Secret({ buffer: randomBytes(SECRET_BYTES).buffer }).base32;

function totpOf(secret: string, issuer: string, account: string): TOTP {
  return new TOTP({
    issuer,
    label: account,
    algorithm: 'SHA1',
    digits: DIGITS,
    period: TOTP_PERIOD,
    secret: Secret.fromBase32(secret),
  });
}

/** `otpauth://totp/<issuer>:<account>?secret=…&issuer=…&algorithm=SHA1&digits=6&period=30`. */
export const otpauthUri = (secret: string, issuer: string, account: string): string =>
  totpOf(secret, issuer, account).toString();

/**
 * The time step `code` belongs to, within one step of `nowMs`, or undefined when it matches none.
 * The caller refuses a step that is not later than the last one accepted (replay).
 */
export function stepOf(secret: string, code: string, nowMs: number): number | undefined {
  if (!/^\d{6}$/.test(code)) {
    return undefined;
  }
  const delta = totpOf(secret, 'x', 'x').validate({
    token: code,
    timestamp: nowMs,
    window: WINDOW,
  });
  return delta === null ? undefined : Math.floor(nowMs / 1000 / TOTP_PERIOD) + delta;
}
