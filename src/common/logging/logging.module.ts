import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Module } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { LoggerModule } from 'nestjs-pino';
import { observabilityConfig } from '../../config/configuration';

/** A request id a client or proxy may choose: short, and safe to log and echo. */
const ACCEPTABLE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The id of a request: its `X-Request-Id` when acceptable, otherwise a new UUID. */
export function requestIdOf(request: IncomingMessage): string {
  const given = request.headers['x-request-id'];
  return typeof given === 'string' && ACCEPTABLE_REQUEST_ID.test(given) ? given : randomUUID();
}

/**
 * One JSON line per request (nestjs-pino), carrying the request id, and the app's own log lines in
 * the same format. The serializers pick fields one by one: no header, body or query string is ever
 * logged, so no password, token or hash can reach the logs.
 */
@Module({
  imports: [
    LoggerModule.forRootAsync({
      inject: [observabilityConfig.KEY],
      useFactory: (config: ConfigType<typeof observabilityConfig>) => ({
        pinoHttp: {
          level: config.logLevel,
          // Fastify has already settled the id (see createHttpAdapter); middie passes it on.
          genReqId: (request: IncomingMessage) =>
            (request as IncomingMessage & { id?: string }).id ?? requestIdOf(request),
          customLogLevel: (_request: IncomingMessage, response: ServerResponse, error?: Error) =>
            error || response.statusCode >= 500 ? 'error' : 'info',
          serializers: {
            req: (request: { id: string; method: string; url?: string }) => ({
              id: request.id,
              method: request.method,
              path: request.url?.split('?')[0],
            }),
            res: (response: { statusCode: number }) => ({ statusCode: response.statusCode }),
            // pino-http hands over the error already serialized: keep its class name only.
            err: (error: { type?: string }) => ({ type: error.type }),
          },
          quietReqLogger: true,
        },
      }),
    }),
  ],
})
export class LoggingModule {}
