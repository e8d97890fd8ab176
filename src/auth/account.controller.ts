import {
  Body,
  Controller,
  Delete,
  Get,
  Header,
  HttpCode,
  Param,
  Post,
  Res,
  UseGuards,
} from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import {
  ApiBearerAuth,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { ApiProblemResponses } from '../common/openapi/api-problem-responses.decorator';
import { UserResponseDto } from '../users/dto/user-response.dto';
import { AccountService } from './account.service';
import { ACCESS_TOKEN_SCHEME } from '../common/openapi/openapi-schemes';
import type { AuthenticatedUser } from './authenticated-user';
import { Client, type ClientInfo } from './decorators/client-info.decorator';
import { CurrentUser } from './decorators/current-user.decorator';
import { ChangePasswordDto, DeleteAccountDto, SessionResponseDto } from './dto/account.dto';
import { PasswordChangedResponseDto } from './dto/token-pair-response.dto';
import { RateLimit, RateLimitGuard } from './rate-limit/rate-limit';
import { DeliversTokens, TokenCookies } from './tokens/token-cookies';

const UNAUTHENTICATED = 'Missing, invalid, expired or revoked token';

@ApiTags('account')
@ApiBearerAuth(ACCESS_TOKEN_SCHEME)
@Controller()
export class AccountController {
  constructor(
    private readonly account: AccountService,
    private readonly cookies: TokenCookies,
  ) {}

  @Get('me')
  @ApiOperation({ summary: 'The signed-in user' })
  @ApiOkResponse({ type: UserResponseDto })
  @ApiProblemResponses({ 401: UNAUTHENTICATED })
  me(@CurrentUser() user: AuthenticatedUser): Promise<UserResponseDto> {
    return this.account.me(user);
  }

  @Delete('me')
  @UseGuards(RateLimitGuard)
  @RateLimit('password')
  @HttpCode(204)
  @ApiOperation({
    summary: 'Delete the account',
    description: 'Needs the password. Ends every session; the email can be registered again.',
  })
  @ApiNoContentResponse({ description: 'Deleted' })
  @ApiProblemResponses({
    400: undefined,
    401: UNAUTHENTICATED,
    403: 'Wrong password, or it was changed meanwhile (`invalid_password`)',
    429: 'Too many wrong passwords for this account from this client, or too many requests from this client or for this user (`rate_limited`)',
    413: undefined,
    415: undefined,
  })
  async deleteMe(
    @CurrentUser() user: AuthenticatedUser,
    @Body() dto: DeleteAccountDto,
    @Client() client: ClientInfo,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<void> {
    await this.account.deleteAccount(user, dto.password, client);
    this.cookies.clear(reply);
  }

  @Post('password')
  @UseGuards(RateLimitGuard)
  @RateLimit('password')
  @HttpCode(200)
  @Header('Cache-Control', 'no-store')
  @ApiOperation({
    summary: 'Change the password',
    description:
      'Needs the current password. Ends every session of the account, the calling one included, ' +
      'and answers with the token pair of a new session for the caller: access and refresh ' +
      'tokens issued before the change stop working.',
  })
  @ApiOkResponse({ type: PasswordChangedResponseDto })
  @ApiProblemResponses({
    400: 'Invalid body (`validation_failed`, `weak_password`), or the new password equals the current one (`password_unchanged`)',
    401: UNAUTHENTICATED,
    403: 'Wrong current password, or it was changed meanwhile (`invalid_password`)',
    429: 'Too many wrong passwords for this account from this client, or too many requests from this client or for this user (`rate_limited`)',
    413: undefined,
    415: undefined,
  })
  @DeliversTokens()
  async changePassword(
    @CurrentUser() user: AuthenticatedUser,
    @Body() dto: ChangePasswordDto,
    @Client() client: ClientInfo,
  ): Promise<PasswordChangedResponseDto> {
    return this.account.changePassword(user, dto.currentPassword, dto.newPassword, client);
  }

  @Get('sessions')
  @ApiOperation({ summary: "The user's active sessions; `current` marks the calling one" })
  @ApiOkResponse({ type: [SessionResponseDto] })
  @ApiProblemResponses({ 401: UNAUTHENTICATED })
  sessions(@CurrentUser() user: AuthenticatedUser): Promise<SessionResponseDto[]> {
    return this.account.listSessions(user);
  }

  @Delete('sessions/:id')
  @HttpCode(204)
  @ApiOperation({
    summary: 'End one of your sessions',
    description: 'Its refresh token and access tokens stop working on the next request.',
  })
  @ApiNoContentResponse({ description: 'Ended' })
  @ApiProblemResponses({
    401: UNAUTHENTICATED,
    404: 'No active session of yours has this id (`session_not_found`)',
  })
  async endSession(
    @CurrentUser() user: AuthenticatedUser,
    @Param('id') id: string,
    @Client() client: ClientInfo,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<void> {
    await this.account.endSession(user, id, client);
    if (id === user.sessionId) {
      this.cookies.clear(reply);
    }
  }
}
