import { Body, Controller, Get, Header, HttpCode, Post, UseGuards } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBearerAuth,
  ApiOkResponse,
  ApiOperation,
  ApiProduces,
  ApiQuery,
  ApiTags,
} from '@nestjs/swagger';
import { ApiProblemResponses } from '../../common/openapi/api-problem-responses.decorator';
import { ACCESS_TOKEN_SCHEME } from '../../common/openapi/openapi-schemes';
import { AccountService } from '../account.service';
import type { AuthenticatedUser } from '../authenticated-user';
import { Client, type ClientInfo } from '../decorators/client-info.decorator';
import { CurrentUser } from '../decorators/current-user.decorator';
import { Public } from '../decorators/public.decorator';
import { EmailDto } from '../dto/credentials.dto';
import {
  ChangeEmailDto,
  EmailChangedResponseDto,
  EmailVerifiedResponseDto,
  LinkTokenDto,
  ResetPasswordDto,
} from '../dto/email.dto';
import { MessageResponseDto } from '../dto/protected-response.dto';
import { RateLimit, RateLimitGuard } from '../rate-limit/rate-limit';
import { EmailFlowsService } from './email-flows.service';
import { LINK_PAGE_CSP, LINK_PAGES } from './link-pages';

const UNAUTHENTICATED = 'Missing, invalid, expired or revoked token';
const LINK_INVALID =
  'The link is unknown, expired or already used, one answer for all three (`link_invalid`)';
const FLOWS_OFF = 'Email flows are switched off (`EMAIL_FLOWS=off`) (`not_found`)';
const FORGOT_MESSAGE =
  'If an account uses this address, a link to reset its password is on its way';

/** Decorators of a page a link opens: HTML, never cached, its own content security policy. */
function LinkPage(summary: string) {
  return (target: object, key: string | symbol, descriptor: PropertyDescriptor) => {
    Public()(target, key, descriptor);
    Header('Content-Type', 'text/html; charset=utf-8')(target, key, descriptor);
    Header('Cache-Control', 'no-store')(target, key, descriptor);
    Header('Content-Security-Policy', LINK_PAGE_CSP)(target, key, descriptor);
    ApiOperation({
      summary,
      description:
        'The page the link in the mail opens. It changes nothing (nor does HEAD): mail scanners ' +
        'may follow links. Its form sends the token in a POST to the same path.',
    })(target, key, descriptor);
    ApiQuery({ name: 'token', required: false, description: 'The token of the link' })(
      target,
      key,
      descriptor,
    );
    ApiProduces('text/html')(target, key, descriptor);
    ApiOkResponse({
      description: 'An HTML page',
      content: { 'text/html': { schema: { type: 'string' } } },
    })(target, key, descriptor);
  };
}

@ApiTags('email')
@Controller()
export class EmailController {
  constructor(
    private readonly flows: EmailFlowsService,
    private readonly account: AccountService,
  ) {}

  @Public()
  @UseGuards(RateLimitGuard)
  @RateLimit('email')
  @Post('password/forgot')
  @HttpCode(202)
  @ApiOperation({
    summary: 'Ask for a password reset link',
    description:
      'Answers the same whether or not an account uses the address; the mail, if any, is sent ' +
      'in the background (at most one a minute to one address).',
  })
  @ApiAcceptedResponse({ type: MessageResponseDto })
  @ApiProblemResponses({
    400: undefined,
    404: FLOWS_OFF,
    413: undefined,
    415: undefined,
    429: undefined,
  })
  async forgotPassword(
    @Body() dto: EmailDto,
    @Client() client: ClientInfo,
  ): Promise<MessageResponseDto> {
    await this.flows.requestPasswordReset(dto.email, client);
    return { message: FORGOT_MESSAGE };
  }

  @Get('password/reset')
  @LinkPage('The page of a password reset link')
  resetPage(): string {
    this.flows.ensureEnabled();
    return LINK_PAGES.reset;
  }

  @Public()
  @UseGuards(RateLimitGuard)
  @RateLimit('link')
  @Post('password/reset')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Set a new password with the link from the mail',
    description:
      'Spends the link, sets the password, ends every session of the account, lifts its ' +
      'sign-in lock and mails a notice.',
  })
  @ApiOkResponse({ type: MessageResponseDto })
  @ApiProblemResponses({
    400: `${LINK_INVALID}, or the new password is refused (\`validation_failed\`, \`weak_password\`)`,
    404: FLOWS_OFF,
    413: undefined,
    415: undefined,
    429: undefined,
  })
  async resetPassword(
    @Body() dto: ResetPasswordDto,
    @Client() client: ClientInfo,
  ): Promise<MessageResponseDto> {
    await this.flows.resetPassword(dto.token, dto.newPassword, client);
    return { message: 'Your password has been reset; every session has been ended' };
  }

  @Get('email/verify')
  @LinkPage('The page of an address verification link')
  verifyPage(): string {
    this.flows.ensureEnabled();
    return LINK_PAGES.verify;
  }

  @Public()
  @UseGuards(RateLimitGuard)
  @RateLimit('link')
  @Post('email/verify')
  @HttpCode(200)
  @ApiOperation({ summary: 'Verify the address with the link from the mail' })
  @ApiOkResponse({ type: EmailVerifiedResponseDto })
  @ApiProblemResponses({
    400: LINK_INVALID,
    404: FLOWS_OFF,
    413: undefined,
    415: undefined,
    429: undefined,
  })
  verifyEmail(
    @Body() dto: LinkTokenDto,
    @Client() client: ClientInfo,
  ): Promise<EmailVerifiedResponseDto> {
    return this.flows.verifyEmail(dto.token, client);
  }

  @UseGuards(RateLimitGuard)
  @RateLimit('email')
  @Post('email/verify/resend')
  @HttpCode(202)
  @ApiBearerAuth(ACCESS_TOKEN_SCHEME)
  @ApiOperation({
    summary: 'Send the verification mail again',
    description:
      'A new link replaces the old one. Nothing is sent when the address is verified already, ' +
      'when `EMAIL_VERIFICATION=off`, or within a minute of the last one.',
  })
  @ApiAcceptedResponse({ type: MessageResponseDto })
  @ApiProblemResponses({ 401: UNAUTHENTICATED, 404: FLOWS_OFF, 429: undefined })
  async resendVerification(@CurrentUser() user: AuthenticatedUser): Promise<MessageResponseDto> {
    await this.flows.resendVerification(user.userId);
    return { message: 'If the address still needs verifying, a new link is on its way' };
  }

  @UseGuards(RateLimitGuard)
  @RateLimit('password')
  @Post('email/change')
  @HttpCode(202)
  @ApiBearerAuth(ACCESS_TOKEN_SCHEME)
  @ApiOperation({
    summary: 'Change the address',
    description:
      'Needs the password. A confirmation link goes to the new address and a notice to the ' +
      'current one; the address changes when the link is spent.',
  })
  @ApiAcceptedResponse({ type: MessageResponseDto })
  @ApiProblemResponses({
    400: 'Invalid body (`validation_failed`), or the new address is the current one (`email_unchanged`)',
    401: UNAUTHENTICATED,
    403: 'Wrong password, or it was changed meanwhile (`invalid_password`)',
    404: FLOWS_OFF,
    409: 'Another account uses the new address (`email_taken`)',
    413: undefined,
    415: undefined,
    429: 'Too many wrong passwords for this account from this client, or too many requests from this client or for this user (`rate_limited`)',
  })
  async changeEmail(
    @CurrentUser() user: AuthenticatedUser,
    @Body() dto: ChangeEmailDto,
    @Client() client: ClientInfo,
  ): Promise<MessageResponseDto> {
    await this.account.requestEmailChange(user, dto.newEmail, dto.password, client);
    return { message: 'A confirmation link is on its way to the new address' };
  }

  @Get('email/change/confirm')
  @LinkPage('The page of an address change link')
  changePage(): string {
    this.flows.ensureEnabled();
    return LINK_PAGES.change;
  }

  @Public()
  @UseGuards(RateLimitGuard)
  @RateLimit('link')
  @Post('email/change/confirm')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Confirm the new address with the link from the mail',
    description:
      'Switches the account to the new address, verified, and ends every session but the one ' +
      'that asked for the change.',
  })
  @ApiOkResponse({ type: EmailChangedResponseDto })
  @ApiProblemResponses({
    400: LINK_INVALID,
    404: FLOWS_OFF,
    409: 'Another account took the address meanwhile (`email_taken`)',
    413: undefined,
    415: undefined,
    429: undefined,
  })
  confirmEmailChange(
    @Body() dto: LinkTokenDto,
    @Client() client: ClientInfo,
  ): Promise<EmailChangedResponseDto> {
    return this.flows.confirmEmailChange(dto.token, client);
  }
}
