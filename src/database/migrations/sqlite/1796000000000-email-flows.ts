import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Mail: `users.email_verified_at`, the links sent by mail (`email_tokens`, their hashes only) and
 * the outbox the requests write and the sender empties (`mail_outbox`).
 */
export class EmailFlows1796000000000 implements MigrationInterface {
  name = 'EmailFlows1796000000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "users" ADD COLUMN "email_verified_at" datetime`);
    await queryRunner.query(
      `CREATE TABLE "email_tokens" ("id" varchar(36) PRIMARY KEY NOT NULL, "user_id" varchar(36) NOT NULL, "purpose" varchar(16) NOT NULL, "token_hash" varchar(64) NOT NULL, "email" varchar(254) NOT NULL, "session_id" varchar(36), "created_at" datetime NOT NULL, "expires_at" datetime NOT NULL, "used_at" datetime, CONSTRAINT "FK_018295f41628791c301bfe8b625" FOREIGN KEY ("user_id") REFERENCES "users" ("id") ON DELETE CASCADE ON UPDATE NO ACTION)`,
    );
    await queryRunner.query(
      `CREATE UNIQUE INDEX "idx_email_tokens_token_hash" ON "email_tokens" ("token_hash") `,
    );
    await queryRunner.query(
      `CREATE INDEX "idx_email_tokens_user_purpose" ON "email_tokens" ("user_id", "purpose") `,
    );
    await queryRunner.query(
      `CREATE TABLE "mail_outbox" ("id" varchar(36) PRIMARY KEY NOT NULL, "kind" varchar(32) NOT NULL, "recipient" varchar(254) NOT NULL, "user_id" varchar(36), "data" varchar(1024), "status" varchar(16) NOT NULL DEFAULT ('pending'), "attempts" integer NOT NULL DEFAULT (0), "next_attempt_at" datetime NOT NULL, "locked_until" datetime, "prepared_at" datetime, "created_at" datetime NOT NULL, "finished_at" datetime, "outcome" varchar(64))`,
    );
    await queryRunner.query(
      `CREATE INDEX "idx_mail_outbox_recipient" ON "mail_outbox" ("recipient", "kind", "prepared_at") `,
    );
    await queryRunner.query(
      `CREATE INDEX "idx_mail_outbox_due" ON "mail_outbox" ("status", "next_attempt_at") `,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "idx_mail_outbox_due"`);
    await queryRunner.query(`DROP INDEX "idx_mail_outbox_recipient"`);
    await queryRunner.query(`DROP TABLE "mail_outbox"`);
    await queryRunner.query(`DROP INDEX "idx_email_tokens_user_purpose"`);
    await queryRunner.query(`DROP INDEX "idx_email_tokens_token_hash"`);
    await queryRunner.query(`DROP TABLE "email_tokens"`);
    await queryRunner.query(`ALTER TABLE "users" DROP COLUMN "email_verified_at"`);
  }
}
