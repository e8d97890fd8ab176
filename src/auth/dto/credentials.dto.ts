import { ApiProperty } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsDefined, IsEmail, IsString, MaxLength } from 'class-validator';
import { IsNewPassword, PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from './password.decorators';

export { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH };

const normaliseEmail = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' ? value.trim().toLowerCase() : value;

/** Email and password, as sent to /signup and /signin. */
export class CredentialsDto {
  @ApiProperty({
    description: 'Email address; trimmed and lower-cased before use. At most 254 characters.',
    example: 'abc@abc.com',
    maxLength: 254,
    format: 'email',
  })
  // Checked bottom-up, and only the first failure per field is reported.
  @Transform(normaliseEmail)
  @IsEmail({}, { message: 'email must be a valid email address' })
  @MaxLength(254, { message: 'email must be at most 254 characters' })
  @IsString({ message: 'email must be a string' })
  @IsDefined({ message: 'email is required' })
  email!: string;

  @ApiProperty({
    description: `Password, ${PASSWORD_MIN_LENGTH} to ${PASSWORD_MAX_LENGTH} characters of any kind; compared exactly, never truncated.`,
    example: 'correct-horse-battery',
    minLength: PASSWORD_MIN_LENGTH,
    maxLength: PASSWORD_MAX_LENGTH,
    format: 'password',
  })
  // Sign-in applies the same rules: a password outside them cannot be anyone's.
  @IsNewPassword('password')
  password!: string;
}

export class SignUpDto extends CredentialsDto {}
export class SignInDto extends CredentialsDto {}
