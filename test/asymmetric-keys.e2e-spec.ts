import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import jwt from 'jsonwebtoken';
import { bearer, createTestApp, signedInUser, TestApp, TokenPair } from './helpers/test-app';
import { decodeHeader, decodePayload } from './helpers/tokens';

describe.each([
  ['ES256', () => generateKeyPairSync('ec', { namedCurve: 'P-256' })],
  ['RS256', () => generateKeyPairSync('rsa', { modulusLength: 2048 })],
] as const)('JWT_ALGORITHM=%s', (algorithm, makeKeys) => {
  const { privateKey, publicKey } = makeKeys();
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({
      JWT_ALGORITHM: algorithm,
      JWT_PRIVATE_KEY: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      JWT_SECRET: '',
    });
  });

  afterAll(async () => {
    await t.close();
  });

  it('should sign with the key pair and publish only the public key', async () => {
    const user = await signedInUser(t.http);
    const header = decodeHeader(user.tokens.access_token);
    expect(header.alg).toBe(algorithm);
    await t.http.get('/protected').set(bearer(user.tokens.access_token)).expect(200);

    const { body } = await t.http.get('/.well-known/jwks.json').expect(200);
    expect(body.keys).toHaveLength(1);
    const [jwk] = body.keys as Record<string, string>[];
    expect(jwk).toMatchObject({ kid: header.kid, alg: algorithm, use: 'sig' });
    expect(jwk.d).toBeUndefined();
    expect(jwk.p).toBeUndefined();

    // Another service verifies the token with nothing but the published key.
    const verified = jwt.verify(
      user.tokens.access_token,
      createPublicKey({ key: jwk, format: 'jwk' }),
      { algorithms: [algorithm], audience: 'test-audience', issuer: 'test-issuer' },
    ) as Record<string, unknown>;
    expect(verified.sub).toBe(user.id);
  });

  it('should refuse an HS256 token made with the public key as its secret (algorithm confusion)', async () => {
    const user = await signedInUser(t.http);
    const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const forged = jwt.sign(decodePayload(user.tokens.access_token), pem, {
      algorithm: 'HS256',
      header: {
        alg: 'HS256',
        typ: 'at+jwt',
        kid: decodeHeader(user.tokens.access_token).kid as string,
      },
    });
    const response = await t.http.get('/protected').set(bearer(forged)).expect(401);
    expect(response.body.code).toBe('invalid_token');
  });
});

describe.each(['ES256', 'RS256'] as const)('JWT_ALGORITHM=%s across a restart', (algorithm) => {
  const { privateKey } =
    algorithm === 'ES256'
      ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
      : generateKeyPairSync('rsa', { modulusLength: 2048 });
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'auth-keypair-'));
  });

  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  const start = () =>
    createTestApp({
      DB_PATH: join(dir, 'auth.sqlite'),
      JWT_ALGORITHM: algorithm,
      JWT_PRIVATE_KEY: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      JWT_SECRET: '',
      REFRESH_REUSE_GRACE: '0',
    });

  it('should keep the refresh chain, with reuse detection, when restarted with the same key', async () => {
    const first = await start();
    let user: Awaited<ReturnType<typeof signedInUser>>;
    let current: TokenPair;
    try {
      user = await signedInUser(first.http);
      const response = await first.http
        .post('/refresh')
        .send({ refresh_token: user.tokens.refresh_token })
        .expect(200);
      current = response.body as TokenPair;
    } finally {
      await first.close();
    }

    const second = await start();
    try {
      await second.http.get('/protected').set(bearer(current.access_token)).expect(200);
      // The chain key comes from the private key: the token spent before the restart is still
      // known as an ancestor of the current one.
      const reuse = await second.http
        .post('/refresh')
        .send({ refresh_token: user.tokens.refresh_token })
        .expect(401);
      expect(reuse.body.code).toBe('refresh_token_reused');
      const after = await second.http
        .post('/refresh')
        .send({ refresh_token: current.refresh_token })
        .expect(401);
      expect(after.body.code).toBe('session_revoked');
    } finally {
      await second.close();
    }
  });
});

describe('JWKS with HS256', () => {
  it('should publish no key at all', async () => {
    const t = await createTestApp();
    try {
      const { body } = await t.http.get('/.well-known/jwks.json').expect(200);
      expect(body).toEqual({ keys: [] });
    } finally {
      await t.close();
    }
  });
});
