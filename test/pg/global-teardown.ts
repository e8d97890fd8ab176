import Redis from 'ioredis';
import { Client } from 'pg';
import { runPrefix } from '../helpers/database';

/** Drops every schema and Redis key this run created. */
export default async function globalTeardown(): Promise<void> {
  const prefix = runPrefix();
  const client = new Client({ connectionString: process.env.TEST_DATABASE_URL });
  await client.connect();
  try {
    const { rows } = await client.query<{ name: string }>(
      `SELECT nspname AS name FROM pg_namespace WHERE starts_with(nspname, $1)`,
      [prefix],
    );
    for (const { name } of rows) {
      await client.query(`DROP SCHEMA "${name}" CASCADE`);
    }
  } finally {
    await client.end();
  }
  const redis = new Redis(process.env.TEST_REDIS_URL!);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      if (keys.length > 0) {
        await redis.unlink(...keys);
      }
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}
