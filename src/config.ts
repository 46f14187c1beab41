import { isIP } from 'node:net';
import proxyaddr from 'proxy-addr';
import { z } from 'zod';
import { abuseConfig, abuseEnv } from './config-abuse.js';
import { webhookConfig, webhookEnv } from './config-webhooks.js';
import { parseDuration } from './shared/duration.js';
// The MFA methods a deployment can offer (RECOVERY_CODE is always available once MFA is on).
import { FACTOR_METHODS, type FactorMethod } from './shared/mfa-methods.js';

const boolean = (fallback: boolean) =>
  z
    .string()
    .optional()
    .transform((v) => v?.trim().toLowerCase())
    .pipe(z.enum(['true', 'false', '1', '0', 'yes', 'no', '']).optional())
    .transform((v) => (v === undefined || v === '' ? fallback : ['true', '1', 'yes'].includes(v)));

const duration = (fallback: string) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      const ms = parseDuration(v === undefined || v === '' ? fallback : v);
      if (ms === null) {
        ctx.addIssue({ code: 'custom', message: 'expected a duration such as 30s, 15m, 12h or 30d' });
        return z.NEVER;
      }
      return ms;
    });

const optionalUrl = (protocols: string[]) =>
  z
    .string()
    .optional()
    .transform((v) => (v === '' ? undefined : v))
    .refine((v) => v === undefined || isUrl(v, protocols), {
      message: `expected a URL (${protocols.join(', ')})`,
    });

function isUrl(value: string, protocols: string[]): boolean {
  try {
    return protocols.includes(new URL(value).protocol.replace(/:$/, ''));
  } catch {
    return false;
  }
}

const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === '' ? undefined : v));

const envSchema = z.object({
  /** @default 4000 */
  PORT: z.coerce.number().int().min(0).max(65535).default(4000),
  /** Interface to listen on. @default 127.0.0.1 (the container image sets 0.0.0.0) */
  HOST: z.string().min(1).default('127.0.0.1'),
  /** Issuer of tokens and base of public links. @default http://localhost:PORT */
  PUBLIC_URL: optionalUrl(['http', 'https']),
  /** The product name in mails, SMS and authenticator apps (TOTP issuer). @default GraphQL Auth Gateway */
  APP_NAME: z.string().trim().min(1).max(64).default('GraphQL Auth Gateway'),
  /** Front-end base for links in emails. @default PUBLIC_URL */
  APP_URL: optionalUrl(['http', 'https']),
  /** postgres:// URL; PGlite under DATA_DIR when unset. */
  DATABASE_URL: optionalUrl(['postgres', 'postgresql']),
  /** redis:// URL; an in-process store when unset (single instance only). With REDIS_CLUSTER, comma-separated seed nodes. */
  REDIS_URL: z
    .string()
    .optional()
    .transform((v) => (v?.trim() === '' ? undefined : v?.trim()))
    .refine((v) => v === undefined || v.split(',').every((u) => isUrl(u.trim(), ['redis', 'rediss'])), {
      message: 'expected a URL (redis, rediss), or with REDIS_CLUSTER=true a comma-separated list of them',
    }),
  /** Redis Cluster through ioredis' Cluster client; REDIS_URL lists one or more seed nodes. @default false */
  REDIS_CLUSTER: boolean(false),
  /** Apply migrations at start; false when the service role does not own the tables (README "Audit log"). @default true */
  DATABASE_MIGRATE: boolean(true),
  /** A connection to Postgres not ready within this fails (postgres.js connect_timeout). @default 5s */
  DATABASE_CONNECT_TIMEOUT: duration('5s'),
  /** Postgres cancels a statement (and ends a transaction left idle) running longer (statement_timeout). @default 5s */
  DATABASE_STATEMENT_TIMEOUT: duration('5s'),
  /** A GraphQL request still running after this answers INTERNAL_SERVER_ERROR (a stalled database or store). @default 10s */
  REQUEST_TIMEOUT: duration('10s'),
  /** @default ./.data */
  DATA_DIR: z.string().min(1).default('./.data'),
  /** Encrypts signing keys (and later TOTP secrets) at rest. At least 32 characters. */
  SECRET_KEY: optionalString.refine((v) => v === undefined || v.length >= 32, {
    message: 'must be at least 32 characters (e.g. `openssl rand -base64 48`)',
  }),
  ADMIN_EMAIL: optionalString.refine((v) => v === undefined || z.email().safeParse(v).success, {
    message: 'must be an email address',
  }),
  ADMIN_PASSWORD: optionalString,
  SMTP_URL: optionalUrl(['smtp', 'smtps']),
  MAIL_FROM: optionalString,
  SMS_WEBHOOK_URL: optionalUrl(['http', 'https']),
  CAPTCHA_VERIFY_URL: optionalUrl(['http', 'https']),
  CAPTCHA_SECRET: optionalString,
  /** Hostnames a CAPTCHA may be solved on (siteverify `hostname`), comma-separated; empty: any. @default (any) */
  CAPTCHA_HOSTNAMES: z
    .string()
    .default('')
    .transform((v) =>
      v
        .split(',')
        .map((h) => h.trim().toLowerCase())
        .filter(Boolean),
    )
    .pipe(z.array(z.string().regex(/^[a-z0-9.-]+$/, 'expected hostnames such as app.example.com'))),
  /** Oldest accepted CAPTCHA solution (siteverify `challenge_ts`); tokens are also single use at the provider. @default 5m */
  CAPTCHA_MAX_AGE: duration('5m'),
  /**
   * Signature algorithm of access tokens. EdDSA (Ed25519) by default; ES256 (P-256) or RS256 for
   * verifiers that lack EdDSA (jsonwebtoken-based ones, Hive Gateway's JWT plugin among them). A
   * change rotates to a key of the new algorithm at start; tokens of the old key stay valid. @default EdDSA
   */
  JWT_ALG: z.enum(['EdDSA', 'ES256', 'RS256']).default('EdDSA'),
  /** Also serve the endpoint as an Apollo Federation v2 subgraph (`_service`, `_entities`). @default false */
  FEDERATION: boolean(false),
  /** @default 15m */
  ACCESS_TOKEN_TTL: duration('15m'),
  /** @default 30d */
  REFRESH_TOKEN_TTL: duration('30d'),
  /** How long a rotated refresh token still answers with its successor; 0s = strict. @default 10s */
  REFRESH_REUSE_GRACE: duration('10s'),
  /**
   * Clock skew allowed when checking an access token: past `exp`, and of `iat` ahead of our clock
   * (also the slack on `exp - iat`). 0s to 60s. @default 5s
   */
  ACCESS_TOKEN_LEEWAY: duration('5s'),
  /** More origins a browser may call from (CORS) and open a WebSocket from, beside APP_URL's and PUBLIC_URL's; `*` for any. @default none */
  CORS_ORIGINS: optionalString,
  /** Most operations in flight (subscriptions included) on one WebSocket connection. @default 20 */
  WS_MAX_SUBSCRIPTIONS: z.coerce.number().int().min(1).max(1000).default(20),
  /** NIST SP 800-63B §5.1.1.2: at least 8. @default 8 */
  PASSWORD_MIN_LENGTH: z.coerce.number().int().min(8).max(256).default(8),
  /** @default TOTP,SMS,EMAIL */
  MFA_METHODS: z
    .string()
    .default(FACTOR_METHODS.join(','))
    .transform((v) =>
      v
        .split(',')
        .map((m) => m.trim().toUpperCase())
        .filter(Boolean),
    )
    .pipe(z.array(z.enum(FACTOR_METHODS))),
  /** @default false */
  REQUIRE_EMAIL_VERIFICATION: boolean(false),
  /** Serve the admin console at GET /admin. @default true */
  ADMIN_CONSOLE: boolean(true),
  /** WebAuthn relying party ID: a host name that each of WEBAUTHN_ORIGINS' hosts equals or ends with (a registrable domain suffix). @default the host of APP_URL */
  WEBAUTHN_RP_ID: optionalString,
  /** The name authenticators show beside a passkey. @default APP_NAME */
  WEBAUTHN_RP_NAME: optionalString.refine((v) => v === undefined || v.trim().length <= 64, { message: 'at most 64 characters' }),
  /** Browser origins a passkey may be used from, comma-separated. @default the origins of APP_URL and PUBLIC_URL */
  WEBAUTHN_ORIGINS: optionalString,
  /**
   * false, true (trust every hop), a hop count, or a comma-separated list of proxy addresses,
   * CIDR ranges (`10.0.0.0/8`) and names proxy-addr knows (`loopback`, `linklocal`, `uniquelocal`).
   * @default false
   */
  TRUST_PROXY: z
    .string()
    .default('false')
    .transform(
      (v, ctx) =>
        parseTrustProxy(v) ??
        (ctx.addIssue({ code: 'custom', message: 'expected false, true, a hop count or a list of proxy addresses/CIDR ranges' }), z.NEVER),
    ),
  /** @default info */
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** @default development */
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  ...abuseEnv,
  ...webhookEnv,
});

export type TrustProxy = { kind: 'none' } | { kind: 'all' } | { kind: 'hops'; hops: number } | { kind: 'list'; ips: string[] };

function parseTrustProxy(value: string): TrustProxy | null {
  const v = value.trim().toLowerCase();
  if (v === 'false' || v === '' || v === '0') return { kind: 'none' };
  if (v === 'true') return { kind: 'all' };
  if (/^\d+$/.test(v)) return { kind: 'hops', hops: Number(v) };
  const ips = v.split(',').map((s) => s.trim());
  try {
    proxyaddr.compile(ips); // throws on an entry that is no address, range or known name
    return { kind: 'list', ips };
  } catch {
    return null;
  }
}

/**
 * The configuration: the environment schema and one transform to what the code reads. `Config`
 * is this transform's output type, so the names, types and JSDoc below are written once.
 * Checks across variables are issues of the transform, named by variable like the schema's own.
 */
const configSchema = envSchema.transform((e, ctx) => {
  let failed = false;
  const problem = (key: string, message: string) => {
    failed = true;
    ctx.addIssue({ code: 'custom', path: [key], message });
  };
  if (e.ACCESS_TOKEN_TTL < 1000) problem('ACCESS_TOKEN_TTL', 'must be at least 1s');
  if (e.REFRESH_TOKEN_TTL <= e.ACCESS_TOKEN_TTL) problem('REFRESH_TOKEN_TTL', 'must be longer than ACCESS_TOKEN_TTL');
  if (e.REFRESH_REUSE_GRACE > 60_000) problem('REFRESH_REUSE_GRACE', 'at most 60s (a longer grace lets a stolen token live on)');
  if (e.ACCESS_TOKEN_LEEWAY > 60_000) problem('ACCESS_TOKEN_LEEWAY', 'at most 60s (it extends every token past its exp)');
  const corsOrigins = parseOrigins(e.CORS_ORIGINS);
  if (corsOrigins === null) problem('CORS_ORIGINS', 'expected `*` or a comma-separated list of origins such as https://app.example.com');
  for (const key of ['DATABASE_CONNECT_TIMEOUT', 'DATABASE_STATEMENT_TIMEOUT', 'REQUEST_TIMEOUT'] as const) {
    if (e[key] < 100) problem(key, 'must be at least 100ms');
  }
  const abuse = abuseConfig(e, problem);
  const publicUrl = stripSlash(e.PUBLIC_URL ?? `http://localhost:${e.PORT}`);
  const webauthn = webauthnConfig(e, publicUrl, problem);
  if (failed) return z.NEVER;

  return Object.freeze({
    port: e.PORT,
    host: e.HOST,
    publicUrl,
    appUrl: stripSlash(e.APP_URL ?? publicUrl),
    appName: e.APP_NAME,
    databaseUrl: e.DATABASE_URL,
    redisUrl: e.REDIS_URL,
    /** REDIS_URL is a comma-separated list of Redis Cluster seed nodes. */
    redisCluster: e.REDIS_CLUSTER,
    databaseMigrate: e.DATABASE_MIGRATE,
    databaseConnectTimeoutMs: e.DATABASE_CONNECT_TIMEOUT,
    databaseStatementTimeoutMs: e.DATABASE_STATEMENT_TIMEOUT,
    requestTimeoutMs: e.REQUEST_TIMEOUT,
    dataDir: e.DATA_DIR,
    secretKey: e.SECRET_KEY,
    adminEmail: e.ADMIN_EMAIL?.toLowerCase(),
    adminPassword: e.ADMIN_PASSWORD,
    smtpUrl: e.SMTP_URL,
    /** The From of mails. @default `APP_NAME <no-reply@host of PUBLIC_URL>` */
    mailFrom: e.MAIL_FROM ?? `${e.APP_NAME.replace(/["<>\r\n]/g, '')} <no-reply@${new URL(publicUrl).hostname}>`,
    smsWebhookUrl: e.SMS_WEBHOOK_URL,
    captchaVerifyUrl: e.CAPTCHA_VERIFY_URL,
    captchaSecret: e.CAPTCHA_SECRET,
    /** Expected siteverify hostnames; empty: any. */
    captchaHostnames: Object.freeze(e.CAPTCHA_HOSTNAMES) as readonly string[],
    captchaMaxAgeMs: e.CAPTCHA_MAX_AGE,
    jwtAlg: e.JWT_ALG,
    federation: e.FEDERATION,
    accessTokenTtlMs: e.ACCESS_TOKEN_TTL,
    refreshTokenTtlMs: e.REFRESH_TOKEN_TTL,
    refreshReuseGraceMs: e.REFRESH_REUSE_GRACE,
    /** ACCESS_TOKEN_LEEWAY in ms. */
    accessTokenLeewayMs: e.ACCESS_TOKEN_LEEWAY,
    /** Browser origins allowed beside those of APP_URL and PUBLIC_URL (CORS, WebSocket upgrade), normalised; `'*'` allows any. */
    corsOrigins: corsOrigins ?? (Object.freeze([]) as readonly string[]),
    wsMaxSubscriptions: e.WS_MAX_SUBSCRIPTIONS,
    passwordMinLength: e.PASSWORD_MIN_LENGTH,
    mfaMethods: Object.freeze([...new Set(e.MFA_METHODS)]) as readonly FactorMethod[],
    requireEmailVerification: e.REQUIRE_EMAIL_VERIFICATION,
    adminConsole: e.ADMIN_CONSOLE,
    trustProxy: e.TRUST_PROXY as TrustProxy,
    logLevel: e.LOG_LEVEL as string,
    nodeEnv: e.NODE_ENV,
    isProduction: e.NODE_ENV === 'production',
    /** Rate limits, login lockout, CAPTCHA and GraphQL/HTTP limits. */
    abuse,
    /** Webhook delivery: retries, disabling, retention, the SSRF guard's allow-list. */
    webhooks: webhookConfig(e),
    /** Passkeys: the relying party (WEBAUTHN_RP_ID, WEBAUTHN_RP_NAME) and the origins assertions may come from (WEBAUTHN_ORIGINS). */
    webauthn,
  });
});

export type Config = z.output<typeof configSchema>;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/**
 * The only reader of the environment: validates every variable at once and lists every
 * bad one in a single error, naming the variable but never echoing its value (it may be a secret).
 */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const parsed = configSchema.safeParse(env);
  const problems: string[] = [];
  const set = (key: string) => !!env[key]?.trim();
  if (env.NODE_ENV === 'production') {
    if (!set('SECRET_KEY')) problems.push('SECRET_KEY: required when NODE_ENV=production');
    if (!set('REDIS_URL')) problems.push('REDIS_URL: required when NODE_ENV=production (the in-process store is single-instance)');
    if (!set('DATABASE_URL')) problems.push('DATABASE_URL: required when NODE_ENV=production');
  }
  if (set('ADMIN_PASSWORD') && !set('ADMIN_EMAIL')) problems.push('ADMIN_EMAIL: required when ADMIN_PASSWORD is set');
  if (boolean(false).safeParse(env.REDIS_CLUSTER).data && !set('REDIS_URL')) problems.push('REDIS_URL: required when REDIS_CLUSTER is set');
  if (env.REDIS_URL?.includes(',') && !boolean(false).safeParse(env.REDIS_CLUSTER).data) problems.push('REDIS_URL: a list of nodes needs REDIS_CLUSTER=true');
  if (set('CAPTCHA_VERIFY_URL') && !set('CAPTCHA_SECRET')) problems.push('CAPTCHA_SECRET: required when CAPTCHA_VERIFY_URL is set');
  if (set('CAPTCHA_REQUIRED_FOR') && !set('CAPTCHA_VERIFY_URL')) problems.push('CAPTCHA_VERIFY_URL: required when CAPTCHA_REQUIRED_FOR is set');
  if (!parsed.success) {
    for (const issue of parsed.error.issues) problems.push(`${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(problems);
  }
  if (problems.length) throw new ConfigError(problems);
  return parsed.data;
}

/** `*`, or origins (scheme://host[:port], as a browser sends them); undefined when unset, null when malformed. */
function parseOrigins(value: string | undefined): readonly string[] | '*' | undefined | null {
  if (value === undefined) return undefined;
  if (value.trim() === '*') return '*';
  const origins = value
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean);
  if (!origins.length || !origins.every((o) => isUrl(o, ['http', 'https']) && new URL(o).origin === o.replace(/\/+$/, '').toLowerCase())) return null;
  return Object.freeze([...new Set(origins.map((o) => new URL(o).origin))]);
}

/**
 * WEBAUTHN_*: the RP ID must be a registrable suffix of every expected origin's host, or no
 * browser would let those origins use it (WebAuthn L3 §5.1.3, "relying party identifier"), so a
 * mismatch is a start-up error rather than passkeys that silently never work.
 */
function webauthnConfig(
  e: { WEBAUTHN_RP_ID?: string; WEBAUTHN_RP_NAME?: string; WEBAUTHN_ORIGINS?: string; APP_NAME: string; APP_URL?: string },
  publicUrl: string,
  problem: (key: string, message: string) => void,
) {
  const appUrl = e.APP_URL ?? publicUrl;
  const rpId = (e.WEBAUTHN_RP_ID ?? new URL(appUrl).hostname).trim().toLowerCase();
  if (!/^(?=.{1,253}$)[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/.test(rpId)) {
    problem('WEBAUTHN_RP_ID', 'expected a host name such as example.com (no scheme, port or path)');
  }
  // WebAuthn's RP ID is a domain, never an IP address: browsers refuse every ceremony for one.
  if (e.WEBAUTHN_RP_ID !== undefined && isIP(rpId))
    problem('WEBAUTHN_RP_ID', 'an IP address cannot be a WebAuthn RP ID: use a host name (localhost in development)');
  const listed = e.WEBAUTHN_ORIGINS === undefined ? [new URL(appUrl).origin, new URL(publicUrl).origin] : parseOrigins(e.WEBAUTHN_ORIGINS);
  if (listed === null || listed === '*' || listed === undefined)
    problem('WEBAUTHN_ORIGINS', 'expected a comma-separated list of origins such as https://app.example.com');
  const under = (origin: string) => {
    const host = new URL(origin).hostname;
    return host === rpId || host.endsWith(`.${rpId}`);
  };
  const unique = Array.isArray(listed) ? [...new Set(listed)] : [];
  // Defaults keep what can use the RP ID (PUBLIC_URL on another host cannot); a listed origin outside it is a mistake.
  const origins = e.WEBAUTHN_ORIGINS === undefined ? unique.filter(under) : unique;
  const outside = origins.filter((o) => !under(o));
  if (outside.length) problem('WEBAUTHN_ORIGINS', `every origin's host must be WEBAUTHN_RP_ID or under it`);
  if (!origins.length && e.WEBAUTHN_ORIGINS === undefined)
    problem('WEBAUTHN_RP_ID', 'neither APP_URL nor PUBLIC_URL is on this host or under it: set WEBAUTHN_ORIGINS');
  return Object.freeze({ rpId, rpName: e.WEBAUTHN_RP_NAME?.trim() || e.APP_NAME, origins: Object.freeze(origins) as readonly string[] });
}

function stripSlash(url: string): string {
  return url.replace(/\/+$/, '');
}
