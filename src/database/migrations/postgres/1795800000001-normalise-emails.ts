import { Logger } from '@nestjs/common';
import { MigrationInterface, QueryRunner } from 'typeorm';
import { normaliseStoredEmails } from '../normalise-stored-emails';

/** Stored emails in their one spelling per mailbox (NFKC, lower case, IDNA domain). */
export class PostgresNormaliseEmails1795800000001 implements MigrationInterface {
  name = 'PostgresNormaliseEmails1795800000001';

  public async up(queryRunner: QueryRunner): Promise<void> {
    const skipped = await normaliseStoredEmails(queryRunner, (n) => `$${n}`);
    if (skipped.length > 0) {
      new Logger('Migrations').warn(
        `${skipped.length} stored email(s) kept as they were: another account has their normal form (user ids: ${skipped.join(', ')})`,
      );
    }
  }

  public async down(): Promise<void> {
    // The earlier spellings are not kept: nothing to undo.
  }
}
