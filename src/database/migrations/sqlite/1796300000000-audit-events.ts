import { MigrationInterface, QueryRunner } from 'typeorm';

/** `audit_events`: one row per security event (see AuditLog). */
export class AuditEvents1796300000000 implements MigrationInterface {
  name = 'AuditEvents1796300000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "audit_events" ("id" varchar(36) PRIMARY KEY NOT NULL, "at" datetime NOT NULL, "type" varchar(48) NOT NULL, "user_id" varchar(36), "actor_id" varchar(36), "ip" varchar(64), "user_agent" varchar(512), "request_id" varchar(128), "outcome" varchar(16) NOT NULL, "details" varchar(1024))`,
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
