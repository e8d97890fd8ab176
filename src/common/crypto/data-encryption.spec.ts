import { randomBytes } from 'node:crypto';
import { DataEncryption } from './data-encryption';

describe('DataEncryption', () => {
  const oldKey = randomBytes(32);
  const newKey = randomBytes(32);

  it('opens what it sealed, for the same context only', () => {
    const keys = new DataEncryption([oldKey]);
    const sealed = keys.seal('JBSWY3DPEHPK3PXP', 'totp:user-1');
    expect(sealed).toMatch(/^v1\.[\w-]{8}\.[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(sealed).not.toContain('JBSWY3DPEHPK3PXP');
    expect(keys.open(sealed, 'totp:user-1')).toBe('JBSWY3DPEHPK3PXP');
    // Moved to another user's row, it opens for nobody.
    expect(keys.open(sealed, 'totp:user-2')).toBeUndefined();
  });

  it('seals twice differently, and refuses any changed byte', () => {
    const keys = new DataEncryption([oldKey]);
    const a = keys.seal('secret', 'c');
    expect(keys.seal('secret', 'c')).not.toBe(a);
    const parts = a.split('.');
    const body = Buffer.from(parts[3], 'base64url');
    body[0] ^= 1;
    parts[3] = body.toString('base64url');
    expect(keys.open(parts.join('.'), 'c')).toBeUndefined();
    expect(keys.open('not sealed', 'c')).toBeUndefined();
  });

  it('keeps opening under a rotation: the first key seals, every listed key opens', () => {
    const before = new DataEncryption([oldKey]);
    const sealed = before.seal('secret', 'c');
    const rotated = new DataEncryption([newKey, oldKey]);
    expect(rotated.open(sealed, 'c')).toBe('secret');
    expect(rotated.isCurrent(sealed)).toBe(false);
    expect(rotated.isCurrent(rotated.seal('secret', 'c'))).toBe(true);
    expect(new DataEncryption([newKey]).open(sealed, 'c')).toBeUndefined();
  });

  it('keys hashes of short secrets, under every key, the current one first', () => {
    const before = new DataEncryption([oldKey]);
    const [stored] = before.macs('K7Q2M9XW4D', 'recovery:u');
    const rotated = new DataEncryption([newKey, oldKey]);
    const candidates = rotated.macs('K7Q2M9XW4D', 'recovery:u');
    expect(candidates).toHaveLength(2);
    expect(candidates[1]).toBe(stored);
    expect(candidates[0]).not.toBe(stored);
    expect(before.macs('K7Q2M9XW4D', 'recovery:other')[0]).not.toBe(stored);
  });
});
