import { registerAs } from '@nestjs/config';
import { Env, EnvReader } from './env-reader';

export interface AppConfig {
  nodeEnv: 'development' | 'production' | 'test';
  production: boolean;
  port: number;
  host: string;
  /** Serve the OpenAPI page at /docs (and redirect / to it). */
  docsEnabled: boolean;
}

export function loadAppConfig(env: Env): AppConfig {
  const read = new EnvReader(env);
  const nodeEnv = read.oneOf('NODE_ENV', 'development', ['development', 'production', 'test']);
  return {
    nodeEnv,
    production: nodeEnv === 'production',
    port: read.int('PORT', 3000, 0, 65535),
    host: read.string('HOST', '0.0.0.0', 255),
    docsEnabled: read.boolean('DOCS_ENABLED', nodeEnv !== 'production'),
  };
}

export const appConfig = registerAs('app', () => loadAppConfig(process.env));
