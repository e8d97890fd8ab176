import { registerAs } from '@nestjs/config';
import { ConfigError } from './config.error';
import { Env, EnvReader } from './env-reader';

const DAY = 86400;
/** Authenticator apps show the issuer in a line of their own: longer ones are cut off there. */
const MFA_ISSUER_LENGTH = 64;

export type JwtAlgorithm = 'HS256' | 'ES256' | 'RS256';

/** Where the ES256 / RS256 private key comes from: the PEM itself, or the file that holds it. */
export type PrivateKeySource = { pem: string } | { file: string };

/**
 * The signing key as configured: HS256 with JWT_SECRET, split at commas (the first signs, the
 * others still verify; empty when unset), or ES256 / RS256 with a private key (its public key is
 * then published at /.well-known/jwks.json). Nothing here is read from disk or checked as a key:
 * the key provider (JwtKeysModule) does that once at start-up, and refuses weak or missing keys.
 */
export type JwtKeyConfig =
  | { algorithm: 'HS256'; jwtSecrets: string[] }
  | { algorithm: 'ES256' | 'RS256'; privateKey: PrivateKeySource };

export type AuthConfig = JwtKeyConfig & {
  issuer: string;
  audience: string;
  /** All lifetimes in seconds. */
  accessTtl: number;
  sessionIdleTtl: number;
  sessionMaxAge: number;
  /** Active sessions one user may have; a sign-in beyond it ends the least recently used. */
  sessionsPerUserMax: number;
  refreshReuseGrace: number;
  refreshAcceptsAccessToken: boolean;
  /** REFRESH_CHAIN_KEY: the secret refresh-token chains derive from, kept across key rotations. */
  refreshChainKey?: string;
  /** How often expired revocation rows are purged. */
  purgeInterval: number;
  /**
   * DATA_ENCRYPTION_KEY, split at commas (the first seals, the others still open); empty when
   * unset, and the key is then derived from the refresh-chain key (see JwtKeysModule).
   */
  dataEncryptionKeys: string[];
  /** The issuer an authenticator app shows next to the account. */
  mfaIssuer: string;
  /** Seconds audit events are kept; the purge removes older ones. */
  auditRetention: number;
  /** Whether admins must have a second factor (and have used it) to reach the admin routes. */
  adminRequireMfa: boolean;
};

export function loadAuthConfig(env: Env): AuthConfig {
  const read = new EnvReader(env);
  const accessTtl = read.duration('JWT_ACCESS_TTL', '15m', 10, DAY);
  const sessionMaxAge = read.duration('SESSION_MAX_AGE', '30d', 60, 365 * DAY);
  const sessionIdleTtl = read.duration('SESSION_IDLE_TTL', '14d', 60, 365 * DAY);
  const refreshReuseGrace = read.duration('REFRESH_REUSE_GRACE', '10s', 0, 300);
  if (sessionIdleTtl < accessTtl + refreshReuseGrace) {
    // The guard relies on access tokens never outliving the idle window they were issued in
    // (one issued inside the grace window may start up to REFRESH_REUSE_GRACE late).
    throw new ConfigError(
      'SESSION_IDLE_TTL',
      'must not be shorter than JWT_ACCESS_TTL plus REFRESH_REUSE_GRACE',
    );
  }
  return {
    ...readKeyConfig(read),
    issuer: read.string('JWT_ISSUER', 'nest-jwt-auth', 255),
    audience: read.string('JWT_AUDIENCE', 'nest-jwt-auth', 255),
    accessTtl,
    sessionIdleTtl,
    sessionMaxAge,
    sessionsPerUserMax: read.int('SESSIONS_PER_USER_MAX', 100, 1, 10_000),
    refreshReuseGrace,
    // On in development for the seed's curl workflow; in production a stolen access token must
    // not be worth a session.
    refreshAcceptsAccessToken: read.boolean(
      'REFRESH_ACCEPTS_ACCESS_TOKEN',
      env.NODE_ENV?.trim() !== 'production',
    ),
    refreshChainKey: read.raw('REFRESH_CHAIN_KEY')?.trim(),
    purgeInterval: read.duration('REVOCATION_PURGE_INTERVAL', '1h', 1, DAY),
    dataEncryptionKeys: (read.raw('DATA_ENCRYPTION_KEY') ?? '')
      .split(',')
      .map((key) => key.trim())
      .filter(Boolean),
    auditRetention: read.duration('AUDIT_RETENTION', '90d', DAY, 3650 * DAY),
    adminRequireMfa: read.boolean('ADMIN_REQUIRE_MFA', env.NODE_ENV?.trim() === 'production'),
    mfaIssuer: read.string(
      'MFA_ISSUER',
      read.string('JWT_ISSUER', 'nest-jwt-auth', 255).slice(0, MFA_ISSUER_LENGTH),
      MFA_ISSUER_LENGTH,
    ),
  };
}

/** JWT_SECRET for HS256; JWT_PRIVATE_KEY (PEM) or else JWT_PRIVATE_KEY_FILE for a key pair. */
function readKeyConfig(read: EnvReader): JwtKeyConfig {
  const algorithm = read.oneOf<JwtAlgorithm>('JWT_ALGORITHM', 'HS256', ['HS256', 'ES256', 'RS256']);
  if (algorithm === 'HS256') {
    const jwtSecrets = (read.raw('JWT_SECRET') ?? '')
      .split(',')
      .map((secret) => secret.trim())
      .filter(Boolean);
    return { algorithm, jwtSecrets };
  }
  const pem = read.raw('JWT_PRIVATE_KEY')?.replace(/\\n/g, '\n');
  const file = read.raw('JWT_PRIVATE_KEY_FILE');
  if (pem) {
    return { algorithm, privateKey: { pem } };
  }
  if (file) {
    return { algorithm, privateKey: { file } };
  }
  throw new ConfigError(
    'JWT_PRIVATE_KEY',
    `or JWT_PRIVATE_KEY_FILE is required with JWT_ALGORITHM=${algorithm}`,
  );
}

export const authConfig = registerAs('auth', () => loadAuthConfig(process.env));
