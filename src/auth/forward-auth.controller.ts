import { All, Controller, HttpCode, Req, Res } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiExcludeEndpoint,
  ApiHeader,
  ApiNoContentResponse,
  ApiOperation,
  ApiQuery,
  ApiTags,
} from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppException } from '../common/errors/app.exception';
import { ApiProblemResponses } from '../common/openapi/api-problem-responses.decorator';
import { ACCESS_TOKEN_SCHEME } from '../common/openapi/openapi-schemes';
import type { AuthenticatedUser } from './authenticated-user';
import { ROLE_PATTERN } from './guards/roles.guard';

type Requirement = string | string[] | undefined;

/** A request the global guard let through, with the requirements it may carry. */
type CheckedRequest = FastifyRequest & {
  user: AuthenticatedUser;
  query: { role?: Requirement; aal?: Requirement };
};

/** The values of a requirement given once, several times, or comma-separated. */
function valuesOf(...given: Requirement[]): string[] {
  return given
    .flatMap((value) => (value === undefined ? [] : Array.isArray(value) ? value : [value]))
    .flatMap((value) => value.split(','))
    .map((value) => value.trim())
    .filter(Boolean);
}

/** Printable ASCII but `%`: what a header value carries as it is. */
const PLAIN_HEADER_VALUE = /^[\x20-\x24\x26-\x7e]*$/;

/**
 * An email as a header value: as it is, unless it holds characters beyond printable ASCII (an
 * internationalised local part), which are percent-encoded as UTF-8, `%` included.
 */
export function headerValueOf(email: string): string {
  return PLAIN_HEADER_VALUE.test(email)
    ? email
    : email.replace(/[^\x20-\x24\x26-\x7e]/gu, (char) => encodeURIComponent(char));
}

function misconfigured(detail: string): AppException {
  return new AppException('bad_request', `${detail} (a setting of the proxy in front)`);
}

/**
 * Forward auth for reverse proxies (nginx `auth_request`, Traefik `ForwardAuth`, Caddy
 * `forward_auth`, Envoy `ext_authz`): the proxy asks, for each request it is about to pass on,
 * whether its access token is good. The global guard checks the token exactly as for `/protected`
 * (same cache, same revocation check); this handler only compares the caller with the location's
 * requirements and answers with headers, no body.
 */
@ApiTags('auth')
@ApiBearerAuth(ACCESS_TOKEN_SCHEME)
@Controller()
export class ForwardAuthController {
  @All('auth/check')
  @HttpCode(204)
  @ApiOperation({
    summary: 'Forward auth: is this access token good (for this location)?',
    description:
      'For reverse proxies, with any method, and any path below it (Envoy appends the original ' +
      'path). 204 with `X-Auth-User-Id`, `X-Auth-Email`, `X-Auth-Session-Id`, `X-Auth-Aal` and ' +
      '`X-Auth-Roles` (when the user has roles); 401 as `/protected`; 403 when the token is good ' +
      'but the requirements of the location (query or `X-Auth-Require-*` headers) are not met.',
  })
  @ApiQuery({
    name: 'role',
    required: false,
    description: 'Roles the token must carry (repeat it, or separate with commas)',
    example: 'admin',
  })
  @ApiQuery({
    name: 'aal',
    required: false,
    enum: ['aal1', 'aal2'],
    description: '`aal2`: the session must have used the second factor',
  })
  @ApiHeader({ name: 'X-Auth-Require-Role', required: false, description: 'As `role`' })
  @ApiHeader({ name: 'X-Auth-Require-Aal', required: false, description: 'As `aal`' })
  @ApiNoContentResponse({
    description: 'Good: the caller is in the `X-Auth-*` headers',
    headers: {
      'X-Auth-User-Id': { description: 'User id', schema: { type: 'string' } },
      'X-Auth-Email': {
        description: 'Email; characters beyond printable ASCII, and `%`, percent-encoded (UTF-8)',
        schema: { type: 'string' },
      },
      'X-Auth-Session-Id': { description: 'Session id', schema: { type: 'string' } },
      'X-Auth-Aal': { description: '`aal1` or `aal2`', schema: { type: 'string' } },
      'X-Auth-Roles': { description: 'Roles, comma-separated', schema: { type: 'string' } },
    },
  })
  @ApiProblemResponses({
    400: 'A requirement that is not a role name or an assurance level (`bad_request`)',
    401: 'Missing, invalid, expired or revoked token, as `/protected`',
    403: 'A role the token lacks (`forbidden`), or `aal2` required of an `aal1` session (`mfa_step_up_required`)',
  })
  check(@Req() request: CheckedRequest, @Res({ passthrough: true }) reply: FastifyReply): void {
    this.answer(request, reply);
  }

  /** The same, below the path: Envoy's ext_authz appends the original path to `path_prefix`. */
  @All('auth/check/*')
  @HttpCode(204)
  @ApiExcludeEndpoint()
  checkBelow(
    @Req() request: CheckedRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): void {
    this.answer(request, reply);
  }

  /**
   * Compares the caller (put on the request by the global guard) with the requirements, read
   * straight from the query and headers: no pipe runs on the hottest route there is.
   */
  private answer(request: CheckedRequest, reply: FastifyReply): void {
    const { user, query, headers } = request;
    const role = query.role;
    const aal = query.aal;
    const roleHeader = headers['x-auth-require-role'];
    const aalHeader = headers['x-auth-require-aal'];
    if (role !== undefined || roleHeader !== undefined) {
      for (const required of valuesOf(role, roleHeader)) {
        if (!ROLE_PATTERN.test(required)) {
          throw misconfigured('role must be a role name');
        }
        if (!user.roles.includes(required)) {
          throw new AppException('forbidden', `This needs the role ${required}`);
        }
      }
    }
    if (aal !== undefined || aalHeader !== undefined) {
      for (const level of valuesOf(aal, aalHeader)) {
        if (level !== 'aal1' && level !== 'aal2') {
          throw misconfigured('aal must be aal1 or aal2');
        }
        if (level === 'aal2' && user.aal !== 'aal2') {
          throw new AppException(
            'mfa_step_up_required',
            'This needs a session signed in with the second factor: sign in again with a code',
          );
        }
      }
    }
    reply.header('X-Auth-User-Id', user.userId);
    reply.header('X-Auth-Email', headerValueOf(user.email));
    reply.header('X-Auth-Session-Id', user.sessionId);
    reply.header('X-Auth-Aal', user.aal);
    if (user.roles.length > 0) {
      reply.header('X-Auth-Roles', user.roles.join(','));
    }
    reply.header('Cache-Control', 'no-store');
  }
}
