import { ApiProperty } from '@nestjs/swagger';

export class TokenPairResponseDto {
  @ApiProperty({
    description: 'JWT access token (HS256, `typ: at+jwt`); send it as `Authorization: Bearer ...`.',
    example:
      'eyJhbGciOiJIUzI1NiIsInR5cCI6ImF0K2p3dCIsImtpZCI6IkdLbmV4YW1wbGUifQ.eyJzaWQiOiIuLi4ifQ.c2lnbmF0dXJl',
  })
  access_token!: string;

  @ApiProperty({ description: 'Always `Bearer`.', example: 'Bearer', enum: ['Bearer'] })
  token_type!: 'Bearer';

  @ApiProperty({ description: 'Lifetime of the access token in seconds.', example: 900 })
  expires_in!: number;

  @ApiProperty({
    description:
      'Opaque refresh token; single use, rotated by every /refresh. Absent with `TOKEN_DELIVERY=cookie`, which sets it as the `__Secure-refresh_token` cookie instead.',
    required: false,
    example: '6f1c2d3e-4b5a-4c7d-8e9f-0a1b2c3d4e5f.Jq3kz0bW5hY2Vz5mZ2xhc2stand0LXNlZWQtZXhhbXBsZQ',
  })
  refresh_token!: string;
}

export class PasswordChangedResponseDto extends TokenPairResponseDto {
  @ApiProperty({
    description: 'What happened',
    example: 'Password has been changed; every session has been ended and this new one opened',
  })
  message!: string;
}
