import { createHash, createSecretKey, hkdfSync, KeyObject } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { authConfig } from '../../config/configuration';

export const ACCESS_TOKEN_ALGORITHM = 'HS256';
/** JOSE `typ` of access tokens (RFC 9068); refresh tokens are opaque and never JWTs. */
export const ACCESS_TOKEN_TYPE = 'at+jwt';

/**
 * Keys, prepared once at start-up as KeyObjects: jsonwebtoken re-imports a string or Buffer
 * secret on every call, which costs about 40 times the verification itself.
 */
@Injectable()
export class JwtKeys {
  /** HS256 signing and verification key. */
  readonly signingKey: KeyObject;
  /** Identifies the signing key in each token's `kid` header. */
  readonly kid: string;
  /** Separate key (derived with HKDF) for deriving refresh-token successors. */
  readonly refreshKey: KeyObject;

  constructor(@Inject(authConfig.KEY) config: ConfigType<typeof authConfig>) {
    this.signingKey = createSecretKey(config.jwtSecret);
    this.kid = createHash('sha256').update(config.jwtSecret).digest('base64url').slice(0, 16);
    this.refreshKey = createSecretKey(
      Buffer.from(hkdfSync('sha256', config.jwtSecret, '', 'refresh-token-chain', 32)),
    );
  }
}
