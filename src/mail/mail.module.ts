import { Module } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { TypeOrmModule } from '@nestjs/typeorm';
import type { Logger as Pino } from 'pino';
import { ROOT_LOGGER } from '../common/logging/logging.module';
import { appConfig, mailConfig } from '../config/configuration';
import { LogTransport, MailTransport, NoTransport, SmtpTransport } from './mail-transport';
import { OutboxMail } from './outbox-mail.entity';
import { OutboxRepository } from './outbox.repository';
import { OutboxSender } from './outbox.sender';

/**
 * Mail: the outbox requests write to, and the sender that empties it through SMTP_URL (or, in
 * development without one, into the log). What each kind of mail says is its feature's business
 * (see OutboxSender.register).
 */
@Module({
  imports: [TypeOrmModule.forFeature([OutboxMail])],
  providers: [
    OutboxRepository,
    OutboxSender,
    {
      provide: MailTransport,
      inject: [mailConfig.KEY, appConfig.KEY, ROOT_LOGGER],
      useFactory: (
        config: ConfigType<typeof mailConfig>,
        app: ConfigType<typeof appConfig>,
        logger: Pino,
      ): MailTransport => {
        if (config.smtpUrl) {
          return new SmtpTransport(config.smtpUrl, config.from);
        }
        // Production without SMTP_URL has the flows off (the configuration insists): whatever an
        // earlier run left in the outbox stays there, and no link is ever logged.
        return app.production ? new NoTransport() : new LogTransport(logger);
      },
    },
  ],
  exports: [OutboxRepository, OutboxSender],
})
export class MailModule {}
