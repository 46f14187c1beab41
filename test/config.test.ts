import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { problems } from './support/config.js';

describe('configuration', () => {
  it('starts on documented defaults with no environment', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      port: 4000,
      host: '127.0.0.1',
      publicUrl: 'http://localhost:4000',
      appUrl: 'http://localhost:4000',
      databaseUrl: undefined,
      redisUrl: undefined,
      dataDir: './.data',
      accessTokenTtlMs: 15 * 60_000,
      refreshTokenTtlMs: 30 * 86_400_000,
      refreshReuseGraceMs: 10_000,
      passwordMinLength: 8,
      mfaMethods: ['TOTP', 'SMS', 'EMAIL'],
      requireEmailVerification: false,
      trustProxy: { kind: 'none' },
      logLevel: 'info',
      nodeEnv: 'development',
      isProduction: false,
    });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('parses every variable', () => {
    const config = loadConfig({
      PORT: '8080',
      PUBLIC_URL: 'https://auth.example.com/',
      APP_URL: 'https://app.example.com',
      DATABASE_URL: 'postgres://u:p@db/auth',
      REDIS_URL: 'rediss://cache:6380',
      ACCESS_TOKEN_TTL: '5m',
      REFRESH_TOKEN_TTL: '7d',
      REFRESH_REUSE_GRACE: '0s',
      PASSWORD_MIN_LENGTH: '12',
      MFA_METHODS: 'totp, email',
      REQUIRE_EMAIL_VERIFICATION: 'true',
      TRUST_PROXY: '2',
      CAPTCHA_VERIFY_URL: 'https://challenges.cloudflare.com/turnstile/v0/siteverify',
      CAPTCHA_SECRET: 'x',
      SMTP_URL: 'smtp://mail:1025',
    });
    expect(config).toMatchObject({
      port: 8080,
      publicUrl: 'https://auth.example.com',
      accessTokenTtlMs: 300_000,
      refreshTokenTtlMs: 7 * 86_400_000,
      refreshReuseGraceMs: 0,
      passwordMinLength: 12,
      mfaMethods: ['TOTP', 'EMAIL'],
      requireEmailVerification: true,
      trustProxy: { kind: 'hops', hops: 2 },
    });
    expect(loadConfig({ TRUST_PROXY: '10.0.0.1, 10.0.0.2' }).trustProxy).toEqual({ kind: 'list', ips: ['10.0.0.1', '10.0.0.2'] });
    expect(loadConfig({ TRUST_PROXY: '10.0.0.0/8,Loopback, fd00::/8' }).trustProxy).toEqual({ kind: 'list', ips: ['10.0.0.0/8', 'loopback', 'fd00::/8'] });
    expect(() => loadConfig({ TRUST_PROXY: '10.0.0.0/33' })).toThrow(/TRUST_PROXY/);
  });

  it('names the product in mails and derives the sender from it and PUBLIC_URL unless MAIL_FROM is set', () => {
    expect(loadConfig({})).toMatchObject({ appName: 'GraphQL Auth Gateway', mailFrom: 'GraphQL Auth Gateway <no-reply@localhost>' });
    expect(loadConfig({ APP_NAME: 'Acme', PUBLIC_URL: 'https://auth.acme.com' })).toMatchObject({ appName: 'Acme', mailFrom: 'Acme <no-reply@auth.acme.com>' });
    expect(loadConfig({ APP_NAME: 'Acme', MAIL_FROM: 'Support <help@acme.com>' }).mailFrom).toBe('Support <help@acme.com>');
    expect(problems({ APP_NAME: 'x'.repeat(65) })).toEqual([expect.stringMatching(/^APP_NAME: /)]);
  });

  it('names every bad variable in one error, without echoing values', () => {
    const secret = 'short-secret-value';
    const list = problems({
      PORT: 'eighty',
      DATABASE_URL: 'mysql://nope',
      SECRET_KEY: secret,
      ACCESS_TOKEN_TTL: 'soon',
      PASSWORD_MIN_LENGTH: '4',
      MFA_METHODS: 'TOTP,FAX',
      LOG_LEVEL: 'loud',
      TRUST_PROXY: 'maybe?',
      REQUIRE_EMAIL_VERIFICATION: 'perhaps',
    });
    const named = list.map((p) => p.split(':')[0]);
    for (const key of [
      'PORT',
      'DATABASE_URL',
      'SECRET_KEY',
      'ACCESS_TOKEN_TTL',
      'PASSWORD_MIN_LENGTH',
      'MFA_METHODS.1',
      'LOG_LEVEL',
      'TRUST_PROXY',
      'REQUIRE_EMAIL_VERIFICATION',
    ]) {
      expect(named).toContain(key);
    }
    expect(list.join('\n')).not.toContain(secret);
  });

  it('takes a list of Redis Cluster seed nodes only with REDIS_CLUSTER=true', () => {
    const nodes = 'redis://127.0.0.1:7000, redis://127.0.0.1:7001';
    expect(loadConfig({ REDIS_CLUSTER: 'true', REDIS_URL: nodes })).toMatchObject({ redisCluster: true, redisUrl: nodes });
    expect(loadConfig({})).toMatchObject({ redisCluster: false });
    expect(problems({ REDIS_URL: nodes })).toEqual(['REDIS_URL: a list of nodes needs REDIS_CLUSTER=true']);
    expect(problems({ REDIS_CLUSTER: 'true' })).toEqual(['REDIS_URL: required when REDIS_CLUSTER is set']);
    expect(problems({ REDIS_CLUSTER: 'true', REDIS_URL: 'redis://a:1,http://b:2' })[0]).toMatch(/^REDIS_URL: expected a URL/);
    expect(problems({ REDIS_CLUSTER: 'maybe' })[0]).toMatch(/^REDIS_CLUSTER:/);
  });

  it('validates CAPTCHA_HOSTNAMES and CAPTCHA_MAX_AGE', () => {
    expect(loadConfig({ CAPTCHA_HOSTNAMES: 'App.Example.com, www.example.com' })).toMatchObject({
      captchaHostnames: ['app.example.com', 'www.example.com'],
      captchaMaxAgeMs: 300_000,
    });
    expect(loadConfig({ CAPTCHA_MAX_AGE: '2m' }).captchaMaxAgeMs).toBe(120_000);
    expect(problems({ CAPTCHA_HOSTNAMES: 'https://app.example.com/' })[0]).toMatch(/^CAPTCHA_HOSTNAMES/);
    expect(problems({ CAPTCHA_MAX_AGE: 'soon' })[0]).toMatch(/^CAPTCHA_MAX_AGE/);
  });

  it('refuses production without SECRET_KEY, REDIS_URL and DATABASE_URL', () => {
    const list = problems({ NODE_ENV: 'production' });
    expect(list.map((p) => p.split(':')[0]).sort()).toEqual(['DATABASE_URL', 'REDIS_URL', 'SECRET_KEY']);
    const ok = loadConfig({
      NODE_ENV: 'production',
      SECRET_KEY: 'x'.repeat(32),
      REDIS_URL: 'redis://r',
      DATABASE_URL: 'postgres://d/db',
    });
    expect(ok.isProduction).toBe(true);
  });

  it('checks relations between variables', () => {
    expect(problems({ REFRESH_TOKEN_TTL: '10m', ACCESS_TOKEN_TTL: '15m' })).toEqual([expect.stringMatching(/^REFRESH_TOKEN_TTL:/)]);
    expect(problems({ REFRESH_REUSE_GRACE: '5m' })).toEqual([expect.stringMatching(/^REFRESH_REUSE_GRACE:/)]);
    expect(problems({ ADMIN_PASSWORD: 'x' })).toEqual([expect.stringMatching(/^ADMIN_EMAIL:/)]);
    expect(problems({ CAPTCHA_VERIFY_URL: 'https://x.test/verify' })).toEqual([expect.stringMatching(/^CAPTCHA_SECRET:/)]);
  });

  it('reports checks across variables together with those of the environment, and freezes the result', () => {
    const list = problems({ NODE_ENV: 'production', REFRESH_TOKEN_TTL: '10m', ACCESS_TOKEN_TTL: '15m', LOGIN_DELAY_AFTER: '10', LOGIN_LOCK_AFTER: '10' });
    expect(list.map((p) => p.split(':')[0]).sort()).toEqual(['DATABASE_URL', 'LOGIN_LOCK_AFTER', 'REDIS_URL', 'REFRESH_TOKEN_TTL', 'SECRET_KEY']);
    const config = loadConfig({});
    expect(Object.isFrozen(config) && Object.isFrozen(config.abuse) && Object.isFrozen(config.abuse.graphqlLimits)).toBe(true);
  });

  it('parses abuse-protection settings and names bad ones', () => {
    const config = loadConfig({
      RATE_LIMITS: 'login.ip=5/30s',
      LOGIN_DELAY_AFTER: '4',
      LOGIN_LOCK_AFTER: '8',
      CAPTCHA_VERIFY_URL: 'https://c.test/v',
      CAPTCHA_SECRET: 's',
      CAPTCHA_REQUIRED_FOR: 'login,register',
    });
    expect(config.abuse.rateLimits['login.ip']).toEqual({ max: 5, windowMs: 30_000 });
    expect(config.abuse.rateLimits['register.ip']).toEqual({ max: 30, windowMs: 300_000 });
    expect(config.abuse).toMatchObject({ loginDelayAfter: 4, loginLockAfter: 8, captchaRequiredFor: ['login', 'register'] });
    expect(problems({ RATE_LIMITS: 'login.ip=lots/1m,nosuch.ip=1/1m' }).map((p) => p.split(':')[0])).toEqual(['RATE_LIMITS', 'RATE_LIMITS']);
    expect(problems({ LOGIN_DELAY_AFTER: '10', LOGIN_LOCK_AFTER: '10' })).toEqual([expect.stringMatching(/^LOGIN_LOCK_AFTER:/)]);
    expect(problems({ CAPTCHA_REQUIRED_FOR: 'login' })).toEqual([expect.stringMatching(/^CAPTCHA_VERIFY_URL:/)]);
    expect(problems({ CAPTCHA_VERIFY_URL: 'https://c.test/v', CAPTCHA_SECRET: 's', CAPTCHA_REQUIRED_FOR: 'logout' })[0]).toMatch(/^CAPTCHA_REQUIRED_FOR/);
  });

  it('the process exits with the message when started with bad configuration', async () => {
    const { spawnSync } = await import('node:child_process');
    const result = spawnSync('node', ['--import', 'tsx', 'src/main.ts'], {
      cwd: new URL('..', import.meta.url).pathname,
      env: { PATH: process.env.PATH, NODE_ENV: 'production', PORT: 'x' },
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('PORT:');
    expect(result.stderr).toContain('SECRET_KEY: required when NODE_ENV=production');
  });
});

describe('timeout configuration', () => {
  it('reads the durations, defaults them, and refuses values too short to mean anything', () => {
    const config = loadConfig({ REQUEST_TIMEOUT: '3s', DATABASE_STATEMENT_TIMEOUT: '2500ms' });
    expect([config.requestTimeoutMs, config.databaseStatementTimeoutMs, config.databaseConnectTimeoutMs, config.databaseMigrate]).toEqual([
      3000,
      2500,
      5000,
      true,
    ]);
    expect(loadConfig({ DATABASE_MIGRATE: 'false' }).databaseMigrate).toBe(false);
    expect(problems({ DATABASE_CONNECT_TIMEOUT: 'soon' })).toEqual([expect.stringMatching(/^DATABASE_CONNECT_TIMEOUT: expected a duration/)]);
    expect(problems({ REQUEST_TIMEOUT: '10ms', DATABASE_STATEMENT_TIMEOUT: '0s' })).toEqual([
      'DATABASE_STATEMENT_TIMEOUT: must be at least 100ms',
      'REQUEST_TIMEOUT: must be at least 100ms',
    ]);
  });
});
