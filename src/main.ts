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

// A fault nothing caught ends the process with a last line saying what it was: the error's class,
// code and stack frames, never its message (which may quote input). Lines still held by Nest
// during start-up are written first, and every queued line goes out as the process exits.
for (const event of ['uncaughtException', 'unhandledRejection'] as const) {
  process.on(event, (error: unknown) => {
    Logger.flush();
    const { name, code, stack } = (error ?? {}) as {
      name?: string;
      code?: string | number;
      stack?: string;
    };
    const frames = stack?.split('\n').filter((line) => /^\s+at /.test(line)) ?? [];
    new Logger('Process').fatal(
      `Stopping on ${event}: ${name ?? typeof error}${code === undefined ? '' : ` (${String(code)})`}` +
        (frames.length > 0 ? `\n${frames.join('\n')}` : ''),
    );
    process.exit(1);
  });
}

bootstrap().catch((error: unknown) => {
  const message = error instanceof Error ? error.message : 'unknown error';
  new Logger('Bootstrap').error(`Start-up failed: ${message}`);
  process.exit(1);
});
