import { BadInputError } from './errors.js';

/* Keyset pagination for every connection; the GraphQL PageInfo type is in graphql/pagination.ts. */

/** Connections return at most this many nodes per page, whatever `first` asks (a cap, not an error). */
export const MAX_PAGE_SIZE = 100;
export const DEFAULT_PAGE_SIZE = 20;

export type PageInfo = { hasNextPage: boolean; endCursor: string | null };

/** `first` clamped to 1..MAX_PAGE_SIZE; a negative value is a client error. */
export function clampPageSize(first: number | null | undefined): number {
  if (first == null) return DEFAULT_PAGE_SIZE;
  if (first < 0) throw new BadInputError('first must not be negative', 'first');
  return Math.min(Math.max(first, 1), MAX_PAGE_SIZE);
}

/**
 * Keyset cursors: opaque base64url of the sort key of the last node (e.g. `[at, id]`), so a
 * page never skips or repeats rows while others are inserted, and costs one index range scan.
 */
export function encodeCursor(key: unknown[]): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}

export function decodeCursor(cursor: string | null | undefined, length: number): unknown[] | null {
  if (!cursor) return null;
  try {
    const key = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(key) && key.length === length && key.every((v) => typeof v === 'string' || typeof v === 'number')) return key;
  } catch {
    // fall through: a malformed cursor is the client's input
  }
  throw new BadInputError('Invalid cursor', 'after');
}

/** Fetch `size + 1` rows, then: the page, and whether there is another. */
export function toPage<T>(rows: T[], size: number, keyOf: (row: T) => unknown[]): { nodes: T[]; pageInfo: PageInfo } {
  const nodes = rows.slice(0, size);
  const last = nodes.at(-1);
  return { nodes, pageInfo: { hasNextPage: rows.length > size, endCursor: last ? encodeCursor(keyOf(last)) : null } };
}
