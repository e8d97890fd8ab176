import { normaliseEmail } from './normalise-email';

describe(normaliseEmail.name, () => {
  it('should give every look-alike form of one address the same spelling', () => {
    const forms = [
      'Jose@Example.com',
      '  jose@example.com ',
      'ｊｏｓｅ@ｅｘａｍｐｌｅ.com',
      'JOSE@EXAMPLE.COM',
    ];
    expect(new Set(forms.map(normaliseEmail))).toEqual(new Set(['jose@example.com']));
  });

  it('should compose accents (NFC and NFD are one address)', () => {
    const composed = 'jos\u00e9@example.com';
    const decomposed = 'jose\u0301@example.com';
    expect(normaliseEmail(decomposed)).toBe(normaliseEmail(composed));
    expect(normaliseEmail(composed)).toBe('jos\u00e9@example.com');
  });

  it('should convert a Unicode domain to its ASCII form', () => {
    expect(normaliseEmail('anna@Bücher.de')).toBe('anna@xn--bcher-kva.de');
    expect(normaliseEmail('anna@xn--bcher-kva.de')).toBe('anna@xn--bcher-kva.de');
  });

  it('should leave an address whose domain IDNA refuses for the email rule to refuse', () => {
    expect(normaliseEmail('anna@exa mple.com')).toBe('anna@exa mple.com');
    expect(normaliseEmail('no-at-sign')).toBe('no-at-sign');
  });
});
