import { registerAs } from '@nestjs/config';
import { ConfigError } from './config.error';
import { Env, EnvReader } from './env-reader';

export interface HttpConfig {
  /** Believe X-Forwarded-For (only behind a proxy that sets it). */
  trustProxy: boolean;
  /** Origins allowed by CORS; empty means CORS stays off. */
  corsOrigins: string[];
  /** Seconds a client has to send a whole request. */
  requestTimeout: number;
}

export function loadHttpConfig(env: Env): HttpConfig {
  const read = new EnvReader(env);
  const origins = read.string('CORS_ORIGINS', '', 4096);
  const corsOrigins = origins
    .split(',')
    .map((origin) => origin.trim())
    .filter(Boolean);
  for (const origin of corsOrigins) {
    if (origin === '*' || !/^https?:\/\/[^/\s]+$/.test(origin)) {
      throw new ConfigError(
        'CORS_ORIGINS',
        `must list exact origins like https://app.example.com, got "${origin}"`,
      );
    }
  }
  return {
    trustProxy: read.boolean('TRUST_PROXY', false),
    corsOrigins,
    requestTimeout: read.duration('HTTP_REQUEST_TIMEOUT', '30s', 1, 600),
  };
}

export const httpConfig = registerAs('http', () => loadHttpConfig(process.env));
