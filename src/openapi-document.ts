/**
 * Writes the service's OpenAPI document to the file given as argument (stdout without one), as the
 * app serves it at /docs-json: the real AppModule on a throwaway database, not listening.
 * `npm run client:generate` turns it into the typed client's types.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';

async function main(): Promise<void> {
  Object.assign(process.env, {
    NODE_ENV: 'development',
    DOCS_ENABLED: 'true',
    DB_PATH: ':memory:',
    DATABASE_URL: '',
    REDIS_URL: '',
    EMAIL_FLOWS: 'off',
    LOG_LEVEL: 'silent',
    JWT_SECRET: randomBytes(48).toString('base64url'),
  });
  // Loaded once the environment is set: the configuration is read as the modules load.
  const { NestFactory } = await import('@nestjs/core');
  const { AppModule } = await import('./app.module');
  const { configureApp, createHttpAdapter } = await import('./app.setup');
  const app = await NestFactory.create<NestFastifyApplication>(AppModule, createHttpAdapter(), {
    logger: false,
  });
  configureApp(app);
  await app.init();
  const response = await app.getHttpAdapter().getInstance().inject({ url: '/docs-json' });
  await app.close();
  if (response.statusCode !== 200) {
    throw new Error(`/docs-json answered ${response.statusCode}`);
  }
  const text = `${JSON.stringify(JSON.parse(response.body), null, 2)}\n`;
  if (process.argv[2]) {
    writeFileSync(process.argv[2], text);
  } else {
    process.stdout.write(text);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
