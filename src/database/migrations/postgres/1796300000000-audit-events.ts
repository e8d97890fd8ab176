import { MigrationInterface, QueryRunner } from 'typeorm';

/** The same table as SQLite's AuditEvents1796300000000. */
export class PostgresAuditEvents1796300000000 implements MigrationInterface {
  name = 'PostgresAuditEvents1796300000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "audit_events" ("id" character varying(36) NOT NULL, "at" TIMESTAMP NOT NULL, "type" character varying(48) NOT NULL, "user_id" character varying(36), "actor_id" character varying(36), "ip" character varying(64), "user_agent" character varying(512), "request_id" character varying(128), "outcome" character varying(16) NOT NULL, "details" character varying(1024), CONSTRAINT "PK_910f64d901a5c3e9878f0d4a407" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(
      `CREATE INDEX "idx_audit_events_user_at" ON "audit_events" ("user_id", "at") `,
    );
    await queryRunner.query(`CREATE INDEX "idx_audit_events_at" ON "audit_events" ("at") `);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "idx_audit_events_at"`);
    await queryRunner.query(`DROP INDEX "idx_audit_events_user_at"`);
    await queryRunner.query(`DROP TABLE "audit_events"`);
  }
}
