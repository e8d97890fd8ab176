/**
 * Every machine-readable error code the service answers with. Clients may switch on these;
 * they never change meaning. The HTTP status and a human title belong to each code.
 */
export const ERROR_CODES = {
  validation_failed: { status: 400, title: 'Request validation failed' },
  invalid_json: { status: 400, title: 'Malformed JSON body' },
  weak_password: { status: 400, title: 'Password too common' },
  password_unchanged: { status: 400, title: 'New password equals the current one' },
  bad_request: { status: 400, title: 'Bad request' },
  link_invalid: { status: 400, title: 'Link unknown, expired or already used' },
  email_unchanged: { status: 400, title: 'New address equals the current one' },
  invalid_code: { status: 400, title: 'Code incorrect' },
  invalid_credentials: { status: 401, title: 'Invalid email or password' },
  token_missing: { status: 401, title: 'Authentication required' },
  invalid_token: { status: 401, title: 'Invalid token' },
  token_expired: { status: 401, title: 'Token expired' },
  token_revoked: { status: 401, title: 'Token revoked' },
  session_revoked: { status: 401, title: 'Session revoked' },
  session_expired: { status: 401, title: 'Session expired' },
  invalid_refresh_token: { status: 401, title: 'Invalid refresh token' },
  refresh_token_reused: { status: 401, title: 'Refresh token reused' },
  mfa_token_invalid: { status: 401, title: 'Second-factor token invalid' },
  forbidden: { status: 403, title: 'Forbidden' },
  invalid_password: { status: 403, title: 'Password incorrect' },
  email_not_verified: { status: 403, title: 'Email address not verified' },
  mfa_required: { status: 403, title: 'Second factor required' },
  mfa_step_up_required: { status: 403, title: 'Sign in with the second factor first' },
  mfa_enrollment_required: { status: 403, title: 'Second factor needed for this role' },
  account_disabled: { status: 403, title: 'Account disabled' },
  csrf_failed: { status: 403, title: 'CSRF check failed' },
  not_found: { status: 404, title: 'Not found' },
  session_not_found: { status: 404, title: 'Session not found' },
  user_not_found: { status: 404, title: 'User not found' },
  mfa_not_pending: { status: 404, title: 'No second factor awaiting verification' },
  mfa_not_enabled: { status: 404, title: 'No second factor enabled' },
  method_not_allowed: { status: 405, title: 'Method not allowed' },
  not_acceptable: { status: 406, title: 'Not acceptable' },
  request_timeout: { status: 408, title: 'Request timeout' },
  email_taken: { status: 409, title: 'Email already registered' },
  mfa_already_enabled: { status: 409, title: 'Second factor already enabled' },
  payload_too_large: { status: 413, title: 'Payload too large' },
  unsupported_media_type: { status: 415, title: 'Unsupported media type' },
  rate_limited: { status: 429, title: 'Too many requests' },
  headers_too_large: { status: 431, title: 'Request headers too large' },
  internal_error: { status: 500, title: 'Internal server error' },
  service_unavailable: { status: 503, title: 'Service unavailable' },
} as const satisfies Record<string, { status: number; title: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

const CODE_BY_STATUS = new Map<number, ErrorCode>();
for (const [code, { status }] of Object.entries(ERROR_CODES) as [ErrorCode, { status: number }][]) {
  if (!CODE_BY_STATUS.has(status)) {
    CODE_BY_STATUS.set(status, code);
  }
}
CODE_BY_STATUS.set(400, 'bad_request');
CODE_BY_STATUS.set(401, 'token_missing');

/** The generic code for a status that no more specific error named. */
export function codeForStatus(status: number): ErrorCode {
  return CODE_BY_STATUS.get(status) ?? (status >= 500 ? 'internal_error' : 'bad_request');
}

/** The problem `type` URI of a code (RFC 9457 section 3.1.1). */
export function problemType(code: ErrorCode): string {
  return `urn:nest-jwt-auth:problem:${code}`;
}
