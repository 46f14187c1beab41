/** The only source of time for modules, so tests can move it (token expiry, grace windows). */
export type Clock = { now(): number };

export const systemClock: Clock = { now: () => Date.now() };
