import ipaddr from 'ipaddr.js';
import { z } from 'zod';
import { parseDuration } from './shared/duration.js';

/**
 * The webhook part of the configuration (README "Webhooks"). Only config.ts reads the
 * environment; this file holds the schema pieces and their defaults.
 */

const list = (v: string) =>
  v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

function durations(value: string, ctx: z.RefinementCtx): number[] {
  const parsed = list(value).map(parseDuration);
  if (!parsed.length || parsed.some((ms) => ms === null || ms <= 0)) {
    ctx.addIssue({ code: 'custom', message: 'expected a comma-separated list of durations such as 5s,5m,30m' });
    return z.NEVER;
  }
  return parsed as number[];
}

/** IPs and CIDRs, each as ipaddr.js reads it (`[address, prefix]`); an IP alone is a /32 or /128. */
function addresses(value: string, ctx: z.RefinementCtx): Array<[ipaddr.IPv4 | ipaddr.IPv6, number]> {
  const out: Array<[ipaddr.IPv4 | ipaddr.IPv6, number]> = [];
  for (const entry of list(value)) {
    try {
      if (entry.includes('/')) out.push(ipaddr.parseCIDR(entry));
      else {
        const ip = ipaddr.parse(entry);
        out.push([ip, ip.kind() === 'ipv4' ? 32 : 128]);
      }
    } catch {
      ctx.addIssue({ code: 'custom', message: `bad entry "${entry}": expected an IP address or a CIDR range such as 10.1.2.0/24` });
    }
  }
  return out;
}

const durationOf = (fallback: string, min: number, max: number) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      const ms = parseDuration(v === undefined || v === '' ? fallback : v);
      if (ms === null || ms < min || ms > max) {
        ctx.addIssue({ code: 'custom', message: `expected a duration from ${min / 1000}s to ${max / 1000}s` });
        return z.NEVER;
      }
      return ms;
    });

export const webhookEnv = {
  /** Waits before each retry of a failed delivery (jittered by ±10%); one more than their number of attempts, then FAILED. @default 5s,5m,30m,2h,5h,10h */
  WEBHOOK_RETRY_SCHEDULE: z.string().default('5s,5m,30m,2h,5h,10h').transform(durations),
  /** Consecutive FAILED deliveries that disable an endpoint. @default 20 */
  WEBHOOK_DISABLE_AFTER: z.coerce.number().int().min(1).default(20),
  /** Delivery rows older than this are deleted. @default 30d */
  WEBHOOK_RETENTION: durationOf('30d', 3_600_000, 3650 * 86_400_000),
  /** IPs or CIDRs the SSRF guard lets through although they are private or loopback (tests, internal receivers). @default none */
  WEBHOOK_ALLOWED_ADDRESSES: z.string().default('').transform(addresses),
  /** One attempt's limit, from connecting to the end of the response. @default 10s */
  WEBHOOK_TIMEOUT: durationOf('10s', 100, 30_000),
};

type WebhookEnv = { [K in keyof typeof webhookEnv]: z.output<(typeof webhookEnv)[K]> };

/** The webhook part of Config (its type is this function's result). */
export function webhookConfig(e: WebhookEnv) {
  return Object.freeze({
    retryScheduleMs: Object.freeze(e.WEBHOOK_RETRY_SCHEDULE) as readonly number[],
    disableAfter: e.WEBHOOK_DISABLE_AFTER,
    retentionMs: e.WEBHOOK_RETENTION,
    allowedAddresses: Object.freeze(e.WEBHOOK_ALLOWED_ADDRESSES) as ReadonlyArray<readonly [ipaddr.IPv4 | ipaddr.IPv6, number]>,
    timeoutMs: e.WEBHOOK_TIMEOUT,
  });
}

export type WebhookConfig = ReturnType<typeof webhookConfig>;
