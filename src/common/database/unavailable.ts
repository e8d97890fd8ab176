/** Network errors of a connection attempt, and the pool giving up waiting for a connection. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/**
 * SQLSTATEs that say PostgreSQL cannot serve now (class 08: connection exception; 53300: too many
 * connections; 57P01-57P03: shutting down or starting), and SQLite's "database is locked".
 */
const UNAVAILABLE_CODES = new Set(['53300', '57P01', '57P02', '57P03', 'SQLITE_BUSY']);

/**
 * True when a failure means the database cannot be reached or cannot serve at the moment, as
 * opposed to a query that failed: the client may retry (503) rather than a fault (500).
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) {
    return false;
  }
  const { code, driverError } = error as Error & {
    code?: unknown;
    driverError?: { code?: unknown };
  };
  const codes = [code, driverError?.code].filter(
    (value): value is string => typeof value === 'string',
  );
  return (
    codes.some((value) => NETWORK_CODES.has(value) || UNAVAILABLE_CODES.has(value)) ||
    codes.some((value) => value.startsWith('08')) ||
    /timeout exceeded when trying to connect|Connection terminated/.test(error.message)
  );
}
