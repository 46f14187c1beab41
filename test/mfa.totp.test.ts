import { and, eq } from 'drizzle-orm';
import { Secret } from 'otpauth';
import { describe, expect, it } from 'vitest';
import { mfaFactors } from '../src/modules/mfa/tables.js';
import { totpAt } from '../src/modules/mfa/totp.js';
import { backends, useTestApp } from './support/app.js';
import { auditRows, expectCode, expectOk, PASSWORD, signUp } from './support/actions.js';
import { confirmEnrollment, loginPending, mfaState, RECOVERY_CODE_SHAPE, startEnrollment, STEP_MS, totpNow, verify2fa, wrongTotp } from './support/mfa.js';

describe('totpAt: RFC 6238 Appendix B test vectors', () => {
  const secrets = {
    SHA1: Secret.fromLatin1('12345678901234567890').base32,
    SHA256: Secret.fromLatin1('12345678901234567890123456789012').base32,
    SHA512: Secret.fromLatin1(`${'1234567890'.repeat(6)}1234`).base32,
  } as const;
  const vectors: Array<[number, string, string, string]> = [
    [59, '94287082', '46119246', '90693936'],
    [1111111109, '07081804', '68084774', '25091201'],
    [1111111111, '14050471', '67062674', '99943326'],
    [1234567890, '89005924', '91819424', '93441116'],
    [2000000000, '69279037', '90698825', '38618901'],
    [20000000000, '65353130', '77737706', '47863826'],
  ];

  it('the secrets are the RFC seeds of 20, 32 and 64 bytes', () => {
    expect(Secret.fromBase32(secrets.SHA1).bytes).toHaveLength(20);
    expect(Secret.fromBase32(secrets.SHA256).bytes).toHaveLength(32);
    expect(Secret.fromBase32(secrets.SHA512).bytes).toHaveLength(64);
  });

  it.each(vectors)('T = %i s: SHA1 %s, SHA256 %s, SHA512 %s', (seconds, sha1, sha256, sha512) => {
    const at = seconds * 1000;
    expect(totpAt(secrets.SHA1, at, { digits: 8, algorithm: 'SHA1' })).toBe(sha1);
    expect(totpAt(secrets.SHA256, at, { digits: 8, algorithm: 'SHA256' })).toBe(sha256);
    expect(totpAt(secrets.SHA512, at, { digits: 8, algorithm: 'SHA512' })).toBe(sha512);
  });

  it('defaults to 6 digits of SHA-1: the low 6 digits of the 8-digit code', () => {
    expect(totpAt(secrets.SHA1, 59_000)).toBe('287082');
  });
});

describe.each(backends())('TOTP enrollment (%s)', (backend) => {
  const app = useTestApp(backend, { env: { APP_NAME: 'Acme Test' } });

  async function factorRow(userId: string) {
    const [row] = await app.deps.db
      .select()
      .from(mfaFactors)
      .where(and(eq(mfaFactors.userId, userId), eq(mfaFactors.method, 'TOTP')));
    return row;
  }

  it('startMfaEnrollment(TOTP) returns a base32 secret, its otpauth:// URI with the issuer and an SVG QR code; nothing is enabled yet', async () => {
    const user = await signUp(app);
    const enrollment = expectOk(await startEnrollment(app, user.accessToken, 'TOTP')).startMfaEnrollment;
    expect(enrollment.method).toBe('TOTP');
    expect(enrollment.secret).toMatch(/^[A-Z2-7]+=*$/);
    // 160 bits (RFC 4226 §4).
    expect(Secret.fromBase32(enrollment.secret).bytes).toHaveLength(20);
    expect(enrollment.otpauthUrl.startsWith('otpauth://totp/')).toBe(true);
    const uri = new URL(enrollment.otpauthUrl);
    expect(uri.searchParams.get('issuer')).toBe('Acme Test');
    expect(uri.searchParams.get('secret')).toBe(enrollment.secret);
    expect(decodeURIComponent(uri.pathname)).toContain(user.email);
    expect(enrollment.qrCode.startsWith('data:image/svg+xml;base64,')).toBe(true);
    const svg = Buffer.from(enrollment.qrCode.slice('data:image/svg+xml;base64,'.length), 'base64').toString('utf8');
    expect(svg).toContain('<svg');

    expect(expectOk(await mfaState(app, user.accessToken)).me).toMatchObject({ mfaEnabled: false, mfaMethods: [], defaultMfaMethod: null });
    expect(await auditRows(app, { userId: user.userId, action: 'mfa.enabled' })).toHaveLength(0);
  });

  it('a login of a user who only started the enrollment gets full tokens', async () => {
    const user = await signUp(app);
    expectOk(await startEnrollment(app, user.accessToken, 'TOTP'));
    const auth = expectOk(
      await app.gql(`mutation($i: LoginInput!) { login(input: $i) { mfaRequired refreshToken } }`, { i: { email: user.email, password: PASSWORD } }),
    ).login;
    expect(auth.mfaRequired).toBe(false);
    expect(auth.refreshToken).toEqual(expect.any(String));
  });

  it('confirm with a wrong code is INVALID_CODE; the right one turns MFA on with 10 distinct recovery codes, audited mfa.enabled', async () => {
    const user = await signUp(app);
    const { secret } = expectOk(await startEnrollment(app, user.accessToken, 'TOTP')).startMfaEnrollment;
    expectCode(await confirmEnrollment(app, user.accessToken, 'TOTP', wrongTotp(app, secret)), 'INVALID_CODE');
    expect(expectOk(await mfaState(app, user.accessToken)).me.mfaEnabled).toBe(false);

    const confirmed = expectOk(await confirmEnrollment(app, user.accessToken, 'TOTP', totpNow(app, secret))).confirmMfaEnrollment;
    expect(confirmed.recoveryCodes).toHaveLength(10);
    expect(new Set(confirmed.recoveryCodes).size).toBe(10);
    for (const code of confirmed.recoveryCodes) expect(code).toMatch(RECOVERY_CODE_SHAPE);
    expect(confirmed.user).toMatchObject({ id: user.userId, mfaEnabled: true, mfaMethods: ['TOTP', 'RECOVERY_CODE'], defaultMfaMethod: 'TOTP' });
    expect(expectOk(await mfaState(app, user.accessToken)).me).toMatchObject({
      mfaEnabled: true,
      mfaMethods: ['TOTP', 'RECOVERY_CODE'],
      defaultMfaMethod: 'TOTP',
    });

    const rows = await auditRows(app, { userId: user.userId, action: 'mfa.enabled' });
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ outcome: 'SUCCESS', metadata: { method: 'TOTP', first: true } });
    const all = JSON.stringify(await auditRows(app, { userId: user.userId }));
    expect(all).not.toContain(secret);
    for (const code of confirmed.recoveryCodes) expect(all).not.toContain(code);
  });

  it('the code that confirmed the enrollment cannot complete a login (its time step is spent)', async () => {
    const user = await signUp(app);
    const { secret } = expectOk(await startEnrollment(app, user.accessToken, 'TOTP')).startMfaEnrollment;
    const code = totpNow(app, secret);
    expectOk(await confirmEnrollment(app, user.accessToken, 'TOTP', code));
    const pending = await loginPending(app, user.email);
    expectCode(await verify2fa(app, pending.accessToken, 'TOTP', code), 'INVALID_CODE');
    app.clock.advance(STEP_MS);
    expectOk(await verify2fa(app, pending.accessToken, 'TOTP', totpNow(app, secret)));
  });

  it('confirm before any start is BAD_USER_INPUT, and enables nothing', async () => {
    const user = await signUp(app);
    expectCode(await confirmEnrollment(app, user.accessToken, 'TOTP', '123456'), 'BAD_USER_INPUT');
    expect(expectOk(await mfaState(app, user.accessToken)).me.mfaEnabled).toBe(false);
  });

  it('starting or confirming TOTP again once it is enabled is BAD_USER_INPUT, and the secret stays', async () => {
    const user = await signUp(app);
    const { secret } = expectOk(await startEnrollment(app, user.accessToken, 'TOTP')).startMfaEnrollment;
    expectOk(await confirmEnrollment(app, user.accessToken, 'TOTP', totpNow(app, secret)));
    const before = await factorRow(user.userId);
    expectCode(await startEnrollment(app, user.accessToken, 'TOTP'), 'BAD_USER_INPUT');
    app.clock.advance(STEP_MS);
    expectCode(await confirmEnrollment(app, user.accessToken, 'TOTP', totpNow(app, secret)), 'BAD_USER_INPUT');
    expect((await factorRow(user.userId))?.secretEnc).toBe(before?.secretEnc);
    // The enrolled secret still signs in.
    const pending = await loginPending(app, user.email);
    expectOk(await verify2fa(app, pending.accessToken, 'TOTP', totpNow(app, secret)));
  });

  it('starting again before confirming replaces the secret: only the newest one confirms', async () => {
    const user = await signUp(app);
    const first = expectOk(await startEnrollment(app, user.accessToken, 'TOTP')).startMfaEnrollment.secret;
    const second = expectOk(await startEnrollment(app, user.accessToken, 'TOTP')).startMfaEnrollment.secret;
    expect(second).not.toBe(first);
    const stale = totpNow(app, first);
    if (stale !== totpNow(app, second)) expectCode(await confirmEnrollment(app, user.accessToken, 'TOTP', stale), 'INVALID_CODE');
    expectOk(await confirmEnrollment(app, user.accessToken, 'TOTP', totpNow(app, second)));
  });

  it('without a token, startMfaEnrollment and confirmMfaEnrollment are UNAUTHENTICATED', async () => {
    expectCode(await app.gql(`mutation { startMfaEnrollment(method: TOTP) { secret } }`), 'UNAUTHENTICATED');
    expectCode(await app.gql(`mutation { confirmMfaEnrollment(method: TOTP, code: "123456") { recoveryCodes } }`), 'UNAUTHENTICATED');
  });

  it('startMfaEnrollment(RECOVERY_CODE) is BAD_USER_INPUT', async () => {
    const user = await signUp(app);
    expectCode(await startEnrollment(app, user.accessToken, 'RECOVERY_CODE'), 'BAD_USER_INPUT');
  });

  it('keeps the secret out of the mfa_factors row, and the secret and recovery codes out of the logs', async () => {
    const user = await signUp(app);
    const { secret } = expectOk(await startEnrollment(app, user.accessToken, 'TOTP')).startMfaEnrollment;
    const started = await factorRow(user.userId);
    expect(started?.secretEnc).toEqual(expect.any(String));
    expect(JSON.stringify(started)).not.toContain(secret);
    expect(JSON.stringify(started).toLowerCase()).not.toContain(secret.toLowerCase());
    // Nor the raw key bytes in hex or base64.
    const bytes = Buffer.from(Secret.fromBase32(secret).bytes);
    expect(JSON.stringify(started)).not.toContain(bytes.toString('hex'));
    expect(JSON.stringify(started)).not.toContain(bytes.toString('base64').replace(/=+$/, ''));

    const { recoveryCodes } = expectOk(await confirmEnrollment(app, user.accessToken, 'TOTP', totpNow(app, secret))).confirmMfaEnrollment;
    const enabled = await factorRow(user.userId);
    expect(enabled?.enabledAt).toBeInstanceOf(Date);
    expect(JSON.stringify(enabled)).not.toContain(secret);
    expect(app.logs.length).toBeGreaterThan(0);
    const logs = app.logs.join('\n');
    expect(logs).not.toContain(secret);
    for (const code of recoveryCodes as string[]) expect(logs).not.toContain(code);
  });
});
