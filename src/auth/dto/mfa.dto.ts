import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsDefined, IsOptional, IsString, Matches, MaxLength } from 'class-validator';
import { IsPresentedPassword } from './password.decorators';

export class PasswordDto {
  @ApiProperty({ description: 'The password in use now', example: 'abc123-but-longer' })
  @IsPresentedPassword('password')
  password!: string;
}

export class TotpCodeDto {
  @ApiProperty({ description: 'The 6-digit code the authenticator app shows', example: '123456' })
  @Matches(/^\d{6}$/, { message: 'code must be 6 digits' })
  @IsString({ message: 'code must be a string' })
  @IsDefined({ message: 'code is required' })
  code!: string;
}

export class SecondFactorSignInDto {
  @ApiProperty({
    description: 'The `mfa_token` of the 403 `mfa_required` answer of POST /signin',
    example: 'mV0tQk2c1b8yJ3oZbU9rS4xW7eP5aL6nH2dF8gK1jQ0',
    maxLength: 128,
  })
  @MaxLength(128, { message: 'mfa_token must be at most 128 characters' })
  @IsString({ message: 'mfa_token must be a string' })
  @IsDefined({ message: 'mfa_token is required' })
  mfa_token!: string;

  @ApiPropertyOptional({ description: 'A code from the authenticator app', example: '123456' })
  @IsOptional()
  @Matches(/^\d{6}$/, { message: 'code must be 6 digits' })
  @IsString({ message: 'code must be a string' })
  code?: string;

  @ApiPropertyOptional({
    description: 'One of the recovery codes, instead of `code`; each works once',
    example: 'K7Q2M-9XW4D',
    maxLength: 32,
  })
  @IsOptional()
  @MaxLength(32, { message: 'recovery_code must be at most 32 characters' })
  @IsString({ message: 'recovery_code must be a string' })
  recovery_code?: string;
}

export class EnrolmentResponseDto {
  @ApiProperty({
    description: 'The TOTP secret, base32, for typing into an app',
    example: 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP',
  })
  secret!: string;

  @ApiProperty({
    description: 'The same as a URI, for QR codes and links',
    example:
      'otpauth://totp/nest-jwt-auth:abc%40abc.com?issuer=nest-jwt-auth&secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&algorithm=SHA1&digits=6&period=30',
  })
  otpauthUri!: string;

  @ApiProperty({
    description: 'The URI as a QR code, an SVG document',
    example: '<svg xmlns="http://www.w3.org/2000/svg" …</svg>',
  })
  qrSvg!: string;
}

export class RecoveryCodesResponseDto {
  @ApiProperty({
    description: 'Ten recovery codes, shown this once; each signs in once instead of a code',
    example: ['K7Q2M-9XW4D', 'P3R8T-0VB6N'],
    type: [String],
  })
  recoveryCodes!: string[];
}

export class MfaStatusResponseDto {
  @ApiProperty({
    description: 'The TOTP factor',
    enum: ['off', 'pending', 'active'],
    example: 'off',
  })
  totp!: 'off' | 'pending' | 'active';

  @ApiProperty({ description: 'Recovery codes not used yet', example: 0 })
  recoveryCodesLeft!: number;
}
