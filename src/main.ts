import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { AppModule } from './app.module';
import { configureApp, createHttpAdapter } from './app.setup';
import { AppLogger } from './common/logging/logging.module';
import { AppConfig, appConfig } from './config/configuration';

async function bootstrap(): Promise<void> {
  const app = await NestFactory.create<NestFastifyApplication>(AppModule, createHttpAdapter(), {
    abortOnError: false,
    bufferLogs: true,
  });
  app.useLogger(app.get(AppLogger));
  configureApp(app);
  const { port, host } = app.get<AppConfig>(appConfig.KEY);
  await app.listen(port, host);
  new Logger('Bootstrap').log(`Listening on ${await app.getUrl()} (API docs at /docs)`);
}

// A fault nothing caught ends the process, with a last line saying what it was; the lines queued
// before it are written out as the process exits.
for (const event of ['uncaughtException', 'unhandledRejection'] as const) {
  process.on(event, (error: unknown) => {
    const detail = error instanceof Error ? (error.stack ?? error.message) : 'a non-error value';
    new Logger('Process').fatal(`Stopping on ${event}: ${detail}`);
    process.exit(1);
  });
}

bootstrap().catch((error: unknown) => {
  const message = error instanceof Error ? error.message : 'unknown error';
  new Logger('Bootstrap').error(`Start-up failed: ${message}`);
  process.exit(1);
});
