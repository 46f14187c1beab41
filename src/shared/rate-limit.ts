import type { WindowStore } from './store.js';

export type WindowLimit = { max: number; windowMs: number };
export type WindowDecision = { allowed: true } | { allowed: false; retryAt: number };

/**
 * Counts one call of `name` by `subject` in a sliding window. The reservation decides: the
 * store trims the window, counts what is left and adds this call in one atomic step
 * (WindowStore.reserve), so of any number of concurrent calls each sees a different count and
 * exactly `max` are let through. Refused calls are counted too: a client that keeps hammering
 * stays refused until it pauses for a window.
 *
 * No limiter library on top: @envelop/rate-limiter's core (used here before) only compared the
 * count with `max`, yet did it by filtering an array of `before` timestamps, so each call cost
 * time and garbage in proportion to the calls in the window (at a lifted limit, thousands).
 */
export async function countWindowCall(windows: WindowStore, now: number, name: string, subject: string, limit: WindowLimit): Promise<WindowDecision> {
  if (limit.max < 1) return { allowed: false, retryAt: now + limit.windowMs };
  const { before, retryAt } = await windows.reserve(`${name}:${subject}`, { now, windowMs: limit.windowMs, max: limit.max });
  return before < limit.max ? { allowed: true } : { allowed: false, retryAt };
}
