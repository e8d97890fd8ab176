import { Controller, Get, Header } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Public } from './decorators/public.decorator';
import { JwtKeys } from './tokens/jwt-keys';

@ApiTags('auth')
@Public()
@Controller('.well-known')
export class JwksController {
  constructor(private readonly keys: JwtKeys) {}

  @Get('jwks.json')
  @Header('Cache-Control', 'public, max-age=300')
  @ApiOperation({
    summary: 'Public keys that verify access tokens (RFC 7517)',
    description:
      'With `JWT_ALGORITHM=ES256` or `RS256`, other services can verify access tokens with these keys, matched by `kid`. With HS256 the set is empty: a shared secret is never published.',
  })
  @ApiOkResponse({
    description: 'A JWK set',
    schema: {
      type: 'object',
      properties: {
        keys: { type: 'array', items: { type: 'object' }, description: 'Public JWKs' },
      },
      example: {
        keys: [
          { kty: 'EC', crv: 'P-256', x: '…', y: '…', kid: 'q0B3c1x9…', alg: 'ES256', use: 'sig' },
        ],
      },
    },
  })
  jwks(): { keys: object[] } {
    return this.keys.jwks();
  }
}
