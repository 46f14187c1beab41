import { beforeAll, describe, expect, it } from 'vitest';
import { backends, useTestApp } from './support/app.js';
import { codeOf, expectCode, expectOk, me, register, signIn, signUp, uniqueEmail, type Tokens } from './support/actions.js';

const ADMIN_EMAIL = 'root@example.com';
const ADMIN_PASSWORD = 'root admin password 42';

const UPDATE_PROFILE = `mutation($input: UpdateProfileInput!) { updateProfile(input: $input) { name bio avatarUrl } }`;
const USERS = `query($filter: UserFilter) { users(filter: $filter) { totalCount } }`;
const AUDIT_LOGS = `query($filter: AuditFilter) { auditLogs(filter: $filter, first: 1) { nodes { id } } }`;

describe.each(backends())('input validation (%s)', (backend) => {
  const app = useTestApp(backend, { env: { ADMIN_EMAIL, ADMIN_PASSWORD } });
  let admin: Tokens;
  let user: Tokens;
  beforeAll(async () => {
    admin = await signIn(app, ADMIN_EMAIL, ADMIN_PASSWORD);
    user = await signUp(app);
  });

  const updateProfile = (input: Record<string, unknown>) => app.gql(UPDATE_PROFILE, { input }, { token: user.accessToken });
  const asAdmin = (query: string, variables?: Record<string, unknown>) => app.gql(query, variables, { token: admin.accessToken });

  describe('regression: a NUL byte answered INTERNAL_SERVER_ERROR', () => {
    it.each([
      ['profile name', () => updateProfile({ name: 'Grace\u0000Hopper' })],
      ['profile bio', () => updateProfile({ bio: 'line\u0000' })],
      ['register name', () => register(app, { name: 'x\u0000' })],
      ['register email', () => register(app, { email: `a\u0000${uniqueEmail()}` })],
      ['admin user search', () => asAdmin(USERS, { filter: { search: 'gr\u0000' } })],
      ['admin role filter', () => asAdmin(USERS, { filter: { role: 'user\u0000' } })],
      ['audit action filter', () => asAdmin(AUDIT_LOGS, { filter: { actions: ['user.login\u0000'] } })],
      ['role name', () => asAdmin(`mutation($n: String!) { upsertRole(name: $n, caps: []) { name } }`, { n: 'ops\u0000' })],
      ['role description', () => asAdmin(`mutation($d: String) { upsertRole(name: "nul-test", caps: [], description: $d) { name } }`, { d: 'a\u0000b' })],
      ['a literal in the document', () => asAdmin(`{ users(filter: { search: "gr\\u0000" }) { totalCount } }`)],
    ])('%s: BAD_USER_INPUT', async (_name, call) => {
      expectCode(await call(), 'BAD_USER_INPUT');
    });
  });

  it.each([
    ['name', 'Grace\u0007Hopper'],
    ['name', 'Grace\nHopper'],
    ['bio', 'ring\u0007the bell'],
    ['bio', 'escape \u001b[31m'],
    ['bio', 'delete\u007f'],
  ])('%s with a control character (%j) is BAD_USER_INPUT and changes nothing', async (field, value) => {
    const result = await updateProfile({ [field]: value });
    expectCode(result, 'BAD_USER_INPUT');
    expect(result.errors![0]!.extensions.field).toBe(field);
    expect(expectOk(await me(app, user.accessToken)).me[field]).not.toBe(value);
  });

  it('a bio keeps its tabs and line breaks', async () => {
    const bio = 'First line\n\tindented\r\nlast';
    expect(expectOk(await updateProfile({ bio })).updateProfile.bio).toBe(bio);
  });

  describe('regression: avatarUrl accepted http:// and internal addresses', () => {
    it.each([
      'http://cdn.example.com/a.png',
      'https://127.0.0.1/a.png',
      'https://2130706433/a.png',
      'https://10.1.2.3/a.png',
      'https://172.16.0.1/a.png',
      'https://192.168.1.1/a.png',
      'https://169.254.169.254/latest/meta-data',
      'https://100.64.0.1/a.png',
      'https://0.0.0.0/a.png',
      'https://[::1]/a.png',
      'https://[::]/a.png',
      'https://[fe80::1]/a.png',
      'https://[fd00::1]/a.png',
      'https://[::ffff:127.0.0.1]/a.png',
      'https://localhost/a.png',
      'https://LOCALHOST./a.png',
      'https://img.localhost/a.png',
      'https://printer.local/a.png',
      'https://intranet/a.png',
      'https://user:secret@cdn.example.com/a.png',
    ])('%s is BAD_USER_INPUT', async (avatarUrl) => {
      const result = await updateProfile({ avatarUrl });
      expectCode(result, 'BAD_USER_INPUT');
      expect(result.errors![0]!.extensions.field).toBe('avatarUrl');
      expect(result.errors![0]!.message).not.toContain('secret');
    });

    it.each(['https://cdn.example.com/a.png', 'https://93.184.216.34/a.png', 'https://[2606:4700::1111]/a.png'])('%s is accepted', async (avatarUrl) => {
      expect(expectOk(await updateProfile({ avatarUrl })).updateProfile.avatarUrl).toBe(avatarUrl);
    });
  });

  describe('regression: DateTime accepted days that do not exist', () => {
    it.each(['2026-02-30T00:00:00Z', '2023-02-29T12:00:00Z', '2026-04-31T00:00:00+02:00', '2026-01-01T24:00:00Z', '2026-01-01T00:00:00', '2026-01-01'])(
      '%s is BAD_USER_INPUT, as a variable and as a literal',
      async (since) => {
        expectCode(await asAdmin(AUDIT_LOGS, { filter: { since } }), 'BAD_USER_INPUT');
        expectCode(await asAdmin(`{ auditLogs(filter: { since: ${JSON.stringify(since)} }, first: 1) { nodes { id } } }`), 'BAD_USER_INPUT');
      },
    );

    it.each(['2024-02-29T23:59:59.999+02:00', '2026-02-28T00:00:00Z', '2026-01-31T12:00:00.123456Z'])('%s is accepted', async (since) => {
      expect(codeOf(await asAdmin(AUDIT_LOGS, { filter: { since } }))).toBeNull();
    });
  });
});
