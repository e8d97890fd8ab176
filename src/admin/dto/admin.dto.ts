import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayUnique,
  IsArray,
  IsInt,
  IsISO8601,
  IsOptional,
  IsString,
  IsUUID,
  Matches,
  Max,
  MaxLength,
  Min,
  MinLength,
} from 'class-validator';
import { SessionResponseDto } from '../../auth/dto/account.dto';
import { ROLE_PATTERN } from '../../auth/guards/roles.guard';

/** Most items one page may hold. */
export const PAGE_LIMIT_MAX = 100;
const PAGE_LIMIT_DEFAULT = 20;

const ROLES_MAX = 16;

class PageQueryDto {
  @ApiPropertyOptional({
    description: 'The `nextCursor` of the previous page; absent for the first page',
    maxLength: 512,
  })
  @IsOptional()
  @IsString()
  @MaxLength(512)
  cursor?: string;

  @ApiPropertyOptional({
    description: `Items per page, 1 to ${PAGE_LIMIT_MAX}`,
    default: PAGE_LIMIT_DEFAULT,
    minimum: 1,
    maximum: PAGE_LIMIT_MAX,
  })
  @IsOptional()
  @Type(() => Number)
  @IsInt({ message: 'limit must be a whole number' })
  @Min(1)
  @Max(PAGE_LIMIT_MAX)
  limit: number = PAGE_LIMIT_DEFAULT;
}

export class ListUsersQueryDto extends PageQueryDto {
  @ApiPropertyOptional({
    description: 'Only accounts whose email starts with this (case does not matter)',
    example: 'alice@',
    maxLength: 254,
  })
  @IsOptional()
  @IsString()
  @MaxLength(254)
  @Matches(/^\P{Cc}*$/u, { message: 'query must not hold control characters' })
  query?: string;
}

export class AuditQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ description: 'Only events of this user (id)', format: 'uuid' })
  @IsOptional()
  @IsUUID('all', { message: 'user must be a user id (UUID)' })
  user?: string;

  @ApiPropertyOptional({
    description: 'Only events of this type (`signin.failure`), or of a family (`admin.*`)',
    example: 'admin.*',
  })
  @IsOptional()
  @Matches(/^[a-z_]+(\.[a-z_]+)*(\.\*)?$/, {
    message: 'type must be an event type such as signin.failure, or a family such as mfa.*',
  })
  @MaxLength(48)
  type?: string;

  @ApiPropertyOptional({ description: 'Only events at or after this time (ISO 8601)' })
  @IsOptional()
  @IsISO8601({ strict: true }, { message: 'since must be an ISO 8601 date-time' })
  since?: string;

  @ApiPropertyOptional({ description: 'Only events before this time (ISO 8601)' })
  @IsOptional()
  @IsISO8601({ strict: true }, { message: 'until must be an ISO 8601 date-time' })
  until?: string;
}

export class DisableUserDto {
  @ApiProperty({
    description: 'Why, for other operators (recorded in the audit log; never shown to the user)',
    example: 'Reported for abuse, ticket 4711',
    minLength: 1,
    maxLength: 255,
  })
  @IsString()
  @MinLength(1)
  @MaxLength(255)
  @Matches(/^\P{Cc}*$/u, { message: 'reason must not hold control characters' })
  reason!: string;

  @ApiPropertyOptional({
    description: 'Disabled until this time (ISO 8601, in the future); indefinitely when absent',
    example: '2027-01-01T00:00:00.000Z',
  })
  @IsOptional()
  @IsISO8601({ strict: true }, { message: 'until must be an ISO 8601 date-time' })
  until?: string;
}

export class SetRolesDto {
  @ApiProperty({
    description: `The user's roles from now on (replacing the current ones), at most ${ROLES_MAX}`,
    example: ['admin'],
    type: [String],
  })
  @IsArray()
  @ArrayMaxSize(ROLES_MAX)
  @ArrayUnique()
  @Matches(ROLE_PATTERN, {
    each: true,
    message:
      'each role must be 1 to 32 lower-case letters, digits, "_", "-" or ".", starting with a letter',
  })
  roles!: string[];
}

export class UserSummaryDto {
  @ApiProperty({ description: 'User id (UUID)', example: '0b6f8f4e-3c1a-4b8e-9a63-5f1d2c7e9a10' })
  id!: string;

  @ApiProperty({ description: 'Email in its one stored spelling', example: 'abc@abc.com' })
  email!: string;

  @ApiProperty({ description: 'When the account was created', example: '2026-11-26T09:30:00.000Z' })
  createdAt!: string;

  @ApiProperty({
    description: 'Whether the owner has proved they receive mail there',
    example: true,
  })
  emailVerified!: boolean;

  @ApiProperty({
    description: 'Roles, as access tokens carry them from the next refresh',
    example: ['admin'],
    type: [String],
  })
  roles!: string[];

  @ApiProperty({
    description: 'Whether sign-in is refused now (`account_disabled`)',
    example: false,
  })
  disabled!: boolean;
}

export class UserPageDto {
  @ApiProperty({ description: 'Accounts in email order', type: [UserSummaryDto] })
  users!: UserSummaryDto[];

  @ApiProperty({
    description: 'Pass as `cursor` for the next page; null on the last page',
    example: 'YWxpY2VAZXhhbXBsZS5jb20',
    nullable: true,
    type: String,
  })
  nextCursor!: string | null;
}

export class DisabledStateDto {
  @ApiProperty({ description: 'When it was disabled', example: '2026-12-01T09:30:00.000Z' })
  at!: string;

  @ApiProperty({
    description: 'When it ends by itself; null: until enabled',
    example: '2027-01-01T00:00:00.000Z',
    nullable: true,
    type: String,
  })
  until!: string | null;

  @ApiProperty({ description: "The admin's reason", example: 'Reported for abuse, ticket 4711' })
  reason!: string;
}

export class MfaStateDto {
  @ApiProperty({
    description: 'The authenticator-app factor: none, enrolled but not verified, or in use',
    enum: ['off', 'pending', 'active'],
    example: 'active',
  })
  totp!: 'off' | 'pending' | 'active';

  @ApiProperty({ description: 'Recovery codes not used yet', example: 10 })
  recoveryCodesLeft!: number;
}

export class LockStateDto {
  @ApiProperty({
    description: 'When the latest failed-sign-in lock on the account ends; null when none holds',
    example: '2026-12-01T09:45:00.000Z',
    nullable: true,
    type: String,
  })
  lockedUntil!: string | null;

  @ApiProperty({ description: 'How many client addresses are locked out of it now', example: 0 })
  lockedAddresses!: number;
}

export class AdminUserDto extends UserSummaryDto {
  @ApiProperty({
    description: 'The disabling in force; null when the account is enabled',
    type: DisabledStateDto,
    nullable: true,
  })
  disabledState!: DisabledStateDto | null;

  @ApiProperty({ description: 'Second factor', type: MfaStateDto })
  mfa!: MfaStateDto;

  @ApiProperty({ description: 'Failed-sign-in locks', type: LockStateDto })
  lock!: LockStateDto;

  @ApiProperty({ description: 'Active sessions, most recent first', type: [SessionResponseDto] })
  sessions!: SessionResponseDto[];
}

export class SessionsEndedDto {
  @ApiProperty({ description: 'How many sessions ended', example: 2 })
  ended!: number;
}

export class AuditEventDto {
  @ApiProperty({
    description: 'Time-ordered id (UUIDv7)',
    example: '019ad6f2-3c40-7000-8a1b-2c3d4e5f6a7b',
  })
  id!: string;

  @ApiProperty({ description: 'When it happened', example: '2026-12-01T09:30:00.000Z' })
  at!: string;

  @ApiProperty({ description: 'Event type', example: 'signin.failure' })
  type!: string;

  @ApiProperty({
    description: 'The user the event is about, when known',
    example: '0b6f8f4e-3c1a-4b8e-9a63-5f1d2c7e9a10',
    nullable: true,
    type: String,
  })
  userId!: string | null;

  @ApiProperty({
    description: 'The admin who acted, for `admin.*` events from the API',
    example: '5d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6',
    nullable: true,
    type: String,
  })
  actorId!: string | null;

  @ApiProperty({
    description: 'Client address',
    example: '127.0.0.1',
    nullable: true,
    type: String,
  })
  ip!: string | null;

  @ApiProperty({ description: 'User agent', example: 'curl/8.5.0', nullable: true, type: String })
  userAgent!: string | null;

  @ApiProperty({
    description: "The request's id (`X-Request-Id`)",
    example: 'b3f1c2d4-5e6f-4a7b-8c9d-0e1f2a3b4c5d',
    nullable: true,
    type: String,
  })
  requestId!: string | null;

  @ApiProperty({ description: 'How it ended', enum: ['success', 'failure'], example: 'failure' })
  outcome!: 'success' | 'failure';

  @ApiProperty({
    description: 'Codes and ids only, never a secret',
    example: { reason: 'invalid_credentials' },
    nullable: true,
    type: 'object',
    additionalProperties: true,
  })
  details!: Record<string, unknown> | null;
}

export class AuditPageDto {
  @ApiProperty({ description: 'Events, newest first', type: [AuditEventDto] })
  events!: AuditEventDto[];

  @ApiProperty({
    description: 'Pass as `cursor` for the next page; null on the last page',
    example: 'MDE5YWQ2ZjItM2M0MC03MDAwLThhMWItMmMzZDRlNWY2YTdi',
    nullable: true,
    type: String,
  })
  nextCursor!: string | null;
}
