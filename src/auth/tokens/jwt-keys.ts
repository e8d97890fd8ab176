import {
  createHash,
  createPrivateKey,
  createPublicKey,
  createSecretKey,
  hkdfSync,
  JsonWebKey,
  KeyObject,
} from 'node:crypto';
import type { JwtAlgorithm } from '../../config/configuration';

/** JOSE `typ` of access tokens (RFC 9068); refresh tokens are opaque and never JWTs. */
export const ACCESS_TOKEN_TYPE = 'at+jwt';

/**
 * What the keys are made of, once resolved by JwtKeysModule: the HS256 secrets (the first signs,
 * all verify), or the checked PEM of an ES256 / RS256 private key.
 */
export type KeyMaterial =
  | { algorithm: 'HS256'; secrets: [Buffer, ...Buffer[]] }
  | { algorithm: 'ES256' | 'RS256'; privateKeyPem: string };

/**
 * Keys, prepared once at start-up as KeyObjects: jsonwebtoken re-imports a string or Buffer
 * secret on every call, which costs about 40 times the verification itself.
 */
export class JwtKeys {
  readonly algorithm: JwtAlgorithm;
  /** The HS256 secret, or the ES256 / RS256 private key. */
  readonly signingKey: KeyObject;
  /** The public key, with a key pair; published at /.well-known/jwks.json. */
  private readonly publicKey?: KeyObject;
  /** Identifies the signing key in each token's `kid` header (derived from the key, not secret). */
  readonly kid: string;
  /**
   * Separate key (derived with HKDF) for deriving refresh-token chains: from REFRESH_CHAIN_KEY
   * when set, otherwise from the signing key, so that it stays the same across a key rotation
   * only when REFRESH_CHAIN_KEY is set (see createJwtKeys).
   */
  readonly refreshKey: KeyObject;

  /** Every key that verifies (the signing key and older ones), by `kid`. */
  private readonly verificationKeys = new Map<string, KeyObject>();

  constructor(material: KeyMaterial, refreshChainSecret?: Buffer) {
    this.algorithm = material.algorithm;
    let chainSecret: Buffer;
    if (material.algorithm === 'HS256') {
      const [current] = material.secrets;
      this.signingKey = createSecretKey(current);
      this.kid = JwtKeys.kidOf(current);
      for (const secret of material.secrets) {
        this.verificationKeys.set(JwtKeys.kidOf(secret), createSecretKey(secret));
      }
      chainSecret = current;
    } else {
      this.signingKey = createPrivateKey(material.privateKeyPem);
      this.publicKey = createPublicKey(this.signingKey);
      this.kid = JwtKeys.kidOf(this.publicKey.export({ type: 'spki', format: 'der' }));
      this.verificationKeys.set(this.kid, this.publicKey);
      // With a key pair, the server secret behind refresh-token derivation comes from the private
      // key itself (its PKCS#8 form), not from its text: re-encoding the PEM changes nothing.
      const der = this.signingKey.export({ type: 'pkcs8', format: 'der' });
      chainSecret = createHash('sha256').update('refresh-chain\n').update(der).digest();
    }
    this.refreshKey = createSecretKey(
      Buffer.from(
        hkdfSync('sha256', refreshChainSecret ?? chainSecret, '', 'refresh-token-chain', 32),
      ),
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
