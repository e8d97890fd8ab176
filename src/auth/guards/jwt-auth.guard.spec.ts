import { ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { TokenExpiredError } from 'jsonwebtoken';
import { AppException } from '../../common/errors/app.exception';
import { JwtStrategy } from '../strategies/jwt.strategy';
import { JwtAuthGuard } from './jwt-auth.guard';

function contextWith(
  authorization?: string,
  request: Record<string, unknown> = {
    headers: authorization === undefined ? {} : { authorization },
  },
): ExecutionContext {
  return {
    getHandler: () => () => undefined,
    getClass: () => class {},
    switchToHttp: () => ({ getRequest: () => request }),
  } as unknown as ExecutionContext;
}

function caught(fn: () => unknown): AppException {
  try {
    fn();
  } catch (error) {
    return error as AppException;
  }
  throw new Error('expected an exception');
}

describe(JwtAuthGuard.name, () => {
  const reflector = { getAllAndOverride: jest.fn() } as unknown as Reflector & {
    getAllAndOverride: jest.Mock;
  };
  const strategy = { verifiedUser: jest.fn() };
  const guard = new JwtAuthGuard(reflector, strategy as unknown as JwtStrategy);

  it('should take the user of a token verified before from the strategy, without passport', async () => {
    const user = { userId: 'u' };
    const request: Record<string, unknown> = { headers: { authorization: 'Bearer x' } };
    strategy.verifiedUser.mockReturnValueOnce(Promise.resolve(user));
    await expect(guard.canActivate(contextWith('Bearer x', request))).resolves.toBe(true);
    expect(strategy.verifiedUser).toHaveBeenLastCalledWith(request);
    expect(request.user).toBe(user);
  });

  it('should refuse a request whose known token the strategy rejects (revoked)', async () => {
    const request: Record<string, unknown> = { headers: { authorization: 'Bearer x' } };
    const revoked = AppException.rejectedToken('token_revoked', 'revoked');
    strategy.verifiedUser.mockReturnValueOnce(Promise.reject(revoked));
    await expect(guard.canActivate(contextWith('Bearer x', request))).rejects.toBe(revoked);
    expect(request.user).toBeUndefined();
  });

  it('should tell a public controller from a protected one that shares the same handler', async () => {
    const inherited = () => undefined;
    class PublicController {}
    class ProtectedController {}
    reflector.getAllAndOverride.mockImplementation(
      (_key: string, targets: unknown[]) => targets[1] === PublicController,
    );
    const on = (controller: object): ExecutionContext =>
      ({
        getHandler: () => inherited,
        getClass: () => controller,
        switchToHttp: () => ({ getRequest: () => ({ headers: {} }) }),
      }) as unknown as ExecutionContext;
    try {
      expect(guard.canActivate(on(PublicController))).toBe(true);
      strategy.verifiedUser.mockReturnValueOnce(
        Promise.reject(new AppException('token_missing', 'no token')),
      );
      await expect(guard.canActivate(on(ProtectedController))).rejects.toMatchObject({
        code: 'token_missing',
      });
    } finally {
      reflector.getAllAndOverride.mockReset();
    }
  });

  it('should let @Public() routes through without a token', () => {
    reflector.getAllAndOverride.mockReturnValueOnce(true);
    expect(guard.canActivate(contextWith())).toBe(true);
  });

  it('should return the user when the strategy accepted the token', () => {
    const user = { userId: 'u' };
    expect(guard.handleRequest(null, user, undefined, contextWith('Bearer x'))).toBe(user);
  });

  it('should ask for a token, without marking it rejected, when none was sent', () => {
    const error = caught(() =>
      guard.handleRequest(null, false, new Error('No auth token'), contextWith()),
    );
    expect(error.code).toBe('token_missing');
    expect(error.tokenRejected).toBe(false);
  });

  it('should map an expired token to token_expired', () => {
    const info = new TokenExpiredError('jwt expired', new Date());
    const error = caught(() => guard.handleRequest(null, false, info, contextWith('Bearer x')));
    expect(error.code).toBe('token_expired');
    expect(error.tokenRejected).toBe(true);
  });

  it('should pass on domain errors raised by the strategy', () => {
    const revoked = AppException.rejectedToken('token_revoked', 'revoked');
    expect(
      caught(() => guard.handleRequest(revoked, false, undefined, contextWith('Bearer x'))),
    ).toBe(revoked);
  });

  it('should leave faults such as a database outage as server errors, not 401s', () => {
    const fault = new Error('database is locked');
    expect(
      caught(() => guard.handleRequest(fault, false, undefined, contextWith('Bearer x'))),
    ).toBe(fault);
  });

  it('should reject a header that is not a Bearer credential', () => {
    const error = caught(() =>
      guard.handleRequest(null, false, new Error('No auth token'), contextWith('Basic abc')),
    );
    expect(error.code).toBe('invalid_token');
  });
});
