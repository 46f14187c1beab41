import dns, { type LookupAddress, type LookupOptions } from 'node:dns';
import ipaddr from 'ipaddr.js';
import { Agent, type Dispatcher } from 'undici';

/**
 * The SSRF guard of webhook delivery (README "Webhooks"; OWASP SSRF Prevention Cheat Sheet, ASVS
 * 5.0 V15.3.2). A receiver URL is a request the gateway makes into whatever network it runs in,
 * so only public unicast addresses are reached:
 * - IP literals are classified with ipaddr.js's range(): anything but `unicast` (loopback, private,
 *   link-local and so cloud metadata at 169.254.169.254, CGNAT, multicast, unspecified, reserved,
 *   6to4/Teredo/NAT64 that embed an IPv4 address) is refused. ipaddr.js keeps the IANA special-purpose
 *   registries; src/shared/ip-ranges.ts (a BlockList with a regex for mapped forms) is not reused here.
 * - IPv4-mapped IPv6 (`[::ffff:127.0.0.1]`) is refused outright: it is a classic way around filters.
 * - Names are checked at connect time, in the socket's own lookup: every address the name resolves
 *   to must pass, and the socket connects to those very addresses, so a DNS answer cannot change
 *   between the check and the connection (DNS rebinding).
 * - The check runs again on every attempt (DNS can change); redirects are never followed.
 * WEBHOOK_ALLOWED_ADDRESSES lets listed IPs/CIDRs through (tests' loopback receiver, internal receivers).
 */

/** Why the guard refused a URL; the message is client-safe and names no secret. */
export class GuardRefusal extends Error {
  readonly code = 'WEBHOOK_GUARD_REFUSED';
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'GuardRefusal';
  }
}

export type LookupFn = (
  hostname: string,
  options: LookupOptions & { all: true },
  callback: (err: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void,
) => void;

export type GuardOptions = {
  allowed: ReadonlyArray<readonly [ipaddr.IPv4 | ipaddr.IPv6, number]>;
  /** Production: https only. */
  httpsOnly: boolean;
  /** One attempt's limit (connect, headers, body). */
  timeoutMs: number;
  /** DNS resolution; tests pass a spy. @default dns.lookup */
  lookup?: LookupFn;
};

export type UrlGuard = {
  /** The URL's form and, for an IP literal, its address: no DNS. Throws GuardRefusal. */
  checkUrl(url: string): URL;
  /** checkUrl, then every address the name resolves to now (createWebhook, updateWebhook). Throws GuardRefusal. */
  checkTarget(url: string): Promise<URL>;
  /** The guarded dispatcher: its sockets connect only to addresses that pass. */
  readonly dispatcher: Dispatcher;
  close(): Promise<void>;
};

/** The refusal reason for one address, or null when it may be connected to. */
export function refuseAddress(address: string, allowed: GuardOptions['allowed']): string | null {
  let ip: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    ip = ipaddr.parse(address.replace(/^\[|\]$/g, ''));
  } catch {
    return `"${address}" is not an IP address`;
  }
  if (ip.kind() === 'ipv6' && (ip as ipaddr.IPv6).isIPv4MappedAddress()) return 'IPv4-mapped IPv6 addresses are refused';
  if (allowed.some(([net, bits]) => net.kind() === ip.kind() && ip.match(net, bits))) return null;
  const range = ip.range();
  return range === 'unicast' ? null : `the address ${ip.toString()} is ${range}, not a public address`;
}

function hostOf(url: URL): string {
  return url.hostname.replace(/^\[|\]$/g, '');
}

export function createUrlGuard(options: GuardOptions): UrlGuard {
  // Through the module object, not a bound import: a test can spy on dns.lookup.
  const lookup: LookupFn = options.lookup ?? ((hostname, opts, callback) => dns.lookup(hostname, opts, callback));

  function checkUrl(value: string): URL {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      throw new GuardRefusal('not a URL');
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new GuardRefusal('only http and https URLs');
    if (options.httpsOnly && url.protocol !== 'https:') throw new GuardRefusal('only https URLs in production');
    // Credentials in a URL end up in logs and proxies; the signature authenticates us instead.
    if (url.username || url.password) throw new GuardRefusal('no credentials in the URL');
    const host = hostOf(url);
    if (ipaddr.isValid(host)) {
      const refused = refuseAddress(host, options.allowed);
      if (refused) throw new GuardRefusal(refused);
    }
    return url;
  }

  function resolve(hostname: string, family: number | undefined): Promise<LookupAddress[]> {
    return new Promise((done, fail) =>
      lookup(hostname, { all: true, family: family ?? 0 }, (err, addresses) => {
        if (err) return fail(new GuardRefusal(`the host name does not resolve (${err.code ?? 'error'})`));
        const refused = addresses.map((a) => refuseAddress(a.address, options.allowed)).find((r) => r !== null);
        if (refused) return fail(new GuardRefusal(refused));
        if (!addresses.length) return fail(new GuardRefusal('the host name does not resolve'));
        done(addresses);
      }),
    );
  }

  // net.connect's lookup hook: the socket connects to exactly the addresses checked here.
  function guardedLookup(hostname: string, opts: LookupOptions, callback: (...args: unknown[]) => void): void {
    resolve(hostname, opts.family as number | undefined).then(
      (addresses) => (opts.all ? callback(null, addresses) : callback(null, addresses[0]!.address, addresses[0]!.family)),
      (err: unknown) => callback(err),
    );
  }

  const dispatcher = new Agent({
    connect: { lookup: guardedLookup as never, timeout: options.timeoutMs },
    headersTimeout: options.timeoutMs,
    bodyTimeout: options.timeoutMs,
    // Receivers are few and often the same: keep connections, but not forever.
    keepAliveTimeout: 4000,
    connections: 16,
  });

  return {
    checkUrl,
    async checkTarget(value) {
      const url = checkUrl(value);
      const host = hostOf(url);
      if (!ipaddr.isValid(host)) await resolve(host, undefined);
      return url;
    },
    dispatcher,
    close: () => dispatcher.close(),
  };
}
