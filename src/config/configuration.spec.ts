import { generateKeyPairSync } from 'node:crypto';
import { loadAppConfig, loadAuthConfig, loadHttpConfig } from './configuration';
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
    expect(() => loadHttpConfig({ CORS_ORIGINS: '*' })).toThrow(/CORS_ORIGINS/);
  });

  it('should read a comma-separated list as the signing key followed by older keys', () => {
    const older = 'Zq8Wm3Rt6Yp1Lk4Hs7Dx0Cv2Bn5Mj9Gf3Ta8Qe1';
    expect(loadAuthConfig({ JWT_SECRET: `${STRONG}, ${older}` })).toMatchObject({
      algorithm: 'HS256',
      jwtSecrets: [STRONG, older],
    });
    expect(loadAuthConfig({ JWT_SECRET: ' , ' })).toMatchObject({ jwtSecrets: [] });
  });

  it('should need a private key with ES256 or RS256, as PEM or as a file', () => {
    const ec = String(
      generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({
        type: 'pkcs8',
        format: 'pem',
      }),
    );
    const config = loadAuthConfig({
      NODE_ENV: 'production',
      JWT_ALGORITHM: 'ES256',
      JWT_PRIVATE_KEY: ec.replace(/\n/g, '\\n'),
    });
    expect(config).toMatchObject({ algorithm: 'ES256', privateKey: { pem: ec } });
    expect(
      loadAuthConfig({ JWT_ALGORITHM: 'RS256', JWT_PRIVATE_KEY_FILE: '/run/secrets/jwt.pem' }),
    ).toMatchObject({ algorithm: 'RS256', privateKey: { file: '/run/secrets/jwt.pem' } });
    expect(() => loadAuthConfig({ JWT_ALGORITHM: 'ES256' })).toThrow(
      /JWT_PRIVATE_KEY or JWT_PRIVATE_KEY_FILE is required with JWT_ALGORITHM=ES256/,
    );
    expect(() => loadAuthConfig({ JWT_ALGORITHM: 'none' })).toThrow(/JWT_ALGORITHM/);
  });

  it('should read the environment only: no key file is opened and no secret is made', () => {
    // Checking and resolving keys is the key provider's work (see jwt-keys.spec.ts).
    expect(
      loadAuthConfig({ NODE_ENV: 'production', DB_PATH: '/nonexistent/auth.sqlite' }),
    ).toMatchObject({ algorithm: 'HS256', jwtSecrets: [] });
    expect(
      loadAuthConfig({ JWT_ALGORITHM: 'ES256', JWT_PRIVATE_KEY_FILE: '/nonexistent/key.pem' }),
    ).toMatchObject({ privateKey: { file: '/nonexistent/key.pem' } });
  });
});
