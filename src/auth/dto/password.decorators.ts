import { applyDecorators } from '@nestjs/common';
import { IsDefined, IsString, MaxLength, MinLength } from 'class-validator';
import { IsNotCommonPassword } from '../../common/validation/common-passwords';

export const PASSWORD_MIN_LENGTH = 8;
export const PASSWORD_MAX_LENGTH = 128;

// applyDecorators registers in the order listed, and only the first failing rule is reported,
// so the most basic rule comes first.

/**
 * A password being checked against the stored one: required, a string, at most 128 characters
 * (a longer one cannot match).
 */
export function IsPresentedPassword(field: string): PropertyDecorator {
  return applyDecorators(
    IsDefined({ message: `${field} is required` }),
    IsString({ message: `${field} must be a string` }),
    MaxLength(PASSWORD_MAX_LENGTH, {
      message: `${field} must be at most ${PASSWORD_MAX_LENGTH} characters long`,
    }),
  );
}

/**
 * A password being set: the policy, 8 to 128 characters of any kind, never truncated, no
 * composition rules, and not one of the most common passwords.
 */
export function IsNewPassword(field: string): PropertyDecorator {
  return applyDecorators(
    IsDefined({ message: `${field} is required` }),
    IsString({ message: `${field} must be a string` }),
    MinLength(PASSWORD_MIN_LENGTH, {
      message: `${field} must be at least ${PASSWORD_MIN_LENGTH} characters long`,
    }),
    MaxLength(PASSWORD_MAX_LENGTH, {
      message: `${field} must be at most ${PASSWORD_MAX_LENGTH} characters long`,
    }),
    IsNotCommonPassword({
      message: `${field} is one of the most commonly used passwords; choose another`,
    }),
  );
}
