import { Injectable } from '@nestjs/common';
import { TokenCookies } from './token-cookies';
import type { TokenPairResponseDto } from '../dto/token-pair-response.dto';
import { SessionsService, SessionWithToken } from '../sessions/sessions.service';
import { AccessTokenService, TokenSubject } from './access-token.service';

/** The answer of every route that opens or continues a session: a new access and refresh token. */
@Injectable()
export class TokenPairs {
  constructor(
    private readonly accessTokens: AccessTokenService,
    private readonly sessions: SessionsService,
    private readonly cookies: TokenCookies,
  ) {}

  issue(user: TokenSubject, opened: SessionWithToken): TokenPairResponseDto {
    const access = this.accessTokens.issue(
      user,
      opened.session,
      this.sessions.accessTokenLifetime(opened.session),
    );
    const pair: TokenPairResponseDto = {
      access_token: access.token,
      token_type: 'Bearer',
      expires_in: access.expiresIn,
      refresh_token: opened.refreshToken,
    };
    this.cookies.noteExpiry(pair, opened.session.expiresAt);
    return pair;
  }
}
