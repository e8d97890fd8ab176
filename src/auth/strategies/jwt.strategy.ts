import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import type { JwtHeader } from 'jsonwebtoken';
import { LRUCache } from 'lru-cache';
import { ExtractJwt, Strategy, StrategyOptionsWithRequest } from 'passport-jwt';
import { AppException } from '../../common/errors/app.exception';
import type { AuthenticatedUser } from '../authenticated-user';
import { RevocationCheck } from '../revocation/revocation-check';
import { AccessTokenService, CLOCK_TOLERANCE } from '../tokens/access-token.service';

interface DecodedToken {
  header: JwtHeader;
  payload: unknown;
}

type VerifyCallback = (error: unknown, user?: unknown, info?: unknown) => void;
/** passport's typings name Express' request; on Fastify it is Fastify's. */
type PassportRequest = Parameters<Strategy['authenticate']>[0];

/** How many verified tokens are remembered; each costs well under a kilobyte. */
const VERIFIED_TOKEN_CACHE_SIZE = 10_000;

const extractBearer = ExtractJwt.fromAuthHeaderAsBearerToken();

/**
 * passport-jwt's strategy with a cache of verified tokens in front of jsonwebtoken. A token's
 * signature and registered claims are checked once; later requests with the exact same token
 * string (the full string is the key, so no altered token can hit) skip the HMAC and the parsing,
 * which are most of the guard's cost. Expiry is checked again on every hit. Revocation is never
 * cached: `validate` runs for every request.
 */
class CachingJwtStrategy extends Strategy {
  protected readonly verifiedTokens = new LRUCache<string, DecodedToken>({
    max: VERIFIED_TOKEN_CACHE_SIZE,
  });
  /** The token of a request that missed the cache, until its verification succeeds. */
  private readonly unverified = new WeakMap<object, string>();

  override authenticate(request: PassportRequest, options?: object): void {
    const token = extractBearer(request);
    const decoded = token ? this.verifiedTokens.get(token) : undefined;
    const exp = (decoded?.payload as { exp?: number } | undefined)?.exp;
    if (decoded === undefined || exp === undefined || exp + CLOCK_TOLERANCE <= Date.now() / 1000) {
      if (token) {
        this.unverified.set(request, token);
      }
      super.authenticate(request, options);
      return;
    }
    // Same continuation as passport-jwt's after a successful verification.
    const verify = (this as unknown as { _verify: (...args: unknown[]) => void })._verify;
    const done: VerifyCallback = (error, user, info) => {
      if (error) {
        this.error(error as Error);
      } else if (!user) {
        this.fail(info, 401);
      } else {
        this.success(user, info);
      }
    };
    try {
      verify(request, decoded, done);
    } catch (error) {
      this.error(error as Error);
    }
  }

  /** Caches a token that jsonwebtoken just verified; a no-op for one that came from the cache. */
  protected remember(request: PassportRequest, decoded: DecodedToken): void {
    const token = this.unverified.get(request);
    const exp = (decoded.payload as { exp: number }).exp;
    if (token) {
      this.unverified.delete(request);
      this.verifiedTokens.set(token, decoded, {
        ttl: Math.max(1, (exp + CLOCK_TOLERANCE) * 1000 - Date.now()),
      });
    }
  }
}

/**
 * Verifies access tokens with the algorithm, issuer and audience pinned and the key as a
 * KeyObject; then checks the token type and claims, and whether the token or its session has been
 * revoked (RevocationCheck: from memory on SQLite, one query on PostgreSQL): either fails on the
 * very next request, on any instance.
 * Session expiry needs no lookup, because access tokens never outlive their session.
 */
@Injectable()
export class JwtStrategy extends PassportStrategy(CachingJwtStrategy, 'jwt') {
  constructor(
    private readonly accessTokens: AccessTokenService,
    private readonly revocations: RevocationCheck,
  ) {
    const options: StrategyOptionsWithRequest = {
      jwtFromRequest: extractBearer,
      // The key named by the token's kid, among the current and previous keys. passport-jwt hands
      // it to jsonwebtoken unchanged, which accepts a KeyObject.
      secretOrKeyProvider: (_request, rawToken: string, done) => {
        try {
          done(null, accessTokens.keyFor(rawToken) as unknown as string);
        } catch (error) {
          done(error);
        }
      },
      ignoreExpiration: false,
      // passport-jwt overwrites these three inside jsonWebTokenOptions, so they go at the top.
      algorithms: accessTokens.verifyOptions.algorithms,
      issuer: accessTokens.verifyOptions.issuer as string,
      audience: accessTokens.verifyOptions.audience as string,
      jsonWebTokenOptions: { ...accessTokens.verifyOptions, complete: true },
      passReqToCallback: true,
    };
    super(options);
  }

  async validate(request: PassportRequest, decoded: DecodedToken): Promise<AuthenticatedUser> {
    const claims = this.accessTokens.checkDecoded(decoded);
    this.remember(request, decoded);
    const revocation = await this.revocations.find(claims.jti, claims.sid);
    if (revocation === 'token_revoked') {
      throw AppException.rejectedToken('token_revoked', 'The access token has been revoked');
    }
    if (revocation === 'session_revoked') {
      throw AppException.rejectedToken('session_revoked', 'The session has been revoked');
    }
    return {
      userId: claims.sub,
      email: claims.email,
      sessionId: claims.sid,
      jti: claims.jti,
      expiresAt: new Date(claims.exp * 1000),
    };
  }
}
