import { randomBytes } from 'node:crypto';
import { existsSync, linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Logger } from '@nestjs/common';
import { ConfigError } from './config.error';

export const MIN_SECRET_BYTES = 32;
const PLACEHOLDER_WORDS = ['change', 'secret', 'example', 'placeholder', 'your', 'default', 'xxxx'];

/** True when a secret looks like a value copied from documentation rather than generated. */
export function looksLikePlaceholder(secret: string): boolean {
  const lower = secret.toLowerCase();
  return PLACEHOLDER_WORDS.some((word) => lower.includes(word)) || new Set(secret).size < 10;
}

/** The file a generated development secret is kept in: beside the SQLite database. */
export function generatedSecretPath(dbPath: string): string | undefined {
  return dbPath === ':memory:' ? undefined : join(dirname(dbPath), '.jwt-secret');
}

/**
 * The signing secret. A configured secret must be at least 32 bytes; in production it must also
 * not look like a placeholder. Without one, production refuses to start, and development uses a
 * random secret generated once and kept beside the database (in memory only for `:memory:`).
 */
export function resolveJwtSecret(
  configured: string | undefined,
  production: boolean,
  dbPath: string,
): Buffer {
  if (configured !== undefined) {
    if (Buffer.byteLength(configured) < MIN_SECRET_BYTES) {
      throw new ConfigError('JWT_SECRET', `must be at least ${MIN_SECRET_BYTES} bytes long`);
    }
    if (looksLikePlaceholder(configured)) {
      if (production) {
        throw new ConfigError(
          'JWT_SECRET',
          'looks like a placeholder; generate one with `openssl rand -base64 48`',
        );
      }
      new Logger('Config').warn('JWT_SECRET looks like a placeholder; never use it in production');
    }
    return Buffer.from(configured, 'utf8');
  }
  if (production) {
    throw new ConfigError(
      'JWT_SECRET',
      'is required when NODE_ENV=production (at least 32 random bytes, e.g. `openssl rand -base64 48`)',
    );
  }
  return developmentSecret(dbPath);
}

/**
 * `JWT_SECRET` may list several secrets separated by commas: the first signs, all of them verify,
 * so a new key can take over while tokens signed by the old one live out their lifetime.
 */
export function resolveJwtSecrets(
  configured: string | undefined,
  production: boolean,
  dbPath: string,
): { jwtSecret: Buffer; previousJwtSecrets: Buffer[] } {
  const listed = configured
    ?.split(',')
    .map((secret) => secret.trim())
    .filter(Boolean);
  if (!listed || listed.length === 0) {
    return { jwtSecret: resolveJwtSecret(undefined, production, dbPath), previousJwtSecrets: [] };
  }
  const [current, ...previous] = listed.map((secret) =>
    resolveJwtSecret(secret, production, dbPath),
  );
  return { jwtSecret: current, previousJwtSecrets: previous };
}

function developmentSecret(dbPath: string): Buffer {
  const logger = new Logger('Config');
  const file = generatedSecretPath(dbPath);
  if (file === undefined) {
    logger.warn('JWT_SECRET is not set: using a random secret that lasts until the process ends');
    return randomBytes(48);
  }
  if (existsSync(file)) {
    const stored = readFileSync(file, 'utf8').trim();
    if (Buffer.byteLength(stored) >= MIN_SECRET_BYTES) {
      logger.warn(`JWT_SECRET is not set: using the development secret kept in ${file}`);
      return Buffer.from(stored, 'utf8');
    }
    unlinkSync(file);
  }
  mkdirSync(dirname(file), { recursive: true });
  // Written aside, then linked into place: several processes starting at once (cluster workers,
  // two local instances) agree on the first secret linked, and none reads a half-written file.
  const secret = randomBytes(48).toString('base64url');
  const draft = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
  writeFileSync(draft, `${secret}\n`, { mode: 0o600 });
  try {
    linkSync(draft, file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
      throw error;
    }
    logger.warn(`JWT_SECRET is not set: using the development secret kept in ${file}`);
    return Buffer.from(readFileSync(file, 'utf8').trim(), 'utf8');
  } finally {
    unlinkSync(draft);
  }
  logger.warn(`JWT_SECRET is not set: generated a development secret and kept it in ${file}`);
  return Buffer.from(secret, 'utf8');
}
