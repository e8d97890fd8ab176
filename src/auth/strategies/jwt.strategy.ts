import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import type { JwtHeader } from 'jsonwebtoken';
import { ExtractJwt, Strategy } from 'passport-jwt';
import { AppException } from '../../common/errors/app.exception';
import type { AuthenticatedUser } from '../authenticated-user';
import { RevokedTokensService } from '../revoked-tokens/revoked-tokens.service';
import { SessionsService } from '../sessions/sessions.service';
import { AccessTokenService } from '../tokens/access-token.service';
import { JwtKeys } from '../tokens/jwt-keys';

/**
 * passport-jwt with the algorithm, issuer and audience pinned and the key as a KeyObject. After
 * the signature, it checks the token type and claims, then asks the revocation store and the
 * session: a revoked token or an ended session fails on the very next request.
 */
@Injectable()
export class JwtStrategy extends PassportStrategy(Strategy, 'jwt') {
  constructor(
    keys: JwtKeys,
    private readonly accessTokens: AccessTokenService,
    private readonly revokedTokens: RevokedTokensService,
    private readonly sessions: SessionsService,
  ) {
    super({
      jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(),
      // passport-jwt hands the key to jsonwebtoken unchanged, which accepts a KeyObject.
      secretOrKey: keys.signingKey as unknown as string,
      ignoreExpiration: false,
      // passport-jwt overwrites these three inside jsonWebTokenOptions, so they go at the top.
      algorithms: accessTokens.verifyOptions.algorithms,
      issuer: accessTokens.verifyOptions.issuer as string,
      audience: accessTokens.verifyOptions.audience as string,
      jsonWebTokenOptions: { ...accessTokens.verifyOptions, complete: true },
    });
  }

  async validate(decoded: { header: JwtHeader; payload: unknown }): Promise<AuthenticatedUser> {
    const claims = this.accessTokens.checkDecoded(decoded);
    if (await this.revokedTokens.isRevoked(claims.jti)) {
      throw AppException.rejectedToken('token_revoked', 'The access token has been revoked');
    }
    await this.sessions.findActive(claims.sid);
    return {
      userId: claims.sub,
      email: claims.email,
      sessionId: claims.sid,
      jti: claims.jti,
      expiresAt: new Date(claims.exp * 1000),
    };
  }
}
