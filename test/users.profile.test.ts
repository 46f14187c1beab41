import { eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { users } from '../src/modules/users/tables.js';
import { backends, useTestApp } from './support/app.js';
import { auditRows, expectCode, expectOk, login, me, PASSWORD, refresh, register, signIn, signUp } from './support/actions.js';

const PROFILE = `id name firstName lastName bio language avatarUrl`;

describe.each(backends())('profile (%s)', (backend) => {
  const app = useTestApp(backend);

  function updateProfile(token: string | undefined, input: Record<string, unknown>) {
    return app.gql(`mutation($input: UpdateProfileInput!) { updateProfile(input: $input) { ${PROFILE} } }`, { input }, { token });
  }

  function deleteAccount(token: string | undefined, password: string) {
    return app.gql(`mutation($p: String!) { deleteAccount(password: $p) }`, { p: password }, { token });
  }

  async function profileOf(token: string) {
    return expectOk(await me(app, token)).me;
  }

  const FULL = {
    name: 'Grace Hopper',
    firstName: 'Grace',
    lastName: 'Hopper',
    bio: 'Wrote the first compiler.',
    language: 'en-US',
    avatarUrl: 'https://cdn.example.com/avatars/grace.png',
  };

  it('me returns every field of the contract for a new user', async () => {
    const user = await signUp(app);
    const profile = await profileOf(user.accessToken);
    expect(profile).toMatchObject({
      id: user.userId,
      email: user.email,
      emailVerified: false,
      phone: null,
      phoneVerified: false,
      roles: ['user'],
      caps: [],
      mfaEnabled: false,
      mfaMethods: [],
      defaultMfaMethod: null,
      disabled: false,
    });
    for (const field of ['createdAt', 'updatedAt'] as const) {
      expect(typeof profile[field]).toBe('string');
      expect(new Date(profile[field]).toISOString()).toBe(profile[field]);
    }
  });

  it('updateProfile sets every field; omitted fields stay; null and blank clear', async () => {
    const user = await signUp(app);
    expect(expectOk(await updateProfile(user.accessToken, FULL)).updateProfile).toMatchObject(FULL);
    expect(await profileOf(user.accessToken)).toMatchObject(FULL);

    expect(expectOk(await updateProfile(user.accessToken, { bio: 'Admiral.' })).updateProfile).toMatchObject({ ...FULL, bio: 'Admiral.' });
    expect(expectOk(await updateProfile(user.accessToken, { name: null, avatarUrl: null })).updateProfile).toMatchObject({
      ...FULL,
      bio: 'Admiral.',
      name: null,
      avatarUrl: null,
    });
    const cleared = expectOk(await updateProfile(user.accessToken, { firstName: '', lastName: '   ', language: ' ' })).updateProfile;
    expect(cleared).toMatchObject({ name: null, firstName: null, lastName: null, bio: 'Admiral.', language: null, avatarUrl: null });
    expect(await profileOf(user.accessToken)).toMatchObject({ name: null, firstName: null, lastName: null, bio: 'Admiral.', language: null, avatarUrl: null });
  });

  it.each([
    ['avatarUrl', 'javascript:alert(1)'],
    ['avatarUrl', 'data:image/png;base64,AAAA'],
    ['avatarUrl', 'not a url'],
    ['language', 'x'],
    ['name', 'n'.repeat(201)],
    ['bio', 'b'.repeat(2001)],
  ])('answers BAD_USER_INPUT on %s for %j and changes nothing', async (field, value) => {
    const user = await signUp(app);
    expectOk(await updateProfile(user.accessToken, FULL));
    const before = await profileOf(user.accessToken);
    const result = await updateProfile(user.accessToken, { bio: 'should not be stored', [field]: value });
    expectCode(result, 'BAD_USER_INPUT');
    expect(result.errors![0]!.extensions.field).toBe(field);
    expect(await profileOf(user.accessToken)).toEqual(before);
    expect(await auditRows(app, { userId: user.userId, action: 'user.updated' })).toHaveLength(1);
  });

  it('accepts a name of 200 and a bio of 2000 characters', async () => {
    const user = await signUp(app);
    const input = { name: 'n'.repeat(200), bio: 'b'.repeat(2000) };
    expect(expectOk(await updateProfile(user.accessToken, input)).updateProfile).toMatchObject(input);
  });

  it('records user.updated with exactly the changed field names', async () => {
    const user = await signUp(app);
    expectOk(await updateProfile(user.accessToken, { name: 'Ada', language: 'pt-BR' }));
    expectOk(await updateProfile(user.accessToken, { bio: 'Analyst', avatarUrl: null }));
    const rows = await auditRows(app, { userId: user.userId, action: 'user.updated' });
    expect(rows).toHaveLength(2);
    expect(rows.map((r) => [...((r.metadata?.fields as string[]) ?? [])].sort())).toEqual([
      ['language', 'name'],
      ['avatarUrl', 'bio'],
    ]);
    expect(rows[0]).toMatchObject({ outcome: 'SUCCESS', actorId: user.userId });
  });

  it('deleteAccount with a wrong password answers INVALID_CREDENTIALS and deletes nothing', async () => {
    const user = await signUp(app);
    expectCode(await deleteAccount(user.accessToken, 'not my password'), 'INVALID_CREDENTIALS');
    expect(await app.deps.db.select().from(users).where(eq(users.id, user.userId))).toHaveLength(1);
    expectOk(await me(app, user.accessToken));
    expectOk(await login(app, user.email, PASSWORD));
    expect(await auditRows(app, { userId: user.userId, action: 'user.deleted' })).toHaveLength(0);
  });

  it('deleteAccount with the right password ends every session, frees the email and keeps the audit trail', async () => {
    const user = await signUp(app);
    const other = await signIn(app, user.email);
    const bystander = await signUp(app);
    expect(expectOk(await deleteAccount(user.accessToken, PASSWORD)).deleteAccount).toBe(true);

    expect(await app.deps.db.select().from(users).where(eq(users.id, user.userId))).toHaveLength(0);
    for (const session of [user, other]) {
      expectCode(await me(app, session.accessToken), 'UNAUTHENTICATED');
      expectCode(await app.gql(`{ mySessions { id } }`, {}, { token: session.accessToken }), 'UNAUTHENTICATED');
      expectCode(await refresh(app, session.refreshToken), 'INVALID_TOKEN');
    }
    expectCode(await login(app, user.email, PASSWORD), 'INVALID_CREDENTIALS');
    expectOk(await me(app, bystander.accessToken));

    const again = expectOk(await register(app, { email: user.email })).register;
    expect(again.user.email).toBe(user.email);
    expect(again.user.id).not.toBe(user.userId);

    const rows = await auditRows(app, { userId: user.userId, action: 'user.deleted' });
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ outcome: 'SUCCESS', actorId: user.userId });
    expect(await auditRows(app, { userId: user.userId, action: 'user.registered' })).toHaveLength(1);
  });

  it('answers UNAUTHENTICATED for me, updateProfile and deleteAccount without a token', async () => {
    const user = await signUp(app);
    for (const token of [undefined, 'not-a-jwt']) {
      expectCode(await me(app, token as string), 'UNAUTHENTICATED');
      expectCode(await updateProfile(token, { name: 'Mallory' }), 'UNAUTHENTICATED');
      expectCode(await deleteAccount(token, PASSWORD), 'UNAUTHENTICATED');
    }
    expect(expectOk(await me(app, user.accessToken)).me.name).toBeNull();
    expectOk(await login(app, user.email, PASSWORD));
  });
});
