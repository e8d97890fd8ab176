import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  hkdfSync,
  randomBytes,
} from 'node:crypto';

const VERSION = 'v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;

interface DataKey {
  id: string;
  cipher: Buffer;
  mac: Buffer;
}

function deriveKey(material: Buffer): DataKey {
  const cipher = Buffer.from(hkdfSync('sha256', material, '', 'data-encryption:aes-256-gcm', 32));
  const mac = Buffer.from(hkdfSync('sha256', material, '', 'data-encryption:hmac-sha256', 32));
  // Names the key in what it sealed, so that a rotated-out key is still found for old rows.
  const id = createHash('sha256').update(cipher).digest('base64url').slice(0, 8);
  return { id, cipher, mac };
}

/**
 * Seals secrets kept at rest (second-factor secrets) with AES-256-GCM, and keys the hashes of
 * short secrets (recovery codes) with HMAC-SHA256, so that a copy of the database alone yields
 * neither. The keys come from DATA_ENCRYPTION_KEY through HKDF: the first one seals, every one
 * listed still opens (rotation: put the new key first, re-seal, then drop the old one).
 */
export class DataEncryption {
  private readonly keys: DataKey[];

  constructor(materials: Buffer[]) {
    if (materials.length === 0) {
      throw new Error('DataEncryption needs at least one key');
    }
    this.keys = materials.map(deriveKey);
  }

  /** `v1.<key id>.<iv>.<ciphertext>.<tag>`, base64url; `context` is bound in as associated data. */
  seal(plaintext: string, context: string): string {
    const key = this.keys[0];
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key.cipher, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(Buffer.from(context));
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return [VERSION, key.id, iv, body, cipher.getAuthTag()]
      .map((part) => (typeof part === 'string' ? part : part.toString('base64url')))
      .join('.');
  }

  /** The plaintext, or undefined when the key is unknown or the text was not sealed for `context`. */
  open(sealed: string, context: string): string | undefined {
    const [version, id, iv, body, tag] = sealed.split('.');
    const key = this.keys.find((candidate) => candidate.id === id);
    if (version !== VERSION || !key || !iv || !body || !tag) {
      return undefined;
    }
    try {
      const decipher = createDecipheriv('aes-256-gcm', key.cipher, Buffer.from(iv, 'base64url'), {
        authTagLength: TAG_BYTES,
      });
      decipher.setAAD(Buffer.from(context));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([
        decipher.update(Buffer.from(body, 'base64url')),
        decipher.final(),
      ]).toString('utf8');
    } catch {
      return undefined;
    }
  }

  /** Whether `sealed` was sealed with the current key (otherwise it is worth re-sealing). */
  isCurrent(sealed: string): boolean {
    return sealed.split('.')[1] === this.keys[0].id;
  }

  /**
   * `<key id>:<HMAC>` of `value` under every key, the current one first: what to store (the
   * first) and what to look for (all of them, for values stored before a rotation).
   */
  macs(value: string, context: string): string[] {
    return this.keys.map(
      (key) =>
        `${key.id}:${createHmac('sha256', key.mac).update(context).update('\n').update(value).digest('hex')}`,
    );
  }
}
