import type { FastifyInstance } from 'fastify';
import type { WebhooksService } from '../../services/webhooks/webhooks.service.js';
import { parse } from '../schemas.js';
import { createWebhookBody, deliveriesQuery, webhookIdParams } from '../webhook-schemas.js';

export function registerWebhooksRoutes(app: FastifyInstance, webhooks: WebhooksService): void {
  /** Registers a webhook; its signing secret is in this answer only. */
  app.post('/v1/webhooks', { config: { body: true } }, async (request, reply) => {
    const input = parse(createWebhookBody, request.body, 'request body');
    return reply.code(201).send(await webhooks.create(request.principal, input));
  });

  /** The workspace's webhooks, newest first. */
  app.get('/v1/webhooks', async (request) => ({ webhooks: await webhooks.list(request.principal) }));

  /** Deletes a webhook and its pending deliveries. */
  app.delete('/v1/webhooks/:id', async (request) => {
    const { id } = parse(webhookIdParams, request.params, 'path');
    await webhooks.delete(request.principal, id);
    return { deleted: true };
  });

  /** A webhook's delivery log, newest first. */
  app.get('/v1/webhooks/:id/deliveries', { config: { query: true } }, async (request) => {
    const { id } = parse(webhookIdParams, request.params, 'path');
    const { limit } = parse(deliveriesQuery, request.query, 'query');
    return { deliveries: await webhooks.deliveries(request.principal, id, limit) };
  });
}
