import ipaddr from 'ipaddr.js';

/**
 * The client a rate limit or a sign-in lock counts against. An IPv4 address is one client; an
 * IPv6 address counts as its /64, because one subscriber, cloud instance or container host is
 * routinely given a whole /64 and could otherwise pick a fresh address for every request. An
 * IPv4-mapped IPv6 address (`::ffff:203.0.113.7`) is its IPv4 address.
 */
export function clientKey(ip: string | undefined): string {
  if (ip === undefined || !ipaddr.isValid(ip)) {
    return ip ?? '';
  }
  const address = ipaddr.process(ip);
  if (address.kind() === 'ipv4') {
    return address.toString();
  }
  const parts = (address as ipaddr.IPv6).parts.slice(0, 4);
  return `${parts.map((part) => part.toString(16)).join(':')}::/64`;
}
