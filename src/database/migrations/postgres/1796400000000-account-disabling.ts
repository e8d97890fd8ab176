import { MigrationInterface, QueryRunner } from 'typeorm';

/** The same columns as SQLite's AccountDisabling1796400000000. */
export class PostgresAccountDisabling1796400000000 implements MigrationInterface {
  name = 'PostgresAccountDisabling1796400000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "users" ADD "disabled_at" TIMESTAMP`);
    await queryRunner.query(`ALTER TABLE "users" ADD "disabled_until" TIMESTAMP`);
    await queryRunner.query(`ALTER TABLE "users" ADD "disabled_reason" character varying(255)`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "users" DROP COLUMN "disabled_reason"`);
    await queryRunner.query(`ALTER TABLE "users" DROP COLUMN "disabled_until"`);
    await queryRunner.query(`ALTER TABLE "users" DROP COLUMN "disabled_at"`);
  }
}
