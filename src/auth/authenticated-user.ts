/** The caller of an authenticated request, as established by the JWT strategy. */
export interface AuthenticatedUser {
  userId: string;
  email: string;
  /** The token's `email_verified` claim: as it was when the token was issued. */
  emailVerified: boolean;
  sessionId: string;
  /** The session's assurance level, from the token: `aal2` once a second factor was used. */
  aal: 'aal1' | 'aal2';
  /** The methods the session was signed in with (RFC 8176), from the token. */
  amr: string[];
  /** The user's roles, from the token (as of its issue: a change shows at the next refresh). */
  roles: string[];
  /** The access token's id, for revoking exactly this token. */
  jti: string;
  /** When the access token expires. */
  expiresAt: Date;
}
