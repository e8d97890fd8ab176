import { createSecretKey, randomBytes, randomUUID } from 'node:crypto';
import {
  bearerToken,
  distanceToCurrent,
  hashRefreshToken,
  looksLikeJwt,
  parseRefreshToken,
  successorOf,
} from './refresh-tokens';

/** A token as versions before epochs issued it: `<session id>.<random secret>`, no epoch. */
const legacyToken = (sessionId: string) => `${sessionId}.${randomBytes(32).toString('base64url')}`;

describe('refresh tokens', () => {
  const key = createSecretKey(randomBytes(32));
  const sessionId = randomUUID();

  it('should carry the session id and 256 random bits', () => {
    const token = legacyToken(sessionId);
    expect(parseRefreshToken(token)).toEqual({ sessionId });
    expect(Buffer.from(token.split('.')[1], 'base64url')).toHaveLength(32);
    expect(legacyToken(sessionId)).not.toBe(token);
  });

  it('should derive the same successor for the same token and key only', () => {
    const token = legacyToken(sessionId);
    const next = successorOf(token, key);
    expect(successorOf(token, key)).toBe(next);
    expect(parseRefreshToken(next)).toEqual({ sessionId });
    expect(successorOf(token, createSecretKey(randomBytes(32)))).not.toBe(next);
  });

  it('should measure how far back in the chain a token lies', () => {
    const chain = [legacyToken(sessionId)];
    for (let i = 0; i < 5; i++) {
      chain.push(successorOf(chain[chain.length - 1], key));
    }
    const current = hashRefreshToken(chain[5]);
    expect(distanceToCurrent(chain[5], current, 5, key)).toBe(0);
    expect(distanceToCurrent(chain[4], current, 5, key)).toBe(1);
    expect(distanceToCurrent(chain[0], current, 5, key)).toBe(5);
    expect(distanceToCurrent(chain[0], current, 4, key)).toBeUndefined();
    expect(distanceToCurrent(legacyToken(sessionId), current, 5, key)).toBeUndefined();
  });

  it.each([
    '',
    'abc',
    `${sessionId}.short`,
    `not-a-uuid.${'A'.repeat(43)}`,
    `${sessionId}.${'A'.repeat(44)}`,
  ])('should refuse the malformed token %p', (token) => {
    expect(parseRefreshToken(token)).toBeUndefined();
  });

  it('should read only well-formed Bearer headers', () => {
    expect(bearerToken('Bearer abc.def')).toBe('abc.def');
    expect(bearerToken('bearer   abc')).toBe('abc');
    expect(bearerToken('Basic abc')).toBeUndefined();
    expect(bearerToken('Bearer a b')).toBeUndefined();
    expect(bearerToken(undefined)).toBeUndefined();
  });

  it('should tell JWTs from refresh tokens', () => {
    expect(looksLikeJwt('eyJh.eyJz.sig')).toBe(true);
    expect(looksLikeJwt(legacyToken(sessionId))).toBe(false);
  });
});
