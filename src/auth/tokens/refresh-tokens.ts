import { createHash, createHmac, KeyObject, randomBytes } from 'node:crypto';

/**
 * Refresh tokens are opaque: `<session id>.<secret>`, the secret 256 bits. The first secret of a
 * session comes from the CSPRNG; each rotation derives the next one as
 * HMAC-SHA-256(server key, previous token). That lets concurrent refreshes with one token agree on
 * the same successor, and lets the service recognise any spent ancestor of the current token
 * (reuse) while storing nothing but the SHA-256 of the current one.
 */
const TOKEN_PATTERN =
  /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.([A-Za-z0-9_-]{43})$/;

export interface ParsedRefreshToken {
  sessionId: string;
}

export function newRefreshToken(sessionId: string): string {
  return `${sessionId}.${randomBytes(32).toString('base64url')}`;
}

export function parseRefreshToken(token: string): ParsedRefreshToken | undefined {
  const match = TOKEN_PATTERN.exec(token);
  return match ? { sessionId: match[1] } : undefined;
}

export function successorOf(token: string, key: KeyObject): string {
  const sessionId = token.slice(0, token.indexOf('.'));
  return `${sessionId}.${createHmac('sha256', key).update(token).digest('base64url')}`;
}

export function hashRefreshToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/**
 * How many rotations lie between `token` and the token whose hash is `currentHash`: 0 when it is
 * the current token, 1 when it is the immediate predecessor, and so on up to `maxSteps`.
 * Undefined when it is not in the chain at all.
 */
export function distanceToCurrent(
  token: string,
  currentHash: string,
  maxSteps: number,
  key: KeyObject,
): number | undefined {
  let candidate = token;
  for (let steps = 0; steps <= maxSteps; steps++) {
    if (hashRefreshToken(candidate) === currentHash) {
      return steps;
    }
    candidate = successorOf(candidate, key);
  }
  return undefined;
}

/** Extracts the credential from an `Authorization: Bearer <token>` header. */
export function bearerToken(header: string | undefined): string | undefined {
  const match = header === undefined ? null : /^Bearer +([^\s]+) *$/i.exec(header);
  return match ? match[1] : undefined;
}

/** A JWT in compact serialisation (three base64url parts) as opposed to an opaque refresh token. */
export function looksLikeJwt(token: string): boolean {
  return /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(token);
}
