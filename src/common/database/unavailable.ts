/** Network errors of a connection attempt, and the pool giving up waiting for a connection. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/**
 * SQLSTATEs that say PostgreSQL cannot serve now, or asks for a retry: connection exceptions
 * (08000, 08001, 08003, 08004, 08006; not 08P01, a protocol violation, which is a bug), too many
 * connections (53300), shutting down or starting (57P01-57P03), read-only after a fail-over
 * (25006), serialization failure and deadlock (40001, 40P01). SQLite: busy or locked.
 */
const UNAVAILABLE_CODES = new Set([
  '08000',
  '08001',
  '08003',
  '08004',
  '08006',
  '53300',
  '57P01',
  '57P02',
  '57P03',
  '25006',
  '40001',
  '40P01',
  'SQLITE_BUSY',
  'SQLITE_LOCKED',
]);

/** The codes of a failure: its own and its driver's (TypeORM wraps driver errors). */
export function errorCodes(error: unknown): string[] {
  const { code, driverError } = (error ?? {}) as {
    code?: unknown;
    driverError?: { code?: unknown };
  };
  return [code, driverError?.code].filter((value): value is string => typeof value === 'string');
}

/**
 * True when a failure means the database cannot be reached or cannot serve at the moment, as
 * opposed to a query that failed: the client may retry (503) rather than a fault (500).
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) {
    return false;
  }
  return (
    errorCodes(error).some(
      (code) =>
        NETWORK_CODES.has(code) ||
        UNAVAILABLE_CODES.has(code) ||
        /^SQLITE_(BUSY|LOCKED)_/.test(code),
    ) ||
    // pg-pool waiting for a connection, and pg losing one mid-query.
    /^(timeout exceeded when trying to connect|Connection terminated unexpectedly)/.test(
      error.message,
    )
  );
}
