/** The webhook routes' descriptions (see api-routes.ts). */
import * as out from '../webhook-schemas.js';
import { createWebhookBody, deliveriesQuery, webhookIdParams } from '../webhook-schemas.js';
import { created, ok, type RouteDoc, type RouteKey } from './route-doc.js';

export const WEBHOOK_ROUTES: Readonly<Record<RouteKey, RouteDoc>> = {
  'POST /v1/webhooks': {
    operationId: 'createWebhook',
    summary: 'Register a webhook: a URL that receives signed secret events',
    description:
      'The signing secret is in this answer only. Each delivery is a POST with `Ductape-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`, `Ductape-Delivery` and `Ductape-Event`; never a value.',
    tag: 'webhooks',
    auth: 'user',
    body: createWebhookBody,
    responses: created('The new webhook, with its signing secret', out.createdWebhook),
    errors: ['WEBHOOK_LIMIT', 'INSUFFICIENT_STORAGE', 'WORKSPACE_KEY_ERROR'],
  },
  'GET /v1/webhooks': {
    operationId: 'listWebhooks',
    summary: "The workspace's webhooks, newest first (never a signing secret)",
    tag: 'webhooks',
    auth: 'user',
    responses: ok('The webhooks', out.webhookList),
    errors: [],
  },
  'DELETE /v1/webhooks/:id': {
    operationId: 'deleteWebhook',
    summary: 'Delete a webhook: its pending deliveries are never attempted again',
    tag: 'webhooks',
    auth: 'user',
    params: webhookIdParams,
    responses: ok('Deleted', out.webhookDeleted),
    errors: ['WEBHOOK_NOT_FOUND', 'INSUFFICIENT_STORAGE'],
  },
  'GET /v1/webhooks/:id/deliveries': {
    operationId: 'listWebhookDeliveries',
    summary: "A webhook's delivery log, newest first",
    tag: 'webhooks',
    auth: 'user',
    params: webhookIdParams,
    query: deliveriesQuery,
    responses: ok('The deliveries', out.deliveryList),
    errors: ['WEBHOOK_NOT_FOUND'],
  },
};
