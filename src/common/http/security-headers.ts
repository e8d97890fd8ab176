import type { IncomingMessage, ServerResponse } from 'node:http';
import helmet from 'helmet';

export type SecurityHeaders = Readonly<Record<string, string>>;

/**
 * The headers helmet sets with the Content-Security-Policy `directives` (and nothing may frame the
 * answer), computed once: helmet runs against a stand-in response
 * at start-up and every request gets the result. Run per request, helmet rebuilds the same
 * Content-Security-Policy string each time (docs/performance.md has what that cost).
 */
export function securityHeadersOf(directives: Record<string, string[]>): SecurityHeaders {
  const headers: Record<string, string> = {};
  const response = {
    setHeader(name: string, value: string | number | readonly string[]) {
      headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : String(value);
    },
    removeHeader(name: string) {
      delete headers[name.toLowerCase()];
    },
  };
  const outcome: { done: boolean; error?: unknown } = { done: false };
  // Nothing here may be framed, whichever page it is (X-Frame-Options for older browsers too).
  const options = {
    xFrameOptions: { action: 'deny' as const },
    contentSecurityPolicy: { useDefaults: false, directives },
  };
  helmet(options)(
    {} as IncomingMessage,
    response as unknown as ServerResponse,
    (error?: unknown) => {
      outcome.done = true;
      outcome.error = error;
    },
  );
  if (!outcome.done || outcome.error !== undefined) {
    // A directive computed per request (a nonce) cannot be computed once.
    throw new Error('helmet did not finish at start-up', { cause: outcome.error });
  }
  return Object.freeze(headers);
}

/**
 * The API's policy: its answers are JSON, never a page, so nothing may be loaded, framed or
 * submitted from them.
 */
export const API_SECURITY_HEADERS = securityHeadersOf({
  defaultSrc: ["'none'"],
  frameAncestors: ["'none'"],
  baseUri: ["'none'"],
  formAction: ["'none'"],
});

/** The API docs page (Swagger UI, served from this origin): its scripts, inline styles and data: images. */
export const DOCS_SECURITY_HEADERS = securityHeadersOf({
  defaultSrc: ["'self'"],
  scriptSrc: ["'self'"],
  scriptSrcAttr: ["'none'"],
  styleSrc: ["'self'", "'unsafe-inline'"],
  imgSrc: ["'self'", 'data:'],
  connectSrc: ["'self'"],
  frameAncestors: ["'none'"],
  formAction: ["'self'"],
  objectSrc: ["'none'"],
  baseUri: ["'self'"],
  upgradeInsecureRequests: [],
});
