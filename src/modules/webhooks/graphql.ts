import { requireAuth } from '../../graphql/auth.js';
import { builder } from '../../graphql/builder.js';
import { PageInfoRef } from '../../graphql/pagination.js';
import type { DeliveryView } from './queries.js';
import {
  createWebhook,
  deleteWebhook,
  getWebhook,
  listDeliveries,
  listWebhooks,
  pingWebhook,
  redeliverWebhook,
  rotateWebhookSecret,
  updateWebhook,
  type DeliveryPage,
  type WebhookWithSecret,
} from './service.js';
import type { WebhookRow } from './tables.js';

const WebhookRef = builder.objectRef<WebhookRow>('Webhook').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    url: t.exposeString('url'),
    description: t.exposeString('description', { nullable: true }),
    events: t.exposeStringList('events', { description: 'Audit actions it receives, exact (user.login) or by prefix (user.*); empty means every event.' }),
    enabled: t.exposeBoolean('enabled'),
    disabledReason: t.exposeString('disabledReason', { nullable: true, description: 'Set when the gateway disabled it after repeated failures.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
});

const WebhookWithSecretRef = builder.objectRef<WebhookWithSecret>('WebhookWithSecret').implement({
  fields: (t) => ({
    webhook: t.expose('webhook', { type: WebhookRef }),
    secret: t.exposeString('secret', { description: 'The Standard Webhooks signing secret (whsec_…). Shown once.' }),
  }),
});

const DeliveryStatusEnum = builder.enumType('WebhookDeliveryStatus', { values: ['PENDING', 'SUCCEEDED', 'FAILED'] as const });

const DeliveryRef = builder.objectRef<DeliveryView>('WebhookDelivery').implement({
  fields: (t) => ({
    id: t.exposeID('id', { description: 'Also the webhook-id header: the same on every retry.' }),
    webhookId: t.exposeID('webhookId'),
    eventId: t.exposeID('eventId', { nullable: true, description: 'The audit event delivered (null for webhook.test).' }),
    eventType: t.exposeString('eventType'),
    status: t.expose('status', { type: DeliveryStatusEnum }),
    attempts: t.exposeInt('attempts'),
    lastAttemptAt: t.expose('lastAttemptAt', { type: 'DateTime', nullable: true }),
    nextAttemptAt: t.expose('nextAttemptAt', { type: 'DateTime', nullable: true }),
    responseStatus: t.exposeInt('responseStatus', { nullable: true, description: 'HTTP status of the last attempt (null when it got no response).' }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

const DeliveryConnectionRef = builder.objectRef<DeliveryPage>('WebhookDeliveryConnection').implement({
  fields: (t) => ({
    nodes: t.expose('nodes', { type: [DeliveryRef] }),
    pageInfo: t.expose('pageInfo', { type: PageInfoRef }),
  }),
});

const CreateInput = builder.inputType('CreateWebhookInput', {
  fields: (t) => ({
    url: t.string({ required: true }),
    events: t.stringList(),
    description: t.string(),
    enabled: t.boolean(),
  }),
});

const UpdateInput = builder.inputType('UpdateWebhookInput', {
  fields: (t) => ({
    url: t.string(),
    events: t.stringList(),
    description: t.string(),
    enabled: t.boolean(),
  }),
});

builder.queryFields((t) => ({
  webhooks: t.field({
    type: [WebhookRef],
    description: 'Needs cap webhooks:read.',
    authScopes: { cap: 'webhooks:read' },
    resolve: (_, __, ctx) => listWebhooks(ctx.deps),
  }),
  webhook: t.field({
    type: WebhookRef,
    nullable: true,
    description: 'Needs cap webhooks:read.',
    authScopes: { cap: 'webhooks:read' },
    args: { id: t.arg.id({ required: true }) },
    resolve: (_, { id }, ctx) => getWebhook(ctx.deps, String(id)),
  }),
  webhookDeliveries: t.field({
    type: DeliveryConnectionRef,
    description: 'Needs cap webhooks:read. Newest first.',
    authScopes: { cap: 'webhooks:read' },
    args: { webhookId: t.arg.id({ required: true }), status: t.arg({ type: DeliveryStatusEnum }), first: t.arg.int(), after: t.arg.string() },
    resolve: (_, args, ctx) => listDeliveries(ctx.deps, { ...args, webhookId: String(args.webhookId) }),
  }),
}));

builder.mutationFields((t) => ({
  createWebhook: t.field({
    type: WebhookWithSecretRef,
    description: 'Needs cap webhooks:write. BAD_USER_INPUT for a URL the delivery guard refuses.',
    authScopes: { cap: 'webhooks:write' },
    args: { input: t.arg({ type: CreateInput, required: true }) },
    resolve: (_, { input }, ctx) => createWebhook(ctx.deps, requireAuth(ctx).userId, input, ctx.meta),
  }),
  updateWebhook: t.field({
    type: WebhookRef,
    description: 'Needs cap webhooks:write. Enabling clears disabledReason.',
    authScopes: { cap: 'webhooks:write' },
    args: { id: t.arg.id({ required: true }), input: t.arg({ type: UpdateInput, required: true }) },
    resolve: (_, { id, input }, ctx) => updateWebhook(ctx.deps, requireAuth(ctx).userId, String(id), input, ctx.meta),
  }),
  deleteWebhook: t.boolean({
    description: 'Needs cap webhooks:write.',
    authScopes: { cap: 'webhooks:write' },
    args: { id: t.arg.id({ required: true }) },
    resolve: (_, { id }, ctx) => deleteWebhook(ctx.deps, requireAuth(ctx).userId, String(id), ctx.meta),
  }),
  rotateWebhookSecret: t.field({
    type: WebhookWithSecretRef,
    description: 'Needs cap webhooks:write. A new secret; the old one keeps signing beside it for 24 hours.',
    authScopes: { cap: 'webhooks:write' },
    args: { id: t.arg.id({ required: true }) },
    resolve: (_, { id }, ctx) => rotateWebhookSecret(ctx.deps, requireAuth(ctx).userId, String(id), ctx.meta),
  }),
  redeliverWebhook: t.field({
    type: DeliveryRef,
    description: 'Needs cap webhooks:write. Queues that delivery again now.',
    authScopes: { cap: 'webhooks:write' },
    args: { deliveryId: t.arg.id({ required: true }) },
    resolve: (_, { deliveryId }, ctx) => redeliverWebhook(ctx.deps, String(deliveryId)),
  }),
  pingWebhook: t.field({
    type: DeliveryRef,
    description: 'Needs cap webhooks:write. Sends a webhook.test event now.',
    authScopes: { cap: 'webhooks:write' },
    args: { id: t.arg.id({ required: true }) },
    resolve: (_, { id }, ctx) => pingWebhook(ctx.deps, String(id)),
  }),
}));
