import { Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { APP_FILTER, APP_PIPE } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DatabaseInUseError } from './database/sqlite-lock';
import { AdminModule } from './admin/admin.module';
import { AuditModule } from './audit/audit.module';
import { AuthModule } from './auth/auth.module';
import { ProblemDetailsFilter } from './common/errors/problem-details.filter';
import { RouteTable } from './common/http/route-table';
import { AppValidationPipe } from './common/validation/validation.pipe';
import {
  appConfig,
  authConfig,
  DatabaseConfig,
  databaseConfig,
  httpConfig,
  mailConfig,
  observabilityConfig,
  RateLimitConfig,
  rateLimitConfig,
  redisConfig,
} from './config/configuration';
import { throttlerOptions } from './auth/rate-limit/rate-limit';
import { ThrottlerModule } from '@nestjs/throttler';
import { dataSourceOptions, openMigrated } from './database/data-source-options';
import { ClockModule } from './common/clock/clock';
import { TransactionsModule } from './database/transactions';
import { HealthModule } from './health/health.module';
import { LoggingModule } from './common/logging/logging.module';
import { MetricsModule } from './metrics/metrics.module';
import { REDIS, RedisModule } from './redis/redis.module';
import { ThrottlerStorageRedisService } from '@nest-lab/throttler-storage-redis';
import type Redis from 'ioredis';
import { UsersModule } from './users/users.module';

@Module({
  imports: [
    ConfigModule.forRoot({
      isGlobal: true,
      load: [
        appConfig,
        httpConfig,
        databaseConfig,
        authConfig,
        rateLimitConfig,
        redisConfig,
        observabilityConfig,
        mailConfig,
      ],
      ignoreEnvFile: process.env.NODE_ENV === 'test',
    }),
    TypeOrmModule.forRootAsync({
      inject: [databaseConfig.KEY],
      // Each feature module registers its entities with TypeOrmModule.forFeature.
      useFactory: (database: DatabaseConfig) => ({
        ...dataSourceOptions(database),
        autoLoadEntities: true,
        // A file another process holds stays held: retrying would only delay the message.
        toRetry: (error: unknown) => !(error instanceof DatabaseInUseError),
      }),
      dataSourceFactory: (options) => openMigrated(options!),
    }),
    TransactionsModule,
    ClockModule,
    LoggingModule,
    RedisModule,
    MetricsModule,
    ThrottlerModule.forRootAsync({
      inject: [rateLimitConfig.KEY, REDIS],
      // With Redis, every instance counts against the same limits.
      useFactory: (config: RateLimitConfig, redis?: Redis) => ({
        ...throttlerOptions(config),
        storage: redis ? new ThrottlerStorageRedisService(redis) : undefined,
      }),
    }),
    AuditModule,
    UsersModule,
    AuthModule,
    AdminModule,
    HealthModule,
  ],
  providers: [
    RouteTable,
    { provide: APP_PIPE, useClass: AppValidationPipe },
    { provide: APP_FILTER, useClass: ProblemDetailsFilter },
  ],
})
export class AppModule {}
