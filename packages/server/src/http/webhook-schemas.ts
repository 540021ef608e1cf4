/**
 * Webhook inputs and answers, bounded and listed field by field like the others (schemas.ts,
 * response-schemas.ts): a signing secret appears in the create answer's schema only.
 */
import { WEBHOOK_EVENTS, type CreatedWebhook, type Webhook, type WebhookDelivery } from '@ductape/sdk';
import { z } from 'zod';
import { MAX_URL_LENGTH } from '../services/webhooks/webhook-url.js';
import { slug } from './schemas.js';

const id24 = z.string().regex(/^[0-9a-f]{24}$/);

export const webhookIdParams = z.strictObject({
  id: z.string().regex(/^[0-9a-f]{24}$/, { error: 'must be a webhook id (24 lower-case hex characters)' }),
});

export const createWebhookBody = z.strictObject({
  url: z
    .string({ error: 'must be a string: an https:// URL' })
    .min(1, { error: 'must not be empty' })
    .max(MAX_URL_LENGTH, { error: `must be at most ${MAX_URL_LENGTH} characters` })
    .describe(
      'https, or http to a loopback address unless the operator allows more; no credentials, no fragment',
    ),
  events: z
    .array(z.enum(WEBHOOK_EVENTS, { error: `must be one of ${WEBHOOK_EVENTS.join(', ')}` }), {
      error: 'must be an array of event names',
    })
    .min(1, { error: 'must name at least one event' })
    .max(WEBHOOK_EVENTS.length, { error: `must have at most ${WEBHOOK_EVENTS.length} entries` })
    .refine((list) => new Set(list).size === list.length, { error: 'must not name an event twice' }),
  app: slug.nullable().optional().describe('Only events of secrets this app may use'),
  env: slug.nullable().optional().describe('Only events of secrets of this environment'),
  description: z
    .string({ error: 'must be a string or null' })
    .max(200, { error: 'must be at most 200 characters' })
    .refine((v) => v.isWellFormed(), { error: 'must be valid Unicode text' })
    .refine((v) => !v.includes('\u0000'), { error: 'must not contain the NUL character (U+0000)' })
    .nullable()
    .optional(),
});

export const deliveriesQuery = z.strictObject({
  limit: z.coerce
    .number({ error: 'must be a whole number from 1 to 500' })
    .int({ error: 'must be a whole number from 1 to 500' })
    .min(1, { error: 'must be a whole number from 1 to 500' })
    .max(500, { error: 'must be a whole number from 1 to 500' })
    .default(50),
});

const eventType = z.enum(WEBHOOK_EVENTS);
const time = z.string().describe('ISO 8601');

export const webhook = z
  .object({
    id: id24,
    workspace_id: id24,
    url: z.string(),
    events: z.array(eventType),
    app: z.string().nullable(),
    env: z.string().nullable(),
    description: z.string().nullable(),
    created_by: z.string(),
    created_at: time,
  })
  .describe("A webhook's registration; never its signing secret");

export const createdWebhook = z
  .object({
    ...webhook.shape,
    secret: z.string().describe('The signing secret (`whsec_...`): shown in this answer only'),
  })
  .describe('A new webhook');

export const webhookList = z.object({ webhooks: z.array(webhook) });

export const webhookDelivery = z
  .object({
    id: id24,
    webhook_id: id24,
    event_id: id24,
    type: eventType,
    key: z.string(),
    status: z.enum(['pending', 'delivered', 'failed']),
    attempts: z.number().int(),
    last_status: z.number().int().nullable(),
    last_error: z.string().nullable(),
    created_at: time,
    next_attempt_at: time.nullable(),
    delivered_at: time.nullable(),
  })
  .describe('One delivery of one event to one webhook');

export const deliveryList = z.object({ deliveries: z.array(webhookDelivery) });
export const webhookDeleted = z.object({ deleted: z.literal(true) });

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Expect<T extends true> = T;
export type WebhookSchemaChecks = [
  Expect<Same<z.output<typeof webhook>, Webhook>>,
  Expect<Same<z.output<typeof createdWebhook>, CreatedWebhook>>,
  Expect<Same<z.output<typeof webhookDelivery>, WebhookDelivery>>,
];
