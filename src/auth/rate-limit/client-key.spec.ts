import { clientKey } from './client-key';

describe(clientKey.name, () => {
  it('should keep an IPv4 address whole', () => {
    expect(clientKey('203.0.113.7')).toBe('203.0.113.7');
    expect(clientKey('203.0.113.8')).not.toBe(clientKey('203.0.113.7'));
  });

  it('should give every address of one IPv6 /64 the same key, and another /64 another', () => {
    const a = clientKey('2001:db8:1:2::1');
    expect(clientKey('2001:db8:1:2:ffff:ffff:ffff:ffff')).toBe(a);
    expect(clientKey('2001:0db8:0001:0002:0:0:0:abcd')).toBe(a);
    expect(a).toBe('2001:db8:1:2::/64');
    expect(clientKey('2001:db8:1:3::1')).not.toBe(a);
  });

  it('should count an IPv4-mapped IPv6 address as its IPv4 address', () => {
    expect(clientKey('::ffff:203.0.113.7')).toBe('203.0.113.7');
  });

  it('should leave anything that is not an address as it is', () => {
    expect(clientKey(undefined)).toBe('');
    expect(clientKey('unknown')).toBe('unknown');
  });
});
