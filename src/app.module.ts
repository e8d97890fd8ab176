import { Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { APP_FILTER, APP_PIPE } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuthModule } from './auth/auth.module';
import { ProblemDetailsFilter } from './common/errors/problem-details.filter';
import { RouteTable } from './common/http/route-table';
import { AppValidationPipe } from './common/validation/validation.pipe';
import {
  appConfig,
  authConfig,
  DatabaseConfig,
  databaseConfig,
  RateLimitConfig,
  rateLimitConfig,
} from './config/configuration';
import { throttlerOptions } from './auth/rate-limit/rate-limit';
import { ThrottlerModule } from '@nestjs/throttler';
import { dataSourceOptions } from './database/data-source-options';
import { HealthModule } from './health/health.module';
import { UsersModule } from './users/users.module';

@Module({
  imports: [
    ConfigModule.forRoot({
      isGlobal: true,
      load: [appConfig, databaseConfig, authConfig, rateLimitConfig],
      ignoreEnvFile: process.env.NODE_ENV === 'test',
    }),
    TypeOrmModule.forRootAsync({
      inject: [databaseConfig.KEY],
      useFactory: (database: DatabaseConfig) => dataSourceOptions(database),
    }),
    ThrottlerModule.forRootAsync({
      inject: [rateLimitConfig.KEY],
      useFactory: (config: RateLimitConfig) => throttlerOptions(config),
    }),
    UsersModule,
    AuthModule,
    HealthModule,
  ],
  providers: [
    RouteTable,
    { provide: APP_PIPE, useClass: AppValidationPipe },
    { provide: APP_FILTER, useClass: ProblemDetailsFilter },
  ],
})
export class AppModule {}
