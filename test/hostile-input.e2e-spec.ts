import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { DataSource } from 'typeorm';
import { BODY_LIMIT } from '../src/app.setup';
import {
  bearer,
  createTestApp,
  signedInUser,
  signIn,
  signUp,
  TestApp,
  TokenPair,
} from './helpers/test-app';

/**
 * A JSON value as a tree, objects as lists of entries: a key such as `__proto__` stays an ordinary
 * key of the text sent (JSON.stringify of an object literal would drop it, or set a prototype).
 */
type Json = null | boolean | number | string | Json[] | { entries: [string, Json][] };

const KEYS = [
  '$gt',
  '$where',
  'password',
  'email',
  'scope',
  'refresh_token',
  'currentPassword',
  'newPassword',
  'x',
  'polluted',
  '__proto__',
  'constructor',
  'prototype',
];
const FIELDS = ['email', 'password', 'currentPassword', 'newPassword', 'scope', 'refresh_token'];
const PROTO_KEYS = ['__proto__', 'constructor', 'prototype'];

const objectOf = (key: fc.Arbitrary<string>, value: fc.Arbitrary<Json>, maxLength: number) =>
  fc
    .uniqueArray(fc.tuple(key, value), { selector: ([name]) => name, maxLength })
    .map((entries): Json => ({ entries }));

/** What a polluter hopes to plant on Object.prototype. */
const PAYLOAD: Json = { entries: [['polluted', 'yes']] };

/** Random and adversarial JSON: nothing may answer 500, and the process must stay up. */
const hostileValue: fc.Arbitrary<Json> = fc.letrec<{ value: Json }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.string(),
    fc.string({ unit: 'grapheme', maxLength: 300 }),
    fc.integer(),
    fc.double(),
    fc.boolean(),
    fc.constant(null),
    fc.constantFrom(
      '$gt',
      '$ne',
      '{"$ne":null}',
      '__proto__',
      'constructor',
      'current',
      'others',
      'all',
      '\u0000',
      'a'.repeat(5000),
    ),
    fc.constant(PAYLOAD),
    fc.array(tie('value'), { maxLength: 4 }),
    objectOf(fc.constantFrom(...KEYS), tie('value'), 3),
  ),
})).value;

/** The prototype-pollution shapes themselves, at the top or one level down. */
const polluting: fc.Arbitrary<Json> = fc
  .tuple(
    fc.constantFrom<Json>(
      { entries: [['__proto__', PAYLOAD]] },
      { entries: [['constructor', { entries: [['prototype', PAYLOAD]] }]] },
      { entries: [['prototype', PAYLOAD]] },
      { entries: [['constructor', PAYLOAD]] },
    ),
    fc.constantFrom(...FIELDS, ''),
  )
  .map(([attack, under]) => (under === '' ? attack : { entries: [[under, attack]] }));

/** Deepest nesting a body may have (arrays and objects); deeper ones get 400 before validation. */
const MAX_DEPTH = 32;

/**
 * Bodies nested far deeper than any DTO, built as text (a tree that deep would overflow the
 * serializer): arrays, objects or both alternating, inside one field, up to past the size limit.
 */
const deepBody: fc.Arbitrary<string> = fc
  .record({
    field: fc.constantFrom(...FIELDS),
    beside: fc.boolean(),
    depth: fc.oneof(
      fc.integer({ min: 1, max: MAX_DEPTH + 2 }),
      fc.integer({ min: MAX_DEPTH + 3, max: 9000 }),
    ),
    shape: fc.constantFrom('arrays', 'objects', 'mixed'),
  })
  .map(({ field, beside, depth, shape }) => {
    let open = '';
    let close = '';
    for (let level = 0; level < depth; level++) {
      const array = shape === 'arrays' || (shape === 'mixed' && level % 2 === 0);
      open += array ? '[' : '{"a":';
      close = (array ? ']' : '}') + close;
    }
    const nested = `${open}${shape === 'arrays' ? '' : '1'}${close}`.replace('{"a":]', '{"a":1]');
    const rest = beside ? '"email":"deep@example.com",' : '';
    return `{${rest}${JSON.stringify(field)}:${nested}}`;
  });

/** The nesting depth of a parsed JSON value, walked with a stack of its own. */
function depthOf(value: unknown): number {
  let deepest = 0;
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (node !== null && typeof node === 'object') {
      deepest = Math.max(deepest, depth + 1);
      for (const child of Object.values(node)) {
        stack.push([child, depth + 1]);
      }
    }
  }
  return deepest;
}

const hostileBody: fc.Arbitrary<Json> = fc.oneof(
  hostileValue,
  polluting,
  objectOf(fc.constantFrom(...FIELDS, ...PROTO_KEYS), hostileValue, 4),
);

function serialize(value: Json): string {
  if (Array.isArray(value)) {
    return `[${value.map(serialize).join(',')}]`;
  }
  if (value !== null && typeof value === 'object') {
    return `{${value.entries.map(([key, item]) => `${JSON.stringify(key)}:${serialize(item)}`).join(',')}}`;
  }
  return JSON.stringify(value); // NaN and the infinities become null, as in any JSON encoder
}

const own = (node: object, key: string) => Object.prototype.hasOwnProperty.call(node, key);

/**
 * A `__proto__` key, or a `constructor` holding a `prototype`, anywhere in the parsed body. Walked
 * with a stack of its own: the deep bodies below would overflow a recursive walk.
 */
function poisoned(body: unknown): boolean {
  const stack: unknown[] = [body];
  while (stack.length > 0) {
    const node = stack.pop();
    if (node === null || typeof node !== 'object') {
      continue;
    }
    if (own(node, '__proto__')) {
      return true;
    }
    const ctor = own(node, 'constructor')
      ? (node as Record<string, unknown>).constructor
      : undefined;
    if (ctor !== null && typeof ctor === 'object' && own(ctor, 'prototype')) {
      return true;
    }
    stack.push(...Object.values(node));
  }
  return false;
}

/**
 * The fields the validation pipe checks: an empty body becomes `{}`, anything but an object fails,
 * and Nest's ValidationPipe deletes `prototype` and `constructor` keys before it validates (it
 * strips them rather than report them as unknown fields).
 */
function fieldsOf(parsed: unknown): Record<string, unknown> | undefined {
  if (parsed === null || parsed === '') {
    return {};
  }
  if (typeof parsed !== 'object' || Array.isArray(parsed)) {
    return undefined;
  }
  const { prototype: _prototype, ...fields } = parsed as Record<string, unknown>;
  Reflect.deleteProperty(fields, 'constructor');
  return fields;
}

const onlyKeys = (fields: Record<string, unknown>, allowed: string[]) =>
  Object.keys(fields).every((key) => allowed.includes(key));

type Method = 'post' | 'delete';

interface Expected {
  /** The statuses the body must get; only one unless the password check decides. */
  statuses: number[];
  codes: string[];
}

/**
 * What each route must answer for a body. Which password the random fields hold decides nothing:
 * no generated string is a valid email, an existing account's password or a refresh token.
 */
function expectedAnswer(path: string, raw: string): Expected {
  if (Buffer.byteLength(raw) > BODY_LIMIT) {
    return { statuses: [413], codes: ['payload_too_large'] };
  }
  const parsed: unknown = JSON.parse(raw);
  if (poisoned(parsed)) {
    return { statuses: [400], codes: ['invalid_json'] };
  }
  if (depthOf(parsed) > MAX_DEPTH) {
    return { statuses: [400], codes: ['validation_failed'] };
  }
  const fields = fieldsOf(parsed);
  const invalid: Expected = { statuses: [400], codes: ['validation_failed'] };
  switch (path) {
    case '/revoke': {
      const scope = fields?.scope;
      return fields &&
        onlyKeys(fields, ['scope']) &&
        [undefined, null, 'current', 'others', 'all'].includes(scope as string)
        ? { statuses: [200], codes: [] }
        : invalid;
    }
    case '/refresh': {
      const token = fields?.refresh_token;
      return fields &&
        onlyKeys(fields, ['refresh_token']) &&
        (token === undefined ||
          token === null ||
          (typeof token === 'string' && token.length <= 4096))
        ? { statuses: [401], codes: ['token_missing', 'invalid_refresh_token'] }
        : invalid;
    }
    case '/password':
    case '/me':
      // Well-formed fields reach the password check, which fails; others fail validation.
      return {
        statuses: [400, 403],
        codes: ['validation_failed', 'weak_password', 'invalid_password'],
      };
    default: // /signup, /signin: the email is never valid
      return invalid;
  }
}

/** Object.prototype and Array.prototype as they were before any request. */
function prototypesNow() {
  return {
    object: Object.getOwnPropertyNames(Object.prototype).sort(),
    array: Object.getOwnPropertyNames(Array.prototype).sort(),
  };
}

/** The app runs in this process: a polluted prototype would show here. */
function expectNoPollution(before: ReturnType<typeof prototypesNow>) {
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  expect(Object.create({}).polluted).toBeUndefined();
  expect(([] as unknown as Record<string, unknown>).polluted).toBeUndefined();
  expect(prototypesNow()).toEqual(before);
}

describe('hostile input', () => {
  let t: TestApp;
  let prototypesBefore: ReturnType<typeof prototypesNow>;

  beforeAll(async () => {
    prototypesBefore = prototypesNow();
    t = await createTestApp();
  });

  afterAll(async () => {
    await t.close();
  });

  const countUsers = async () =>
    Number(
      (
        await t.app
          .get(DataSource)
          .query<{ n: number | string }[]>('SELECT COUNT(*) AS n FROM users')
      )[0].n,
    );

  const send = (method: Method, path: string, raw: string, tokens?: TokenPair) => {
    let call = t.http[method](path).set('Content-Type', 'application/json');
    if (tokens) {
      call = call.set(bearer(tokens.access_token));
    }
    return call.send(raw);
  };

  const endpoints: [Method, string, boolean][] = [
    ['post', '/signup', false],
    ['post', '/signin', false],
    ['post', '/refresh', false],
    ['post', '/revoke', true],
    ['post', '/password', true],
    ['delete', '/me', true],
  ];

  it.each(endpoints)(
    '%s %s should answer every body with its exact 4xx problem or success',
    async (method, path, auth) => {
      const user = await signUp(t.http);
      const usersBefore = await countUsers();
      let poisonedRuns = 0;
      let successes = 0;
      await fc.assert(
        fc.asyncProperty(hostileBody, async (body) => {
          const raw = serialize(body);
          const expected = expectedAnswer(path, raw);
          if (expected.codes.includes('invalid_json')) {
            poisonedRuns++;
          }
          // Each run has its own session: a revocation in one run never decides the next.
          const tokens = auth ? await signIn(t.http, user.email) : undefined;
          const response = await send(method, path, raw, tokens);
          expect(expected.statuses).toContain(response.status);
          if (response.status >= 400) {
            expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
            expect(expected.codes).toContain(response.body.code);
            if (response.status === 403) {
              expect(response.body.code).toBe('invalid_password');
            }
          } else {
            successes++;
          }
          expectNoPollution(prototypesBefore);
          if (tokens) {
            // The caller's session survived, unless the body asked to end it.
            const scope = (fieldsOf(JSON.parse(raw)) ?? {}).scope;
            const ended = response.status === 200 && scope !== 'others';
            await t.http
              .get('/protected')
              .set(bearer(tokens.access_token))
              .expect(ended ? 401 : 200);
          }
        }),
        { numRuns: 60 },
      );
      // The generators did produce the attacks (a change to them cannot silently drop these).
      expect(poisonedRuns).toBeGreaterThan(0);
      if (path === '/revoke') {
        expect(successes).toBeGreaterThan(0);
      } else {
        expect(successes).toBe(0);
      }
      // Nothing created or deleted an account (sign-up never got a valid email either).
      expect(await countUsers()).toBe(usersBefore);
    },
    120_000,
  );

  it.each(endpoints)(
    '%s %s should answer bodies nested deep inside any field with a 4xx, never a 500',
    async (method, path, auth) => {
      const user = await signUp(t.http);
      const seen = { tooDeep: 0, tooLarge: 0, shallow: 0 };
      await fc.assert(
        fc.asyncProperty(deepBody, async (raw) => {
          const expected = expectedAnswer(path, raw);
          if (Buffer.byteLength(raw) > BODY_LIMIT) {
            seen.tooLarge++;
          } else if (depthOf(JSON.parse(raw)) > MAX_DEPTH) {
            seen.tooDeep++;
            expect(expected.codes).toEqual(['validation_failed']);
          } else {
            seen.shallow++;
          }
          const tokens = auth ? await signIn(t.http, user.email) : undefined;
          const response = await send(method, path, raw, tokens);
          expect(expected.statuses).toContain(response.status);
          expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
          expect(expected.codes).toContain(response.body.code);
        }),
        { numRuns: 40 },
      );
      // Each kind of body was sent: too deep (under the size limit), too large, and shallow.
      expect(seen.tooDeep).toBeGreaterThan(0);
      expect(seen.tooLarge).toBeGreaterThan(0);
      expect(seen.shallow).toBeGreaterThan(0);
    },
    120_000,
  );

  it('should refuse 5,000 nested arrays in a password with 400 validation_failed, not a 500', async () => {
    const raw = `{"email":"n@example.com","password":${'['.repeat(5000)}${']'.repeat(5000)}}`;
    expect(Buffer.byteLength(raw)).toBeLessThan(BODY_LIMIT);
    const response = await send('post', '/signup', raw);
    expect([response.status, response.body.code]).toEqual([400, 'validation_failed']);
    expect(response.body.detail).toMatch(/deeper than 32 levels/);
    await t.http.get('/health/live').expect(200);
  });

  /** Raw JSON texts with prototype keys, including the escaped spelling of `__proto__`. */
  const polluters = [
    '{"__proto__":{"polluted":"yes"}}',
    '{"\\u005f_proto__":{"polluted":"yes"}}',
    '{"scope":"others","__proto__":{"polluted":"yes"}}',
    '{"constructor":{"prototype":{"polluted":"yes"}}}',
    '{"x":[{"__proto__":{"polluted":"yes"}}]}',
    '[{"constructor":{"prototype":{"polluted":"yes"}}}]',
  ];

  it.each(endpoints)(
    '%s %s should refuse literal __proto__ and constructor.prototype keys with 400 invalid_json',
    async (method, path, auth) => {
      const user = await signedInUser(t.http);
      for (const raw of polluters) {
        expect(JSON.parse(raw)).toBeDefined(); // each is valid JSON
        const response = await send(method, path, raw, auth ? user.tokens : undefined);
        expect([raw, response.status, response.body.code]).toEqual([raw, 400, 'invalid_json']);
        expectNoPollution(prototypesBefore);
      }
      await t.http.get('/protected').set(bearer(user.tokens.access_token)).expect(200);
    },
  );

  it("should drop prototype and constructor keys unapplied, as Nest's ValidationPipe does", async () => {
    const user = await signedInUser(t.http);
    for (const raw of [
      '{"scope":"others","prototype":{"scope":"all"}}',
      '{"scope":"others","constructor":{"scope":"all"}}',
      '{"scope":"others","constructor":"all","prototype":"all"}',
    ]) {
      const other = await signIn(t.http, user.email);
      const response = await send('post', '/revoke', raw, user.tokens);
      expect([raw, response.status, response.body.message]).toEqual([
        raw,
        200,
        'All other sessions have been revoked',
      ]);
      expectNoPollution(prototypesBefore);
      await t.http.get('/protected').set(bearer(other.access_token)).expect(401);
      // Had "all" been applied, the caller's own session would have ended too.
      await t.http.get('/protected').set(bearer(user.tokens.access_token)).expect(200);
    }
  });

  it('should answer odd session ids and Authorization headers without a 500', async () => {
    const { tokens } = await signedInUser(t.http);
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.string({ minLength: 1, maxLength: 200 }), fc.uuid()),
        fc.oneof(
          fc.string({ maxLength: 200 }),
          fc.constant('Bearer '),
          fc.constant(`Bearer ${'x'.repeat(8000)}`),
        ),
        async (id, authorization) => {
          const safeId = encodeURIComponent(id);
          const own = await t.http.delete(`/sessions/${safeId}`).set(bearer(tokens.access_token));
          expect(own.status).toBeLessThan(500);
          const odd = await t.http
            .get('/sessions')
            .set('Authorization', authorization.replace(/[\r\n]/g, ''));
          expect([401, 400]).toContain(odd.status);
        },
      ),
      { numRuns: 60 },
    );
    await t.http.get('/protected').set(bearer(tokens.access_token)).expect(200);
  });

  it('should answer a 64 KiB Authorization header with a 431 problem, and keep serving', async () => {
    const server = t.app.getHttpServer();
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    try {
      const { port } = server.address() as AddressInfo;
      const response = await new Promise<{ status: number; type: string; body: string }>(
        (done, fail) => {
          const req = request(
            {
              host: '127.0.0.1',
              port,
              path: '/protected',
              headers: { Authorization: `Bearer ${'a'.repeat(64 * 1024)}` },
            },
            (res) => {
              let body = '';
              res.on('data', (chunk: Buffer) => (body += chunk.toString()));
              res.on('end', () =>
                done({
                  status: res.statusCode ?? 0,
                  type: String(res.headers['content-type']),
                  body,
                }),
              );
            },
          );
          req.on('error', fail);
          req.end();
        },
      );
      expect(response.status).toBe(431);
      // Duplicate Authorization and Content-Type headers: a 4xx or the first one wins, never a 500.
      for (const headers of [
        { Authorization: ['Bearer first', 'Bearer second'] },
        { 'Content-Type': ['application/json', 'text/plain'], 'Content-Length': '2' },
      ]) {
        const status = await new Promise<number>((done, fail) => {
          const req = request(
            { host: '127.0.0.1', port, path: '/protected', method: 'GET', headers },
            (res) => {
              res.resume();
              res.on('end', () => done(res.statusCode ?? 0));
            },
          );
          req.on('error', fail);
          req.end(headers['Content-Length'] ? '{}' : undefined);
        });
        expect(status).toBeGreaterThanOrEqual(400);
        expect(status).toBeLessThan(500);
      }
      expect(response.type).toMatch(/^application\/problem\+json/);
      expect(JSON.parse(response.body)).toMatchObject({ code: 'headers_too_large', status: 431 });
    } finally {
      await new Promise<void>((done) => server.close(() => done()));
    }
    await t.http.get('/health/live').expect(200);
  });
});
