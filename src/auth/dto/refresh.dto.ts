import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, MaxLength } from 'class-validator';

/** Optional body of /refresh; the token may come in the Authorization header instead. */
export class RefreshDto {
  @ApiPropertyOptional({
    description: 'The refresh token from /signin or the last /refresh.',
    example: '6f1c2d3e-4b5a-4c7d-8e9f-0a1b2c3d4e5f.Jq3kz0bW5hY2Vz5mZ2xhc2stand0LXNlZWQtZXhhbXBsZQ',
  })
  @IsOptional()
  @IsString({ message: 'refresh_token must be a string' })
  @MaxLength(4096, { message: 'refresh_token must be at most 4096 characters' })
  refresh_token?: string;
}
