/** The few methods of a better-sqlite3 connection the lock needs. */
interface SqliteConnection {
  pragma(source: string): unknown;
  exec(source: string): unknown;
}

/** A second process started on a SQLite file that a running one holds. */
export class DatabaseInUseError extends Error {
  constructor(path: string) {
    super(
      `Another process is using the SQLite database ${path}. The embedded mode allows one ` +
        'process per database file (its revocation filters live in that process); stop the ' +
        'other one, give this one its own DB_PATH, or set DATABASE_URL to run several instances.',
    );
    this.name = 'DatabaseInUseError';
  }
}

/**
 * Makes this connection the only one on the file for as long as it is open: SQLite's exclusive
 * locking mode, taken at once by an exclusive transaction and kept after it. The lock is the
 * operating system's, so it ends with the process, however that ends (`kill -9` included): a
 * restart never needs a stale lock removed by hand.
 */
export function holdExclusively(db: SqliteConnection, path: string, busyTimeoutMs: number): void {
  db.pragma('locking_mode = EXCLUSIVE');
  db.pragma('busy_timeout = 0');
  try {
    db.exec('BEGIN EXCLUSIVE');
    db.exec('COMMIT');
  } catch (error) {
    if ((error as { code?: string }).code?.startsWith('SQLITE_BUSY')) {
      throw new DatabaseInUseError(path);
    }
    throw error;
  } finally {
    db.pragma(`busy_timeout = ${busyTimeoutMs}`);
  }
}
