import { createHash, createHmac, KeyObject, randomBytes } from 'node:crypto';

/**
 * Refresh tokens are opaque: `<session id>.<epoch>.<secret>`, the secret 256 bits. A session's
 * chain of tokens starts at a root and each rotation derives the next token as
 * HMAC-SHA-256(chain key, previous token). That lets concurrent refreshes with one token agree on
 * the same successor, and lets the service recognise any spent ancestor of the current token
 * (reuse) while storing nothing but the SHA-256 of the current one.
 *
 * Each access-token exchange starts a new chain, one epoch further. The root of epoch `e` is
 * HMAC(chain key, session id, e, the session's random seed): the service can rebuild the chain of
 * any earlier epoch and recognise its tokens as spent, however many exchanges came since, while
 * neither the seed (in the database) nor the key (in the configuration) alone gives a token.
 * Tokens of sessions opened before epochs existed have no epoch (`<session id>.<secret>`) and a
 * random root.
 */
const TOKEN_PATTERN =
  /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})(?:\.(0|[1-9][0-9]{0,8}))?\.([A-Za-z0-9_-]{43})$/;

export interface ParsedRefreshToken {
  sessionId: string;
  /** Which chain of the session; undefined for a token of a session opened before epochs. */
  epoch?: number;
}

/** A session's chain seed: random, kept in the session row. */
export function newChainSeed(): string {
  return randomBytes(32).toString('base64url');
}

/** The first token of a session's chain `epoch`. */
export function chainRoot(sessionId: string, epoch: number, seed: string, key: KeyObject): string {
  const secret = createHmac('sha256', key)
    .update(`refresh-chain-root\n${sessionId}\n${epoch}\n${seed}`)
    .digest('base64url');
  return `${sessionId}.${epoch}.${secret}`;
}

export function parseRefreshToken(token: string): ParsedRefreshToken | undefined {
  const match = TOKEN_PATTERN.exec(token);
  if (!match) {
    return undefined;
  }
  return { sessionId: match[1], epoch: match[2] === undefined ? undefined : Number(match[2]) };
}

/** The next token of the chain: same session and epoch, secret derived from the whole token. */
export function successorOf(token: string, key: KeyObject): string {
  const prefix = token.slice(0, token.lastIndexOf('.'));
  return `${prefix}.${createHmac('sha256', key).update(token).digest('base64url')}`;
}

/** Whether `token` is one of the first `maxSteps + 1` tokens of the chain that starts at `root`. */
export function isInChain(token: string, root: string, maxSteps: number, key: KeyObject): boolean {
  return distanceToCurrent(root, hashRefreshToken(token), maxSteps, key) !== undefined;
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

/**
 * A JWT in compact serialisation (three base64url parts, the first a JSON object, so `eyJ`) as
 * opposed to an opaque refresh token, which starts with a session id.
 */
export function looksLikeJwt(token: string): boolean {
  return /^eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(token);
}
