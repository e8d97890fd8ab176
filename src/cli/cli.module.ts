import { Module } from '@nestjs/common';
import { AdminModule } from '../admin/admin.module';
import { AppModule } from '../app.module';
import { COMMANDS } from './commands';

/** The service's own modules and configuration, plus the commands. */
@Module({
  imports: [AppModule, AdminModule],
  providers: COMMANDS,
})
export class CliModule {}
