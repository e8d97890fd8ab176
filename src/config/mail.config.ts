import { registerAs } from '@nestjs/config';
import { ConfigError } from './config.error';
import { Env, EnvReader } from './env-reader';

const DAY = 86400;

export type EmailVerificationMode = 'optional' | 'required' | 'off';

export interface MailConfig {
  /**
   * EMAIL_FLOWS: password reset, address verification and address change. Off, their routes
   * answer 404 and no mail is ever written; on, production needs SMTP_URL.
   */
  flowsEnabled: boolean;
  /** nodemailer's URL form; unset outside production, mails are written to the log instead. */
  smtpUrl?: string;
  from: string;
  /** The base of every link in a mail, without a trailing slash. */
  publicUrl: string;
  verification: EmailVerificationMode;
  /** Link lifetimes, seconds. */
  verificationTtl: number;
  resetTtl: number;
  changeTtl: number;
  /** Attempts per mail before it fails for good; the delay before a retry doubles each time. */
  maxAttempts: number;
  retryDelay: number;
  /** How often the outbox is looked at when nothing woke the sender. */
  pollInterval: number;
}

function smtpUrl(read: EnvReader): string | undefined {
  const text = read.raw('SMTP_URL')?.trim();
  if (text === undefined) {
    return undefined;
  }
  let url: URL | undefined;
  try {
    url = new URL(text);
  } catch {
    url = undefined;
  }
  if (!url || !['smtp:', 'smtps:'].includes(url.protocol) || !url.hostname) {
    // Never echoed: the URL may carry the SMTP password.
    throw new ConfigError('SMTP_URL', 'must be an smtp:// or smtps:// URL with a host');
  }
  return text;
}

function publicUrl(read: EnvReader, port: number): string {
  const text = read.string('PUBLIC_URL', `http://localhost:${port}`, 2048);
  let url: URL | undefined;
  try {
    url = new URL(text);
  } catch {
    url = undefined;
  }
  if (!url || !['http:', 'https:'].includes(url.protocol) || url.search || url.hash) {
    throw new ConfigError(
      'PUBLIC_URL',
      `must be an http(s) URL without query or fragment, got "${text}"`,
    );
  }
  return text.replace(/\/+$/, '');
}

export function loadMailConfig(env: Env): MailConfig {
  const read = new EnvReader(env);
  const production = env.NODE_ENV?.trim() === 'production';
  const flowsEnabled = read.boolean('EMAIL_FLOWS', true);
  const url = smtpUrl(read);
  if (production && flowsEnabled && url === undefined) {
    throw new ConfigError(
      'SMTP_URL',
      'is required when NODE_ENV=production: password reset, address verification and ' +
        'address change send mail (or set EMAIL_FLOWS=off to switch them off)',
    );
  }
  if (production && flowsEnabled && read.raw('PUBLIC_URL') === undefined) {
    throw new ConfigError(
      'PUBLIC_URL',
      'is required when NODE_ENV=production: it is the address every link in a mail starts with ' +
        '(or set EMAIL_FLOWS=off)',
    );
  }
  const from = read.string('MAIL_FROM', 'no-reply@localhost', 320);
  if (/[\r\n]/.test(from)) {
    throw new ConfigError('MAIL_FROM', 'must be one line');
  }
  const verification = read.oneOf<EmailVerificationMode>('EMAIL_VERIFICATION', 'optional', [
    'optional',
    'required',
    'off',
  ]);
  return {
    flowsEnabled,
    smtpUrl: url,
    from,
    publicUrl: publicUrl(read, read.int('PORT', 3000, 0, 65535)),
    verification: flowsEnabled ? verification : 'off',
    verificationTtl: read.duration('EMAIL_VERIFICATION_TTL', '24h', 30, 30 * DAY),
    resetTtl: read.duration('PASSWORD_RESET_TTL', '1h', 30, DAY),
    changeTtl: read.duration('EMAIL_CHANGE_TTL', '1h', 30, DAY),
    maxAttempts: read.int('MAIL_MAX_ATTEMPTS', 10, 1, 100),
    retryDelay: read.duration('MAIL_RETRY_DELAY', '5s', 1, 3600),
    pollInterval: read.duration('MAIL_POLL_INTERVAL', '5s', 1, 3600),
  };
}

export const mailConfig = registerAs('mail', () => loadMailConfig(process.env));
