import { createHash } from 'node:crypto';
import jwt, { SignOptions } from 'jsonwebtoken';

/** The key id the service derives from a secret (first 16 base64url chars of its SHA-256). */
export function kidOf(secret: string): string {
  return createHash('sha256').update(secret).digest('base64url').slice(0, 16);
}

export function decodePayload(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8')) as Record<
    string,
    unknown
  >;
}

export function decodeHeader(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[0], 'base64url').toString('utf8')) as Record<
    string,
    unknown
  >;
}

/** Signs claims the way an attacker (or a test) chooses. */
export function mint(
  claims: Record<string, unknown>,
  secret: string,
  options: Omit<SignOptions, 'header'> & { header?: Record<string, unknown> } = {},
): string {
  const { header, ...rest } = options;
  return jwt.sign(claims, secret, {
    algorithm: 'HS256',
    ...rest,
    header: { alg: rest.algorithm ?? 'HS256', typ: 'at+jwt', kid: kidOf(secret), ...header },
  });
}

/** Re-signs a real token's claims with changes, keeping everything else. */
export function remint(
  token: string,
  secret: string,
  changes: Record<string, unknown> = {},
  options: Omit<SignOptions, 'header'> & { header?: Record<string, unknown> } = {},
): string {
  return mint({ ...decodePayload(token), ...changes }, secret, options);
}

/** An unsigned token (`alg: none` in the given casing) carrying a real token's claims. */
export function unsigned(token: string, alg = 'none'): string {
  const header = Buffer.from(JSON.stringify({ ...decodeHeader(token), alg })).toString('base64url');
  return `${header}.${token.split('.')[1]}.`;
}
