import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional } from 'class-validator';
import type { Session } from '../sessions/session.entity';
import {
  IsNewPassword,
  IsPresentedPassword,
  PASSWORD_MAX_LENGTH,
  PASSWORD_MIN_LENGTH,
} from './password.decorators';

export const REVOKE_SCOPES = ['current', 'others', 'all'] as const;
export type RevokeScope = (typeof REVOKE_SCOPES)[number];

/** Optional body of POST /revoke. */
export class RevokeDto {
  @ApiPropertyOptional({
    description:
      '`current` (default) ends the calling session; `others` ends every other session of the user; `all` ends every session, the calling one included.',
    enum: REVOKE_SCOPES,
    example: 'current',
  })
  @IsOptional()
  @IsIn(REVOKE_SCOPES, { message: `scope must be one of ${REVOKE_SCOPES.join(', ')}` })
  scope?: RevokeScope;
}

export class ChangePasswordDto {
  @ApiProperty({ description: 'The password in use now', example: 'correct-horse-battery' })
  @IsPresentedPassword('currentPassword')
  currentPassword!: string;

  @ApiProperty({
    description: `The new password, ${PASSWORD_MIN_LENGTH} to ${PASSWORD_MAX_LENGTH} characters of any kind`,
    example: 'staple-horse-battery-correct',
    minLength: PASSWORD_MIN_LENGTH,
    maxLength: PASSWORD_MAX_LENGTH,
  })
  @IsNewPassword('newPassword')
  newPassword!: string;
}

export class DeleteAccountDto {
  @ApiProperty({ description: 'The password in use now', example: 'correct-horse-battery' })
  @IsPresentedPassword('password')
  password!: string;
}

export class SessionResponseDto {
  @ApiProperty({
    description: 'Session id (UUID)',
    example: '6f1c2d3e-4b5a-4c7d-8e9f-0a1b2c3d4e5f',
  })
  id!: string;

  @ApiProperty({
    description: 'When the session was opened (sign-in)',
    example: '2026-11-26T09:30:00.000Z',
  })
  createdAt!: string;

  @ApiProperty({
    description: 'Last sign-in or refresh, to the minute',
    example: '2026-11-26T09:45:00.000Z',
  })
  lastUsedAt!: string;

  @ApiProperty({
    description:
      'When the session ends unless refreshed: absolute or idle expiry, whichever is first, to the minute',
    example: '2026-12-10T09:45:00.000Z',
  })
  expiresAt!: string;

  @ApiProperty({
    description: 'User agent at sign-in',
    example: 'curl/8.5.0',
    nullable: true,
    type: String,
  })
  userAgent!: string | null;

  @ApiProperty({
    description: 'Client address at sign-in',
    example: '127.0.0.1',
    nullable: true,
    type: String,
  })
  ip!: string | null;

  @ApiProperty({ description: 'True for the session making this request', example: true })
  current!: boolean;

  @ApiProperty({
    description:
      'Assurance level: `aal1` signed in with the password, `aal2` with a second factor too',
    enum: ['aal1', 'aal2'],
    example: 'aal1',
  })
  aal!: 'aal1' | 'aal2';

  @ApiProperty({
    description:
      'How the session was signed in (RFC 8176): `pwd`, then `otp` for an authenticator code or `mfa` for a recovery code',
    example: ['pwd'],
    type: [String],
  })
  amr!: string[];
}

/** A session as its user or an admin sees it; `current` marks the caller's own. */
export function toSessionResponse(
  session: Session,
  effectiveExpiry: Date,
  currentId?: string,
): SessionResponseDto {
  return {
    id: session.id,
    createdAt: session.createdAt.toISOString(),
    lastUsedAt: toMinute(session.lastUsedAt),
    expiresAt: toMinute(effectiveExpiry),
    userAgent: session.userAgent,
    ip: session.ip,
    current: session.id === currentId,
    aal: session.aal,
    amr: session.amr.split(','),
  };
}

const toMinute = (date: Date) =>
  new Date(Math.floor(date.getTime() / 60_000) * 60_000).toISOString();
