import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Logger as PinoLogger } from 'nestjs-pino';
import { AppModule } from './app.module';
import { configureApp, createHttpAdapter } from './app.setup';
import { AppConfig, appConfig } from './config/configuration';

async function bootstrap(): Promise<void> {
  const app = await NestFactory.create<NestFastifyApplication>(AppModule, createHttpAdapter(), {
    abortOnError: false,
    bufferLogs: true,
  });
  app.useLogger(app.get(PinoLogger));
  await configureApp(app);
  const { port, host } = app.get<AppConfig>(appConfig.KEY);
  await app.listen(port, host);
  new Logger('Bootstrap').log(`Listening on ${await app.getUrl()} (API docs at /docs)`);
}

bootstrap().catch((error: unknown) => {
  const message = error instanceof Error ? error.message : 'unknown error';
  new Logger('Bootstrap').error(`Start-up failed: ${message}`);
  process.exit(1);
});
