import { GraphQLError, Kind } from 'graphql';
import { builder } from './builder.js';

/** RFC 3339 date-time with a zone: 2026-01-31T12:00:00Z, 2026-01-31T12:00:00.123+02:00 (seconds optional). */
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?(Z|[+-](\d{2}):(\d{2}))$/i;

function badDate(): never {
  throw new GraphQLError('DateTime must be an ISO 8601 date-time with a zone, e.g. 2026-01-31T12:00:00Z', { extensions: { code: 'BAD_USER_INPUT' } });
}

/**
 * Strict: `new Date()` rolls 2026-02-30 over to March 2nd and reads a zone-less time in the
 * server's zone. Each field is range-checked and the calendar date must round-trip through
 * Date.UTC unchanged, so only days that exist are accepted.
 */
export function parseDateTime(value: unknown): Date {
  const match = typeof value === 'string' ? DATE_TIME.exec(value) : null;
  if (!match) badDate();
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map((part) => Number(part ?? 0)) as [number, number, number, number, number, number];
  // Milliseconds from the fraction's digits (finer digits are dropped, as Date keeps none).
  const millis = match[7] ? Number(`${match[7].slice(1)}00`.slice(0, 3)) : 0;
  const [offsetHours, offsetMinutes] = [Number(match[9] ?? 0), Number(match[10] ?? 0)];
  if (hour > 23 || minute > 59 || second > 59 || offsetHours > 23 || offsetMinutes > 59) badDate();
  const local = new Date(Date.UTC(year, month - 1, day, hour, minute, second));
  // Date.UTC maps years 0-99 to 1900-1999: setUTCFullYear puts them back before the round trip.
  local.setUTCFullYear(year);
  if (local.getUTCFullYear() !== year || local.getUTCMonth() !== month - 1 || local.getUTCDate() !== day) badDate();
  const sign = match[8]!.startsWith('-') ? -1 : 1;
  const offsetMs = match[8]!.toUpperCase() === 'Z' ? 0 : sign * (offsetHours * 60 + offsetMinutes) * 60_000;
  const date = new Date(local.getTime() - offsetMs + millis);
  if (Number.isNaN(date.getTime())) badDate();
  return date;
}

builder.scalarType('DateTime', {
  description: 'An ISO 8601 date-time in UTC, e.g. 2026-01-31T12:00:00.000Z.',
  serialize: (value) => (value instanceof Date ? value : new Date(value as string)).toISOString(),
  parseValue: parseDateTime,
  parseLiteral: (ast) => parseDateTime(ast.kind === Kind.STRING ? ast.value : null),
});

builder.scalarType('JSON', {
  description: 'Any JSON value.',
  serialize: (value) => value,
  parseValue: (value) => value,
  parseLiteral: () => {
    throw new GraphQLError('JSON literals are not accepted; pass a variable', { extensions: { code: 'BAD_USER_INPUT' } });
  },
});
