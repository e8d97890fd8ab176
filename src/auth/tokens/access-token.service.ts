import { KeyObject, randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { JwtService } from '@nestjs/jwt';
import { JsonWebTokenError, JwtHeader, TokenExpiredError, VerifyOptions } from 'jsonwebtoken';
import { AppException } from '../../common/errors/app.exception';
import { authConfig } from '../../config/configuration';
import { rolesOf } from '../../users/user.entity';
import { ACCESS_TOKEN_TYPE, JwtKeys } from './jwt-keys';

/** Seconds of clock difference tolerated on `exp`, `nbf` and `iat`. */
export const CLOCK_TOLERANCE = 10;

const KEY_REFERENCE_HEADERS = ['jku', 'jwk', 'x5u', 'x5c', 'crit'];

/** What a verified access token says about its bearer. */
export interface AccessTokenClaims {
  sub: string;
  sid: string;
  jti: string;
  email: string;
  /** Whether the address was verified when the token was issued (absent from older tokens). */
  email_verified?: boolean;
  /** The session's assurance level and authentication methods (absent from older tokens). */
  aal?: string;
  amr?: string[];
  /** The user's roles when the token was issued; absent when there are none. */
  roles?: string[];
  iat: number;
  exp: number;
}

/** Who an access token is issued to. */
export interface TokenSubject {
  id: string;
  email: string;
  emailVerified: boolean;
  roles: string[];
}

/** The subject of a token for a `users` row. */
export const subjectOf = (user: {
  id: string;
  email: string;
  emailVerifiedAt: Date | null;
  roles: string;
}): TokenSubject => ({
  id: user.id,
  email: user.email,
  emailVerified: user.emailVerifiedAt !== null,
  roles: rolesOf(user),
});

export interface IssuedAccessToken {
  token: string;
  jti: string;
  expiresIn: number;
}

function isNonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= 320;
}

@Injectable()
export class AccessTokenService {
  /** Options shared by every verification: the pinned algorithm, issuer and audience. */
  readonly verifyOptions: VerifyOptions;

  constructor(
    private readonly jwt: JwtService,
    private readonly keys: JwtKeys,
    @Inject(authConfig.KEY) private readonly config: ConfigType<typeof authConfig>,
  ) {
    this.verifyOptions = {
      algorithms: [keys.algorithm],
      issuer: config.issuer,
      audience: config.audience,
      clockTolerance: CLOCK_TOLERANCE,
    };
  }

  /** Signs an access token; `lifetime` (seconds) defaults to the configured one. */
  issue(
    user: TokenSubject,
    session: { id: string; aal: string; amr: string },
    lifetime = this.config.accessTtl,
  ): IssuedAccessToken {
    const jti = randomUUID();
    const token = this.jwt.sign(
      {
        sid: session.id,
        email: user.email,
        email_verified: user.emailVerified,
        aal: session.aal,
        amr: session.amr.split(','),
        ...(user.roles.length > 0 ? { roles: user.roles } : {}),
      },
      {
        algorithm: this.keys.algorithm,
        privateKey: this.keys.signingKey,
        subject: user.id,
        jwtid: jti,
        issuer: this.config.issuer,
        audience: this.config.audience,
        expiresIn: lifetime,
        keyid: this.keys.kid,
        header: { alg: this.keys.algorithm, typ: ACCESS_TOKEN_TYPE },
      },
    );
    return { token, jti, expiresIn: lifetime };
  }

  /** Verifies signature and registered claims, then the token's own shape. */
  verify(token: string): AccessTokenClaims {
    let decoded: { header: JwtHeader; payload: unknown };
    try {
      const key = this.keyFor(token);
      decoded = this.jwt.verify(token, {
        ...this.verifyOptions,
        complete: true,
        secret: key as unknown as Buffer, // jsonwebtoken takes the KeyObject as it is
      });
    } catch (error) {
      throw AccessTokenService.toAppException(error);
    }
    return this.checkDecoded(decoded);
  }

  /**
   * The verification key named by the token's `kid`; an unknown or missing `kid` fails as an
   * invalid token. Only the header is decoded, nothing is trusted yet.
   */
  keyFor(token: string): KeyObject {
    let kid: unknown;
    try {
      const header = JSON.parse(Buffer.from(token.split('.')[0], 'base64url').toString('utf8')) as {
        kid?: unknown;
      };
      kid = header?.kid;
    } catch {
      throw new JsonWebTokenError('malformed header');
    }
    const key = this.keys.verificationKey(kid);
    if (!key) {
      throw new JsonWebTokenError('unknown key id');
    }
    return key;
  }

  /**
   * The checks that follow a valid signature: the JOSE type (so no other kind of token can pass
   * as an access token), the key id, and the private claims.
   */
  checkDecoded(decoded: { header: JwtHeader; payload: unknown }): AccessTokenClaims {
    const { header, payload } = decoded;
    if (header.typ !== ACCESS_TOKEN_TYPE || this.keys.verificationKey(header.kid) === undefined) {
      throw AppException.rejectedToken('invalid_token', 'The token is not an access token');
    }
    // Key references in the header are never followed (RFC 8725 3.10); a token carrying one is
    // not ours.
    if (KEY_REFERENCE_HEADERS.some((name) => name in header)) {
      throw AppException.rejectedToken('invalid_token', 'The token header names its own key');
    }
    const claims = payload as Partial<Record<keyof AccessTokenClaims, unknown>> | null;
    if (
      claims === null ||
      typeof claims !== 'object' ||
      !isNonEmptyString(claims.sub) ||
      !isNonEmptyString(claims.sid) ||
      !isNonEmptyString(claims.jti) ||
      !isNonEmptyString(claims.email) ||
      typeof claims.exp !== 'number' ||
      typeof claims.iat !== 'number'
    ) {
      throw AppException.rejectedToken('invalid_token', 'The access token is missing claims');
    }
    return claims as AccessTokenClaims;
  }

  /** Maps jsonwebtoken's failures to our codes without echoing library internals. */
  static toAppException(error: unknown): AppException {
    if (error instanceof AppException) {
      return error;
    }
    if (error instanceof TokenExpiredError) {
      return AppException.rejectedToken('token_expired', 'The access token has expired');
    }
    if (error instanceof JsonWebTokenError) {
      return AppException.rejectedToken('invalid_token', 'The access token is invalid');
    }
    return AppException.rejectedToken('invalid_token', 'The access token could not be verified');
  }
}
