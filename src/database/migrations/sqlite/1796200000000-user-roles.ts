import { MigrationInterface, QueryRunner } from 'typeorm';

/** `users.roles`: the user's roles, comma-separated; none for every existing user. */
export class UserRoles1796200000000 implements MigrationInterface {
  name = 'UserRoles1796200000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `ALTER TABLE "users" ADD COLUMN "roles" varchar(255) NOT NULL DEFAULT ('')`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "users" DROP COLUMN "roles"`);
  }
}
