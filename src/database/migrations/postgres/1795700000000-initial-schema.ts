import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The whole schema on PostgreSQL, equal to SQLite's three migrations. Names are unqualified: the
 * connection's search_path (DATABASE_SCHEMA) places them. Timestamps hold UTC.
 */
export class PostgresInitialSchema1795700000000 implements MigrationInterface {
  name = 'PostgresInitialSchema1795700000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "users" ("id" character varying(36) NOT NULL, "email" character varying(254) NOT NULL, "password_hash" character varying(255) NOT NULL, "created_at" TIMESTAMP NOT NULL, "deleted_at" TIMESTAMP, CONSTRAINT "UQ_97672ac88f789774dd47f7c8be3" UNIQUE ("email"), CONSTRAINT "PK_a3ffb1c0c8416b9fc6f907b7433" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(
      `CREATE TABLE "sessions" ("id" character varying(36) NOT NULL, "user_id" character varying(36) NOT NULL, "refresh_token_hash" character varying(64) NOT NULL, "retired_refresh_token_hash" character varying(64), "generation" integer NOT NULL DEFAULT '0', "rotated_at" TIMESTAMP, "created_at" TIMESTAMP NOT NULL, "last_used_at" TIMESTAMP NOT NULL, "expires_at" TIMESTAMP NOT NULL, "user_agent" character varying(512), "ip" character varying(64), "revoked_at" TIMESTAMP, "revoked_reason" character varying(32), CONSTRAINT "PK_3238ef96f18b355b671619111bc" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`CREATE INDEX "idx_sessions_user_id" ON "sessions" ("user_id")`);
    await queryRunner.query(
      `ALTER TABLE "sessions" ADD CONSTRAINT "FK_085d540d9f418cfbdc7bd55bb19" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `CREATE TABLE "revoked_tokens" ("jti" character varying(64) NOT NULL, "session_id" character varying(36) NOT NULL, "reason" character varying(16) NOT NULL, "revoked_at" TIMESTAMP NOT NULL, "expires_at" TIMESTAMP NOT NULL, CONSTRAINT "PK_b18aa48269f87cafba8c6310624" PRIMARY KEY ("jti"))`,
    );
    await queryRunner.query(
      `CREATE INDEX "idx_revoked_tokens_expires_at" ON "revoked_tokens" ("expires_at")`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "idx_revoked_tokens_expires_at"`);
    await queryRunner.query(`DROP TABLE "revoked_tokens"`);
    await queryRunner.query(
      `ALTER TABLE "sessions" DROP CONSTRAINT "FK_085d540d9f418cfbdc7bd55bb19"`,
    );
    await queryRunner.query(`DROP INDEX "idx_sessions_user_id"`);
    await queryRunner.query(`DROP TABLE "sessions"`);
    await queryRunner.query(`DROP TABLE "users"`);
  }
}
