import { createHash, generateKeyPairSync, hkdfSync, KeyObject } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Logger } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { Test } from '@nestjs/testing';
import {
  appConfig,
  authConfig,
  databaseConfig,
  loadAppConfig,
  loadAuthConfig,
  loadDatabaseConfig,
} from '../../config/configuration';
import type { Env } from '../../config/env-reader';
import { JwtKeys } from './jwt-keys';
import { createJwtKeys, JwtKeysModule } from './jwt-keys.module';

const STRONG = 'k3Jq9v2LxPz8Rw5TnY7bQm4Hs6Dc1Fg0Ae2Uj8Vi3Wo5';

const kidOf = (bytes: Buffer) =>
  createHash('sha256').update(bytes).digest('base64url').slice(0, 16);
const secretOf = (keys: JwtKeys) => keys.signingKey.export();
const chainKey = (secret: Buffer) =>
  Buffer.from(hkdfSync('sha256', secret, '', 'refresh-token-chain', 32));
const pemOf = (key: KeyObject) => String(key.export({ type: 'pkcs8', format: 'pem' }));

describe(JwtKeysModule.name, () => {
  let dir: string;
  /** The keys an app started with `env` gets (DB_PATH in a folder of the test's own). */
  let keysFor: (env: Env) => JwtKeys;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'jwt-keys-'));
    jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    keysFor = (env) => {
      const full = { DB_PATH: join(dir, 'auth.sqlite'), ...env };
      return createJwtKeys(loadAuthConfig(full), loadAppConfig(full), loadDatabaseConfig(full));
    };
  });

  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
    jest.restoreAllMocks();
  });

  it('should sign with the first listed secret and verify with every one', () => {
    const older = 'Zq8Wm3Rt6Yp1Lk4Hs7Dx0Cv2Bn5Mj9Gf3Ta8Qe1';
    const keys = keysFor({ JWT_SECRET: `${STRONG}, ${older}`, REFRESH_CHAIN_KEY: older });
    expect(secretOf(keys)).toEqual(Buffer.from(STRONG));
    expect(keys.kid).toBe(kidOf(Buffer.from(STRONG)));
    expect(keys.verificationKey(kidOf(Buffer.from(older)))?.export()).toEqual(Buffer.from(older));
    expect(keys.verificationKey('unknown')).toBeUndefined();
    expect(() => keysFor({ JWT_SECRET: `${STRONG},short`, REFRESH_CHAIN_KEY: older })).toThrow(
      /32 bytes/,
    );
  });

  it('should keep the refresh-chain key across a rotation only with REFRESH_CHAIN_KEY', () => {
    const older = 'Zq8Wm3Rt6Yp1Lk4Hs7Dx0Cv2Bn5Mj9Gf3Ta8Qe1';
    const before = keysFor({ JWT_SECRET: older }).refreshKey.export();
    // Set to the secret that signed before the rotation, the chains carry on unchanged...
    const during = keysFor({ JWT_SECRET: `${STRONG},${older}`, REFRESH_CHAIN_KEY: older });
    const after = keysFor({ JWT_SECRET: STRONG, REFRESH_CHAIN_KEY: older });
    expect(during.refreshKey.export()).toEqual(before);
    expect(after.refreshKey.export()).toEqual(before);
    // ...and a rotation without it is refused, rather than silently starting new chains.
    expect(() => keysFor({ JWT_SECRET: `${STRONG},${older}` })).toThrow(/REFRESH_CHAIN_KEY/);
    expect(() => keysFor({ JWT_SECRET: STRONG, REFRESH_CHAIN_KEY: 'short' })).toThrow(/32 bytes/);
  });

  it('should derive the refresh-chain key as it always has, so refresh tokens outlive upgrades', () => {
    expect(keysFor({ JWT_SECRET: STRONG }).refreshKey.export()).toEqual(
      chainKey(Buffer.from(STRONG)),
    );
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const keys = keysFor({ JWT_ALGORITHM: 'ES256', JWT_PRIVATE_KEY: pemOf(privateKey) });
    const der = privateKey.export({ type: 'pkcs8', format: 'der' });
    expect(keys.refreshKey.export()).toEqual(
      chainKey(createHash('sha256').update('refresh-chain\n').update(der).digest()),
    );
    // Another encoding of the same key (SEC 1 instead of PKCS#8) gives the same chain key.
    const sec1 = privateKey.export({ type: 'sec1', format: 'pem' }) as string;
    expect(keysFor({ JWT_ALGORITHM: 'ES256', JWT_PRIVATE_KEY: sec1 }).refreshKey.export()).toEqual(
      keys.refreshKey.export(),
    );
  });

  it('should need a fitting private key with ES256 or RS256, and no JWT_SECRET', () => {
    const ec = pemOf(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey);
    const keys = keysFor({ NODE_ENV: 'production', JWT_ALGORITHM: 'ES256', JWT_PRIVATE_KEY: ec });
    expect(keys.algorithm).toBe('ES256');
    expect(keys.jwks().keys).toEqual([expect.objectContaining({ kid: keys.kid, alg: 'ES256' })]);
    expect(() => keysFor({ JWT_ALGORITHM: 'RS256', JWT_PRIVATE_KEY: ec })).toThrow(
      /RSA key of at least 2048 bits/,
    );
    expect(() => keysFor({ JWT_ALGORITHM: 'ES256', JWT_PRIVATE_KEY: 'not a key' })).toThrow(
      /not a PEM private key/,
    );
  });

  it('should read the private key from JWT_PRIVATE_KEY_FILE', () => {
    const file = join(dir, 'jwt.pem');
    writeFileSync(file, pemOf(generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey));
    expect(keysFor({ JWT_ALGORITHM: 'RS256', JWT_PRIVATE_KEY_FILE: file }).algorithm).toBe('RS256');
    expect(() =>
      keysFor({ JWT_ALGORITHM: 'RS256', JWT_PRIVATE_KEY_FILE: join(dir, 'missing.pem') }),
    ).toThrow(/JWT_PRIVATE_KEY_FILE cannot be read/);
  });

  it('should refuse a secret shorter than 32 bytes anywhere', () => {
    expect(() => keysFor({ JWT_SECRET: 'short-secret' })).toThrow(/JWT_SECRET.*32 bytes/);
  });

  it('should refuse to start in production without a secret', () => {
    expect(() => keysFor({ NODE_ENV: 'production' })).toThrow(
      /JWT_SECRET is required when NODE_ENV=production/,
    );
    expect(existsSync(join(dir, '.jwt-secret'))).toBe(false);
  });

  it('should refuse a placeholder secret in production', () => {
    expect(() =>
      keysFor({
        NODE_ENV: 'production',
        JWT_SECRET: 'change-me-to-a-long-random-secret-value-please',
      }),
    ).toThrow(/placeholder/);
    expect(() => keysFor({ NODE_ENV: 'production', JWT_SECRET: 'a'.repeat(64) })).toThrow(
      /placeholder/,
    );
    expect(secretOf(keysFor({ NODE_ENV: 'production', JWT_SECRET: STRONG }))).toEqual(
      Buffer.from(STRONG),
    );
  });

  it('should generate a development secret once, keep it beside the database and reuse it', () => {
    const env = { DB_PATH: join(dir, 'nested', 'auth.sqlite') };
    const first = secretOf(keysFor(env));
    const file = join(dir, 'nested', '.jwt-secret');
    expect(first.length).toBeGreaterThanOrEqual(32);
    expect(readFileSync(file, 'utf8').trim()).toBe(first.toString('utf8'));
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(secretOf(keysFor(env))).toEqual(first);
  });

  it('should keep the generated secret in memory only for an in-memory database', () => {
    const a = secretOf(keysFor({ DB_PATH: ':memory:' }));
    const b = secretOf(keysFor({ DB_PATH: ':memory:' }));
    expect(a.equals(b)).toBe(false);
  });

  it('should resolve the keys once per app, however many modules import them', async () => {
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const saved = { ...process.env };
    Object.assign(process.env, { DB_PATH: join(dir, 'auth.sqlite'), JWT_SECRET: '' });
    try {
      const moduleRef = await Test.createTestingModule({
        imports: [
          ConfigModule.forRoot({
            load: [appConfig, authConfig, databaseConfig],
            ignoreEnvFile: true,
            isGlobal: true,
          }),
          JwtKeysModule,
          { module: class TokensConsumerModule {}, imports: [JwtKeysModule] },
        ],
      }).compile();
      expect(warn.mock.calls).toEqual([[expect.stringMatching(/generated a development secret/)]]);
      expect(secretOf(moduleRef.get(JwtKeys, { strict: false })).toString('utf8')).toBe(
        readFileSync(join(dir, '.jwt-secret'), 'utf8').trim(),
      );
      await moduleRef.close();
    } finally {
      process.env = saved;
    }
  });
});
