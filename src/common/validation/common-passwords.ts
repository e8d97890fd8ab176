import { dictionary } from '@zxcvbn-ts/language-common';
import { registerDecorator, ValidationOptions } from 'class-validator';

/**
 * The 49,000 most common passwords from breach corpora, as ranked by zxcvbn-ts; compared
 * case-insensitively. Loaded once, no network.
 */
const COMMON = new Set(dictionary['passwords-common']);

export function isCommonPassword(password: string): boolean {
  return COMMON.has(password.toLowerCase());
}

export const NOT_COMMON_PASSWORD = 'notCommonPassword';

/** Refuses a password from the common-password list (OWASP ASVS 5, 6.2). */
export function IsNotCommonPassword(options?: ValidationOptions): PropertyDecorator {
  return (target: object, propertyName: string | symbol) =>
    registerDecorator({
      name: NOT_COMMON_PASSWORD,
      target: target.constructor,
      propertyName: propertyName as string,
      options,
      validator: {
        validate: (value: unknown) => typeof value !== 'string' || !isCommonPassword(value),
      },
    });
}
