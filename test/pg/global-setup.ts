import { randomBytes } from 'node:crypto';
import Redis from 'ioredis';
import { Client } from 'pg';

/**
 * `npm run test:pg` needs the real servers: it stops here, loudly, when either is unreachable,
 * rather than skipping anything.
 */
export default async function globalSetup(): Promise<void> {
  const databaseUrl = process.env.TEST_DATABASE_URL;
  const redisUrl = process.env.TEST_REDIS_URL;
  if (!databaseUrl || !redisUrl) {
    throw new Error('test:pg needs TEST_DATABASE_URL and TEST_REDIS_URL');
  }
  const client = new Client({ connectionString: databaseUrl, connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
  } catch (error) {
    throw new Error(`PostgreSQL is unreachable at TEST_DATABASE_URL: ${String(error)}`);
  } finally {
    await client.end().catch(() => undefined);
  }
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 0 });
  try {
    await redis.connect();
    await redis.ping();
  } catch (error) {
    throw new Error(`Redis is unreachable at TEST_REDIS_URL: ${String(error)}`);
  } finally {
    redis.disconnect();
  }
  process.env.TEST_RUN_ID = randomBytes(4).toString('hex');
}
