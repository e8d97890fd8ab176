import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module';
import { UsersModule } from '../users/users.module';
import { AdminAccessGuard } from './admin-access.guard';
import { AdminController } from './admin.controller';
import { AdminService } from './admin.service';

/** Operators' work on accounts: the admin API, and the service the CLI shares with it. */
@Module({
  imports: [AuthModule, UsersModule],
  controllers: [AdminController],
  providers: [AdminService, AdminAccessGuard],
  exports: [AdminService],
})
export class AdminModule {}
