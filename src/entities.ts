import { AuditEvent } from './audit/audit-event.entity';
import { EmailToken } from './auth/email/email-token.entity';
import { MfaChallenge, MfaFactor, RecoveryCode } from './auth/mfa/mfa.entities';
import { RevokedToken } from './auth/revoked-tokens/revoked-token.entity';
import { Session } from './auth/sessions/session.entity';
import { OutboxMail } from './mail/outbox-mail.entity';
import { User } from './users/user.entity';

/**
 * Every entity of the app. The app itself does not need the list (each feature module registers
 * its own entities, and TypeOrmModule loads them); the TypeORM CLI (ormconfig.ts) and the schema
 * test do, since they build a DataSource without the modules. entities.spec.ts keeps it complete.
 */
export const ENTITIES = [
  User,
  Session,
  RevokedToken,
  EmailToken,
  OutboxMail,
  MfaFactor,
  RecoveryCode,
  MfaChallenge,
  AuditEvent,
];
