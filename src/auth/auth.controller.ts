import {
  Body,
  Controller,
  Get,
  Header,
  Headers,
  HttpCode,
  Post,
  Req,
  Res,
  UseGuards,
} from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import {
  ApiBearerAuth,
  ApiBody,
  ApiCreatedResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { AppException } from '../common/errors/app.exception';
import { ApiProblemResponses } from '../common/openapi/api-problem-responses.decorator';
import { ACCESS_TOKEN_SCHEME, REFRESH_TOKEN_SCHEME } from '../common/openapi/openapi-schemes';
import { UserResponseDto } from '../users/dto/user-response.dto';
import { AccountService } from './account.service';
import { RateLimit, RateLimitGuard } from './rate-limit/rate-limit';
import { AuthService } from './auth.service';
import { RevokeDto, RevokeScope } from './dto/account.dto';
import type { AuthenticatedUser } from './authenticated-user';
import { Client } from './decorators/client-info.decorator';
import { CurrentUser } from './decorators/current-user.decorator';
import { Public } from './decorators/public.decorator';
import { SignInDto, SignUpDto } from './dto/credentials.dto';
import { MessageResponseDto, ProtectedResponseDto } from './dto/protected-response.dto';
import { RefreshDto } from './dto/refresh.dto';
import { TokenPairResponseDto } from './dto/token-pair-response.dto';
import type { ClientInfo } from './decorators/client-info.decorator';
import { bearerToken } from './tokens/refresh-tokens';
import { DeliversTokens, TokenCookies } from './tokens/token-cookies';

const REVOKE_MESSAGES: Record<RevokeScope, string> = {
  current: 'Token has been revoked',
  others: 'All other sessions have been revoked',
  all: 'All sessions have been revoked',
};

@ApiTags('auth')
@Controller()
export class AuthController {
  constructor(
    private readonly auth: AuthService,
    private readonly account: AccountService,
    private readonly cookies: TokenCookies,
  ) {}

  @Public()
  @UseGuards(RateLimitGuard)
  @RateLimit('signup')
  @Post('signup')
  @ApiOperation({ summary: 'Register a new user with email and password' })
  @ApiCreatedResponse({ type: UserResponseDto })
  @ApiProblemResponses({
    400: undefined,
    409: 'Email already registered (`email_taken`)',
    429: undefined,
    413: undefined,
    415: undefined,
  })
  signUp(@Body() dto: SignUpDto, @Client() client: ClientInfo): Promise<UserResponseDto> {
    return this.auth.signUp(dto, client);
  }

  @Public()
  @UseGuards(RateLimitGuard)
  @RateLimit('signin')
  @Post('signin')
  @HttpCode(200)
  @Header('Cache-Control', 'no-store')
  @ApiOperation({ summary: 'Authenticate and receive an access token and a refresh token' })
  @ApiOkResponse({ type: TokenPairResponseDto })
  @ApiProblemResponses({
    400: undefined,
    401: 'Wrong email or password (`invalid_credentials`), one answer for both',
    403: 'The password is right and the account has a second factor: the body carries `mfa_token` for POST /signin/mfa (`mfa_required`); or the address is not verified yet with `EMAIL_VERIFICATION=required` (`email_not_verified`)',
    429: 'Too many requests from this client, or too many failed sign-ins for this account from it (`rate_limited`, with `Retry-After`)',
    413: undefined,
    415: undefined,
  })
  @DeliversTokens()
  signIn(@Body() dto: SignInDto, @Client() client: ClientInfo): Promise<TokenPairResponseDto> {
    return this.auth.signIn(dto, client);
  }

  @Get('protected')
  @ApiBearerAuth(ACCESS_TOKEN_SCHEME)
  @ApiOperation({ summary: 'A route that needs a valid access token' })
  @ApiOkResponse({ type: ProtectedResponseDto })
  @ApiProblemResponses({
    401: 'Missing, invalid, expired or revoked token (`token_missing`, `invalid_token`, `token_expired`, `token_revoked`, `session_revoked`, `session_expired`)',
  })
  getProtected(@CurrentUser() user: AuthenticatedUser): ProtectedResponseDto {
    return {
      message: `Hello, ${user.email}! You have access to this protected route.`,
      user: { id: user.userId, email: user.email },
    };
  }

  @Post('revoke')
  @HttpCode(200)
  @ApiBearerAuth(ACCESS_TOKEN_SCHEME)
  @ApiOperation({
    summary: 'Revoke the current access token and end its session (log out)',
    description:
      'With `{"scope": "others"}` ends every other session of the user instead; with `"all"`, every session.',
  })
  @ApiBody({ type: RevokeDto, required: false })
  @ApiOkResponse({ type: MessageResponseDto })
  @ApiProblemResponses({
    400: undefined,
    401: 'Missing, invalid, expired or already revoked token',
  })
  async revoke(
    @CurrentUser() user: AuthenticatedUser,
    @Body() dto: RevokeDto,
    @Client() client: ClientInfo,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<MessageResponseDto> {
    await this.account.revoke(user, dto.scope, client);
    if (dto.scope !== 'others') {
      // The calling session ended: so did its cookies.
      this.cookies.clear(reply);
    }
    return { message: REVOKE_MESSAGES[dto.scope ?? 'current'] };
  }

  @Public()
  @UseGuards(RateLimitGuard)
  @RateLimit('refresh')
  @Post('refresh')
  @HttpCode(200)
  @Header('Cache-Control', 'no-store')
  @ApiBearerAuth(REFRESH_TOKEN_SCHEME)
  @ApiOperation({
    summary:
      'Exchange a refresh token (or, as in the seed app, a valid access token) for a new pair',
    description:
      'Send the refresh token as `Authorization: Bearer <refresh_token>` or as `{"refresh_token": "..."}`; ' +
      'with `TOKEN_DELIVERY=cookie` or `both`, a browser sends the `__Secure-refresh_token` cookie instead, ' +
      "with the `csrf_token` cookie's value in `X-CSRF-Token`. " +
      'The presented token is spent; presenting it again after the grace window revokes the session.',
  })
  @ApiBody({ type: RefreshDto, required: false })
  @ApiOkResponse({ type: TokenPairResponseDto })
  @ApiProblemResponses({
    400: undefined,
    401: 'Missing, invalid, expired or reused token (`token_missing`, `invalid_refresh_token`, `refresh_token_reused`, `session_revoked`, `session_expired`, `token_expired`)',
    403: 'A refresh by cookie without the right `X-CSRF-Token`, or from an origin outside CORS_ORIGINS (`csrf_failed`)',
    429: undefined,
    413: undefined,
    415: undefined,
  })
  @DeliversTokens()
  refresh(
    @Body() dto: RefreshDto,
    @Headers('authorization') authorization: string | undefined,
    @Req() request: FastifyRequest,
    @Client() client: ClientInfo,
  ): Promise<TokenPairResponseDto> {
    // A token in the body or the header is sent on purpose: nothing ambient, no CSRF check.
    const credential =
      dto.refresh_token ?? bearerToken(authorization) ?? this.cookies.fromCookie(request);
    if (credential === undefined) {
      throw new AppException(
        'token_missing',
        'Send the refresh token as "Authorization: Bearer <refresh_token>" or as {"refresh_token": "..."}',
      );
    }
    return this.auth.refresh(credential, client);
  }
}
