import type { QueryRunner } from 'typeorm';
import { normaliseEmail } from '../../common/validation/normalise-email';

const BATCH = 1000;

/**
 * Rewrites stored emails into the one spelling per mailbox that sign-up and sign-in now use
 * (normaliseEmail), so that accounts stored by earlier versions in another form still sign in. An
 * address whose normal form another account already has is left as it is (and reported), never
 * merged. Shared by both dialects' migrations; `placeholder(n)` is the dialect's parameter.
 */
export async function normaliseStoredEmails(
  queryRunner: QueryRunner,
  placeholder: (n: number) => string,
): Promise<string[]> {
  const skipped: string[] = [];
  let after = '';
  for (;;) {
    const rows = (await queryRunner.query(
      `SELECT id, email FROM users WHERE id > ${placeholder(1)} ORDER BY id LIMIT ${BATCH}`,
      [after],
    )) as { id: string; email: string }[];
    for (const { id, email } of rows) {
      const normal = normaliseEmail(email);
      if (normal === email) {
        continue;
      }
      const taken = (await queryRunner.query(
        `SELECT 1 FROM users WHERE email = ${placeholder(1)}`,
        [normal],
      )) as unknown[];
      if (taken.length > 0) {
        skipped.push(id);
        continue;
      }
      await queryRunner.query(
        `UPDATE users SET email = ${placeholder(1)} WHERE id = ${placeholder(2)}`,
        [normal, id],
      );
    }
    if (rows.length < BATCH) {
      return skipped;
    }
    after = rows[rows.length - 1].id;
  }
}
