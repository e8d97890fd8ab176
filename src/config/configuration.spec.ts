import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Logger } from '@nestjs/common';
import { loadAppConfig, loadAuthConfig } from './configuration';
import { parseDuration } from './duration';

const STRONG = 'k3Jq9v2LxPz8Rw5TnY7bQm4Hs6Dc1Fg0Ae2Uj8Vi3Wo5';

describe('parseDuration', () => {
  it.each([
    ['900', 900],
    ['15m', 900],
    ['14d', 14 * 86400],
    ['10s', 10],
    ['2h', 7200],
    [' 30D ', 30 * 86400],
    ['0', 0],
  ])('should read %p as %p seconds', (text, seconds) => {
    expect(parseDuration(text)).toBe(seconds);
  });

  it.each(['', 'abc', '15 minutes', '-5', '1.5h', '10w'])('should refuse %p', (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });
});

describe(loadAuthConfig.name, () => {
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'auth-config-'));
    jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
  });

  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
    jest.restoreAllMocks();
  });

  it('should apply the documented defaults', () => {
    const config = loadAuthConfig({ JWT_SECRET: STRONG });
    expect(config).toMatchObject({
      accessTtl: 900,
      sessionIdleTtl: 14 * 86400,
      sessionMaxAge: 30 * 86400,
      refreshReuseGrace: 10,
      refreshAcceptsAccessToken: true,
    });
    expect(loadAppConfig({}).port).toBe(3000);
    expect(loadAppConfig({}).docsEnabled).toBe(true);
    expect(loadAppConfig({ NODE_ENV: 'production' }).docsEnabled).toBe(false);
    expect(loadAppConfig({ NODE_ENV: 'production', DOCS_ENABLED: 'true' }).docsEnabled).toBe(true);
  });

  it('should name the variable in every validation failure', () => {
    expect(() => loadAuthConfig({ JWT_SECRET: STRONG, JWT_ACCESS_TTL: 'soon' })).toThrow(
      /JWT_ACCESS_TTL/,
    );
    expect(() =>
      loadAuthConfig({ JWT_SECRET: STRONG, REFRESH_ACCEPTS_ACCESS_TOKEN: 'maybe' }),
    ).toThrow(/REFRESH_ACCEPTS_ACCESS_TOKEN/);
    expect(() => loadAppConfig({ PORT: '70000' })).toThrow(/PORT/);
    expect(() =>
      loadAuthConfig({ JWT_SECRET: STRONG, JWT_ACCESS_TTL: '2h', SESSION_IDLE_TTL: '1h' }),
    ).toThrow(/SESSION_IDLE_TTL must not be shorter than JWT_ACCESS_TTL plus REFRESH_REUSE_GRACE/);
    expect(() => loadAppConfig({ NODE_ENV: 'staging' })).toThrow(/NODE_ENV/);
  });

  it('should read a comma-separated list as the signing key followed by older keys', () => {
    const older = 'Zq8Wm3Rt6Yp1Lk4Hs7Dx0Cv2Bn5Mj9Gf3Ta8Qe1';
    const config = loadAuthConfig({ JWT_SECRET: `${STRONG}, ${older}` });
    expect(config.jwtSecret).toEqual(Buffer.from(STRONG));
    expect(config.previousJwtSecrets).toEqual([Buffer.from(older)]);
    expect(() => loadAuthConfig({ JWT_SECRET: `${STRONG},short` })).toThrow(/32 bytes/);
  });

  it('should need a fitting private key with ES256 or RS256, and no JWT_SECRET', () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({
      type: 'pkcs8',
      format: 'pem',
    });
    const config = loadAuthConfig({
      NODE_ENV: 'production',
      JWT_ALGORITHM: 'ES256',
      JWT_PRIVATE_KEY: String(ec),
    });
    expect(config.algorithm).toBe('ES256');
    expect(() => loadAuthConfig({ JWT_ALGORITHM: 'ES256' })).toThrow(/JWT_PRIVATE_KEY/);
    expect(() => loadAuthConfig({ JWT_ALGORITHM: 'RS256', JWT_PRIVATE_KEY: String(ec) })).toThrow(
      /RSA key of at least 2048 bits/,
    );
    expect(() => loadAuthConfig({ JWT_ALGORITHM: 'ES256', JWT_PRIVATE_KEY: 'not a key' })).toThrow(
      /not a PEM private key/,
    );
    expect(() => loadAuthConfig({ JWT_ALGORITHM: 'none' })).toThrow(/JWT_ALGORITHM/);
  });

  it('should refuse a secret shorter than 32 bytes anywhere', () => {
    expect(() => loadAuthConfig({ JWT_SECRET: 'short-secret' })).toThrow(/JWT_SECRET.*32 bytes/);
  });

  it('should refuse to start in production without a secret', () => {
    expect(() =>
      loadAuthConfig({ NODE_ENV: 'production', DB_PATH: join(dir, 'db.sqlite') }),
    ).toThrow(/JWT_SECRET is required when NODE_ENV=production/);
    expect(existsSync(join(dir, '.jwt-secret'))).toBe(false);
  });

  it('should refuse a placeholder secret in production', () => {
    expect(() =>
      loadAuthConfig({
        NODE_ENV: 'production',
        JWT_SECRET: 'change-me-to-a-long-random-secret-value-please',
      }),
    ).toThrow(/placeholder/);
    expect(() => loadAuthConfig({ NODE_ENV: 'production', JWT_SECRET: 'a'.repeat(64) })).toThrow(
      /placeholder/,
    );
    expect(loadAuthConfig({ NODE_ENV: 'production', JWT_SECRET: STRONG }).jwtSecret).toEqual(
      Buffer.from(STRONG),
    );
  });

  it('should generate a development secret once, keep it beside the database and reuse it', () => {
    const env = { DB_PATH: join(dir, 'nested', 'auth.sqlite') };
    const first = loadAuthConfig(env).jwtSecret;
    const file = join(dir, 'nested', '.jwt-secret');
    expect(first.length).toBeGreaterThanOrEqual(32);
    expect(readFileSync(file, 'utf8').trim()).toBe(first.toString('utf8'));
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(loadAuthConfig(env).jwtSecret).toEqual(first);
  });

  it('should keep the generated secret in memory only for an in-memory database', () => {
    const a = loadAuthConfig({ DB_PATH: ':memory:' }).jwtSecret;
    const b = loadAuthConfig({ DB_PATH: ':memory:' }).jwtSecret;
    expect(a.equals(b)).toBe(false);
  });
});
