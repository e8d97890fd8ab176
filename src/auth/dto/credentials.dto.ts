import { ApiProperty } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsDefined, IsEmail, IsString, MaxLength } from 'class-validator';
import {
  IsNewPassword,
  IsPresentedPassword,
  PASSWORD_MAX_LENGTH,
  PASSWORD_MIN_LENGTH,
} from './password.decorators';
import { normaliseEmail } from '../../common/validation/normalise-email';

export const toCanonicalEmail = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' ? normaliseEmail(value) : value;

/** The email of /signup and /signin. */
export class EmailDto {
  @ApiProperty({
    description:
      'Email address; trimmed, NFKC-normalised and lower-cased, its domain converted to ASCII (IDNA), before use. At most 254 characters.',
    example: 'abc@abc.com',
    maxLength: 254,
    format: 'email',
  })
  // Checked bottom-up, and only the first failure per field is reported.
  @Transform(toCanonicalEmail)
  @IsEmail({}, { message: 'email must be a valid email address' })
  @MaxLength(254, { message: 'email must be at most 254 characters' })
  @IsString({ message: 'email must be a string' })
  @IsDefined({ message: 'email is required' })
  email!: string;
}

/** POST /signup: the password must meet the policy. */
export class SignUpDto extends EmailDto {
  @ApiProperty({
    description: `Password, ${PASSWORD_MIN_LENGTH} to ${PASSWORD_MAX_LENGTH} characters of any kind, not one of the most common passwords; compared exactly, never truncated.`,
    example: 'abc123-but-longer',
    minLength: PASSWORD_MIN_LENGTH,
    maxLength: PASSWORD_MAX_LENGTH,
    format: 'password',
  })
  @IsNewPassword('password')
  password!: string;
}

/** POST /signin: any password is checked (accounts made under an older policy still sign in). */
export class SignInDto extends EmailDto {
  @ApiProperty({
    description: `Password, at most ${PASSWORD_MAX_LENGTH} characters; compared exactly.`,
    example: 'abc123-but-longer',
    maxLength: PASSWORD_MAX_LENGTH,
    format: 'password',
  })
  @IsPresentedPassword('password')
  password!: string;
}
