import { MigrationInterface, QueryRunner } from 'typeorm';

/** `sessions.retired_refresh_token_hash`: the end of a refresh-token chain replaced by an exchange. */
export class RetiredRefreshChain1795669000000 implements MigrationInterface {
  name = 'RetiredRefreshChain1795669000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `ALTER TABLE "sessions" ADD COLUMN "retired_refresh_token_hash" varchar(64)`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "sessions" DROP COLUMN "retired_refresh_token_hash"`);
  }
}
