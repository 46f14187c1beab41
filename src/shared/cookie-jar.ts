import { parseCookie } from 'cookie';

/**
 * The cookies of one HTTP request and the Set-Cookie headers of its response. WebSocket
 * operations have no jar (their context holds null): there is no response to carry a cookie,
 * and the cookies of an upgrade request never authenticate (see context.ts).
 */
export type CookieJar = {
  /** A cookie the request carried, by exact name. */
  get(name: string): string | undefined;
  /** The anti-CSRF header's name, for messages. */
  readonly csrfHeader: string;
  /** Whether the request carried the anti-CSRF header with a non-empty value. */
  readonly hasCsrfHeader: boolean;
  /** Queues a Set-Cookie header; a later one for the same name replaces an earlier one. */
  set(name: string, setCookie: string): void;
  /** The queued Set-Cookie headers, in the order they were first set. */
  outgoing(): string[];
};

/** A jar over a request's headers; the Cookie header is parsed on first read. */
export function createCookieJar(headers: Headers, csrfHeader: string): CookieJar {
  let incoming: Record<string, string | undefined> | null = null;
  const queued = new Map<string, string>();
  return {
    get: (name) => (incoming ??= parseCookie(headers.get('cookie') ?? ''))[name],
    csrfHeader,
    hasCsrfHeader: !!headers.get(csrfHeader)?.trim(),
    set: (name, setCookie) => void queued.set(name, setCookie),
    outgoing: () => [...queued.values()],
  };
}
