import {
  Body,
  Controller,
  Delete,
  Get,
  Header,
  HttpCode,
  Param,
  Post,
  Put,
  Query,
  UseGuards,
} from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import type { AuthenticatedUser } from '../auth/authenticated-user';
import { Client, type ClientInfo } from '../auth/decorators/client-info.decorator';
import { CurrentUser } from '../auth/decorators/current-user.decorator';
import { ApiProblemResponses } from '../common/openapi/api-problem-responses.decorator';
import { ACCESS_TOKEN_SCHEME } from '../common/openapi/openapi-schemes';
import { AdminAccessGuard } from './admin-access.guard';
import { Actor, AdminService, parseTime } from './admin.service';
import {
  AdminUserDto,
  AuditPageDto,
  AuditQueryDto,
  DisableUserDto,
  ListUsersQueryDto,
  SessionsEndedDto,
  SetRolesDto,
  UserPageDto,
} from './dto/admin.dto';

const COMMON = {
  401: 'Missing, invalid, expired or revoked token',
  403: 'Not an admin (`forbidden`); the admin has a second factor but this session did not use it (`mfa_step_up_required`); ADMIN_REQUIRE_MFA and the admin has none (`mfa_enrollment_required`)',
};
const FOR_USER = { ...COMMON, 404: 'No account has this id (`user_not_found`)' };

const actorOf = (caller: AuthenticatedUser, client: ClientInfo): Actor => ({
  userId: caller.userId,
  client,
});

/** The admin API: role `admin` only (see AdminAccessGuard); every change is audited. */
@ApiTags('admin')
@ApiBearerAuth(ACCESS_TOKEN_SCHEME)
@UseGuards(AdminAccessGuard)
@Controller('admin')
export class AdminController {
  constructor(private readonly admin: AdminService) {}

  @Get('users')
  @Header('Cache-Control', 'no-store')
  @ApiOperation({
    summary: 'Search accounts by email prefix',
    description: 'In email order, a page at a time: pass `nextCursor` back as `cursor`.',
  })
  @ApiOkResponse({ type: UserPageDto })
  @ApiProblemResponses({ 400: 'Bad query (`validation_failed`)', ...COMMON })
  listUsers(@Query() query: ListUsersQueryDto): Promise<UserPageDto> {
    return this.admin.listUsers(query);
  }

  @Get('users/:id')
  @Header('Cache-Control', 'no-store')
  @ApiOperation({
    summary: 'One account: profile, roles, second factor, locks, disabling, active sessions',
  })
  @ApiOkResponse({ type: AdminUserDto })
  @ApiProblemResponses(FOR_USER)
  user(@Param('id') id: string): Promise<AdminUserDto> {
    return this.admin.detail(id);
  }

  @Post('users/:id/disable')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Disable an account',
    description:
      'Sign-in is refused with 403 `account_disabled` until `until` (or until enabled); every ' +
      'session ends, and its access tokens are refused on the next request, on every instance.',
  })
  @ApiOkResponse({ type: AdminUserDto })
  @ApiProblemResponses({
    ...FOR_USER,
    400: 'Bad body, `until` not in the future (`validation_failed`), or your own account (`bad_request`)',
  })
  async disable(
    @Param('id') id: string,
    @Body() dto: DisableUserDto,
    @CurrentUser() caller: AuthenticatedUser,
    @Client() client: ClientInfo,
  ): Promise<AdminUserDto> {
    const until = dto.until === undefined ? undefined : parseTime('until', dto.until);
    await this.admin.disable(id, dto.reason, until, actorOf(caller, client));
    return this.admin.detail(id);
  }

  @Post('users/:id/enable')
  @HttpCode(200)
  @ApiOperation({ summary: 'Enable a disabled account again (its ended sessions stay ended)' })
  @ApiOkResponse({ type: AdminUserDto })
  @ApiProblemResponses(FOR_USER)
  async enable(
    @Param('id') id: string,
    @CurrentUser() caller: AuthenticatedUser,
    @Client() client: ClientInfo,
  ): Promise<AdminUserDto> {
    await this.admin.enable(id, actorOf(caller, client));
    return this.admin.detail(id);
  }

  @Post('users/:id/sessions/end')
  @HttpCode(200)
  @ApiOperation({
    summary: 'End every session of an account',
    description:
      'Refresh and access tokens stop working on the next request; the user signs in again ' +
      '(and gets a token with their current roles).',
  })
  @ApiOkResponse({ type: SessionsEndedDto })
  @ApiProblemResponses(FOR_USER)
  async endSessions(
    @Param('id') id: string,
    @CurrentUser() caller: AuthenticatedUser,
    @Client() client: ClientInfo,
  ): Promise<SessionsEndedDto> {
    return { ended: await this.admin.endSessions(id, actorOf(caller, client)) };
  }

  @Post('users/:id/unlock')
  @HttpCode(204)
  @ApiOperation({
    summary: 'Lift the failed-sign-in locks on an account, for every address and instance',
  })
  @ApiNoContentResponse({ description: 'Unlocked' })
  @ApiProblemResponses(FOR_USER)
  async unlock(
    @Param('id') id: string,
    @CurrentUser() caller: AuthenticatedUser,
    @Client() client: ClientInfo,
  ): Promise<void> {
    await this.admin.unlock(id, actorOf(caller, client));
  }

  @Delete('users/:id/mfa')
  @HttpCode(204)
  @ApiOperation({
    summary: "Remove an account's second factor and recovery codes",
    description: 'For a user who lost their device: they sign in with the password alone again.',
  })
  @ApiNoContentResponse({ description: 'Removed' })
  @ApiProblemResponses({
    ...FOR_USER,
    404: 'No account has this id (`user_not_found`), or it has no second factor (`mfa_not_enabled`)',
  })
  async resetMfa(
    @Param('id') id: string,
    @CurrentUser() caller: AuthenticatedUser,
    @Client() client: ClientInfo,
  ): Promise<void> {
    await this.admin.resetMfa(id, actorOf(caller, client));
  }

  @Put('users/:id/roles')
  @ApiOperation({
    summary: "Replace an account's roles",
    description:
      "Tokens carry the roles from the user's next refresh; end the sessions to apply at once.",
  })
  @ApiOkResponse({ type: AdminUserDto })
  @ApiProblemResponses({
    ...FOR_USER,
    400: 'Bad body (`validation_failed`), or the admin role taken from yourself (`bad_request`)',
  })
  async setRoles(
    @Param('id') id: string,
    @Body() dto: SetRolesDto,
    @CurrentUser() caller: AuthenticatedUser,
    @Client() client: ClientInfo,
  ): Promise<AdminUserDto> {
    await this.admin.setRoles(id, dto.roles, actorOf(caller, client));
    return this.admin.detail(id);
  }

  @Get('audit')
  @Header('Cache-Control', 'no-store')
  @ApiOperation({
    summary: 'The audit log, newest first',
    description:
      'Filter by user, type (or `family.*`) and time; pass `nextCursor` back as `cursor`.',
  })
  @ApiOkResponse({ type: AuditPageDto })
  @ApiProblemResponses({ 400: 'Bad query (`validation_failed`)', ...COMMON })
  audit(@Query() query: AuditQueryDto): Promise<AuditPageDto> {
    return this.admin.searchAudit(query);
  }
}
