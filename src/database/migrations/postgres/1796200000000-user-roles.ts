import { MigrationInterface, QueryRunner } from 'typeorm';

/** The same column as SQLite's UserRoles1796200000000. */
export class PostgresUserRoles1796200000000 implements MigrationInterface {
  name = 'PostgresUserRoles1796200000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `ALTER TABLE "users" ADD "roles" character varying(255) NOT NULL DEFAULT ''`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "users" DROP COLUMN "roles"`);
  }
}
