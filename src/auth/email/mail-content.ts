/** What one mail says: its subject, plain text (the link on a line of its own) and HTML. */
export interface MailContent {
  subject: string;
  text: string;
  html: string;
}

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** Whole minutes or hours, for "the link works for 1 hour". */
export function lifetimeText(seconds: number): string {
  if (seconds % 3600 === 0) {
    const hours = seconds / 3600;
    return hours === 1 ? '1 hour' : `${hours} hours`;
  }
  const minutes = Math.max(1, Math.round(seconds / 60));
  return minutes === 1 ? '1 minute' : `${minutes} minutes`;
}

function compose(subject: string, paragraphs: string[], link?: { url: string; label: string }) {
  const text = [
    ...paragraphs.flatMap((paragraph, i) =>
      i === 0 && link ? [paragraph, '', link.url, ''] : [paragraph, ''],
    ),
  ].join('\n');
  const html =
    `<!doctype html><html><body style="font-family:sans-serif;line-height:1.5">` +
    paragraphs
      .map((paragraph, i) => {
        const own = `<p>${escapeHtml(paragraph)}</p>`;
        return i === 0 && link
          ? `${own}<p><a href="${escapeHtml(link.url)}">${escapeHtml(link.label)}</a></p>` +
              `<p style="font-size:small">${escapeHtml(link.url)}</p>`
          : own;
      })
      .join('') +
    `</body></html>`;
  return { subject, text: text.trimEnd() + '\n', html };
}

const NOT_YOU = 'If you did not ask for this, you can ignore this mail.';

export const mailContent = {
  verify: (url: string, ttl: number): MailContent =>
    compose(
      'Confirm your email address',
      [
        'Open this link to confirm that this is your email address:',
        `The link works once, for ${lifetimeText(ttl)}.`,
        NOT_YOU,
      ],
      { url, label: 'Confirm my address' },
    ),

  reset: (url: string, ttl: number): MailContent =>
    compose(
      'Reset your password',
      [
        'Open this link to choose a new password:',
        `The link works once, for ${lifetimeText(ttl)}. Every session of the account ends when the password is reset.`,
        `${NOT_YOU} Your password stays as it is.`,
      ],
      { url, label: 'Choose a new password' },
    ),

  change: (url: string, ttl: number): MailContent =>
    compose(
      'Confirm your new email address',
      [
        'Open this link to make this the address of your account:',
        `The link works once, for ${lifetimeText(ttl)}.`,
        NOT_YOU,
      ],
      { url, label: 'Use this address' },
    ),

  passwordChanged: (): MailContent =>
    compose('Your password was changed', [
      'The password of your account was just reset, and every session of the account was ended.',
      'If this was not you, reset your password at once and check your account.',
    ]),

  changeNotice: (maskedNewEmail: string): MailContent =>
    compose('A change of your email address was requested', [
      `Someone signed in to your account asked to move it to the address ${maskedNewEmail}. Nothing changes until that address confirms.`,
      'If this was not you, change your password at once: whoever asked knows it.',
    ]),
};

/** "a***@example.com": enough for the owner to recognise, not to learn an address from. */
export function maskEmail(email: string): string {
  const at = email.lastIndexOf('@');
  return `${email.slice(0, Math.min(1, at))}***${email.slice(at)}`;
}
