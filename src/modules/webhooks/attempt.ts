import { request } from 'undici';
import { GuardRefusal, type UrlGuard } from './guard.js';
import { signDelivery } from './signing.js';

/** At most this much of a response is read (then the connection is dropped): a receiver cannot make us buffer more. */
export const MAX_RESPONSE_BYTES = 64 * 1024;

export type AttemptResult = { ok: boolean; status: number | null; error: string | null };

/**
 * One POST of a delivery: signed now with every live secret, through the guarded dispatcher, with
 * the whole attempt bounded by `timeoutMs`. undici's request() never follows redirects: a 3xx is
 * a failed attempt like any other non-2xx (a redirect could point into the internal network).
 * The error recorded is a category (guard refusal, timeout, connection error), never a body.
 */
export async function attemptDelivery(
  guard: UrlGuard,
  input: { url: string; secrets: readonly string[]; id: string; body: string; at: Date; timeoutMs: number; signal: AbortSignal },
): Promise<AttemptResult> {
  try {
    // Literals again on every attempt; names are checked by the dispatcher's lookup as it connects.
    const url = guard.checkUrl(input.url);
    const signal = AbortSignal.any([input.signal, AbortSignal.timeout(input.timeoutMs)]);
    const response = await request(url, {
      method: 'POST',
      dispatcher: guard.dispatcher,
      headers: {
        'content-type': 'application/json',
        'user-agent': 'graphql-auth-gateway-webhooks',
        ...signDelivery(input.secrets, input.id, input.at, input.body),
      },
      body: input.body,
      signal,
    });
    let read = 0;
    for await (const chunk of response.body) {
      read += (chunk as Buffer).length;
      if (read >= MAX_RESPONSE_BYTES) break;
    }
    const ok = response.statusCode >= 200 && response.statusCode < 300;
    return { ok, status: response.statusCode, error: ok ? null : `HTTP ${response.statusCode}` };
  } catch (err) {
    return { ok: false, status: null, error: describe(err) };
  }
}

function describe(err: unknown): string {
  const refusal = findRefusal(err);
  if (refusal) return `refused by the guard: ${refusal.reason}`;
  const e = err as { name?: string; code?: string };
  if (e?.name === 'TimeoutError' || e?.code === 'UND_ERR_HEADERS_TIMEOUT' || e?.code === 'UND_ERR_BODY_TIMEOUT' || e?.code === 'UND_ERR_CONNECT_TIMEOUT')
    return 'timeout';
  if (e?.name === 'AbortError') return 'aborted';
  return `connection error${e?.code ? ` (${String(e.code).slice(0, 40)})` : ''}`;
}

/** The guard's refusal, however undici wrapped it. */
export function findRefusal(err: unknown): GuardRefusal | null {
  for (let e: unknown = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof GuardRefusal) return e;
  }
  return null;
}
