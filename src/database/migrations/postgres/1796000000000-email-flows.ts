import { MigrationInterface, QueryRunner } from 'typeorm';

/** The same tables and column as SQLite's EmailFlows1796000000000. */
export class PostgresEmailFlows1796000000000 implements MigrationInterface {
  name = 'PostgresEmailFlows1796000000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "users" ADD "email_verified_at" TIMESTAMP`);
    await queryRunner.query(
      `CREATE TABLE "email_tokens" ("id" character varying(36) NOT NULL, "user_id" character varying(36) NOT NULL, "purpose" character varying(16) NOT NULL, "token_hash" character varying(64) NOT NULL, "email" character varying(254) NOT NULL, "session_id" character varying(36), "created_at" TIMESTAMP NOT NULL, "expires_at" TIMESTAMP NOT NULL, "used_at" TIMESTAMP, CONSTRAINT "PK_08abb3fa348e894c274a6730d35" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(
      `CREATE UNIQUE INDEX "idx_email_tokens_token_hash" ON "email_tokens" ("token_hash") `,
    );
    await queryRunner.query(
      `CREATE INDEX "idx_email_tokens_user_purpose" ON "email_tokens" ("user_id", "purpose") `,
    );
    await queryRunner.query(
      `ALTER TABLE "email_tokens" ADD CONSTRAINT "FK_018295f41628791c301bfe8b625" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `CREATE TABLE "mail_outbox" ("id" character varying(36) NOT NULL, "kind" character varying(32) NOT NULL, "recipient" character varying(254) NOT NULL, "user_id" character varying(36), "data" character varying(1024), "status" character varying(16) NOT NULL DEFAULT 'pending', "attempts" integer NOT NULL DEFAULT '0', "next_attempt_at" TIMESTAMP NOT NULL, "locked_until" TIMESTAMP, "prepared_at" TIMESTAMP, "created_at" TIMESTAMP NOT NULL, "finished_at" TIMESTAMP, "outcome" character varying(64), CONSTRAINT "PK_fecc63c96385bc35a39ccf2a72e" PRIMARY KEY ("id"))`,
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
    await queryRunner.query(
      `ALTER TABLE "email_tokens" DROP CONSTRAINT "FK_018295f41628791c301bfe8b625"`,
    );
    await queryRunner.query(`DROP INDEX "idx_email_tokens_user_purpose"`);
    await queryRunner.query(`DROP INDEX "idx_email_tokens_token_hash"`);
    await queryRunner.query(`DROP TABLE "email_tokens"`);
    await queryRunner.query(`ALTER TABLE "users" DROP COLUMN "email_verified_at"`);
  }
}
