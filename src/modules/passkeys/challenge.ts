import type { Deps } from '../../deps.js';
import { sha256 } from '../../shared/crypto.js';
import { InvalidTokenError } from '../../shared/errors.js';

/** A challenge lives 5 minutes (the options' timeout too) and is used once. */
export const CHALLENGE_TTL_MS = 5 * 60_000;

/** What a challenge was issued for and to whom; checked against the caller that answers it. */
export type ChallengeBinding =
  | { purpose: 'register'; userId: string; sessionId: string }
  /**
   * `userId`: the only account whose passkey may answer (an email was given, or a pending
   * login), null with `anyUser` false for an email without passkeys (nothing can answer).
   * `anyUser`: discoverable credentials, any account. `pendingId`: the pending login it completes.
   */
  | { purpose: 'login'; userId: string | null; anyUser: boolean; pendingId: string | null };

// Keyed by a hash of the challenge: the store never holds one in clear.
const challengeKey = (challenge: string) => `passkey-challenge:${sha256(challenge)}`;

/** A new random challenge (256 bits, base64url as it appears in clientDataJSON), stored with its binding. */
export async function issueChallenge(deps: Pick<Deps, 'clock' | 'random' | 'store'>, binding: ChallengeBinding): Promise<Uint8Array<ArrayBuffer>> {
  const bytes = Uint8Array.from(deps.random.bytes(32));
  // The expiry travels in the value and is checked against deps.clock: a store's own TTL runs on its wall clock.
  const record = JSON.stringify({ ...binding, expiresAt: deps.clock.now() + CHALLENGE_TTL_MS });
  await deps.store.codes.set(challengeKey(Buffer.from(bytes).toString('base64url')), record, CHALLENGE_TTL_MS);
  return bytes;
}

/** The challenge a browser signed, read from the response's clientDataJSON; null when it has none. */
export function challengeOf(response: unknown): string | null {
  const clientData = (response as { response?: { clientDataJSON?: unknown } } | null)?.response?.clientDataJSON;
  if (typeof clientData !== 'string' || clientData.length > 4096) return null;
  try {
    const parsed = JSON.parse(Buffer.from(clientData, 'base64url').toString('utf8')) as { challenge?: unknown };
    return typeof parsed.challenge === 'string' && /^[A-Za-z0-9_-]{16,128}$/.test(parsed.challenge) ? parsed.challenge : null;
  } catch {
    return null;
  }
}

/**
 * Takes the challenge a response answers, atomically: of any number of concurrent answers
 * (a replay among them) exactly one gets it, and it is gone afterwards whatever the outcome.
 * INVALID_TOKEN when it is unknown, expired, used, or of another purpose.
 */
export async function takeChallenge<P extends ChallengeBinding['purpose']>(
  deps: Pick<Deps, 'clock' | 'store'>,
  response: unknown,
  purpose: P,
): Promise<{ challenge: string; binding: Extract<ChallengeBinding, { purpose: P }> }> {
  const challenge = challengeOf(response);
  if (!challenge) throw new InvalidTokenError();
  const key = challengeKey(challenge);
  const raw = await deps.store.codes.get(key);
  if (!raw || !(await deps.store.codes.takeIf(key, raw))) throw new InvalidTokenError();
  const { expiresAt, ...binding } = JSON.parse(raw) as ChallengeBinding & { expiresAt: number };
  if (expiresAt <= deps.clock.now() || binding.purpose !== purpose) throw new InvalidTokenError();
  return { challenge, binding: binding as Extract<ChallengeBinding, { purpose: P }> };
}
