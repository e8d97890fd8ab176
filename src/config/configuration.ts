import { createHash, createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Logger } from '@nestjs/common';
import { registerAs } from '@nestjs/config';
import { ConfigError } from './config.error';
import { Env, EnvReader } from './env-reader';
import { resolveJwtSecrets } from './jwt-secret';

const DAY = 86400;

export interface AppConfig {
  nodeEnv: 'development' | 'production' | 'test';
  production: boolean;
  port: number;
  host: string;
  /** Serve the OpenAPI page at /docs (and redirect / to it). */
  docsEnabled: boolean;
}

export interface HttpConfig {
  /** Believe X-Forwarded-For (only behind a proxy that sets it). */
  trustProxy: boolean;
  /** Origins allowed by CORS; empty means CORS stays off. */
  corsOrigins: string[];
  /** Seconds a client has to send a whole request. */
  requestTimeout: number;
}

export interface RateLimitConfig {
  enabled: boolean;
  /** Window of the per-client limits, seconds. */
  window: number;
  signup: number;
  signin: number;
  refresh: number;
  /** Failed sign-ins allowed per account and client address within `failureWindow`. */
  signinFailures: number;
  failureWindow: number;
}

export interface DatabaseConfig {
  /** SQLite file, or `:memory:`; its folder also keeps a generated development secret. */
  path: string;
  /** PostgreSQL connection URL (DATABASE_URL); without it the SQLite file is the database. */
  url?: string;
  /** PostgreSQL schema holding the tables. */
  schema: string;
  /** Connections per instance to PostgreSQL. */
  poolSize: number;
}

export interface RedisConfig {
  /** REDIS_URL; without it, rate-limit counters stay in each process. */
  url?: string;
  /** Prefix of every key this service writes, so that one Redis can serve several deployments. */
  keyPrefix: string;
}

export interface ObservabilityConfig {
  /** pino level: fatal, error, warn, info, debug, trace or silent. */
  logLevel: string;
  /** Serve Prometheus metrics at /metrics. */
  metricsEnabled: boolean;
  /** When set, /metrics asks for `Authorization: Bearer <token>`. */
  metricsToken?: string;
}

export type JwtAlgorithm = 'HS256' | 'ES256' | 'RS256';

export interface AuthConfig {
  /** HS256 with JWT_SECRET, or ES256 / RS256 with a private key (then /.well-known/jwks.json). */
  algorithm: JwtAlgorithm;
  /** PEM of the private key, for ES256 / RS256. */
  privateKeyPem?: string;
  /** Raw bytes of the HMAC signing key; turned into a KeyObject once by the token service. */
  jwtSecret: Buffer;
  /** Older keys that still verify (rotation): `JWT_SECRET=new,old`. */
  previousJwtSecrets: Buffer[];
  issuer: string;
  audience: string;
  /** All lifetimes in seconds. */
  accessTtl: number;
  sessionIdleTtl: number;
  sessionMaxAge: number;
  refreshReuseGrace: number;
  refreshAcceptsAccessToken: boolean;
  /** How often expired revocation rows are purged. */
  purgeInterval: number;
}

export function loadAppConfig(env: Env): AppConfig {
  const read = new EnvReader(env);
  const nodeEnv = read.oneOf('NODE_ENV', 'development', ['development', 'production', 'test']);
  return {
    nodeEnv,
    production: nodeEnv === 'production',
    port: read.int('PORT', 3000, 0, 65535),
    host: read.string('HOST', '0.0.0.0', 255),
    docsEnabled: read.boolean('DOCS_ENABLED', nodeEnv !== 'production'),
  };
}

export function loadHttpConfig(env: Env): HttpConfig {
  const read = new EnvReader(env);
  const origins = read.string('CORS_ORIGINS', '', 4096);
  const corsOrigins = origins
    .split(',')
    .map((origin) => origin.trim())
    .filter(Boolean);
  for (const origin of corsOrigins) {
    if (origin === '*' || !/^https?:\/\/[^/\s]+$/.test(origin)) {
      throw new ConfigError(
        'CORS_ORIGINS',
        `must list exact origins like https://app.example.com, got "${origin}"`,
      );
    }
  }
  return {
    trustProxy: read.boolean('TRUST_PROXY', false),
    corsOrigins,
    requestTimeout: read.duration('HTTP_REQUEST_TIMEOUT', '30s', 1, 600),
  };
}

export function loadRateLimitConfig(env: Env): RateLimitConfig {
  const read = new EnvReader(env);
  return {
    enabled: read.boolean('RATE_LIMIT_ENABLED', true),
    window: read.duration('RATE_LIMIT_WINDOW', '1m', 1, 86400),
    signup: read.int('RATE_LIMIT_SIGNUP', 10, 1, 1_000_000),
    signin: read.int('RATE_LIMIT_SIGNIN', 30, 1, 1_000_000),
    refresh: read.int('RATE_LIMIT_REFRESH', 60, 1, 1_000_000),
    signinFailures: read.int('RATE_LIMIT_SIGNIN_FAILURES', 10, 1, 1_000_000),
    failureWindow: read.duration('RATE_LIMIT_SIGNIN_FAILURE_WINDOW', '15m', 1, 86400),
  };
}

export function loadDatabaseConfig(env: Env): DatabaseConfig {
  const read = new EnvReader(env);
  const url = read.raw('DATABASE_URL')?.trim();
  if (url !== undefined && !/^postgres(ql)?:\/\/[^\s]+$/.test(url)) {
    // The URL may hold a password: it is never echoed.
    throw new ConfigError('DATABASE_URL', 'must be a postgres:// or postgresql:// URL');
  }
  const schema = read.string('DATABASE_SCHEMA', 'public', 63);
  if (!/^[a-z_][a-z0-9_]*$/.test(schema) || schema.startsWith('pg_')) {
    throw new ConfigError(
      'DATABASE_SCHEMA',
      'must be a lower-case SQL identifier not starting with pg_',
    );
  }
  return {
    path: read.string('DB_PATH', './data/auth.sqlite', 4096),
    url,
    schema,
    poolSize: read.int('DATABASE_POOL_SIZE', 10, 1, 1000),
  };
}

export function loadRedisConfig(env: Env): RedisConfig {
  const read = new EnvReader(env);
  const url = read.raw('REDIS_URL')?.trim();
  if (url !== undefined && !/^rediss?:\/\/[^\s]+$/.test(url)) {
    throw new ConfigError('REDIS_URL', 'must be a redis:// or rediss:// URL');
  }
  return { url, keyPrefix: read.string('REDIS_KEY_PREFIX', 'nest-jwt-auth:', 128) };
}

export function loadObservabilityConfig(env: Env): ObservabilityConfig {
  const read = new EnvReader(env);
  const metricsToken = read.raw('METRICS_TOKEN')?.trim();
  if (metricsToken !== undefined && metricsToken.length < 16) {
    throw new ConfigError('METRICS_TOKEN', 'must be at least 16 characters long');
  }
  return {
    logLevel: read.oneOf('LOG_LEVEL', 'info', [
      'fatal',
      'error',
      'warn',
      'info',
      'debug',
      'trace',
      'silent',
    ]),
    metricsEnabled: read.boolean('METRICS_ENABLED', true),
    metricsToken,
  };
}

export function loadAuthConfig(env: Env): AuthConfig {
  const read = new EnvReader(env);
  const app = loadAppConfig(env);
  const database = loadDatabaseConfig(env);
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
  const algorithm = read.oneOf<JwtAlgorithm>('JWT_ALGORITHM', 'HS256', ['HS256', 'ES256', 'RS256']);
  if (algorithm === 'HS256' && database.url !== undefined && read.raw('JWT_SECRET') === undefined) {
    new Logger('Config').warn(
      'DATABASE_URL without JWT_SECRET: instances share a generated secret only when they share ' +
        `the folder of DB_PATH; set JWT_SECRET for instances on several hosts`,
    );
  }
  const privateKeyPem = algorithm === 'HS256' ? undefined : readPrivateKey(read, algorithm);
  return {
    algorithm,
    privateKeyPem,
    // With a key pair, the server secret behind refresh-token derivation comes from the private key.
    ...(privateKeyPem
      ? {
          jwtSecret: createHash('sha256').update(`refresh-chain\n${privateKeyPem}`).digest(),
          previousJwtSecrets: [],
        }
      : resolveJwtSecrets(read.raw('JWT_SECRET'), app.production, database.path)),
    issuer: read.string('JWT_ISSUER', 'nest-jwt-auth', 255),
    audience: read.string('JWT_AUDIENCE', 'nest-jwt-auth', 255),
    accessTtl,
    sessionIdleTtl,
    sessionMaxAge,
    refreshReuseGrace,
    refreshAcceptsAccessToken: read.boolean('REFRESH_ACCEPTS_ACCESS_TOKEN', true),
    purgeInterval: read.duration('REVOCATION_PURGE_INTERVAL', '1h', 1, DAY),
  };
}

/** JWT_PRIVATE_KEY (PEM) or JWT_PRIVATE_KEY_FILE, checked against the algorithm. */
function readPrivateKey(read: EnvReader, algorithm: JwtAlgorithm): string {
  const file = read.raw('JWT_PRIVATE_KEY_FILE');
  let pem = read.raw('JWT_PRIVATE_KEY')?.replace(/\\n/g, '\n');
  if (!pem && file) {
    try {
      pem = readFileSync(file, 'utf8');
    } catch {
      throw new ConfigError('JWT_PRIVATE_KEY_FILE', `cannot be read: ${file}`);
    }
  }
  if (!pem) {
    throw new ConfigError(
      'JWT_PRIVATE_KEY',
      `or JWT_PRIVATE_KEY_FILE is required with JWT_ALGORITHM=${algorithm}`,
    );
  }
  let key;
  try {
    key = createPrivateKey(pem);
  } catch {
    throw new ConfigError('JWT_PRIVATE_KEY', 'is not a PEM private key');
  }
  const fits =
    algorithm === 'ES256'
      ? key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1'
      : key.asymmetricKeyType === 'rsa' && (key.asymmetricKeyDetails?.modulusLength ?? 0) >= 2048;
  if (!fits) {
    throw new ConfigError(
      'JWT_PRIVATE_KEY',
      algorithm === 'ES256'
        ? 'must be an EC P-256 key for ES256'
        : 'must be an RSA key of at least 2048 bits for RS256',
    );
  }
  return pem;
}

export const appConfig = registerAs('app', () => loadAppConfig(process.env));
export const databaseConfig = registerAs('database', () => loadDatabaseConfig(process.env));
export const rateLimitConfig = registerAs('rateLimit', () => loadRateLimitConfig(process.env));
export const redisConfig = registerAs('redis', () => loadRedisConfig(process.env));
export const observabilityConfig = registerAs('observability', () =>
  loadObservabilityConfig(process.env),
);
export const authConfig = registerAs('auth', () => loadAuthConfig(process.env));
