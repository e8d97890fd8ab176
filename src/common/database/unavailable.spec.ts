import { QueryFailedError } from 'typeorm';
import { isDatabaseUnavailable } from './unavailable';

const withCode = (code: string, message = 'failed') => Object.assign(new Error(message), { code });

describe(isDatabaseUnavailable.name, () => {
  it.each([
    ['a refused connection', withCode('ECONNREFUSED')],
    ['a PostgreSQL connection exception', withCode('08006')],
    ['a server shutting down', withCode('57P01')],
    ['too many connections', withCode('53300')],
    ['SQLite busy', withCode('SQLITE_BUSY')],
    ['SQLite busy in recovery', withCode('SQLITE_BUSY_RECOVERY')],
    ['a deadlock', withCode('40P01')],
    ['a pool timeout', new Error('timeout exceeded when trying to connect')],
    [
      'a wrapped driver error',
      new QueryFailedError('SELECT 1', [], Object.assign(new Error('x'), { code: '57P03' })),
    ],
  ])('should treat %s as unavailable', (_name, error) => {
    expect(isDatabaseUnavailable(error)).toBe(true);
  });

  it.each([
    ['a unique violation', withCode('23505')],
    ['a missing table', withCode('42P01')],
    ['a protocol violation (a bug)', withCode('08P01')],
    ['an ended pool', new Error('Cannot use a pool after calling end on the pool')],
    ['SQLite constraint', withCode('SQLITE_CONSTRAINT_UNIQUE')],
    ['a plain error', new Error('boom')],
    ['a non-error', 'ECONNREFUSED'],
  ])('should treat %s as a fault', (_name, error) => {
    expect(isDatabaseUnavailable(error)).toBe(false);
  });
});
