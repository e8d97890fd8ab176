import {
  createHash,
  createPrivateKey,
  createPublicKey,
  createSecretKey,
  hkdfSync,
  JsonWebKey,
  KeyObject,
} from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { authConfig, JwtAlgorithm } from '../../config/configuration';

/** JOSE `typ` of access tokens (RFC 9068); refresh tokens are opaque and never JWTs. */
export const ACCESS_TOKEN_TYPE = 'at+jwt';

/**
 * Keys, prepared once at start-up as KeyObjects: jsonwebtoken re-imports a string or Buffer
 * secret on every call, which costs about 40 times the verification itself.
 */
@Injectable()
export class JwtKeys {
  readonly algorithm: JwtAlgorithm;
  /** The HS256 secret, or the ES256 / RS256 private key. */
  readonly signingKey: KeyObject;
  /** The public key, with a key pair; published at /.well-known/jwks.json. */
  private readonly publicKey?: KeyObject;
  /** Identifies the signing key in each token's `kid` header (derived from the key, not secret). */
  readonly kid: string;
  /** Separate key (derived with HKDF) for deriving refresh-token successors. */
  readonly refreshKey: KeyObject;

  /** Every key that verifies (the signing key and older ones), by `kid`. */
  private readonly verificationKeys = new Map<string, KeyObject>();

  constructor(@Inject(authConfig.KEY) config: ConfigType<typeof authConfig>) {
    this.algorithm = config.algorithm;
    if (config.privateKeyPem) {
      this.signingKey = createPrivateKey(config.privateKeyPem);
      this.publicKey = createPublicKey(this.signingKey);
      this.kid = JwtKeys.kidOf(this.publicKey.export({ type: 'spki', format: 'der' }));
      this.verificationKeys.set(this.kid, this.publicKey);
    } else {
      this.signingKey = createSecretKey(config.jwtSecret);
      this.kid = JwtKeys.kidOf(config.jwtSecret);
      for (const secret of [config.jwtSecret, ...config.previousJwtSecrets]) {
        this.verificationKeys.set(JwtKeys.kidOf(secret), createSecretKey(secret));
      }
    }
    this.refreshKey = createSecretKey(
      Buffer.from(hkdfSync('sha256', config.jwtSecret, '', 'refresh-token-chain', 32)),
    );
  }

  /** The key a token's `kid` names, if it is one of ours. */
  verificationKey(kid: unknown): KeyObject | undefined {
    return typeof kid === 'string' ? this.verificationKeys.get(kid) : undefined;
  }

  /** The public keys as a JWK set; empty with HS256, whose key must never leave the service. */
  jwks(): { keys: JsonWebKey[] } {
    if (!this.publicKey) {
      return { keys: [] };
    }
    return {
      keys: [
        {
          ...this.publicKey.export({ format: 'jwk' }),
          kid: this.kid,
          alg: this.algorithm,
          use: 'sig',
        },
      ],
    };
  }

  private static kidOf(secret: Buffer): string {
    return createHash('sha256').update(secret).digest('base64url').slice(0, 16);
  }
}
