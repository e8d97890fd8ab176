import { Client } from 'pg';
import { MIGRATION_LOCK_KEY } from '../../src/database/data-source-options';

/**
 * `url` with an `application_name`: every connection of an app started with it (its pool and its
 * migration-lock connection) then shows under that name in pg_stat_activity, told apart from the
 * apps of other suites sharing the server.
 */
export function withApplicationName(url: string, name: string): string {
  const parsed = new URL(url);
  parsed.searchParams.set('application_name', name);
  return parsed.toString();
}

export interface LockWait {
  /** Whether to wait for a granted lock (the session holds it) or an ungranted one (it queues). */
  granted: boolean;
  /** Fails at once when this settles first, e.g. the start-up of the app being watched. */
  unless?: Promise<unknown>;
  deadlineMs?: number;
}

/**
 * Polls pg_locks until a session named `applicationName` holds or waits for the migration lock,
 * and answers that backend's pid. Fails when the deadline passes first.
 */
export async function waitForMigrationLock(
  client: Client,
  applicationName: string,
  { granted, unless, deadlineMs = 30_000 }: LockWait,
): Promise<number> {
  let settled: Error | undefined;
  void unless?.then(
    () => (settled = new Error(`${applicationName} started instead of waiting for the lock`)),
    (error: unknown) =>
      (settled = new Error(`${applicationName} failed to start: ${String(error)}`)),
  );
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    const { rows } = await client.query<{ pid: number }>(
      `SELECT l.pid FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
        WHERE l.locktype = 'advisory' AND l.granted = $1 AND a.application_name = $2
          AND l.objsubid = 1 AND ((l.classid::bigint << 32) | l.objid::bigint) = $3`,
      [granted, applicationName, MIGRATION_LOCK_KEY],
    );
    if (rows.length > 0) {
      return rows[0].pid;
    }
    if (settled) {
      throw settled;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `${applicationName} neither ${granted ? 'held' : 'waited for'} the migration lock within ${deadlineMs} ms`,
      );
    }
    await new Promise((done) => setTimeout(done, 20));
  }
}

/** Polls until the backend `pid` has gone (its session ended), for at most `deadlineMs`. */
export async function waitForBackendGone(
  client: Client,
  pid: number,
  deadlineMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  while ((await client.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [pid])).rowCount) {
    if (Date.now() > deadline) {
      throw new Error(`backend ${pid} still there after ${deadlineMs} ms`);
    }
    await new Promise((done) => setTimeout(done, 20));
  }
}
