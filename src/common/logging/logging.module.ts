import cluster from 'node:cluster';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import {
  Global,
  Inject,
  Injectable,
  LoggerService,
  Module,
  OnApplicationShutdown,
} from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import pino, { Logger as Pino } from 'pino';
import { observabilityConfig } from '../../config/configuration';
import { processRole } from '../process-role';

/** A request id a client or proxy may choose: short, and safe to log and echo. */
const ACCEPTABLE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The id of a request: its `X-Request-Id` when acceptable, otherwise a new UUID. */
export function requestIdOf(request: IncomingMessage): string {
  const given = request.headers['x-request-id'];
  return typeof given === 'string' && ACCEPTABLE_REQUEST_ID.test(given) ? given : randomUUID();
}

/** The process's pino logger, to which every line goes (the request lines and the app's own). */
export const ROOT_LOGGER = Symbol('ROOT_LOGGER');

/** The process's log output: its pino logger, and what writes the queued lines out. */
export const LOG_OUTPUT = Symbol('LOG_OUTPUT');

export interface LogOutput {
  logger: Pino;
  /** Writes out every queued line now and stops the flush timer (at shutdown). */
  close(): void;
}

/**
 * pino writing to stdout through an asynchronous destination: a line is queued, and the queue is
 * written out in the background, so no request waits on a synchronous write to stdout. pino flushes
 * the queue synchronously when the process exits, whatever the reason (the shutdown after SIGTERM,
 * a fatal error); shutdown flushes it once more before that (LoggingModule).
 */
export function createLogOutput(level: string): LogOutput {
  if (level === 'silent') {
    return { logger: pino({ level }), close: () => undefined };
  }
  // Cluster workers share one stdout: each write then carries whole lines and at most PIPE_BUF
  // bytes, which a pipe writes in one piece, so lines of different workers never interleave.
  const destination = pino.destination({
    dest: processRole.cli ? 2 : 1,
    sync: false,
    ...(cluster.isWorker
      ? { minLength: PIPE_BUF / 2, maxWrite: PIPE_BUF }
      : { minLength: LOG_BUFFER_BYTES, maxWrite: LOG_WRITE_BYTES }),
    maxLength: LOG_BACKLOG_BYTES,
  });
  // A quiet service still writes its lines out promptly.
  const timer = setInterval(() => destination.flush(), LOG_FLUSH_INTERVAL_MS).unref();
  return {
    logger: pino({ level }, destination),
    close: () => {
      clearInterval(timer);
      try {
        destination.flushSync();
      } catch {
        // A destination that is not open yet (or already closed) has nothing of ours to write.
      }
    },
  };
}

/**
 * Lines are queued until LOG_BUFFER_BYTES wait (about thirty request lines), then written, at most
 * LOG_WRITE_BYTES at a time; a timer writes out whatever waits every LOG_FLUSH_INTERVAL_MS. If
 * stdout stops taking lines, the queue stops growing at LOG_BACKLOG_BYTES and later lines are
 * dropped: memory stays bounded whatever reads the output.
 */
const LOG_BUFFER_BYTES = 8 * 1024;
const LOG_WRITE_BYTES = 64 * 1024;
const PIPE_BUF = 4096;
const LOG_BACKLOG_BYTES = 32 * 1024 * 1024;
const LOG_FLUSH_INTERVAL_MS = 250;

/**
 * Nest's logger interface over pino: the lines of `new Logger(context)` calls carry `context` and
 * are JSON like the request lines. Messages are the app's own words; no caller passes input.
 */
@Injectable()
export class AppLogger implements LoggerService {
  constructor(@Inject(ROOT_LOGGER) private readonly pino: Pino) {}

  log(message: unknown, ...rest: unknown[]): void {
    this.write('info', message, rest);
  }

  error(message: unknown, ...rest: unknown[]): void {
    // Nest passes (message, stack, context) or (message, context).
    const stack = rest.length > 1 && typeof rest[0] === 'string' ? rest[0] : undefined;
    this.write('error', message, rest, stack);
  }

  warn(message: unknown, ...rest: unknown[]): void {
    this.write('warn', message, rest);
  }

  debug(message: unknown, ...rest: unknown[]): void {
    this.write('debug', message, rest);
  }

  verbose(message: unknown, ...rest: unknown[]): void {
    this.write('trace', message, rest);
  }

  fatal(message: unknown, ...rest: unknown[]): void {
    this.write('fatal', message, rest);
  }

  private write(level: pino.Level, message: unknown, rest: unknown[], stack?: string): void {
    if (!this.pino.isLevelEnabled(level)) {
      return;
    }
    const last = rest[rest.length - 1];
    const context = typeof last === 'string' ? last : undefined;
    const fields: Record<string, unknown> = { context };
    if (stack !== undefined) {
      fields.stack = stack;
    }
    if (message instanceof Error) {
      this.pino[level]({ ...fields, err: message }, message.message);
    } else if (typeof message === 'object' && message !== null) {
      this.pino[level]({ ...fields, ...message });
    } else {
      this.pino[level](fields, String(message));
    }
  }
}

/**
 * Logging without middleware: one pino logger for the process, Nest's own lines through AppLogger,
 * and one line per answered request written by a Fastify onResponse hook (configureApp), which
 * picks its fields one by one: no header, body or query string is ever logged, so no password,
 * token or hash can reach the logs.
 */
@Global()
@Module({
  providers: [
    {
      provide: LOG_OUTPUT,
      inject: [observabilityConfig.KEY],
      useFactory: (config: ConfigType<typeof observabilityConfig>) =>
        createLogOutput(config.logLevel),
    },
    {
      provide: ROOT_LOGGER,
      inject: [LOG_OUTPUT],
      useFactory: (output: LogOutput) => output.logger,
    },
    AppLogger,
  ],
  exports: [ROOT_LOGGER, AppLogger],
})
export class LoggingModule implements OnApplicationShutdown {
  constructor(@Inject(LOG_OUTPUT) private readonly output: LogOutput) {}

  /** The lines of the last requests go out before the process exits. */
  onApplicationShutdown(): void {
    this.output.close();
  }
}
