import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { JwtModule } from '@nestjs/jwt';
import { PassportModule } from '@nestjs/passport';
import { TypeOrmModule } from '@nestjs/typeorm';
import { UsersModule } from '../users/users.module';
import { AccountController } from './account.controller';
import { AccountService } from './account.service';
import { AuthController } from './auth.controller';
import { AuthService } from './auth.service';
import { ExpiredRowsPurger } from './expired-rows.purger';
import { JwksController } from './jwks.controller';
import { JwtAuthGuard } from './guards/jwt-auth.guard';
import { PasswordHasher } from './passwords/password-hasher.service';
import { FailedSigninLimiter } from './rate-limit/failed-signin-limiter';
import { RateLimitGuard } from './rate-limit/rate-limit';
import { RevocationCheck } from './revocation/revocation-check';
import { RevokedToken } from './revoked-tokens/revoked-token.entity';
import { RevokedTokensService } from './revoked-tokens/revoked-tokens.service';
import { Session } from './sessions/session.entity';
import { SessionsService } from './sessions/sessions.service';
import { JwtStrategy } from './strategies/jwt.strategy';
import { AccessTokenService } from './tokens/access-token.service';
import { JwtKeys } from './tokens/jwt-keys';
import { JwtKeysModule } from './tokens/jwt-keys.module';

@Module({
  imports: [
    UsersModule,
    PassportModule,
    JwtKeysModule,
    TypeOrmModule.forFeature([Session, RevokedToken]),
    // Signing key only: every verification passes AccessTokenService.verifyOptions.
    JwtModule.registerAsync({
      imports: [JwtKeysModule],
      inject: [JwtKeys],
      useFactory: (keys: JwtKeys) => ({
        secret: keys.signingKey,
        signOptions: { algorithm: keys.algorithm },
      }),
    }),
  ],
  controllers: [AuthController, AccountController, JwksController],
  providers: [
    AuthService,
    AccountService,
    PasswordHasher,
    SessionsService,
    RevokedTokensService,
    RevocationCheck,
    AccessTokenService,
    JwtStrategy,
    ExpiredRowsPurger,
    FailedSigninLimiter,
    RateLimitGuard,
    { provide: APP_GUARD, useClass: JwtAuthGuard },
  ],
})
export class AuthModule {}
