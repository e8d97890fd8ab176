import { MigrationInterface, QueryRunner } from 'typeorm';

/** The same tables and columns as SQLite's SecondFactor1796100000000. */
export class PostgresSecondFactor1796100000000 implements MigrationInterface {
  name = 'PostgresSecondFactor1796100000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `ALTER TABLE "sessions" ADD "aal" character varying(8) NOT NULL DEFAULT 'aal1', ADD "amr" character varying(32) NOT NULL DEFAULT 'pwd'`,
    );
    await queryRunner.query(
      `CREATE TABLE "mfa_factors" ("user_id" character varying(36) NOT NULL, "status" character varying(16) NOT NULL, "sealed_secret" character varying(255) NOT NULL, "created_at" TIMESTAMP NOT NULL, "expires_at" TIMESTAMP, "activated_at" TIMESTAMP, "last_step" integer, CONSTRAINT "PK_120abae8e4a6232bfe2c75b59d2" PRIMARY KEY ("user_id"))`,
    );
    await queryRunner.query(
      `CREATE TABLE "mfa_recovery_codes" ("id" character varying(36) NOT NULL, "user_id" character varying(36) NOT NULL, "code_hash" character varying(80) NOT NULL, "created_at" TIMESTAMP NOT NULL, "used_at" TIMESTAMP, CONSTRAINT "PK_0076416b1b84361afc3371ba121" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(
      `CREATE INDEX "idx_mfa_recovery_codes_user_id" ON "mfa_recovery_codes" ("user_id") `,
    );
    await queryRunner.query(
      `CREATE TABLE "mfa_challenges" ("id" character varying(36) NOT NULL, "token_hash" character varying(64) NOT NULL, "user_id" character varying(36) NOT NULL, "failures" integer NOT NULL DEFAULT '0', "created_at" TIMESTAMP NOT NULL, "expires_at" TIMESTAMP NOT NULL, "used_at" TIMESTAMP, CONSTRAINT "PK_25d85a6da62620267e003fb4da4" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(
      `CREATE UNIQUE INDEX "idx_mfa_challenges_token_hash" ON "mfa_challenges" ("token_hash") `,
    );
    await queryRunner.query(
      `CREATE INDEX "idx_mfa_challenges_user_id" ON "mfa_challenges" ("user_id") `,
    );
    await queryRunner.query(
      `ALTER TABLE "mfa_factors" ADD CONSTRAINT "FK_120abae8e4a6232bfe2c75b59d2" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "mfa_recovery_codes" ADD CONSTRAINT "FK_23aa6c5fdecdd98508fd4456acf" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "mfa_challenges" ADD CONSTRAINT "FK_1715663f6483821e6af6132b35b" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `ALTER TABLE "mfa_challenges" DROP CONSTRAINT "FK_1715663f6483821e6af6132b35b"`,
    );
    await queryRunner.query(
      `ALTER TABLE "mfa_recovery_codes" DROP CONSTRAINT "FK_23aa6c5fdecdd98508fd4456acf"`,
    );
    await queryRunner.query(
      `ALTER TABLE "mfa_factors" DROP CONSTRAINT "FK_120abae8e4a6232bfe2c75b59d2"`,
    );
    await queryRunner.query(`DROP INDEX "idx_mfa_challenges_user_id"`);
    await queryRunner.query(`DROP INDEX "idx_mfa_challenges_token_hash"`);
    await queryRunner.query(`DROP TABLE "mfa_challenges"`);
    await queryRunner.query(`DROP INDEX "idx_mfa_recovery_codes_user_id"`);
    await queryRunner.query(`DROP TABLE "mfa_recovery_codes"`);
    await queryRunner.query(`DROP TABLE "mfa_factors"`);
    await queryRunner.query(`ALTER TABLE "sessions" DROP COLUMN "amr", DROP COLUMN "aal"`);
  }
}
