import { createSecretKey, KeyObject, randomUUID } from 'node:crypto';
import { Test } from '@nestjs/testing';
import jsonwebtoken, { JsonWebTokenError, TokenExpiredError } from 'jsonwebtoken';
import passport from 'passport';
import { AppException } from '../../common/errors/app.exception';
import { RevocationCheck } from '../revocation/revocation-check';
import { AccessTokenService, CLOCK_TOLERANCE } from '../tokens/access-token.service';
import { JwtStrategy } from './jwt.strategy';

const SECRET = Buffer.from('unit-test-secret-6f1c2d3e4b5a4c7d8e9f0a1b2c3d4e5f');
const ISSUER = 'test-issuer';
const AUDIENCE = 'test-audience';

interface Outcome {
  error: unknown;
  user: unknown;
  info: unknown;
}

type Middleware = (request: object, response: object, next: (error?: unknown) => void) => void;

/** Runs the registered 'jwt' strategy through passport, as the guard does. */
function authenticate(token: string): Promise<Outcome> {
  const request = { headers: { authorization: `Bearer ${token}` } };
  return new Promise((resolve) => {
    const middleware = passport.authenticate(
      'jwt',
      { session: false },
      (error: unknown, user: unknown, info: unknown) => resolve({ error, user, info }),
    ) as Middleware;
    middleware(request, {}, (error) => resolve({ error, user: undefined, info: undefined }));
  });
}

function sign(claims: Record<string, unknown> = {}, key: Buffer = SECRET): string {
  return jsonwebtoken.sign({ sid: 'session-1', email: 'user@example.com', ...claims }, key, {
    algorithm: 'HS256',
    subject: 'user-1',
    jwtid: randomUUID(),
    issuer: ISSUER,
    audience: AUDIENCE,
    expiresIn: 900,
  });
}

describe(JwtStrategy.name, () => {
  let revocations: { find: jest.Mock };
  let checkDecoded: jest.Mock;
  let verify: jest.SpyInstance;

  beforeEach(async () => {
    revocations = { find: jest.fn().mockResolvedValue(undefined) };
    checkDecoded = jest.fn((decoded: { payload: unknown }) => decoded.payload);
    const accessTokens = {
      verifyOptions: {
        algorithms: ['HS256'],
        issuer: ISSUER,
        audience: AUDIENCE,
        clockTolerance: CLOCK_TOLERANCE,
      },
      keyFor: () => createSecretKey(SECRET),
      checkDecoded,
    };
    // Constructing the strategy registers it with passport as 'jwt'.
    await Test.createTestingModule({
      providers: [
        JwtStrategy,
        { provide: AccessTokenService, useValue: accessTokens },
        { provide: RevocationCheck, useValue: revocations },
      ],
    }).compile();
    verify = jest.spyOn(jsonwebtoken, 'verify');
  });

  afterEach(() => {
    jest.restoreAllMocks();
  });

  it('should verify a token with jsonwebtoken once, then answer from the cache', async () => {
    const token = sign();
    const { jti } = jsonwebtoken.decode(token) as { jti: string };
    for (let i = 0; i < 3; i++) {
      const { error, user } = await authenticate(token);
      expect(error).toBeNull();
      expect(user).toMatchObject({ userId: 'user-1', sessionId: 'session-1', jti });
    }
    expect(verify).toHaveBeenCalledTimes(1);
    expect(verify.mock.calls[0][1]).toBeInstanceOf(KeyObject);
    expect(checkDecoded).toHaveBeenCalledTimes(3);
    expect(revocations.find).toHaveBeenCalledTimes(3);
    expect(revocations.find).toHaveBeenLastCalledWith(jti, 'session-1');
  });

  it('should refuse a revoked token, or a token of a revoked session, on a cache hit', async () => {
    const token = sign();
    expect((await authenticate(token)).user).toBeTruthy();

    revocations.find.mockResolvedValueOnce('token_revoked');
    const revokedToken = await authenticate(token);
    expect(revokedToken.user).toBeFalsy();
    expect(revokedToken.error).toBeInstanceOf(AppException);
    expect((revokedToken.error as AppException).code).toBe('token_revoked');

    revocations.find.mockResolvedValueOnce('session_revoked');
    const revokedSession = await authenticate(token);
    expect((revokedSession.error as AppException).code).toBe('session_revoked');

    expect(verify).toHaveBeenCalledTimes(1);
  });

  it('should pass on a fault of the revocation check on a cache hit', async () => {
    const token = sign();
    await authenticate(token);
    const fault = new Error('database is locked');
    revocations.find.mockRejectedValueOnce(fault);
    expect((await authenticate(token)).error).toBe(fault);
  });

  it('should verify a cached token again once it has expired, and refuse it', async () => {
    const token = sign();
    const { exp } = jsonwebtoken.decode(token) as { exp: number };
    await authenticate(token);
    jest.spyOn(Date, 'now').mockReturnValue((exp + CLOCK_TOLERANCE) * 1000);
    const { user, info } = await authenticate(token);
    expect(user).toBeFalsy();
    expect(info).toBeInstanceOf(TokenExpiredError);
    expect(verify).toHaveBeenCalledTimes(2);
  });

  it('should never cache a token that jsonwebtoken refused', async () => {
    const forged = sign({}, Buffer.from('another-secret-0a1b2c3d4e5f6f1c2d3e4b5a4c7d8e9f'));
    for (let i = 0; i < 2; i++) {
      const { user, info } = await authenticate(forged);
      expect(user).toBeFalsy();
      expect(info).toBeInstanceOf(JsonWebTokenError);
    }
    expect(verify).toHaveBeenCalledTimes(2);
    expect(revocations.find).not.toHaveBeenCalled();
  });

  it('should not cache a verified token whose claims were refused', async () => {
    const token = sign();
    const refused = AppException.rejectedToken('invalid_token', 'not an access token');
    checkDecoded.mockImplementationOnce(() => {
      throw refused;
    });
    expect((await authenticate(token)).error).toBe(refused);
    expect((await authenticate(token)).user).toBeTruthy();
    expect(verify).toHaveBeenCalledTimes(2);
  });

  it('should treat an altered copy of a cached token as a miss, and refuse it', async () => {
    const token = sign();
    await authenticate(token);
    const [header, payload, signature] = token.split('.');
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as object;
    const altered = Buffer.from(JSON.stringify({ ...claims, sub: 'someone-else' })).toString(
      'base64url',
    );
    const { user, info } = await authenticate(`${header}.${altered}.${signature}`);
    expect(user).toBeFalsy();
    expect(info).toBeInstanceOf(JsonWebTokenError);
    expect(verify).toHaveBeenCalledTimes(2);
  });
});
