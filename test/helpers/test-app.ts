import { randomBytes, randomUUID } from 'node:crypto';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Test, TestingModule } from '@nestjs/testing';
import request from 'supertest';
import TestAgent from 'supertest/lib/agent';
import { AppModule } from '../../src/app.module';
import { configureApp, createHttpAdapter } from '../../src/app.setup';
import { storeEnv } from './database';

/** The embedded mode whatever the run: SQLite, no Redis (for apps that must not start). */
export const EMBEDDED = { DATABASE_URL: '', REDIS_URL: '' };

export const TEST_ISSUER = 'test-issuer';
export const TEST_AUDIENCE = 'test-audience';

export interface TestApp {
  app: NestFastifyApplication;
  http: TestAgent;
  /** The environment the app was started with. */
  env: Record<string, string>;
  close(): Promise<void>;
}

/**
 * Starts the real AppModule with the same configureApp() as main.ts, on a fresh database built by
 * the migrations: in-memory SQLite, or its own PostgreSQL schema under `npm run test:pg`. `env`
 * overrides any variable (DB_PATH names a database to come back to after a restart).
 */
export async function createTestApp(env: Record<string, string> = {}): Promise<TestApp> {
  const fullEnv: Record<string, string> = {
    NODE_ENV: 'test',
    DATABASE_URL: '',
    REDIS_URL: '',
    LOG_LEVEL: 'silent',
    JWT_SECRET: randomBytes(48).toString('base64url'),
    JWT_ISSUER: TEST_ISSUER,
    JWT_AUDIENCE: TEST_AUDIENCE,
    JWT_ALGORITHM: 'HS256',
    JWT_PRIVATE_KEY: '',
    // Rate limiting stays on, so every limited request goes through the limiter's store (Redis
    // under `npm run test:pg`), with budgets no suite reaches by accident: suites sign in many
    // times from one address. A suite that tests a limit sets its own.
    RATE_LIMIT_ENABLED: 'true',
    RATE_LIMIT_SIGNUP: '1000000',
    RATE_LIMIT_SIGNIN: '1000000',
    RATE_LIMIT_REFRESH: '1000000',
    RATE_LIMIT_PASSWORD: '1000000',
    RATE_LIMIT_EMAIL: '1000000',
    RATE_LIMIT_LINK: '1000000',
    RATE_LIMIT_SIGNIN_FAILURES: '1000000',
    RATE_LIMIT_ACCOUNT_FAILURES: '1000000',
    CORS_ORIGINS: '',
    TRUST_PROXY: 'false',
    ...(await storeEnv(env.DB_PATH ?? ':memory:')),
    ...env,
  };
  // The app reads its configuration while it starts; afterwards the environment is put back, so
  // that a setting of one app never leaks into the next one a suite starts.
  const saved = { ...process.env };
  Object.assign(process.env, fullEnv);
  let app: NestFastifyApplication;
  let moduleRef: TestingModule | undefined;
  try {
    moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
    app = moduleRef.createNestApplication<NestFastifyApplication>(createHttpAdapter(), {
      logger: false,
    });
    configureApp(app);
    await app.init();
    await app.getHttpAdapter().getInstance().ready();
  } catch (error) {
    // A start that fails after the modules were built (an HTTP setting refused, say) closes them:
    // their database pool and Redis connection would otherwise keep Jest from exiting. A failure
    // while building them (a provider's factory refusing a key) can leave connections the
    // container never got: suites that test such refusals start in the embedded mode.
    await moduleRef?.close().catch(() => undefined);
    throw error;
  } finally {
    for (const name of Object.keys(fullEnv)) {
      if (saved[name] === undefined) {
        delete process.env[name];
      } else {
        process.env[name] = saved[name];
      }
    }
  }
  return {
    app,
    http: request(app.getHttpServer()),
    env: fullEnv,
    close: () => app.close(),
  };
}

export function uniqueEmail(prefix = 'user'): string {
  return `${prefix}-${randomUUID()}@example.com`;
}

export const DEFAULT_PASSWORD = 'correct-horse-battery';

export interface TokenPair {
  access_token: string;
  token_type: string;
  expires_in: number;
  refresh_token: string;
}

export async function signUp(
  http: TestAgent,
  email = uniqueEmail(),
  password = DEFAULT_PASSWORD,
): Promise<{ id: string; email: string; password: string }> {
  const response = await http.post('/signup').send({ email, password }).expect(201);
  return { id: (response.body as { id: string }).id, email, password };
}

export async function signIn(
  http: TestAgent,
  email: string,
  password = DEFAULT_PASSWORD,
): Promise<TokenPair> {
  const response = await http.post('/signin').send({ email, password }).expect(200);
  return response.body as TokenPair;
}

/** A new user, signed in once. */
export async function signedInUser(
  http: TestAgent,
): Promise<{ id: string; email: string; tokens: TokenPair }> {
  const user = await signUp(http);
  return { ...user, tokens: await signIn(http, user.email) };
}

export const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });
