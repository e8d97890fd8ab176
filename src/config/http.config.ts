import { registerAs } from '@nestjs/config';
import ipaddr from 'ipaddr.js';
import { ConfigError } from './config.error';
import { Env, EnvReader } from './env-reader';

export interface HttpConfig {
  /**
   * Which `X-Forwarded-For` entries to believe: none (`false`), the last `n` hops (the number of
   * proxies in front of the service), or those added by the listed proxy addresses and networks.
   * Never every entry: the left-most ones are whatever the client wrote.
   */
  trustProxy: false | number | string[];
  /** Origins allowed by CORS; empty means CORS stays off. */
  corsOrigins: string[];
  /** Seconds a client has to send a whole request. */
  requestTimeout: number;
  /**
   * Where refresh tokens travel: the JSON body (`body`, the default), an HttpOnly cookie with
   * CSRF protection for browser apps (`cookie`), or both.
   */
  tokenDelivery: TokenDelivery;
}

export type TokenDelivery = 'body' | 'cookie' | 'both';

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
    trustProxy: trustedProxies(read.string('TRUST_PROXY', 'false', 4096)),
    corsOrigins,
    requestTimeout: read.duration('HTTP_REQUEST_TIMEOUT', '30s', 1, 600),
    tokenDelivery: read.oneOf<TokenDelivery>('TOKEN_DELIVERY', 'body', ['body', 'cookie', 'both']),
  };
}

export const httpConfig = registerAs('http', () => loadHttpConfig(process.env));

/** The largest hop count accepted: more proxies than this in one chain is a mistake. */
const MAX_PROXY_HOPS = 10;

function trustedProxies(text: string): HttpConfig['trustProxy'] {
  const value = text.toLowerCase();
  if (['false', 'off', 'no', '0', ''].includes(value)) {
    return false;
  }
  if (['true', 'on', 'yes'].includes(value)) {
    throw new ConfigError(
      'TRUST_PROXY',
      'no longer accepts "true", which believes addresses the client writes itself; give the ' +
        'number of proxies in front of the service (e.g. 1) or their addresses or networks ' +
        '(e.g. 10.0.0.0/8,127.0.0.1)',
    );
  }
  if (/^\d+$/.test(value)) {
    const hops = Number(value);
    if (hops > MAX_PROXY_HOPS) {
      throw new ConfigError('TRUST_PROXY', `must be at most ${MAX_PROXY_HOPS} hops, got ${hops}`);
    }
    return hops;
  }
  const entries = value
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);
  for (const entry of entries) {
    if (!ipaddr.isValid(entry) && !ipaddr.isValidCIDR(entry)) {
      throw new ConfigError(
        'TRUST_PROXY',
        `must be a hop count or a list of proxy addresses or networks, got "${entry}"`,
      );
    }
  }
  return entries;
}
