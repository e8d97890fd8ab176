import createClient, { type Client, type Middleware } from 'openapi-fetch';
import type { components, paths } from './schema.js';

export type { components, paths };
export type TokenPair = components['schemas']['TokenPairResponseDto'];
export type Problem = components['schemas']['ProblemDetailsDto'];
export type Session = components['schemas']['SessionResponseDto'];
export type User = components['schemas']['UserResponseDto'];

/** A problem+json answer (RFC 9457) as an error: its stable `code`, `status` and `detail`. */
export class AuthError extends Error {
  override readonly name = 'AuthError';
  readonly code: string;
  readonly status: number;
  readonly detail: string;
  /** The whole body, with extensions such as `errors` or `mfa_token`. */
  readonly problem: Record<string, unknown>;

  constructor(status: number, problem: Record<string, unknown>) {
    const detail = typeof problem.detail === 'string' ? problem.detail : `HTTP ${status}`;
    super(detail);
    this.status = status;
    this.code = typeof problem.code === 'string' ? problem.code : 'unknown';
    this.detail = detail;
    this.problem = problem;
  }
}

export interface AuthClientOptions {
  /** Where the service is, e.g. `https://auth.example.com`. */
  baseUrl: string;
  /**
   * How the service delivers refresh tokens (its TOKEN_DELIVERY): `body` keeps the refresh token in
   * this client's memory; `cookie` (browsers) leaves it in the HttpOnly cookie and sends the CSRF
   * header on refresh. `both` on the service works with either.
   */
  delivery?: 'body' | 'cookie';
  /** A fetch of your own (tests, instrumentation), given a Request; the global one by default. */
  fetch?: (request: Request) => Promise<Response>;
  /** Cookie mode: how to read the `csrf_token` cookie; `document.cookie` by default. */
  csrfToken?: () => string | undefined;
}

/** What sign-in answers: signed in, or the second factor is needed first. */
export type SignInResult =
  { status: 'signed-in'; tokens: TokenPair } | { status: 'mfa-required'; mfaToken: string };

const readCsrfCookie = (): string | undefined => {
  const cookies = (globalThis as { document?: { cookie?: string } }).document?.cookie ?? '';
  return /(?:^|;\s*)csrf_token=([^;]*)/.exec(cookies)?.[1];
};

/**
 * The service's API, typed from its OpenAPI document, with the session handled: tokens are kept
 * after sign-in, sent with every call, and refreshed once when a call answers 401 `token_expired`
 * (concurrent calls share that one refresh), then the call is retried.
 */
export class AuthClient {
  /** Every operation of the API, typed (openapi-fetch), with the access token attached. */
  readonly api: Client<paths>;
  private accessToken: string | undefined;
  private refreshToken: string | undefined;
  private refreshing: Promise<void> | undefined;
  private readonly delivery: 'body' | 'cookie';
  private readonly fetchImpl: (request: Request) => Promise<Response>;
  private readonly csrfToken: () => string | undefined;
  /** Copies of the requests sent, to retry after a refresh (a body can be read once). */
  private readonly retries = new WeakMap<Request, Request>();

  constructor(private readonly options: AuthClientOptions) {
    this.delivery = options.delivery ?? 'body';
    this.fetchImpl = options.fetch ?? ((request) => globalThis.fetch(request));
    this.csrfToken = options.csrfToken ?? readCsrfCookie;
    this.api = createClient<paths>({
      baseUrl: options.baseUrl,
      fetch: (request: Request) => this.fetchImpl(request),
      credentials: this.delivery === 'cookie' ? 'include' : 'same-origin',
    });
    this.api.use(this.session());
  }

  /** The tokens held now (body mode has the refresh token too). */
  get tokens(): { accessToken?: string; refreshToken?: string } {
    return { accessToken: this.accessToken, refreshToken: this.refreshToken };
  }

  /** Takes tokens from elsewhere (storage, another tab). */
  setTokens(tokens: { accessToken?: string; refreshToken?: string }): void {
    this.accessToken = tokens.accessToken;
    this.refreshToken = tokens.refreshToken ?? this.refreshToken;
  }

  async signUp(email: string, password: string): Promise<User> {
    return this.unwrap(await this.api.POST('/signup', { body: { email, password } }));
  }

  async signIn(email: string, password: string): Promise<SignInResult> {
    const { data, error, response } = await this.api.POST('/signin', {
      body: { email, password },
    });
    if (error !== undefined) {
      const problem = error as Record<string, unknown>;
      if (response.status === 403 && problem.code === 'mfa_required') {
        return { status: 'mfa-required', mfaToken: String(problem.mfa_token) };
      }
      throw new AuthError(response.status, problem);
    }
    this.keep(data);
    return { status: 'signed-in', tokens: data };
  }

  /** The second step: a code from the authenticator app, or a recovery code. */
  async signInWithSecondFactor(
    mfaToken: string,
    answer: { code: string } | { recoveryCode: string },
  ): Promise<TokenPair> {
    const body =
      'code' in answer
        ? { mfa_token: mfaToken, code: answer.code }
        : { mfa_token: mfaToken, recovery_code: answer.recoveryCode };
    const pair = this.unwrap(await this.api.POST('/signin/mfa', { body }));
    this.keep(pair);
    return pair;
  }

  /** A new pair now; concurrent callers share one refresh. */
  refresh(): Promise<void> {
    this.refreshing ??= this.refreshOnce().finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  async protected(): Promise<components['schemas']['ProtectedResponseDto']> {
    return this.unwrap(await this.api.GET('/protected'));
  }

  async me(): Promise<User> {
    return this.unwrap(await this.api.GET('/me'));
  }

  async sessions(): Promise<Session[]> {
    return this.unwrap(await this.api.GET('/sessions'));
  }

  async endSession(id: string): Promise<void> {
    this.unwrap(await this.api.DELETE('/sessions/{id}', { params: { path: { id } } }), true);
  }

  /** Logs out (`current`), or ends the other sessions or all of them; forgets the tokens. */
  async revoke(scope: 'current' | 'others' | 'all' = 'current'): Promise<void> {
    this.unwrap(await this.api.POST('/revoke', { body: { scope } }));
    if (scope !== 'others') {
      this.accessToken = undefined;
      this.refreshToken = undefined;
    }
  }

  private async refreshOnce(): Promise<void> {
    const headers: Record<string, string> = {};
    let body: { refresh_token: string } | undefined;
    if (this.delivery === 'cookie') {
      headers['X-CSRF-Token'] = this.csrfToken() ?? '';
    } else if (this.refreshToken !== undefined) {
      body = { refresh_token: this.refreshToken };
    } else {
      throw new AuthError(401, { code: 'token_missing', detail: 'Sign in first' });
    }
    // Straight to fetch: the refresh itself must not go through the retry below.
    const response = await this.fetchImpl(
      new Request(new URL('/refresh', this.options.baseUrl), {
        method: 'POST',
        credentials: this.delivery === 'cookie' ? 'include' : 'same-origin',
        headers: { ...headers, ...(body ? { 'Content-Type': 'application/json' } : {}) },
        body: body ? JSON.stringify(body) : undefined,
      }),
    );
    const payload = (await response.json().catch(() => ({}))) as Record<string, unknown>;
    if (!response.ok) {
      this.accessToken = undefined;
      throw new AuthError(response.status, payload);
    }
    this.keep(payload as unknown as TokenPair);
  }

  private keep(pair: TokenPair): void {
    this.accessToken = pair.access_token;
    if (pair.refresh_token !== undefined) {
      this.refreshToken = pair.refresh_token;
    }
  }

  /** Sends the access token; on 401 `token_expired`, refreshes once and retries the call. */
  private session(): Middleware {
    return {
      onRequest: ({ request }) => {
        if (this.accessToken !== undefined && !request.headers.has('Authorization')) {
          request.headers.set('Authorization', `Bearer ${this.accessToken}`);
        }
        this.retries.set(request, request.clone());
        return request;
      },
      onResponse: async ({ request, response }) => {
        const copy = this.retries.get(request);
        if (response.status !== 401 || copy === undefined || this.accessToken === undefined) {
          return response;
        }
        const problem = (await response
          .clone()
          .json()
          .catch(() => ({}))) as { code?: string };
        if (problem.code !== 'token_expired') {
          return response;
        }
        // Refreshed by a call that failed before this one? Then only the retry is left to do.
        const used = request.headers.get('Authorization')?.replace(/^Bearer /, '');
        if (used === this.accessToken) {
          await this.refresh();
        }
        copy.headers.set('Authorization', `Bearer ${this.accessToken}`);
        return this.fetchImpl(copy);
      },
    };
  }

  /** The data of a success; a problem answer as an AuthError. */
  private unwrap<T>(result: { data?: T; error?: unknown; response: Response }, empty = false): T {
    if (result.error !== undefined || !result.response.ok) {
      throw new AuthError(result.response.status, (result.error ?? {}) as Record<string, unknown>);
    }
    return (empty ? undefined : result.data) as T;
  }
}

/** `new AuthClient(options)`. */
export const createAuthClient = (options: AuthClientOptions): AuthClient => new AuthClient(options);
