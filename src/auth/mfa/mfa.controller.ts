import { Body, Controller, Delete, Get, Header, HttpCode, Post, UseGuards } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { AppException } from '../../common/errors/app.exception';
import { ApiProblemResponses } from '../../common/openapi/api-problem-responses.decorator';
import { ACCESS_TOKEN_SCHEME } from '../../common/openapi/openapi-schemes';
import { AuthService } from '../auth.service';
import type { AuthenticatedUser } from '../authenticated-user';
import { Client, type ClientInfo } from '../decorators/client-info.decorator';
import { CurrentUser } from '../decorators/current-user.decorator';
import { DeliversTokens } from '../tokens/token-cookies';
import { Public } from '../decorators/public.decorator';
import {
  EnrolmentResponseDto,
  MfaStatusResponseDto,
  PasswordDto,
  RecoveryCodesResponseDto,
  SecondFactorSignInDto,
  TotpCodeDto,
} from '../dto/mfa.dto';
import { TokenPairResponseDto } from '../dto/token-pair-response.dto';
import { RateLimit, RateLimitGuard } from '../rate-limit/rate-limit';
import { MfaService } from './mfa.service';

const UNAUTHENTICATED = 'Missing, invalid, expired or revoked token';
const STEP_UP =
  'The session was signed in without the second factor (`mfa_step_up_required`): sign in again with a code';

@ApiTags('mfa')
@Controller()
export class MfaController {
  constructor(
    private readonly mfa: MfaService,
    private readonly auth: AuthService,
  ) {}

  @Public()
  @UseGuards(RateLimitGuard)
  @RateLimit('signin')
  @Post('signin/mfa')
  @HttpCode(200)
  @Header('Cache-Control', 'no-store')
  @ApiOperation({
    summary: 'Second step of sign-in: a code from the authenticator app, or a recovery code',
    description:
      'Send the `mfa_token` of the 403 `mfa_required` answer with `code` (or `recovery_code`). ' +
      'Answers the token pair of an `aal2` session. Five wrong codes end the `mfa_token`; wrong ' +
      'codes also count towards the failed-sign-in lock of the account.',
  })
  @ApiOkResponse({ type: TokenPairResponseDto })
  @ApiProblemResponses({
    400: 'Wrong, reused or malformed code (`invalid_code`, `validation_failed`)',
    401: 'The mfa_token is unknown, expired, used or worn out (`mfa_token_invalid`)',
    429: undefined,
    413: undefined,
    415: undefined,
  })
  @DeliversTokens()
  signInWithSecondFactor(
    @Body() dto: SecondFactorSignInDto,
    @Client() client: ClientInfo,
  ): Promise<TokenPairResponseDto> {
    // Null counts as absent, as the validators' @IsOptional has it.
    const code = dto.code ?? undefined;
    const recoveryCode = dto.recovery_code ?? undefined;
    if ((code === undefined) === (recoveryCode === undefined)) {
      throw new AppException('validation_failed', 'Send either code or recovery_code');
    }
    const answer = code !== undefined ? { code } : { recoveryCode: recoveryCode! };
    return this.auth.signInWithSecondFactor(dto.mfa_token, answer, client);
  }

  @Get('mfa')
  @ApiBearerAuth(ACCESS_TOKEN_SCHEME)
  @ApiOperation({ summary: 'The second factor of the signed-in user' })
  @ApiOkResponse({ type: MfaStatusResponseDto })
  @ApiProblemResponses({ 401: UNAUTHENTICATED })
  status(@CurrentUser() user: AuthenticatedUser): Promise<MfaStatusResponseDto> {
    return this.mfa.status(user.userId);
  }

  @UseGuards(RateLimitGuard)
  @RateLimit('password')
  @Post('mfa/totp/enroll')
  @HttpCode(200)
  @Header('Cache-Control', 'no-store')
  @ApiBearerAuth(ACCESS_TOKEN_SCHEME)
  @ApiOperation({
    summary: 'Start enrolling an authenticator app',
    description:
      'Needs the password. Answers the secret, as text, as an otpauth:// URI and as a QR code. ' +
      'The factor stays pending until POST /mfa/totp/verify, for 10 minutes at most.',
  })
  @ApiOkResponse({ type: EnrolmentResponseDto })
  @ApiProblemResponses({
    400: undefined,
    401: UNAUTHENTICATED,
    403: 'Wrong password (`invalid_password`)',
    409: 'A second factor is already enabled (`mfa_already_enabled`)',
    429: undefined,
    413: undefined,
    415: undefined,
  })
  enroll(
    @CurrentUser() user: AuthenticatedUser,
    @Body() dto: PasswordDto,
    @Client() client: ClientInfo,
  ): Promise<EnrolmentResponseDto> {
    return this.mfa.enroll(user, dto.password, client);
  }

  @UseGuards(RateLimitGuard)
  @RateLimit('password')
  @Post('mfa/totp/verify')
  @HttpCode(200)
  @Header('Cache-Control', 'no-store')
  @ApiBearerAuth(ACCESS_TOKEN_SCHEME)
  @ApiOperation({
    summary: 'Finish enrolling with a first code',
    description:
      'Activates the factor and answers ten recovery codes, shown this once. Every other session ' +
      'of the account ends; this one stays at `aal1` until the next sign-in with a code.',
  })
  @ApiOkResponse({ type: RecoveryCodesResponseDto })
  @ApiProblemResponses({
    400: 'Wrong or malformed code (`invalid_code`, `validation_failed`)',
    401: UNAUTHENTICATED,
    404: 'Nothing is being enrolled, or the enrolment expired (`mfa_not_pending`)',
    429: undefined,
    413: undefined,
    415: undefined,
  })
  verify(
    @CurrentUser() user: AuthenticatedUser,
    @Body() dto: TotpCodeDto,
    @Client() client: ClientInfo,
  ): Promise<RecoveryCodesResponseDto> {
    return this.mfa.verify(user, dto.code, client);
  }

  @Post('mfa/recovery-codes')
  @HttpCode(200)
  @Header('Cache-Control', 'no-store')
  @ApiBearerAuth(ACCESS_TOKEN_SCHEME)
  @ApiOperation({
    summary: 'Replace the recovery codes',
    description: 'Needs an `aal2` session. The old codes stop working.',
  })
  @ApiOkResponse({ type: RecoveryCodesResponseDto })
  @ApiProblemResponses({
    401: UNAUTHENTICATED,
    403: STEP_UP,
    404: 'No second factor is enabled (`mfa_not_enabled`)',
  })
  regenerate(
    @CurrentUser() user: AuthenticatedUser,
    @Client() client: ClientInfo,
  ): Promise<RecoveryCodesResponseDto> {
    return this.mfa.regenerateRecoveryCodes(user, client);
  }

  @UseGuards(RateLimitGuard)
  @RateLimit('password')
  @Delete('mfa/totp')
  @HttpCode(204)
  @ApiBearerAuth(ACCESS_TOKEN_SCHEME)
  @ApiOperation({
    summary: 'Remove the second factor',
    description: 'Needs the password and, for an active factor, an `aal2` session.',
  })
  @ApiNoContentResponse({ description: 'Removed, with its recovery codes' })
  @ApiProblemResponses({
    400: undefined,
    401: UNAUTHENTICATED,
    403: `Wrong password (\`invalid_password\`), or ${STEP_UP}`,
    429: undefined,
    413: undefined,
    415: undefined,
  })
  async disable(
    @CurrentUser() user: AuthenticatedUser,
    @Body() dto: PasswordDto,
    @Client() client: ClientInfo,
  ): Promise<void> {
    await this.mfa.disable(user, dto.password, client);
  }
}
