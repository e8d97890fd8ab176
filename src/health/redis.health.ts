import { Inject, Injectable, Optional } from '@nestjs/common';
import { HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import type Redis from 'ioredis';
import { REDIS } from '../redis/redis.module';

/** Redis answers a PING in time; only asked when REDIS_URL is set. */
@Injectable()
export class RedisHealthIndicator {
  constructor(
    private readonly indicators: HealthIndicatorService,
    @Optional() @Inject(REDIS) private readonly redis?: Redis,
  ) {}

  get configured(): boolean {
    return this.redis !== undefined;
  }

  async pingCheck(key: string, timeoutMs: number): Promise<HealthIndicatorResult> {
    const indicator = this.indicators.check(key);
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.redis!.ping(),
        new Promise((_, fail) => {
          timer = setTimeout(() => fail(new Error('timeout')), timeoutMs);
        }),
      ]);
      return indicator.up();
    } catch {
      return indicator.down({ message: 'Redis did not answer' });
    } finally {
      clearTimeout(timer);
    }
  }
}
