import { MigrationInterface, QueryRunner } from 'typeorm';

/** `users.disabled_*`: an admin's disabling of the account; every existing account is enabled. */
export class AccountDisabling1796400000000 implements MigrationInterface {
  name = 'AccountDisabling1796400000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "users" ADD COLUMN "disabled_at" datetime`);
    await queryRunner.query(`ALTER TABLE "users" ADD COLUMN "disabled_until" datetime`);
    await queryRunner.query(`ALTER TABLE "users" ADD COLUMN "disabled_reason" varchar(255)`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "users" DROP COLUMN "disabled_reason"`);
    await queryRunner.query(`ALTER TABLE "users" DROP COLUMN "disabled_until"`);
    await queryRunner.query(`ALTER TABLE "users" DROP COLUMN "disabled_at"`);
  }
}
