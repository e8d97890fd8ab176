import type { FieldError } from './app.exception';
import { ERROR_CODES, ErrorCode, problemType } from './error-code';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json; charset=utf-8';

/** An RFC 9457 problem document, plus our stable `code`. */
export interface ProblemDetails {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: ErrorCode;
  instance: string;
  errors?: FieldError[];
  /** The second step of a sign-in (`mfa_required`). */
  mfa_token?: string;
}

export function problem(
  code: ErrorCode,
  detail: string,
  instance: string,
  errors?: FieldError[],
  status: number = ERROR_CODES[code].status,
): ProblemDetails {
  return {
    type: problemType(code),
    title: ERROR_CODES[code].title,
    status,
    detail,
    code,
    instance,
    ...(errors ? { errors } : {}),
  };
}
