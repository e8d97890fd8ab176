import {
  Global,
  Inject,
  Injectable,
  Logger,
  Module,
  OnApplicationShutdown,
  Optional,
} from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import Redis from 'ioredis';
import { databaseConfig, rateLimitConfig, redisConfig } from '../config/configuration';

/** The shared Redis connection, or undefined when REDIS_URL is not set. */
export const REDIS = Symbol('REDIS');

/** Closes the connection last, once requests have drained and nothing else needs it. */
@Injectable()
class RedisCloser implements OnApplicationShutdown {
  constructor(@Optional() @Inject(REDIS) private readonly redis?: Redis) {}

  async onApplicationShutdown(): Promise<void> {
    if (this.redis?.status === 'ready') {
      await this.redis.quit().catch(() => this.redis?.disconnect());
    } else {
      // Not connected (Redis away): stop reconnecting instead of waiting for it.
      this.redis?.disconnect();
    }
  }
}

/**
 * One ioredis connection per instance, for state every instance must share (rate-limit counters).
 * Commands fail fast while Redis is away instead of queueing without bound; ioredis keeps
 * reconnecting, and /health/ready reports the outage meanwhile.
 */
@Global()
@Module({
  providers: [
    {
      provide: REDIS,
      inject: [redisConfig.KEY, rateLimitConfig.KEY, databaseConfig.KEY],
      useFactory: (
        config: ConfigType<typeof redisConfig>,
        rateLimit: ConfigType<typeof rateLimitConfig>,
        database: ConfigType<typeof databaseConfig>,
      ) => {
        const logger = new Logger('Redis');
        // Redis holds rate-limit counters only: with the limits off, it is not used at all.
        if (config.url === undefined || !rateLimit.enabled) {
          if (rateLimit.enabled && database.url !== undefined) {
            logger.warn('REDIS_URL is not set: each instance keeps its own rate-limit counters');
          }
          return undefined;
        }
        const redis = new Redis(config.url, {
          keyPrefix: config.keyPrefix,
          maxRetriesPerRequest: 1,
          connectTimeout: 5000,
          retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
        });
        // The URL may hold a password: only the error's code is logged.
        redis.on('error', (error: NodeJS.ErrnoException) =>
          logger.warn(`Redis connection error (${error.code ?? error.name})`),
        );
        return redis;
      },
    },
    RedisCloser,
  ],
  exports: [REDIS],
})
export class RedisModule {}
