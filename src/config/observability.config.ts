import { registerAs } from '@nestjs/config';
import { ConfigError } from './config.error';
import { Env, EnvReader } from './env-reader';

export interface ObservabilityConfig {
  /** pino level: fatal, error, warn, info, debug, trace or silent. */
  logLevel: string;
  /** Serve Prometheus metrics at /metrics. */
  metricsEnabled: boolean;
  /** When set, /metrics asks for `Authorization: Bearer <token>`. */
  metricsToken?: string;
}

export function loadObservabilityConfig(env: Env): ObservabilityConfig {
  const read = new EnvReader(env);
  const metricsToken = read.raw('METRICS_TOKEN')?.trim();
  if (metricsToken !== undefined && metricsToken.length < 16) {
    throw new ConfigError('METRICS_TOKEN', 'must be at least 16 characters long');
  }
  return {
    logLevel: read.oneOf('LOG_LEVEL', 'info', [
      'fatal',
      'error',
      'warn',
      'info',
      'debug',
      'trace',
      'silent',
    ]),
    metricsEnabled: read.boolean('METRICS_ENABLED', true),
    metricsToken,
  };
}

export const observabilityConfig = registerAs('observability', () =>
  loadObservabilityConfig(process.env),
);
