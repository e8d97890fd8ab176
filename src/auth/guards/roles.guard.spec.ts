import { ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AppException } from '../../common/errors/app.exception';
import { Roles, RolesGuard } from './roles.guard';

class AdminController {
  @Roles('admin')
  handle(): void {}

  open(): void {}
}

function contextFor(handler: () => void, roles?: string[]): ExecutionContext {
  return {
    getHandler: () => handler,
    getClass: () => AdminController,
    switchToHttp: () => ({ getRequest: () => ({ user: roles && { roles } }) }),
  } as unknown as ExecutionContext;
}

describe(RolesGuard.name, () => {
  const guard = new RolesGuard(new Reflector());
  const { handle, open } = AdminController.prototype;

  it('admits a caller whose token names the role', () => {
    expect(guard.canActivate(contextFor(handle, ['admin']))).toBe(true);
    expect(guard.canActivate(contextFor(handle, ['support', 'admin']))).toBe(true);
  });

  it('refuses others with 403 forbidden, whatever else they hold', () => {
    for (const roles of [[], ['support'], ['Admin'], undefined]) {
      let error: unknown;
      try {
        guard.canActivate(contextFor(handle, roles));
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(AppException);
      expect((error as AppException).code).toBe('forbidden');
      expect((error as AppException).getStatus()).toBe(403);
    }
  });

  it('lets a route without @Roles through', () => {
    expect(guard.canActivate(contextFor(open, []))).toBe(true);
  });
});
