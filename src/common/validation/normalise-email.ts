import { domainToASCII } from 'node:url';

/**
 * One spelling per mailbox, so look-alike forms cannot register as separate accounts: the address
 * is trimmed, put in Unicode NFKC form (composed accents, fullwidth letters folded to ASCII) and
 * lower-cased, and its domain is converted to ASCII by IDNA (`bücher.de` becomes
 * `xn--bcher-kva.de`). An address whose domain IDNA refuses is returned unchanged, to be refused
 * by the email rule that follows.
 */
export function normaliseEmail(raw: string): string {
  const text = raw.trim().normalize('NFKC').toLowerCase();
  const at = text.lastIndexOf('@');
  if (at < 0) {
    return text;
  }
  const domain = domainToASCII(text.slice(at + 1));
  return domain === '' ? text : `${text.slice(0, at)}@${domain}`;
}
