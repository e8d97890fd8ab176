import { MigrationInterface, QueryRunner } from 'typeorm';

/** The same columns as SQLite's RefreshChainEpochs1795800000000. */
export class PostgresRefreshChainEpochs1795800000000 implements MigrationInterface {
  name = 'PostgresRefreshChainEpochs1795800000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `ALTER TABLE "sessions" ADD "chain_epoch" integer NOT NULL DEFAULT '0', ADD "chain_seed" character varying(43), ADD "access_expires_at" TIMESTAMP`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `ALTER TABLE "sessions" DROP COLUMN "access_expires_at", DROP COLUMN "chain_seed", DROP COLUMN "chain_epoch"`,
    );
  }
}
