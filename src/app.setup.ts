import { Logger } from '@nestjs/common';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { AppException } from './common/errors/app.exception';
import { ERROR_CODES, ErrorCode } from './common/errors/error-code';
import { ACCESS_TOKEN_SCHEME, REFRESH_TOKEN_SCHEME } from './common/openapi/openapi-schemes';
import { problem, PROBLEM_CONTENT_TYPE } from './common/errors/problem';
import { problemCodeOf } from './common/errors/problem-details.filter';
import { ServerResponse, STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { requestIdOf, ROOT_LOGGER } from './common/logging/logging.module';
import { MetricsService } from './metrics/metrics.service';
import { MAX_JSON_DEPTH, nestsDeeperThan } from './common/http/json-depth';
import { RouteTable } from './common/http/route-table';
import { AnswersPerTurn } from './common/http/answers-per-turn';
import { AppConfig, appConfig, HttpConfig, httpConfig } from './config/configuration';
import type { Logger as Pino } from 'pino';
import { API_SECURITY_HEADERS, DOCS_SECURITY_HEADERS } from './common/http/security-headers';

/** The reply of a raw response, for the listener that notices clients going away. */
const REPLY_OF = Symbol('reply');
type RawResponse = ServerResponse & { [REPLY_OF]?: FastifyReply };

/** Largest request body accepted, in bytes; larger bodies get 413. */
export const BODY_LIMIT = 16 * 1024;

/**
 * The HTTP adapter of the app; main.ts and the tests create it the same way. It exists before the
 * app's container does, so its settings come straight from the `http` namespace's own loader unless
 * a caller holding the container's value passes it.
 */
export function createHttpAdapter(http: HttpConfig = httpConfig()): FastifyAdapter {
  return new FastifyAdapter({
    bodyLimit: BODY_LIMIT,
    // Off by default: otherwise anyone could pick their own address, and with it a fresh rate limit.
    trustProxy: http.trustProxy,
    // Slow clients may not hold connections open for ever: a request not received within
    // requestTimeout is answered 408 (clientErrorHandler below). Node checks for such requests
    // every connectionsCheckingInterval (30 s by default), so the check runs every second, and an
    // idle socket is dropped only after that answer could have gone out.
    http: { connectionsCheckingInterval: 1000 },
    connectionTimeout: (http.requestTimeout + 2) * 1000,
    requestTimeout: http.requestTimeout * 1000,
    keepAliveTimeout: 72_000,
    return503OnClosing: true,
    // Accepted from X-Request-Id when well-formed, otherwise generated; echoed and logged.
    genReqId: requestIdOf,
    // Errors Fastify raises before routing (a malformed URL) get the same problem format.
    // Errors Node's HTTP parser raises before Fastify sees a request (oversized headers, a client
    // too slow to send them, garbage) are answered in the same format, then the socket closes.
    clientErrorHandler: (error: Error & { code?: string }, socket: Socket) => {
      if (error.code === 'ECONNRESET' || socket.destroyed || !socket.writable) {
        socket.destroy();
        return;
      }
      const [code, detail]: [ErrorCode, string] =
        error.code === 'HPE_HEADER_OVERFLOW'
          ? ['headers_too_large', 'The request headers exceed the size limit']
          : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
            ? ['request_timeout', 'The request was not received in time']
            : ['bad_request', 'The request could not be parsed as HTTP'];
      const body = JSON.stringify(problem(code, detail, '/'));
      const status = ERROR_CODES[code].status;
      socket.end(
        `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\n` +
          `Content-Type: ${PROBLEM_CONTENT_TYPE}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      );
    },
    frameworkErrors: (_error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
      void reply
        .status(400)
        .header('Cache-Control', 'no-store')
        .type(PROBLEM_CONTENT_TYPE)
        .send(problem('bad_request', 'The request URL is malformed', request.url.split('?')[0]));
    },
  });
}

/**
 * What dependency injection cannot do: security headers, request logs and metrics, CORS, the JSON body parser,
 * the route table behind 405 answers, the OpenAPI page and shutdown hooks. Used by main.ts and by
 * every test app.
 */
export function configureApp(app: NestFastifyApplication): void {
  const fastify = app.getHttpAdapter().getInstance();
  const { corsOrigins, tokenDelivery } = app.get<HttpConfig>(httpConfig.KEY);
  if (corsOrigins.length > 0) {
    // An explicit allowlist: no origin is ever reflected that is not on it (so never `*`).
    app.enableCors({
      origin: corsOrigins,
      methods: ['GET', 'POST', 'PUT', 'DELETE'],
      allowedHeaders: ['Authorization', 'Content-Type', 'X-CSRF-Token'],
      exposedHeaders: [
        'Retry-After',
        'RateLimit-Limit',
        'RateLimit-Remaining',
        'RateLimit-Reset',
        'WWW-Authenticate',
      ],
      // Cookies cross origins only when refresh tokens travel in one, and only to those listed.
      credentials: tokenDelivery !== 'body',
      maxAge: 600,
    });
  }
  const routes = app.get(RouteTable);
  fastify.addHook('onRoute', (route) => routes.add(route.method, route.url));

  // Security headers computed once at start-up; the docs page has a policy of its own.
  const docsEnabled = app.get<AppConfig>(appConfig.KEY).docsEnabled;
  fastify.addHook('onRequest', (request, reply, done) => {
    void reply
      .headers(
        docsEnabled && request.routeOptions.url?.startsWith('/docs')
          ? DOCS_SECURITY_HEADERS
          : API_SECURITY_HEADERS,
      )
      .header('X-Request-Id', request.id);
    // A client that goes away before its answer is complete gets no onResponse (see below).
    (reply.raw as RawResponse)[REPLY_OF] = reply;
    reply.raw.on('close', onResponseClosed);
    done();
  });

  // One log line and one count per answered request, by route template, so ids in paths never
  // become label values.
  const metrics = app.get(MetricsService);
  const logger = app.get<Pino>(ROOT_LOGGER);
  // One listener for every response: no closure per request.
  function onResponseClosed(this: RawResponse): void {
    const reply = this[REPLY_OF];
    this[REPLY_OF] = undefined;
    if (this.writableFinished || reply === undefined) {
      return;
    }
    const route = reply.request.routeOptions.url ?? 'unmatched';
    metrics.observeAbortedRequest(reply.request.method, route);
    if (logger.isLevelEnabled('info')) {
      logger.info(
        {
          req: requestFields(reply.request, route),
          responseTime: Math.round(reply.elapsedTime * 100) / 100,
        },
        'request aborted',
      );
    }
  }
  fastify.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? 'unmatched';
    const status = reply.statusCode;
    const elapsed = reply.elapsedTime;
    metrics.observeRequest(request.method, route, status, elapsed / 1000, problemCodeOf(reply));
    logRequest(logger, request, route, status, elapsed);
    done();
  });
  // Under load, the answers of one event-loop turn are written together at its end.
  new AnswersPerTurn((error) =>
    new Logger('Http').error(
      `An answer could not be written: ${error instanceof Error ? error.name : 'unknown error'}`,
    ),
  ).register(fastify);

  // JSON only: form and text bodies are refused with 415, and a parse error never echoes the body.
  const parseJson = fastify.getDefaultJsonParser('error', 'error');
  app.useBodyParser('application/json', { bodyLimit: BODY_LIMIT }, (request, body, done) => {
    if (body.length === 0) {
      done(null, undefined);
      return;
    }
    void parseJson(request as FastifyRequest, body.toString('utf8'), (error, value) => {
      if (error) {
        done(new AppException('invalid_json', 'The request body is not valid JSON'), undefined);
        return;
      }
      // Checked before any pipe walks the body: recursion into deeper values could overflow.
      if (nestsDeeperThan(value, MAX_JSON_DEPTH)) {
        done(
          new AppException(
            'validation_failed',
            `The request body nests arrays or objects deeper than ${MAX_JSON_DEPTH} levels`,
          ),
          undefined,
        );
        return;
      }
      done(null, value);
    });
  });
  fastify.removeContentTypeParser('text/plain');

  if (docsEnabled) {
    setUpOpenApi(app);
    fastify.get('/', (_request, reply) => reply.redirect('/docs', 302));
  }
  // Exits with code 0 once the shutdown is done (Nest otherwise re-raises the signal, and the
  // process ends as killed by it), after pino has flushed.
  app.enableShutdownHooks(['SIGTERM', 'SIGINT'], { useProcessExit: true });
}

function setUpOpenApi(app: NestFastifyApplication): void {
  const config = new DocumentBuilder()
    .setTitle('nest-jwt-auth')
    .setDescription(
      'Sign up, sign in, call protected routes with a JWT, revoke (log out) and refresh. ' +
        'Errors are `application/problem+json` (RFC 9457) with a stable `code`.',
    )
    .setVersion('0.1.0')
    .addTag('auth', 'Sign-up, sign-in, tokens and the sample protected route')
    .addTag('account', 'The signed-in user: profile, sessions, password, deletion')
    .addTag('mfa', 'The second factor: an authenticator app and recovery codes')
    .addTag('email', 'Email verification, password reset and email change by link')
    .addTag(
      'admin',
      'For role `admin`: accounts, sessions, locks, second factors, roles, the audit log',
    )
    .addTag('health', 'Liveness and readiness probes')
    .addBearerAuth(
      {
        type: 'http',
        scheme: 'bearer',
        bearerFormat: 'JWT',
        description: 'Access token from /signin',
      },
      ACCESS_TOKEN_SCHEME,
    )
    .addBearerAuth(
      { type: 'http', scheme: 'bearer', description: 'Refresh token from /signin or /refresh' },
      REFRESH_TOKEN_SCHEME,
    )
    .build();
  const document = SwaggerModule.createDocument(app, config);
  SwaggerModule.setup('docs', app, document, {
    jsonDocumentUrl: 'docs-json',
    swaggerOptions: { persistAuthorization: true, tryItOutEnabled: true },
  });
}

/** What the log says of a request: never a header, the body or the query string. */
function requestFields(request: FastifyRequest, route: string) {
  const url = request.url;
  const query = url.indexOf('?');
  return {
    id: request.id,
    method: request.method,
    path: query === -1 ? url : url.slice(0, query),
    route,
  };
}

/**
 * The line of an answered request: its id, method, path (no query string), route template, status
 * and time in milliseconds; nothing else of the request is ever logged.
 */
function logRequest(
  logger: Pino,
  request: FastifyRequest,
  route: string,
  status: number,
  elapsedMs: number,
): void {
  const level = status >= 500 ? 'error' : 'info';
  if (!logger.isLevelEnabled(level)) {
    return;
  }
  logger[level](
    {
      req: requestFields(request, route),
      res: { statusCode: status },
      responseTime: Math.round(elapsedMs * 100) / 100,
    },
    'request completed',
  );
}
