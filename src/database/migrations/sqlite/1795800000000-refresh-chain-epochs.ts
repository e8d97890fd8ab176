import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `sessions.chain_epoch` and `chain_seed`: refresh-token chains per access-token exchange, each
 * recognisable afterwards; `access_expires_at`: how long a revocation of the session matters.
 */
export class RefreshChainEpochs1795800000000 implements MigrationInterface {
  name = 'RefreshChainEpochs1795800000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `ALTER TABLE "sessions" ADD COLUMN "chain_epoch" integer NOT NULL DEFAULT (0)`,
    );
    await queryRunner.query(`ALTER TABLE "sessions" ADD COLUMN "chain_seed" varchar(43)`);
    await queryRunner.query(`ALTER TABLE "sessions" ADD COLUMN "access_expires_at" datetime`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "sessions" DROP COLUMN "access_expires_at"`);
    await queryRunner.query(`ALTER TABLE "sessions" DROP COLUMN "chain_seed"`);
    await queryRunner.query(`ALTER TABLE "sessions" DROP COLUMN "chain_epoch"`);
  }
}
