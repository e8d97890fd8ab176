/** The caller of an authenticated request, as established by the JWT strategy. */
export interface AuthenticatedUser {
  userId: string;
  email: string;
  /** The token's `email_verified` claim: as it was when the token was issued. */
  emailVerified: boolean;
  sessionId: string;
  /** The access token's id, for revoking exactly this token. */
  jti: string;
  /** When the access token expires. */
  expiresAt: Date;
}
