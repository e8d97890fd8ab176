import { ApiProperty } from '@nestjs/swagger';
import { User } from '../user.entity';

/** The only shape in which a user leaves the service: never with its password hash. */
export class UserResponseDto {
  @ApiProperty({ description: 'User id (UUID)', example: '0b6f8f4e-3c1a-4b8e-9a63-5f1d2c7e9a10' })
  id!: string;

  @ApiProperty({
    description: 'Email in its one stored spelling: NFKC, lower-case, ASCII (IDNA) domain',
    example: 'abc@abc.com',
  })
  email!: string;

  @ApiProperty({
    description: 'When the account was created (ISO 8601, UTC)',
    example: '2026-11-26T09:30:00.000Z',
  })
  createdAt!: string;

  @ApiProperty({
    description:
      'Whether the owner has proved they receive mail at this address (see /email/verify)',
    example: false,
  })
  emailVerified!: boolean;
}

export function toUserResponse(
  user: Pick<User, 'id' | 'email' | 'createdAt' | 'emailVerifiedAt'>,
): UserResponseDto {
  return {
    id: user.id,
    email: user.email,
    createdAt: user.createdAt.toISOString(),
    emailVerified: user.emailVerifiedAt !== null,
  };
}
