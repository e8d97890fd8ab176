import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import type { JwtHeader, Secret } from 'jsonwebtoken';
import { LRUCache } from 'lru-cache';
import {
  ExtractJwt,
  Strategy,
  StrategyOptionsWithRequest,
  VerifyCallbackWithRequest,
} from 'passport-jwt';
import { AppException } from '../../common/errors/app.exception';
import type { AuthenticatedUser } from '../authenticated-user';
import { RevocationCheck } from '../revocation/revocation-check';
import { AccessTokenService, CLOCK_TOLERANCE } from '../tokens/access-token.service';

interface DecodedToken {
  header: JwtHeader;
  payload: unknown;
}

/** passport's typings name Express' request; on Fastify it is Fastify's. */
type PassportRequest = Parameters<Strategy['authenticate']>[0];

/** passport-jwt's options, with a key provider that may hand back any key jsonwebtoken takes. */
type PassportJwtOptions = Omit<
  StrategyOptionsWithRequest,
  'secretOrKey' | 'secretOrKeyProvider'
> & {
  secretOrKeyProvider: (
    request: PassportRequest,
    rawToken: string,
    done: (error: unknown, key?: Secret) => void,
  ) => void;
};

/**
 * passport-jwt's constructor as it behaves: its strategy hands the provider's key unchanged to
 * jsonwebtoken's `verify` (lib/verify_jwt.js), which takes a KeyObject. @types/passport-jwt 4.0.1
 * lists only string and Buffer, which jsonwebtoken re-imports on every call (about 300 µs per
 * HS256 verification instead of 7 µs). The assertion below is checked: TypeScript refuses it
 * unless these options overlap the published ones.
 */
interface PassportJwtConstructor {
  new (options: PassportJwtOptions, verify: VerifyCallbackWithRequest): Strategy;
}
const PassportJwtStrategy = Strategy as PassportJwtConstructor;

/** How many verified tokens are remembered; each costs well under a kilobyte. */
const VERIFIED_TOKEN_CACHE_SIZE = 10_000;

const extractBearer = ExtractJwt.fromAuthHeaderAsBearerToken();

/**
 * Verifies access tokens with passport-jwt (algorithm, issuer and audience pinned, the key as a
 * KeyObject); then checks the token type and claims, and whether the token or its session has been
 * revoked (RevocationCheck: from memory on SQLite, one query on PostgreSQL): either fails on the
 * very next request, on any instance.
 *
 * In front of passport-jwt sits a cache of verified tokens: a token's signature and registered
 * claims are checked once, and later requests with the exact same token string (the full string is
 * the key, so no altered token can hit) skip the HMAC and the parsing, which are most of the
 * guard's cost. A token is cached only once jsonwebtoken has verified it and its type and claims
 * have passed. Expiry is checked again on every hit, and `validate`, with its revocation check,
 * runs for every request.
 * Session expiry needs no lookup, because access tokens never outlive their session.
 */
@Injectable()
export class JwtStrategy extends PassportStrategy(PassportJwtStrategy, 'jwt') {
  private readonly verifiedTokens = new LRUCache<string, DecodedToken>({
    max: VERIFIED_TOKEN_CACHE_SIZE,
  });
  /** The token of a request that missed the cache, until its verification succeeds. */
  private readonly unverified = new WeakMap<object, string>();

  constructor(
    private readonly accessTokens: AccessTokenService,
    private readonly revocations: RevocationCheck,
  ) {
    super({
      jwtFromRequest: extractBearer,
      // The key named by the token's kid, among the current and previous keys.
      secretOrKeyProvider: (_request, rawToken, done) => {
        try {
          done(null, accessTokens.keyFor(rawToken));
        } catch (error) {
          done(error);
        }
      },
      ignoreExpiration: false,
      // passport-jwt overwrites these three inside jsonWebTokenOptions, so they go at the top.
      algorithms: accessTokens.verifyOptions.algorithms,
      issuer: accessTokens.verifyOptions.issuer,
      audience: accessTokens.verifyOptions.audience as string,
      jsonWebTokenOptions: { ...accessTokens.verifyOptions, complete: true },
      passReqToCallback: true,
    });
  }

  /**
   * The user of a request whose token was verified before and has not expired: `validate`, with
   * its revocation check, without passport or jsonwebtoken. Undefined when the token is not in the
   * cache (or there is none): passport-jwt must verify it. The guard asks this first.
   */
  verifiedUser(request: PassportRequest): Promise<AuthenticatedUser> | undefined {
    const token = extractBearer(request);
    const decoded = token ? this.verifiedTokens.get(token) : undefined;
    const exp = (decoded?.payload as { exp?: number } | undefined)?.exp;
    if (decoded === undefined || exp === undefined || exp + CLOCK_TOLERANCE <= Date.now() / 1000) {
      return undefined;
    }
    return this.validate(request, decoded);
  }

  /**
   * A cached, unexpired token goes straight to `validate`, then to passport's `success` or
   * `error`, as passport-jwt does after jsonwebtoken accepts a token. Any other request, with or
   * without a token, is passport-jwt's to verify.
   */
  override authenticate(request: PassportRequest, options?: object): void {
    const cached = this.verifiedUser(request);
    if (cached === undefined) {
      const token = extractBearer(request);
      if (token) {
        this.unverified.set(request, token);
      }
      super.authenticate(request, options);
      return;
    }
    cached.then(
      (user) => this.success(user),
      (error: Error) => this.error(error),
    );
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
      emailVerified: claims.email_verified === true,
      aal: claims.aal === 'aal2' ? 'aal2' : 'aal1',
      amr: Array.isArray(claims.amr) ? claims.amr.filter((m) => typeof m === 'string') : ['pwd'],
      roles: Array.isArray(claims.roles) ? claims.roles.filter((r) => typeof r === 'string') : [],
      sessionId: claims.sid,
      jti: claims.jti,
      expiresAt: new Date(claims.exp * 1000),
    };
  }

  /** Caches a token that jsonwebtoken just verified; a no-op for one that came from the cache. */
  private remember(request: PassportRequest, decoded: DecodedToken): void {
    const token = this.unverified.get(request);
    if (token) {
      this.unverified.delete(request);
      const exp = (decoded.payload as { exp: number }).exp;
      this.verifiedTokens.set(token, decoded, {
        ttl: Math.max(1, (exp + CLOCK_TOLERANCE) * 1000 - Date.now()),
      });
    }
  }
}
