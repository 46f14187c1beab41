import type { TrustProxy } from '../config.js';

/**
 * The client's IP: the socket's peer unless TRUST_PROXY says which X-Forwarded-For hops to
 * believe. Only hops added by our own proxies are trusted; anything left of them is what the
 * client claims (ASVS 5.0 V4.1.3 / OWASP: never trust a client-supplied X-Forwarded-For).
 */
export function clientIp(remote: string | null | undefined, forwardedFor: string | null | undefined, trust: TrustProxy): string | null {
  const peer = normalize(remote);
  if (trust.kind === 'none' || !forwardedFor) return peer;
  const chain = [
    ...forwardedFor
      .split(',')
      .map((s) => normalize(s.trim()))
      .filter((s): s is string => !!s),
    ...(peer ? [peer] : []),
  ];
  if (trust.kind === 'all') return chain[0] ?? peer;
  if (trust.kind === 'hops') return chain[Math.max(0, chain.length - 1 - trust.hops)] ?? peer;
  let i = chain.length - 1;
  while (i > 0 && trust.ips.includes(chain[i]!)) i--;
  return chain[i] ?? peer;
}

function normalize(ip: string | null | undefined): string | null {
  if (!ip) return null;
  // IPv4-mapped IPv6 (::ffff:127.0.0.1) as plain IPv4, so limits and logs see one address.
  return (ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip).slice(0, 64);
}
