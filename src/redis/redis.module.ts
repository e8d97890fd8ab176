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
import { redisConfig } from '../config/configuration';

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
      inject: [redisConfig.KEY],
      useFactory: (config: ConfigType<typeof redisConfig>) => {
        if (config.url === undefined) {
          return undefined;
        }
        const redis = new Redis(config.url, {
          keyPrefix: config.keyPrefix,
          maxRetriesPerRequest: 1,
          connectTimeout: 5000,
          retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
        });
        const logger = new Logger('Redis');
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
