import { createTestApp, DEFAULT_PASSWORD, TestApp, uniqueEmail } from './helpers/test-app';

describe('POST /signup', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp();
  });

  afterAll(async () => {
    await t.close();
  });

  it('should create a user and return id, email, createdAt and emailVerified only', async () => {
    const email = uniqueEmail();
    const response = await t.http
      .post('/signup')
      .send({ email, password: DEFAULT_PASSWORD })
      .expect(201);
    expect(Object.keys(response.body).sort()).toEqual([
      'createdAt',
      'email',
      'emailVerified',
      'id',
    ]);
    expect(response.body.emailVerified).toBe(false);
    expect(response.body.email).toBe(email);
    expect(response.body.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(new Date(response.body.createdAt as string).toISOString()).toBe(response.body.createdAt);
    expect(JSON.stringify(response.body)).not.toMatch(/argon2|password/i);
  });

  it('should trim and lower-case the email before storing and comparing it', async () => {
    const email = uniqueEmail('MiXeD');
    const response = await t.http
      .post('/signup')
      .send({ email: `  ${email.toUpperCase()}  `, password: DEFAULT_PASSWORD })
      .expect(201);
    expect(response.body.email).toBe(email.toLowerCase());
    const duplicate = await t.http
      .post('/signup')
      .send({ email: email.toLowerCase(), password: DEFAULT_PASSWORD })
      .expect(409);
    expect(duplicate.body.code).toBe('email_taken');
    await t.http
      .post('/signin')
      .send({ email: ` ${email.toUpperCase()}`, password: DEFAULT_PASSWORD })
      .expect(200);
  });

  it('should answer 409 email_taken as problem+json for a registered email', async () => {
    const email = uniqueEmail();
    await t.http.post('/signup').send({ email, password: DEFAULT_PASSWORD }).expect(201);
    const response = await t.http
      .post('/signup')
      .send({ email, password: 'another-password' })
      .expect(409);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(response.body).toEqual({
      type: 'urn:nest-jwt-auth:problem:email_taken',
      title: 'Email already registered',
      status: 409,
      detail: expect.any(String),
      code: 'email_taken',
      instance: '/signup',
    });
  });

  it('should let exactly one of 20 concurrent signups with one email succeed', async () => {
    const email = uniqueEmail('race');
    const responses = await Promise.all(
      Array.from({ length: 20 }, () =>
        t.http.post('/signup').send({ email, password: DEFAULT_PASSWORD }),
      ),
    );
    const statuses = responses.map((response) => response.status).sort();
    expect(statuses.filter((status) => status === 201)).toHaveLength(1);
    expect(statuses.filter((status) => status === 409)).toHaveLength(19);
  });

  it.each([
    ['a password shorter than 8 characters', { password: 'abc123' }, 'password', 'minLength'],
    [
      'a password longer than 128 characters',
      { password: 'x'.repeat(129) },
      'password',
      'maxLength',
    ],
    ['a password that is not a string', { password: 12345678 }, 'password', 'isString'],
    ['an invalid email', { email: 'not-an-email' }, 'email', 'isEmail'],
    [
      'an email over 254 characters',
      { email: `${'a'.repeat(250)}@example.com` },
      'email',
      'maxLength',
    ],
    ['an email that is not a string', { email: ['a@b.co'] }, 'email', 'isString'],
  ])('should reject %s with the field and rule', async (_name, change, field, rule) => {
    const body = { email: uniqueEmail(), password: DEFAULT_PASSWORD, ...change };
    const response = await t.http.post('/signup').send(body).expect(400);
    expect(response.body.code).toBe('validation_failed');
    const fieldError = (response.body.errors as { field: string; rules: string[] }[]).find(
      (error) => error.field === field,
    );
    expect(fieldError?.rules).toContain(rule);
  });

  it('should accept a password of exactly 128 characters of any kind, compared exactly', async () => {
    const email = uniqueEmail();
    const password = `${'ü€ 🙂'.repeat(25)}abc`.slice(0, 128);
    await t.http.post('/signup').send({ email, password }).expect(201);
    await t.http.post('/signin').send({ email, password }).expect(200);
    await t.http
      .post('/signin')
      .send({ email, password: password.slice(0, 127) })
      .expect(401);
  });

  it('should never echo the submitted password in a validation error', async () => {
    const response = await t.http
      .post('/signup')
      .send({ email: 'bad', password: 'short1' })
      .expect(400);
    expect(JSON.stringify(response.body)).not.toContain('short1');
  });

  it('should reject unknown fields', async () => {
    const response = await t.http
      .post('/signup')
      .send({ email: uniqueEmail(), password: DEFAULT_PASSWORD, isAdmin: true })
      .expect(400);
    expect(response.body.errors).toEqual([
      expect.objectContaining({ field: 'isAdmin', rules: ['whitelistValidation'] }),
    ]);
  });

  it.each([
    ['an array', '[]'],
    ['a string', '"hello"'],
    ['a number', '42'],
    ['null', 'null'],
  ])('should reject a body that is %s', async (_name, body) => {
    const response = await t.http
      .post('/signup')
      .set('Content-Type', 'application/json')
      .send(body)
      .expect(400);
    expect(response.body.code).toBe('validation_failed');
  });

  it('should answer malformed JSON with 400 invalid_json without echoing it', async () => {
    const response = await t.http
      .post('/signup')
      .set('Content-Type', 'application/json')
      .send('{"email": "a@b.co", "password": "secret-value-123"')
      .expect(400);
    expect(response.body.code).toBe('invalid_json');
    expect(JSON.stringify(response.body)).not.toContain('secret-value-123');
  });

  it('should refuse prototype-poisoning keys', async () => {
    const response = await t.http
      .post('/signup')
      .set('Content-Type', 'application/json')
      .send(`{"email":"${uniqueEmail()}","password":"${DEFAULT_PASSWORD}","__proto__":{"x":1}}`)
      .expect(400);
    expect(response.body.code).toBe('invalid_json');
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });

  it('should answer 413 for a body over 16 KiB', async () => {
    const response = await t.http
      .post('/signup')
      .send({ email: uniqueEmail(), password: 'x'.repeat(17 * 1024) })
      .expect(413);
    expect(response.body.code).toBe('payload_too_large');
  });

  it('should answer 415 for a form or text body', async () => {
    const form = await t.http
      .post('/signup')
      .type('form')
      .send({ email: uniqueEmail(), password: DEFAULT_PASSWORD })
      .expect(415);
    expect(form.body.code).toBe('unsupported_media_type');
    await t.http.post('/signup').set('Content-Type', 'text/plain').send('hello').expect(415);
  });

  it('should answer a missing body with the fields that are required', async () => {
    const response = await t.http.post('/signup').expect(400);
    expect(
      (response.body.errors as { field: string }[]).map((error) => error.field).sort(),
    ).toEqual(['email', 'password']);
  });
});
