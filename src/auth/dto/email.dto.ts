import { ApiProperty } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsDefined, IsEmail, IsString, MaxLength } from 'class-validator';
import { toCanonicalEmail } from './credentials.dto';
import {
  IsNewPassword,
  IsPresentedPassword,
  PASSWORD_MAX_LENGTH,
  PASSWORD_MIN_LENGTH,
} from './password.decorators';

const EXAMPLE_TOKEN = 'Qm9vdHN0cmFwcGVkLWxpbmstdG9rZW4tb2YtMzItYnl0ZXM';

/** The token of a link from a mail, as the page the link opens sends it. */
export class LinkTokenDto {
  @ApiProperty({
    description: 'The `token` parameter of the link in the mail',
    example: EXAMPLE_TOKEN,
    maxLength: 128,
  })
  @MaxLength(128, { message: 'token must be at most 128 characters' })
  @IsString({ message: 'token must be a string' })
  @IsDefined({ message: 'token is required' })
  token!: string;
}

export class ResetPasswordDto extends LinkTokenDto {
  @ApiProperty({
    description: `The new password, ${PASSWORD_MIN_LENGTH} to ${PASSWORD_MAX_LENGTH} characters of any kind, not one of the most common passwords`,
    example: 'staple-horse-battery-correct',
    minLength: PASSWORD_MIN_LENGTH,
    maxLength: PASSWORD_MAX_LENGTH,
    format: 'password',
  })
  @IsNewPassword('newPassword')
  newPassword!: string;
}

export class ChangeEmailDto {
  @ApiProperty({
    description: 'The new address, normalised as at sign-up; the confirmation link goes there',
    example: 'new@abc.com',
    maxLength: 254,
    format: 'email',
  })
  @Transform(toCanonicalEmail)
  @IsEmail({}, { message: 'newEmail must be a valid email address' })
  @MaxLength(254, { message: 'newEmail must be at most 254 characters' })
  @IsString({ message: 'newEmail must be a string' })
  @IsDefined({ message: 'newEmail is required' })
  newEmail!: string;

  @ApiProperty({ description: 'The password in use now', example: 'abc123-but-longer' })
  @IsPresentedPassword('password')
  password!: string;
}

export class EmailVerifiedResponseDto {
  @ApiProperty({ description: 'The address just verified', example: 'abc@abc.com' })
  email!: string;

  @ApiProperty({ description: 'Always true', example: true })
  emailVerified!: true;
}

export class EmailChangedResponseDto {
  @ApiProperty({
    description: 'The account\u2019s address from now on (verified)',
    example: 'new@abc.com',
  })
  email!: string;
}
