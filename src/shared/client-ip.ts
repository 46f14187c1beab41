import proxyaddr from 'proxy-addr';
import type { TrustProxy } from '../config.js';

type Trust = (addr: string, hop: number) => boolean;
const compiled = new WeakMap<TrustProxy, Trust>();

/**
 * The client's IP: the socket's peer unless TRUST_PROXY says which X-Forwarded-For hops to
 * believe. Only hops added by our own proxies are trusted; anything left of them is what the
 * client claims (ASVS 5.0 V4.1.3 / OWASP: never trust a client-supplied X-Forwarded-For).
 * proxy-addr walks the chain from the socket and matches the trusted list (addresses, CIDR
 * ranges, `loopback`/`linklocal`/`uniquelocal`).
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
  const nearest = chain.pop();
  if (nearest === undefined) return peer;
  // In process there is no socket: the nearest forwarded hop stands in for it, as before.
  const req = { headers: { 'x-forwarded-for': chain.join(', ') }, socket: { remoteAddress: nearest } };
  return normalize(proxyaddr(req as unknown as Parameters<typeof proxyaddr>[0], trustOf(trust)));
}

function trustOf(trust: Exclude<TrustProxy, { kind: 'none' }>): Trust {
  if (trust.kind === 'all') return () => true;
  if (trust.kind === 'hops') return (_addr, hop) => hop < trust.hops;
  let fn = compiled.get(trust);
  if (!fn) compiled.set(trust, (fn = proxyaddr.compile(trust.ips)));
  return fn;
}

function normalize(ip: string | null | undefined): string | null {
  if (!ip) return null;
  // IPv4-mapped IPv6 (::ffff:127.0.0.1) as plain IPv4, so limits and logs see one address.
  return (ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip).slice(0, 64);
}
