import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';

/** Who opened a session: the caller's user agent and address. */
export interface ClientInfo {
  userAgent?: string;
  ip?: string;
  /** The request's id (X-Request-Id), for the audit log. */
  requestId?: string;
}

/** The user agent and address of the caller, recorded with a new session. */
export const Client = createParamDecorator(
  (_data: unknown, context: ExecutionContext): ClientInfo => {
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const userAgent = request.headers['user-agent'];
    return {
      userAgent: typeof userAgent === 'string' ? userAgent : undefined,
      ip: request.ip,
      requestId: String(request.id),
    };
  },
);
