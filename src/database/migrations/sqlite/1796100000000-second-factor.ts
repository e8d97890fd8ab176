import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The second factor: `mfa_factors` (one sealed TOTP secret per user), `mfa_recovery_codes`
 * (keyed hashes), `mfa_challenges` (the `mfa_token` of a sign-in's second step), and each
 * session's assurance level and methods (`sessions.aal`, `sessions.amr`).
 */
export class SecondFactor1796100000000 implements MigrationInterface {
  name = 'SecondFactor1796100000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `ALTER TABLE "sessions" ADD COLUMN "aal" varchar(8) NOT NULL DEFAULT ('aal1')`,
    );
    await queryRunner.query(
      `ALTER TABLE "sessions" ADD COLUMN "amr" varchar(32) NOT NULL DEFAULT ('pwd')`,
    );
    await queryRunner.query(
      `CREATE TABLE "mfa_factors" ("user_id" varchar(36) PRIMARY KEY NOT NULL, "status" varchar(16) NOT NULL, "sealed_secret" varchar(255) NOT NULL, "created_at" datetime NOT NULL, "expires_at" datetime, "activated_at" datetime, "last_step" integer, CONSTRAINT "FK_120abae8e4a6232bfe2c75b59d2" FOREIGN KEY ("user_id") REFERENCES "users" ("id") ON DELETE CASCADE ON UPDATE NO ACTION)`,
    );
    await queryRunner.query(
      `CREATE TABLE "mfa_recovery_codes" ("id" varchar(36) PRIMARY KEY NOT NULL, "user_id" varchar(36) NOT NULL, "code_hash" varchar(80) NOT NULL, "created_at" datetime NOT NULL, "used_at" datetime, CONSTRAINT "FK_23aa6c5fdecdd98508fd4456acf" FOREIGN KEY ("user_id") REFERENCES "users" ("id") ON DELETE CASCADE ON UPDATE NO ACTION)`,
    );
    await queryRunner.query(
      `CREATE INDEX "idx_mfa_recovery_codes_user_id" ON "mfa_recovery_codes" ("user_id") `,
    );
    await queryRunner.query(
      `CREATE TABLE "mfa_challenges" ("id" varchar(36) PRIMARY KEY NOT NULL, "token_hash" varchar(64) NOT NULL, "user_id" varchar(36) NOT NULL, "failures" integer NOT NULL DEFAULT (0), "created_at" datetime NOT NULL, "expires_at" datetime NOT NULL, "used_at" datetime, CONSTRAINT "FK_1715663f6483821e6af6132b35b" FOREIGN KEY ("user_id") REFERENCES "users" ("id") ON DELETE CASCADE ON UPDATE NO ACTION)`,
    );
    await queryRunner.query(
      `CREATE UNIQUE INDEX "idx_mfa_challenges_token_hash" ON "mfa_challenges" ("token_hash") `,
    );
    await queryRunner.query(
      `CREATE INDEX "idx_mfa_challenges_user_id" ON "mfa_challenges" ("user_id") `,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "idx_mfa_challenges_user_id"`);
    await queryRunner.query(`DROP INDEX "idx_mfa_challenges_token_hash"`);
    await queryRunner.query(`DROP TABLE "mfa_challenges"`);
    await queryRunner.query(`DROP INDEX "idx_mfa_recovery_codes_user_id"`);
    await queryRunner.query(`DROP TABLE "mfa_recovery_codes"`);
    await queryRunner.query(`DROP TABLE "mfa_factors"`);
    await queryRunner.query(`ALTER TABLE "sessions" DROP COLUMN "amr"`);
    await queryRunner.query(`ALTER TABLE "sessions" DROP COLUMN "aal"`);
  }
}
