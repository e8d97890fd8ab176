import { randomBytes } from 'node:crypto';
import { existsSync, linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Logger } from '@nestjs/common';
import { ConfigError } from '../../config/config.error';

export const MIN_SECRET_BYTES = 32;
const PLACEHOLDER_WORDS = ['change', 'secret', 'example', 'placeholder', 'your', 'default', 'xxxx'];

const logger = new Logger('JwtKeys');

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
 * The HS256 secrets, the signing one first. Every configured secret must be at least 32 bytes; in
 * production none may look like a placeholder. Without one, production refuses to start, and
 * development uses a random secret generated once and kept beside the database (in memory only
 * for `:memory:`).
 */
export function resolveJwtSecrets(
  configured: readonly string[],
  production: boolean,
  dbPath: string,
): [Buffer, ...Buffer[]] {
  const [current, ...previous] = configured;
  if (current === undefined) {
    if (production) {
      throw new ConfigError(
        'JWT_SECRET',
        'is required when NODE_ENV=production (at least 32 random bytes, e.g. `openssl rand -base64 48`)',
      );
    }
    return [developmentSecret(dbPath)];
  }
  const check = (secret: string) => checkedSecret('JWT_SECRET', secret, production);
  return [check(current), ...previous.map(check)];
}

/** A configured secret: at least 32 bytes, and in production nothing that looks like a placeholder. */
export function checkedSecret(name: string, secret: string, production: boolean): Buffer {
  if (Buffer.byteLength(secret) < MIN_SECRET_BYTES) {
    throw new ConfigError(name, `must be at least ${MIN_SECRET_BYTES} bytes long`);
  }
  if (looksLikePlaceholder(secret)) {
    if (production) {
      throw new ConfigError(
        name,
        'looks like a placeholder; generate one with `openssl rand -base64 48`',
      );
    }
    logger.warn(`${name} looks like a placeholder; never use it in production`);
  }
  return Buffer.from(secret, 'utf8');
}

function developmentSecret(dbPath: string): Buffer {
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
