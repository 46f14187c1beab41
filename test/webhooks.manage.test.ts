import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends, useTestApp } from './support/app.js';
import { auditRows, codeOf, expectOk, signUp } from './support/actions.js';
import { createWebhook, RECEIVER_ENV, signUpAdmin, startReceiver, WEBHOOK_FIELDS, type Receiver } from './support/webhooks.js';

describe.each(backends())('webhook management (%s)', (backend) => {
  const app = useTestApp(backend, { env: RECEIVER_ENV });
  let target: Receiver;
  beforeAll(async () => {
    target = await startReceiver(app.clock);
  });
  afterAll(() => target.close());

  it('needs webhooks:read and webhooks:write: FORBIDDEN for a user without them, UNAUTHENTICATED without a token', async () => {
    const user = await signUp(app);
    expect(codeOf(await app.gql(`{ webhooks { id } }`, {}, { token: user.accessToken }))).toBe('FORBIDDEN');
    expect(codeOf(await app.gql(`mutation { createWebhook(input: { url: "${target.url}" }) { secret } }`, {}, { token: user.accessToken }))).toBe('FORBIDDEN');
    expect(codeOf(await app.gql(`{ webhooks { id } }`))).toBe('UNAUTHENTICATED');
  });

  it('create, read, update, delete: each audited without the secret; the secret is never readable again', async () => {
    const token = await signUpAdmin(app);
    const hook = await createWebhook(app, token, { url: target.url, events: ['mfa.*'], description: 'CRM' });
    const read = expectOk(await app.gql(`query($id: ID!) { webhook(id: $id) { ${WEBHOOK_FIELDS} } webhooks { id } }`, { id: hook.id }, { token }));
    expect(read.webhook).toMatchObject({ url: target.url, events: ['mfa.*'], description: 'CRM', enabled: true, disabledReason: null });
    expect(read.webhooks.map((w: { id: string }) => w.id)).toContain(hook.id);
    const updated = expectOk(
      await app.gql(
        `mutation($id: ID!) { updateWebhook(id: $id, input: { events: ["user.login"], enabled: false }) { events enabled } }`,
        { id: hook.id },
        { token },
      ),
    );
    expect(updated.updateWebhook).toEqual({ events: ['user.login'], enabled: false });
    expect(expectOk(await app.gql(`mutation($id: ID!) { deleteWebhook(id: $id) }`, { id: hook.id }, { token })).deleteWebhook).toBe(true);
    expect(expectOk(await app.gql(`query($id: ID!) { webhook(id: $id) { id } }`, { id: hook.id }, { token })).webhook).toBeNull();
    expect(codeOf(await app.gql(`mutation($id: ID!) { deleteWebhook(id: $id) }`, { id: hook.id }, { token }))).toBe('NOT_FOUND');
    const rows = (await auditRows(app)).filter((r) => (r.metadata as { webhookId?: string } | null)?.webhookId === hook.id);
    expect(rows.map((r) => r.action)).toEqual(['webhook.created', 'webhook.updated', 'webhook.deleted']);
    expect(JSON.stringify(rows)).not.toContain(hook.secret.slice(6));
    expect(app.logs.join('')).not.toContain(hook.secret.slice(6));
  });

  it('unknown ids answer NOT_FOUND (or null for webhook(id)), and a refused URL on update is BAD_USER_INPUT', async () => {
    const token = await signUpAdmin(app);
    const missing = '00000000-0000-4000-8000-000000000000';
    expect(codeOf(await app.gql(`mutation($id: ID!) { pingWebhook(id: $id) { id } }`, { id: missing }, { token }))).toBe('NOT_FOUND');
    expect(codeOf(await app.gql(`mutation($id: ID!) { redeliverWebhook(deliveryId: $id) { id } }`, { id: 'nope' }, { token }))).toBe('NOT_FOUND');
    expect(codeOf(await app.gql(`mutation($id: ID!) { rotateWebhookSecret(id: $id) { secret } }`, { id: missing }, { token }))).toBe('NOT_FOUND');
    const hook = await createWebhook(app, token, { url: target.url });
    const refused = await app.gql(`mutation($id: ID!) { updateWebhook(id: $id, input: { url: "http://10.0.0.1/" }) { url } }`, { id: hook.id }, { token });
    expect(refused.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'url' });
  });
});
