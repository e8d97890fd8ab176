import { HttpException } from '@nestjs/common';
import { ERROR_CODES, ErrorCode } from './error-code';

export interface FieldError {
  /** The request field, e.g. `email`; nested fields use dots. */
  field: string;
  /** The rules the value broke, e.g. `isEmail`, `minLength`. */
  rules: string[];
  /** Human-readable messages, one per rule. */
  messages: string[];
}

export interface AppExceptionOptions {
  /** Field-level problems, for `validation_failed`. */
  errors?: FieldError[];
  /** A 401 caused by a token that was presented and rejected (RFC 6750 `invalid_token`). */
  tokenRejected?: boolean;
  /** Extra response headers, e.g. `Allow`. */
  headers?: Record<string, string>;
  /** Extension members of the problem document (RFC 9457 3.2), e.g. `mfa_token`. */
  extensions?: Record<string, string>;
}

/**
 * The one domain error the services throw. It carries a stable code; the exception filter turns
 * it into an RFC 9457 problem response with the code's status and title.
 */
export class AppException extends HttpException {
  readonly code: ErrorCode;
  readonly detail: string;
  readonly errors?: FieldError[];
  readonly tokenRejected: boolean;
  readonly headers: Record<string, string>;
  readonly extensions?: Record<string, string>;

  constructor(code: ErrorCode, detail: string, options: AppExceptionOptions = {}) {
    super(detail, ERROR_CODES[code].status);
    this.code = code;
    this.detail = detail;
    this.errors = options.errors;
    this.tokenRejected = options.tokenRejected ?? false;
    this.headers = options.headers ?? {};
    this.extensions = options.extensions;
  }

  /** A 401 for a token that was presented and is not acceptable. */
  static rejectedToken(code: ErrorCode, detail: string): AppException {
    return new AppException(code, detail, { tokenRejected: true });
  }
}
