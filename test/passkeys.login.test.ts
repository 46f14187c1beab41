import { describe, expect, it } from 'vitest';
import { backends, useTestApp } from './support/app.js';
import { auditRows, expectCode, expectOk, me, refresh, signUp } from './support/actions.js';
import { grantAdmin } from './support/audit.js';
import { rateLimits } from './support/messages.js';
import {
  amrOf,
  cloneAuthenticator,
  finishLogin,
  MY_PASSKEYS,
  newAuthenticator,
  ORIGIN,
  passkeyLogin,
  registerPasskey,
  startLogin,
} from './support/passkeys.js';

const FIVE_MINUTES = 5 * 60_000;

/** The reasons of a user's passkey.login_failed rows, oldest first. */
async function failureReasons(app: ReturnType<typeof useTestApp>, userId: string | null): Promise<unknown[]> {
  const rows = await auditRows(app, { action: 'passkey.login_failed', ...(userId ? { userId } : {}) });
  return rows.map((r) => (r.metadata as { reason: string }).reason);
}

describe.each(backends())('passkeys: sign-in (%s)', (backend) => {
  const app = useTestApp(backend);

  async function userWithPasskeys(count = 1) {
    const user = await signUp(app);
    const authenticators = Array.from({ length: count }, newAuthenticator);
    const passkeys = [];
    for (const authenticator of authenticators) passkeys.push(await registerPasskey(app, user.accessToken, authenticator));
    return { user, authenticators, passkeys };
  }

  it('each of two passkeys signs in, with the email and without (discoverable): a full multi-factor session, audited', async () => {
    const { user, authenticators, passkeys } = await userWithPasskeys(2);
    for (const authenticator of authenticators) {
      for (const email of [user.email, undefined]) {
        const auth = expectOk(await passkeyLogin(app, authenticator, { email })).finishPasskeyLogin;
        expect(auth).toMatchObject({ mfaRequired: false, mfaMethods: [], user: { id: user.userId } });
        // RFC 8176: the emulator's credentials are backup eligible (synced), so swk; and mfa.
        expect(amrOf(auth.accessToken)).toEqual(['swk', 'mfa']);
        expectOk(await me(app, auth.accessToken));
        expectOk(await refresh(app, auth.refreshToken));
      }
    }
    const mine = expectOk(await app.gql(MY_PASSKEYS, {}, { token: user.accessToken })).me.passkeys;
    expect(mine.every((p: { lastUsedAt: string | null }) => p.lastUsedAt !== null)).toBe(true);
    const rows = await auditRows(app, { userId: user.userId });
    const logins = rows.filter((r) => r.action === 'passkey.login').map((r) => r.metadata);
    expect(logins).toEqual([passkeys[0].id, passkeys[0].id, passkeys[1].id, passkeys[1].id].map((keyId) => ({ keyId, secondFactor: false })));
    expect(rows.filter((r) => r.action === 'user.login' && (r.metadata as { method: string }).method === 'passkey')).toHaveLength(4);
  });

  it('the options: user verification required, 5 minutes, the RP ID; with an email its passkeys, without none listed', async () => {
    const { user, authenticators } = await userWithPasskeys(2);
    const withEmail = await startLogin(app, { email: ` ${user.email.toUpperCase()} ` });
    expect(withEmail).toMatchObject({ rpId: 'gateway.test', userVerification: 'required', timeout: FIVE_MINUTES });
    const ids = authenticators.map((a) =>
      Buffer.from(a.repository.loadCredentials()[0]!.publicKeyCredentialDescriptor.id as ArrayBuffer).toString('base64url'),
    );
    expect(withEmail.allowCredentials?.map((c) => c.id).sort()).toEqual(ids.sort());
    expect((await startLogin(app)).allowCredentials ?? []).toEqual([]);
  });

  it('no enumeration: an unknown email and one without passkeys get one stable decoy id, shaped like a real one, that nothing can answer', async () => {
    const known = await userWithPasskeys(1);
    const withoutPasskey = await signUp(app);
    const unknown = `nobody.${Date.now()}@example.com`;
    const real = await startLogin(app, { email: known.user.email });
    for (const email of [unknown, withoutPasskey.email]) {
      const first = await startLogin(app, { email });
      const again = await startLogin(app, { email });
      expect(Object.keys(first).sort()).toEqual(Object.keys(real).sort());
      expect(first.allowCredentials).toHaveLength(1);
      expect(Object.keys(first.allowCredentials![0]!)).toEqual(Object.keys(real.allowCredentials![0]!));
      expect(first.allowCredentials![0]!.id).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(again.allowCredentials).toEqual(first.allowCredentials);
      expect(first.challenge).not.toBe(again.challenge);
      // Another account's discoverable passkey answering this email's challenge: refused like a wrong passkey.
      const response = known.authenticators[0]!.emulator.getJSON(ORIGIN, { ...first, allowCredentials: [] });
      const refused = await finishLogin(app, response);
      expectCode(refused, 'INVALID_CODE');
      expect(refused.errors?.[0]?.message).toBe('The passkey could not be verified');
    }
    expect((await startLogin(app, { email: unknown })).allowCredentials).not.toEqual((await startLogin(app, { email: withoutPasskey.email })).allowCredentials);
  });

  it("a passkey of another account answering an email's challenge is INVALID_CODE (wrong_account)", async () => {
    const target = await userWithPasskeys(1);
    const attacker = await userWithPasskeys(1);
    const options = await startLogin(app, { email: target.user.email });
    const response = attacker.authenticators[0]!.emulator.getJSON(ORIGIN, { ...options, allowCredentials: [] });
    expectCode(await finishLogin(app, response), 'INVALID_CODE');
    expect(await failureReasons(app, target.user.userId)).toEqual(['wrong_account']);
  });

  it('a signature counter that goes back (a cloned authenticator) is refused and audited; the genuine one still signs in', async () => {
    const { user, authenticators } = await userWithPasskeys(1);
    const genuine = authenticators[0]!;
    const clone = cloneAuthenticator(genuine);
    expectOk(await passkeyLogin(app, genuine));
    expectOk(await passkeyLogin(app, genuine));
    // The clone's counter is 1: behind the 2 the server has seen.
    expectCode(await passkeyLogin(app, clone), 'INVALID_CODE');
    const [failure] = await auditRows(app, { userId: user.userId, action: 'passkey.login_failed' });
    expect(failure).toMatchObject({ outcome: 'FAILURE', metadata: { reason: 'counter_regression', counter: 1, stored: 2 } });
    expectOk(await passkeyLogin(app, genuine));
  });

  it('a response signed for another origin is INVALID_CODE (verification_failed)', async () => {
    const { user, authenticators } = await userWithPasskeys(1);
    expectCode(await passkeyLogin(app, authenticators[0]!, { origin: 'http://evil.gateway.test' }), 'INVALID_CODE');
    expect(await failureReasons(app, user.userId)).toEqual(['verification_failed']);
  });

  it('a challenge works once (a replayed response is INVALID_TOKEN) and expires after 5 minutes', async () => {
    const { authenticators } = await userWithPasskeys(1);
    const authenticator = authenticators[0]!;
    const response = authenticator.emulator.getJSON(ORIGIN, await startLogin(app));
    expectOk(await finishLogin(app, response));
    expectCode(await finishLogin(app, response), 'INVALID_TOKEN');

    const late = authenticator.emulator.getJSON(ORIGIN, await startLogin(app));
    app.clock.advance(FIVE_MINUTES + 1);
    expectCode(await finishLogin(app, late), 'INVALID_TOKEN');
    expectCode(await finishLogin(app, { id: 'x', response: { clientDataJSON: 'not json' } }), 'INVALID_TOKEN');
  });

  it('a disabled account: ACCOUNT_DISABLED only after a valid assertion; a bad one is INVALID_CODE', async () => {
    const { user, authenticators } = await userWithPasskeys(1);
    const admin = await signUp(app);
    await grantAdmin(app, admin.userId);
    const disable = `mutation($id: ID!) { updateUser(id: $id, input: { disabled: true }) { id disabled } }`;
    expectOk(await app.gql(disable, { id: user.userId }, { token: admin.accessToken }));
    expectCode(await passkeyLogin(app, authenticators[0]!, { origin: 'http://evil.gateway.test' }), 'INVALID_CODE');
    expectCode(await passkeyLogin(app, authenticators[0]!, { email: user.email }), 'ACCOUNT_DISABLED');
    expect(await failureReasons(app, user.userId)).toEqual(['verification_failed', 'disabled']);
  });
});

describe.each(backends())('passkeys: sign-in rate limits (%s)', (backend) => {
  const app = useTestApp(backend, { env: { RATE_LIMITS: rateLimits({ 'login.ip': '3/1m', 'verify.ip': '2/1m' }) } });

  it('startPasskeyLogin counts in login.ip and finishPasskeyLogin in verify.ip, for known and unknown emails alike', async () => {
    const results = [];
    for (const email of ['a@example.com', 'b@example.com', undefined, 'c@example.com']) {
      results.push(await app.gql('mutation($e: String) { startPasskeyLogin(email: $e) }', { e: email }));
    }
    expect(results.map((r) => r.errors?.[0]?.extensions.code ?? 'OK')).toEqual(['OK', 'OK', 'OK', 'RATE_LIMITED']);
    const finishes = [];
    for (let i = 0; i < 3; i++) finishes.push(await finishLogin(app, { id: 'x', response: { clientDataJSON: 'e30' } }));
    expect(finishes.map((r) => r.errors?.[0]?.extensions.code)).toEqual(['INVALID_TOKEN', 'INVALID_TOKEN', 'RATE_LIMITED']);
  });
});
