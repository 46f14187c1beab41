import { describe, expect, it } from 'vitest';
import { backends, type Backend, useFixture } from './support/app.js';
import { auditRows, expectCode, expectOk, login, me, register, signUp, uniqueEmail } from './support/actions.js';
import { latestCodeTo, MANY_PER_RECIPIENT, race, rateLimits, startMessaging, uniquePhone } from './support/messages.js';

const FIVE_MINUTES = 5 * 60_000;

/** A 6-digit code that is not `code`. */
const otherThan = (code: string) => (code === '000000' ? '111111' : '000000');

async function setup(backend: Backend, env: Record<string, string> = {}) {
  const m = await startMessaging(backend, env);
  const { app } = m;
  const requestPhone = (phone: string, token?: string) => app.gql(`mutation($p: String!) { requestPhoneVerification(phone: $p) }`, { p: phone }, { token });
  return {
    ...m,
    requestPhone,
    verifyPhone: (code: string, token?: string) =>
      app.gql(`mutation($c: String!) { verifyPhone(code: $c) { id phone phoneVerified } }`, { c: code }, { token }),
    /** Signs a user up, requests verification of a fresh number and returns the code sent. */
    async pending() {
      const user = await signUp(app);
      const phone = uniquePhone();
      expect(expectOk(await requestPhone(phone.typed, user.accessToken)).requestPhoneVerification).toBe(true);
      return { user, phone, code: await latestCodeTo(m, phone.e164) };
    },
    phoneOf: async (accessToken: string) => {
      const { phone, phoneVerified } = expectOk(await me(app, accessToken)).me;
      return { phone, phoneVerified };
    },
  };
}

describe.each(backends())('phone verification (%s)', (backend) => {
  const t = useFixture(
    () => setup(backend),
    (fixture) => fixture.close(),
  );

  it('texts a 6-digit code to the number in E.164; the code verifies it; audited as phone.verified', async () => {
    const user = await signUp(t.app);
    expect(expectOk(await t.requestPhone('+1 415 555 2671', user.accessToken)).requestPhoneVerification).toBe(true);
    const texts = await t.smsTo('+14155552671');
    expect(texts).toHaveLength(1);
    expect(texts[0]!.body).toMatch(/\b\d{6}\b/);
    const code = await latestCodeTo(t, '+14155552671');
    expect(await t.phoneOf(user.accessToken)).toEqual({ phone: null, phoneVerified: false });

    const verified = expectOk(await t.verifyPhone(code, user.accessToken)).verifyPhone;
    expect(verified).toEqual({ id: user.userId, phone: '+14155552671', phoneVerified: true });
    expect(await t.phoneOf(user.accessToken)).toEqual({ phone: '+14155552671', phoneVerified: true });
    const rows = await auditRows(t.app, { userId: user.userId, action: 'phone.verified' });
    expect(rows).toHaveLength(1);
    expect(JSON.stringify(rows)).not.toContain(code);
  });

  it.each(['12345', 'not a phone', '+999 1'])('refuses %j with BAD_USER_INPUT and texts nothing', async (phone) => {
    const user = await signUp(t.app);
    const before = t.sms.messages.length;
    expectCode(await t.requestPhone(phone, user.accessToken), 'BAD_USER_INPUT');
    await t.app.deps.messages.idle();
    expect(t.sms.messages.length).toBe(before);
  });

  it('a wrong code is INVALID_CODE; after five wrong codes the right one is void too', async () => {
    const { user, code } = await t.pending();
    for (let i = 0; i < 5; i++) expectCode(await t.verifyPhone(otherThan(code), user.accessToken), 'INVALID_CODE');
    expectCode(await t.verifyPhone(code, user.accessToken), 'INVALID_CODE');
    expect(await t.phoneOf(user.accessToken)).toEqual({ phone: null, phoneVerified: false });
  });

  it('four wrong codes leave the right one working', async () => {
    const { user, phone, code } = await t.pending();
    for (let i = 0; i < 4; i++) expectCode(await t.verifyPhone(otherThan(code), user.accessToken), 'INVALID_CODE');
    expect(expectOk(await t.verifyPhone(code, user.accessToken)).verifyPhone.phone).toBe(phone.e164);
  });

  it('a code expires after 5 minutes', async () => {
    const early = await t.pending();
    const late = await t.pending();
    t.app.clock.advance(FIVE_MINUTES - 1_000);
    expect(expectOk(await t.verifyPhone(early.code, early.user.accessToken)).verifyPhone.phoneVerified).toBe(true);
    t.app.clock.advance(2_000);
    expectCode(await t.verifyPhone(late.code, late.user.accessToken), 'INVALID_CODE');
    expect(await t.phoneOf(late.user.accessToken)).toEqual({ phone: null, phoneVerified: false });
  });

  it('a code works once', async () => {
    const { user, code } = await t.pending();
    expectOk(await t.verifyPhone(code, user.accessToken));
    expectCode(await t.verifyPhone(code, user.accessToken), 'INVALID_CODE');
    expect(await auditRows(t.app, { userId: user.userId, action: 'phone.verified' })).toHaveLength(1);
  });

  it('a code only verifies the phone of the user it was sent for', async () => {
    const { user, code } = await t.pending();
    const other = await signUp(t.app);
    expectCode(await t.verifyPhone(code, other.accessToken), 'INVALID_CODE');
    expect(await t.phoneOf(other.accessToken)).toEqual({ phone: null, phoneVerified: false });
    expectOk(await t.verifyPhone(code, user.accessToken));
  });

  it('without a pending request any code is INVALID_CODE', async () => {
    const user = await signUp(t.app);
    expectCode(await t.verifyPhone('123456', user.accessToken), 'INVALID_CODE');
  });

  it('both mutations answer UNAUTHENTICATED without a token', async () => {
    expectCode(await t.requestPhone(uniquePhone().typed), 'UNAUTHENTICATED');
    expectCode(await t.verifyPhone('123456'), 'UNAUTHENTICATED');
  });

  it('twenty concurrent uses of the right code: exactly one success', async () => {
    const { user, phone, code } = await t.pending();
    const { ok, codes } = await race(20, () => t.verifyPhone(code, user.accessToken));
    expect(ok.map((r) => r.data?.verifyPhone)).toEqual([{ id: user.userId, phone: phone.e164, phoneVerified: true }]);
    expect(codes).toEqual(Array(19).fill('INVALID_CODE'));
    expect(await auditRows(t.app, { userId: user.userId, action: 'phone.verified' })).toHaveLength(1);
  });

  it('a second request for one number within 60 s is RATE_LIMITED and texts nothing more', async () => {
    const { user, phone } = await t.pending();
    const limited = await t.requestPhone(phone.typed, user.accessToken);
    expectCode(limited, 'RATE_LIMITED');
    expect(limited.errors![0]!.extensions.retryAfter).toBeGreaterThan(0);
    expect(await t.smsTo(phone.e164)).toHaveLength(1);
  });

  it('register stores a phone in E.164, unverified', async () => {
    const email = uniqueEmail('phoned');
    const auth = expectOk(await register(t.app, { email, phone: '+44 20 7946 0958' })).register.auth;
    expect(await t.phoneOf(auth.accessToken)).toEqual({ phone: '+442079460958', phoneVerified: false });
  });

  it('register with a bad phone is BAD_USER_INPUT and creates nobody', async () => {
    const email = uniqueEmail('badphone');
    expectCode(await register(t.app, { email, phone: '12345' }), 'BAD_USER_INPUT');
    expectCode(await login(t.app, email), 'INVALID_CREDENTIALS');
    expectOk(await register(t.app, { email }));
  });
});

describe.each(backends())('phone verification, several requests (%s)', (backend) => {
  const t = useFixture(
    () => setup(backend, { RATE_LIMITS: rateLimits(MANY_PER_RECIPIENT) }),
    (fixture) => fixture.close(),
  );

  it('after five wrong codes a new request texts a fresh code that works', async () => {
    const { user, phone, code } = await t.pending();
    for (let i = 0; i < 5; i++) expectCode(await t.verifyPhone(otherThan(code), user.accessToken), 'INVALID_CODE');
    expectOk(await t.requestPhone(phone.typed, user.accessToken));
    expect(await t.smsTo(phone.e164)).toHaveLength(2);
    const fresh = await latestCodeTo(t, phone.e164);
    expectCode(await t.verifyPhone(code === fresh ? otherThan(fresh) : code, user.accessToken), 'INVALID_CODE');
    expect(expectOk(await t.verifyPhone(fresh, user.accessToken)).verifyPhone).toEqual({ id: user.userId, phone: phone.e164, phoneVerified: true });
  });
});
