import { MigrationInterface, QueryRunner } from 'typeorm';

export class InitialSchema1795664199104 implements MigrationInterface {
  name = 'InitialSchema1795664199104';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "users" ("id" varchar(36) PRIMARY KEY NOT NULL, "email" varchar(254) NOT NULL, "password_hash" varchar(255) NOT NULL, "created_at" datetime NOT NULL, CONSTRAINT "UQ_97672ac88f789774dd47f7c8be3" UNIQUE ("email"))`,
    );
    await queryRunner.query(
      `CREATE TABLE "sessions" ("id" varchar(36) PRIMARY KEY NOT NULL, "user_id" varchar(36) NOT NULL, "refresh_token_hash" varchar(64) NOT NULL, "generation" integer NOT NULL DEFAULT (0), "rotated_at" datetime, "created_at" datetime NOT NULL, "last_used_at" datetime NOT NULL, "expires_at" datetime NOT NULL, "user_agent" varchar(512), "ip" varchar(64), "revoked_at" datetime, "revoked_reason" varchar(32), CONSTRAINT "FK_085d540d9f418cfbdc7bd55bb19" FOREIGN KEY ("user_id") REFERENCES "users" ("id") ON DELETE CASCADE ON UPDATE NO ACTION)`,
    );
    await queryRunner.query(`CREATE INDEX "idx_sessions_user_id" ON "sessions" ("user_id") `);
    await queryRunner.query(
      `CREATE TABLE "revoked_tokens" ("jti" varchar(64) PRIMARY KEY NOT NULL, "session_id" varchar(36) NOT NULL, "reason" varchar(16) NOT NULL, "revoked_at" datetime NOT NULL, "expires_at" datetime NOT NULL)`,
    );
    await queryRunner.query(
      `CREATE INDEX "idx_revoked_tokens_expires_at" ON "revoked_tokens" ("expires_at") `,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "idx_revoked_tokens_expires_at"`);
    await queryRunner.query(`DROP TABLE "revoked_tokens"`);
    await queryRunner.query(`DROP INDEX "idx_sessions_user_id"`);
    await queryRunner.query(`DROP TABLE "sessions"`);
    await queryRunner.query(`DROP TABLE "users"`);
  }
}
