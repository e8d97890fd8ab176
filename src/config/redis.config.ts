import { registerAs } from '@nestjs/config';
import { ConfigError } from './config.error';
import { Env, EnvReader } from './env-reader';

export interface RedisConfig {
  /** REDIS_URL; without it, rate-limit counters stay in each process. */
  url?: string;
  /** Prefix of every key this service writes, so that one Redis can serve several deployments. */
  keyPrefix: string;
}

export function loadRedisConfig(env: Env): RedisConfig {
  const read = new EnvReader(env);
  const url = read.raw('REDIS_URL')?.trim();
  if (url !== undefined && !/^rediss?:\/\/[^\s]+$/.test(url)) {
    throw new ConfigError('REDIS_URL', 'must be a redis:// or rediss:// URL');
  }
  return { url, keyPrefix: read.string('REDIS_KEY_PREFIX', 'nest-jwt-auth:', 128) };
}

export const redisConfig = registerAs('redis', () => loadRedisConfig(process.env));
