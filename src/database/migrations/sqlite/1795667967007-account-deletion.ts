import { MigrationInterface, QueryRunner } from 'typeorm';

/** `users.deleted_at`, added in place: recreating the table would cascade into `sessions`. */
export class AccountDeletion1795667967007 implements MigrationInterface {
  name = 'AccountDeletion1795667967007';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "users" ADD COLUMN "deleted_at" datetime`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "users" DROP COLUMN "deleted_at"`);
  }
}
