import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ERROR_CODES } from '../errors/error-code';

export class FieldErrorDto {
  @ApiProperty({ description: 'The request field', example: 'password' })
  field!: string;

  @ApiProperty({ description: 'The rules the value broke', example: ['minLength'], type: [String] })
  rules!: string[];

  @ApiProperty({
    description: 'One message per rule',
    example: ['password must be at least 8 characters long'],
    type: [String],
  })
  messages!: string[];
}

/** The body of every error response (RFC 9457, `application/problem+json`). */
export class ProblemDetailsDto {
  @ApiProperty({
    description: 'URI identifying the problem type',
    example: 'urn:nest-jwt-auth:problem:validation_failed',
  })
  type!: string;

  @ApiProperty({
    description: 'Short summary of the problem type',
    example: 'Request validation failed',
  })
  title!: string;

  @ApiProperty({ description: 'HTTP status code', example: 400 })
  status!: number;

  @ApiProperty({
    description: 'What went wrong in this occurrence',
    example: 'password must be at least 8 characters long',
  })
  detail!: string;

  @ApiProperty({
    description: 'Stable machine-readable error code',
    enum: Object.keys(ERROR_CODES),
    example: 'validation_failed',
  })
  code!: string;

  @ApiProperty({ description: 'The request path', example: '/signup' })
  instance!: string;

  @ApiPropertyOptional({
    description: 'Per-field problems (validation only)',
    type: [FieldErrorDto],
  })
  errors?: FieldErrorDto[];

  @ApiPropertyOptional({
    description:
      'With `mfa_required` only: the opaque token of the second step, for POST /signin/mfa (single use, 5 minutes)',
    example: 'mV0tQk2c1b8yJ3oZbU9rS4xW7eP5aL6nH2dF8gK1jQ0',
  })
  mfa_token?: string;
}
