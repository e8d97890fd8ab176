import { randomUUID } from 'node:crypto';
import { Test } from '@nestjs/testing';
import { AppException } from '../common/errors/app.exception';
import { authConfig } from '../config/configuration';
import { Transactions } from '../database/transactions';
import { MetricsService } from '../metrics/metrics.service';
import { UsersRepository } from '../users/users.repository';
import { UsersService } from '../users/users.service';
import { AuthService } from './auth.service';
import { Credentials } from './passwords/credentials';
import { PasswordHasher } from './passwords/password-hasher.service';
import { FailedSigninLimiter } from './rate-limit/failed-signin-limiter';
import { RevokedTokensService } from './revoked-tokens/revoked-tokens.service';
import { SessionsService } from './sessions/sessions.service';
import { AccessTokenService } from './tokens/access-token.service';
import { TokenPairs } from './tokens/token-pairs';
import { EmailFlowsService } from './email/email-flows.service';
import { MfaService } from './mfa/mfa.service';
import { AuditLog } from '../audit/audit-log.service';

/** A signed, unexpired access token's shape; its claims come from the mocked verifier. */
const ACCESS_TOKEN = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln';

describe(`${AuthService.name}: the access-token exchange`, () => {
  const claims = {
    sub: randomUUID(),
    sid: randomUUID(),
    jti: randomUUID(),
    email: 'abc@abc.com',
    iat: 1,
    exp: 2_000_000_000,
  };
  const session = { id: claims.sid };
  const restarted = { session, refreshToken: 'next' };
  let sessions: { lockActive: jest.Mock; restartChain: jest.Mock; revoke: jest.Mock };
  let revokedTokens: { findByJti: jest.Mock; revoke: jest.Mock };
  let config: { refreshAcceptsAccessToken: boolean };
  let auth: AuthService;
  const tx = { unit: 'of work' };

  beforeEach(async () => {
    sessions = {
      lockActive: jest.fn().mockResolvedValue(session),
      restartChain: jest.fn().mockResolvedValue(restarted),
      revoke: jest.fn().mockResolvedValue(undefined),
    };
    revokedTokens = {
      findByJti: jest.fn().mockResolvedValue(null),
      revoke: jest.fn().mockResolvedValue(undefined),
    };
    config = { refreshAcceptsAccessToken: true };
    const moduleRef = await Test.createTestingModule({
      providers: [
        AuthService,
        { provide: SessionsService, useValue: sessions },
        { provide: RevokedTokensService, useValue: revokedTokens },
        { provide: AccessTokenService, useValue: { verify: jest.fn().mockReturnValue(claims) } },
        { provide: TokenPairs, useValue: { issue: jest.fn().mockReturnValue({ pair: true }) } },
        {
          provide: Transactions,
          useValue: { run: (work: (t: unknown) => Promise<unknown>) => work(tx) },
        },
        { provide: MetricsService, useValue: { refresh: jest.fn(), signin: jest.fn() } },
        { provide: authConfig.KEY, useValue: config },
        {
          provide: UsersService,
          useValue: {
            findById: jest.fn().mockResolvedValue({ id: 'u', email: 'e', emailVerifiedAt: null }),
          },
        },
        { provide: UsersRepository, useValue: {} },
        { provide: PasswordHasher, useValue: {} },
        { provide: Credentials, useValue: {} },
        { provide: FailedSigninLimiter, useValue: {} },
        { provide: EmailFlowsService, useValue: {} },
        { provide: MfaService, useValue: {} },
        { provide: AuditLog, useValue: { record: jest.fn().mockResolvedValue(undefined) } },
      ],
    }).compile();
    auth = moduleRef.get(AuthService);
  });

  async function code(promise: Promise<unknown>): Promise<string> {
    const error = await promise.then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(AppException);
    return (error as AppException).code;
  }

  it('should spend the token and restart the chain in one unit of work', async () => {
    await expect(auth.refresh(ACCESS_TOKEN)).resolves.toEqual({ pair: true });
    expect(sessions.lockActive).toHaveBeenCalledWith(claims.sid, tx);
    expect(revokedTokens.revoke).toHaveBeenCalledWith(
      { jti: claims.jti, sessionId: claims.sid, expiresAt: new Date(claims.exp * 1000) },
      'exchanged',
      tx,
    );
    expect(sessions.restartChain).toHaveBeenCalledWith(session, tx);
    expect(sessions.lockActive.mock.invocationCallOrder[0]).toBeLessThan(
      revokedTokens.findByJti.mock.invocationCallOrder[0],
    );
  });

  it('should treat a second exchange of one token as reuse and revoke the session', async () => {
    revokedTokens.findByJti.mockResolvedValue({ reason: 'exchanged' });
    expect(await code(auth.refresh(ACCESS_TOKEN))).toBe('refresh_token_reused');
    expect(sessions.revoke).toHaveBeenCalledWith(claims.sid, 'reuse_detected');
    expect(sessions.restartChain).not.toHaveBeenCalled();
    expect(revokedTokens.revoke).not.toHaveBeenCalled();
  });

  it('should refuse a token revoked at logout without touching the session', async () => {
    revokedTokens.findByJti.mockResolvedValue({ reason: 'logout' });
    expect(await code(auth.refresh(ACCESS_TOKEN))).toBe('token_revoked');
    expect(sessions.revoke).not.toHaveBeenCalled();
    expect(sessions.restartChain).not.toHaveBeenCalled();
  });

  it('should refuse a token of an ended session before spending it', async () => {
    sessions.lockActive.mockRejectedValue(
      AppException.rejectedToken('session_revoked', 'The session has been revoked'),
    );
    expect(await code(auth.refresh(ACCESS_TOKEN))).toBe('session_revoked');
    expect(revokedTokens.revoke).not.toHaveBeenCalled();
  });

  it('should refuse access tokens when the exchange is turned off', async () => {
    config.refreshAcceptsAccessToken = false;
    expect(await code(auth.refresh(ACCESS_TOKEN))).toBe('invalid_refresh_token');
    expect(sessions.lockActive).not.toHaveBeenCalled();
  });
});

describe(`${AuthService.name}: sign-in`, () => {
  const client = { ip: '203.0.113.7', userAgent: 'jest' };
  let hasher: PasswordHasher;
  let verify: jest.SpyInstance<Promise<boolean>, [string | undefined, string]>;
  let userRows: { findByEmailWithPassword: jest.Mock };
  let sessions: { open: jest.Mock };
  let auth: AuthService;

  beforeEach(async () => {
    // The real hasher, watched: each verification still does the real Argon2 work.
    hasher = new PasswordHasher();
    verify = jest.spyOn(hasher, 'verify');
    userRows = { findByEmailWithPassword: jest.fn().mockResolvedValue(null) };
    sessions = { open: jest.fn() };
    const moduleRef = await Test.createTestingModule({
      providers: [
        AuthService,
        { provide: PasswordHasher, useValue: hasher },
        { provide: UsersRepository, useValue: userRows },
        { provide: SessionsService, useValue: sessions },
        {
          provide: FailedSigninLimiter,
          useValue: {
            guard: (_account: string, _ip: string, check: () => Promise<unknown>) => check(),
          },
        },
        { provide: Credentials, useValue: { lockStillValid: jest.fn() } },
        {
          provide: Transactions,
          useValue: { run: (work: (t: unknown) => Promise<unknown>) => work({}) },
        },
        { provide: TokenPairs, useValue: { issue: jest.fn() } },
        { provide: EmailFlowsService, useValue: {} },
        { provide: MfaService, useValue: {} },
        { provide: AuditLog, useValue: { record: jest.fn().mockResolvedValue(undefined) } },
        { provide: UsersService, useValue: {} },
        { provide: RevokedTokensService, useValue: {} },
        { provide: AccessTokenService, useValue: {} },
        { provide: authConfig.KEY, useValue: { refreshAcceptsAccessToken: true } },
      ],
    }).compile();
    auth = moduleRef.get(AuthService);
  });

  async function code(promise: Promise<unknown>): Promise<string> {
    const error = await promise.then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(AppException);
    return (error as AppException).code;
  }

  it('should run the dummy Argon2 verification for an unknown email, and answer only after it', async () => {
    const events: string[] = [];
    verify.mockImplementationOnce(async (storedHash, password) => {
      const valid = await PasswordHasher.prototype.verify.call(hasher, storedHash, password);
      events.push('verified');
      return valid;
    });
    const answer = code(
      auth.signIn({ email: 'nobody@example.com', password: 'a-guess-12345' }, client),
    ).then((answered) => {
      events.push('answered');
      return answered;
    });
    expect(await answer).toBe('invalid_credentials');
    expect(userRows.findByEmailWithPassword).toHaveBeenCalledWith('nobody@example.com');
    expect(verify).toHaveBeenCalledTimes(1);
    expect(verify).toHaveBeenCalledWith(undefined, 'a-guess-12345');
    expect(events).toEqual(['verified', 'answered']);
    expect(sessions.open).not.toHaveBeenCalled();
  });

  it('should cost a wrong password for a known email the same single verification', async () => {
    const passwordHash = await hasher.hash('the-right-password');
    verify.mockClear();
    userRows.findByEmailWithPassword.mockResolvedValue({
      id: randomUUID(),
      email: 'known@example.com',
      passwordHash,
    });
    expect(
      await code(auth.signIn({ email: 'known@example.com', password: 'a-guess-12345' }, client)),
    ).toBe('invalid_credentials');
    expect(verify.mock.calls).toEqual([[passwordHash, 'a-guess-12345']]);
    expect(sessions.open).not.toHaveBeenCalled();
  });
});
