// `npm run test:pg`: every e2e suite again, on PostgreSQL and Redis, plus the suites that need
// several instances. The servers default to the local ones; both must be reachable.
process.env.TEST_DATABASE_URL ??= 'postgres://postgres@127.0.0.1:5432/test';
process.env.TEST_REDIS_URL ??= 'redis://127.0.0.1:6379';

const base = require('../../package.json').jest;

module.exports = {
  ...base,
  rootDir: '../..',
  testRegex: 'test/.*\\.(e2e|pg)-spec\\.ts$',
  globalSetup: '<rootDir>/test/pg/global-setup.ts',
  globalTeardown: '<rootDir>/test/pg/global-teardown.ts',
};
