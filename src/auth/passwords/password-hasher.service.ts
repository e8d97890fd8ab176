import { randomBytes } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import * as argon2 from 'argon2';

/** OWASP's Argon2id parameters: 19 MiB of memory, two passes, one lane. */
export const ARGON2_OPTIONS = {
  type: argon2.argon2id,
  memoryCost: 19456,
  timeCost: 2,
  parallelism: 1,
} as const;

/**
 * Argon2id hashing on libuv's thread pool (never on the event loop). A dummy hash made with the
 * same parameters lets a sign-in for an unknown email do exactly the work of a wrong password.
 */
@Injectable()
export class PasswordHasher {
  /** Made once at start-up, so the first unknown email costs the same as any other. */
  private readonly dummyHash = argon2.hash(randomBytes(32).toString('base64'), ARGON2_OPTIONS);

  hash(password: string): Promise<string> {
    return argon2.hash(password, ARGON2_OPTIONS);
  }

  /** Checks a password; with no stored hash, checks it against the dummy hash and fails. */
  async verify(storedHash: string | undefined, password: string): Promise<boolean> {
    if (storedHash === undefined) {
      await argon2.verify(await this.dummyHash, password);
      return false;
    }
    try {
      return await argon2.verify(storedHash, password);
    } catch {
      return false;
    }
  }

  /** True when a stored hash was made with other parameters than today's. */
  needsRehash(storedHash: string): boolean {
    return argon2.needsRehash(storedHash, ARGON2_OPTIONS);
  }
}
