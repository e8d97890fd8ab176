import {
  ArgumentsHost,
  Catch,
  ExceptionFilter,
  HttpException,
  Inject,
  Logger,
  NotFoundException,
} from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { authConfig } from '../../config/configuration';
import { errorCodes, isDatabaseUnavailable } from '../database/unavailable';
import { RouteTable } from '../http/route-table';
import { AppException } from './app.exception';
import { codeForStatus, ERROR_CODES, ErrorCode } from './error-code';
import { problem, PROBLEM_CONTENT_TYPE, ProblemDetails } from './problem';
import { UNAVAILABLE_RETRY_AFTER } from './retry-after';

const GENERIC_DETAIL: Partial<Record<ErrorCode, string>> = {
  not_found: 'No resource exists at this path',
  payload_too_large: 'The request body is larger than the 16 KiB limit',
  unsupported_media_type: 'Send the request body as application/json',
  internal_error: 'An unexpected error occurred',
  service_unavailable: 'A dependency of the service is unavailable',
};

/**
 * The single exit for errors: every failure becomes an RFC 9457 problem document with a stable
 * `code`. Unknown errors are logged by name only (never with a stack, SQL or values) and answered
 * with a generic 500.
 */
/** The code of the problem each errored reply carried, for the request metrics. */
const problemCodes = new WeakMap<FastifyReply, string>();

/** The `code` of the problem answered on `reply`, if it answered one. */
export function problemCodeOf(reply: FastifyReply): string | undefined {
  return problemCodes.get(reply);
}

@Catch()
export class ProblemDetailsFilter implements ExceptionFilter {
  private readonly logger = new Logger('Errors');

  constructor(
    private readonly routes: RouteTable,
    @Inject(authConfig.KEY) private readonly auth: ConfigType<typeof authConfig>,
  ) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const context = host.switchToHttp();
    const request = context.getRequest<FastifyRequest>();
    const reply = context.getResponse<FastifyReply>();
    const headers: Record<string, string> = { 'Cache-Control': 'no-store' };
    const problem = this.toProblem(exception, request, headers);

    if (problem.status === 401) {
      const rejected = exception instanceof AppException && exception.tokenRejected;
      headers['WWW-Authenticate'] = rejected
        ? `Bearer realm="${this.auth.issuer}", error="invalid_token", error_description="${problem.detail.replace(/["\\]/g, '')}"`
        : `Bearer realm="${this.auth.issuer}"`;
    }
    if (reply.sent) {
      return;
    }
    problemCodes.set(reply, problem.code);
    void reply.status(problem.status).headers(headers).type(PROBLEM_CONTENT_TYPE).send(problem);
  }

  private toProblem(
    exception: unknown,
    request: FastifyRequest,
    headers: Record<string, string>,
  ): ProblemDetails {
    const instance = (request.url ?? '/').split('?')[0];
    if (exception instanceof AppException) {
      Object.assign(headers, exception.headers);
      return {
        ...problem(exception.code, exception.detail, instance, exception.errors),
        ...exception.extensions,
      };
    }
    if (exception instanceof NotFoundException) {
      const allowed = this.routes.allowedMethods(request.url ?? '/');
      if (allowed.length > 0) {
        headers.Allow = allowed.join(', ');
        return problem(
          'method_not_allowed',
          `${request.method} is not allowed here; allowed: ${allowed.join(', ')}`,
          instance,
        );
      }
      return problem('not_found', GENERIC_DETAIL.not_found!, instance);
    }
    if (exception instanceof HttpException && exception.getStatus() !== 500) {
      const code = codeForStatus(exception.getStatus());
      return problem(
        code,
        GENERIC_DETAIL[code] ?? ERROR_CODES[code].title,
        instance,
        undefined,
        exception.getStatus(),
      );
    }
    const error = exception instanceof Error ? exception : new Error('non-error thrown');
    if (isDatabaseUnavailable(error)) {
      const codes = errorCodes(error).join(', ') || error.message.slice(0, 40);
      this.logger.error(
        `Database unavailable (${error.name}: ${codes}) on ${request.method} ${instance}`,
      );
      headers['Retry-After'] = UNAVAILABLE_RETRY_AFTER;
      return problem('service_unavailable', GENERIC_DETAIL.service_unavailable!, instance);
    }
    this.logger.error(`Unhandled ${error.name} on ${request.method} ${instance}`);
    return problem('internal_error', GENERIC_DETAIL.internal_error!, instance);
  }
}
