import { Module } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { APP_GUARD } from '@nestjs/core';
import { JwtModule } from '@nestjs/jwt';
import { PassportModule } from '@nestjs/passport';
import { TypeOrmModule } from '@nestjs/typeorm';
import type Redis from 'ioredis';
import { Clock } from '../common/clock/clock';
import { authConfig, databaseConfig } from '../config/configuration';
import { isShared } from '../database/data-source-options';
import { Transactions } from '../database/transactions';
import { REDIS } from '../redis/redis.module';
import { MailModule } from '../mail/mail.module';
import { UsersModule } from '../users/users.module';
import { AccountController } from './account.controller';
import { AccountService } from './account.service';
import { AuthController } from './auth.controller';
import { AuthService } from './auth.service';
import { EmailController } from './email/email.controller';
import { MfaController } from './mfa/mfa.controller';
import { MfaChallenge, MfaFactor, RecoveryCode } from './mfa/mfa.entities';
import { MfaRepository } from './mfa/mfa.repository';
import { MfaService } from './mfa/mfa.service';
import { EmailFlowsService } from './email/email-flows.service';
import { EmailToken } from './email/email-token.entity';
import { EmailTokensRepository } from './email/email-tokens.repository';
import { ExpiredRowsPurger } from './expired-rows.purger';
import { ForwardAuthController } from './forward-auth.controller';
import { JwksController } from './jwks.controller';
import { JwtAuthGuard } from './guards/jwt-auth.guard';
import { Credentials } from './passwords/credentials';
import { PasswordHasher } from './passwords/password-hasher.service';
import { FailedSigninLimiter } from './rate-limit/failed-signin-limiter';
import { FailureStore, MemoryFailureStore, RedisFailureStore } from './rate-limit/failure-store';
import { RateLimitGuard } from './rate-limit/rate-limit';
import {
  InMemoryRevocationCheck,
  RevocationCheck,
  SharedRevocationCheck,
} from './revocation/revocation-check';
import { RevocationQueryRepository } from './revocation/revocation-query.repository';
import { RevokedToken } from './revoked-tokens/revoked-token.entity';
import { RevokedTokensRepository } from './revoked-tokens/revoked-tokens.repository';
import { RevokedTokensService } from './revoked-tokens/revoked-tokens.service';
import { Session } from './sessions/session.entity';
import { SessionsRepository } from './sessions/sessions.repository';
import { SessionsService } from './sessions/sessions.service';
import { JwtStrategy } from './strategies/jwt.strategy';
import { AccessTokenService } from './tokens/access-token.service';
import { JwtKeys } from './tokens/jwt-keys';
import { JwtKeysModule } from './tokens/jwt-keys.module';
import { TokenCookies, TokenDeliveryInterceptor } from './tokens/token-cookies';
import { TokenPairs } from './tokens/token-pairs';

@Module({
  imports: [
    UsersModule,
    MailModule,
    PassportModule,
    JwtKeysModule,
    TypeOrmModule.forFeature([
      Session,
      RevokedToken,
      EmailToken,
      MfaFactor,
      RecoveryCode,
      MfaChallenge,
    ]),
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
  controllers: [
    AuthController,
    ForwardAuthController,
    AccountController,
    EmailController,
    MfaController,
    JwksController,
  ],
  providers: [
    AuthService,
    AccountService,
    EmailFlowsService,
    EmailTokensRepository,
    MfaService,
    MfaRepository,
    PasswordHasher,
    Credentials,
    SessionsService,
    SessionsRepository,
    RevokedTokensService,
    RevokedTokensRepository,
    RevocationQueryRepository,
    AccessTokenService,
    TokenPairs,
    TokenCookies,
    TokenDeliveryInterceptor,
    JwtStrategy,
    ExpiredRowsPurger,
    FailedSigninLimiter,
    RateLimitGuard,
    { provide: APP_GUARD, useClass: JwtAuthGuard },
    // The deployment mode is chosen here, once: embedded (SQLite, one process, state in memory)
    // or shared (PostgreSQL, with Redis for the counters). Services never ask which.
    {
      provide: RevocationCheck,
      inject: [
        databaseConfig.KEY,
        authConfig.KEY,
        RevocationQueryRepository,
        RevokedTokensRepository,
        SessionsRepository,
        Transactions,
        Clock,
      ],
      useFactory: (
        database: ConfigType<typeof databaseConfig>,
        auth: ConfigType<typeof authConfig>,
        sharedQuery: RevocationQueryRepository,
        revokedTokens: RevokedTokensRepository,
        sessions: SessionsRepository,
        transactions: Transactions,
        clock: Clock,
      ): RevocationCheck =>
        isShared(database)
          ? new SharedRevocationCheck(sharedQuery)
          : new InMemoryRevocationCheck(
              revokedTokens,
              sessions,
              transactions,
              clock,
              auth.accessTtl,
            ),
    },
    {
      provide: FailureStore,
      inject: [Clock, { token: REDIS, optional: true }],
      useFactory: (clock: Clock, redis?: Redis): FailureStore =>
        redis ? new RedisFailureStore(redis) : new MemoryFailureStore(clock),
    },
  ],
  // For the admin module: what operators act on.
  exports: [SessionsService, MfaService, MfaRepository, FailedSigninLimiter, AuthService],
})
export class AuthModule {}
