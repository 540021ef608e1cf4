/** Wire types of webhooks: registrations, the events they carry, and their delivery log. */

/** Every event a webhook can ask for. */
export const WEBHOOK_EVENTS = [
  'secret.created',
  'secret.updated',
  'secret.revoked',
  'secret.restored',
  'secret.deleted',
  'secret.expiring',
  'secret.expired',
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENTS)[number];

/** Input of `webhooks.create`. */
export interface CreateWebhookInput {
  /** https, or http to a loopback address (127.0.0.0/8, ::1, localhost) unless the operator allows more. No credentials, no fragment. */
  url: string;
  /** At least one; no duplicates. */
  events: WebhookEventType[];
  /** Only events of secrets whose scope allows this app tag. */
  app?: string | null;
  /** Only events of secrets whose environments include this one. */
  env?: string | null;
  description?: string | null;
}

/** A webhook's registration; never its signing secret. */
export interface Webhook {
  id: string;
  workspace_id: string;
  url: string;
  events: WebhookEventType[];
  app: string | null;
  env: string | null;
  description: string | null;
  created_by: string;
  /** ISO 8601. */
  created_at: string;
}

/** `POST /v1/webhooks` response: the signing secret is in it, and shown only this once. */
export interface CreatedWebhook extends Webhook {
  /** `whsec_` and 43 base64url characters: the HMAC key of `Ductape-Signature`. */
  secret: string;
}

/**
 * The JSON body a receiver gets (signed: see `verifyWebhook`). Never holds a value.
 * `id` is the delivery id, the same on every attempt of one delivery: de-duplicate on it.
 */
export interface WebhookPayload {
  id: string;
  /** The event's id: one change delivered to several webhooks has one event id. */
  event_id: string;
  type: WebhookEventType;
  /** ISO 8601: when the change happened (or, for expiry events, when the server noticed). */
  created_at: string;
  workspace_id: string;
  data: {
    key: string;
    /** The secret's version after the change; null for a deleted secret's last event if unknown. */
    version: number | null;
    actor: { type: 'user' | 'token' | 'operator' | 'system'; id: string | null };
    /** Unix seconds, or null. */
    expires_at: number | null;
  };
}

/** One delivery of one event to one webhook, as the delivery log shows it. */
export interface WebhookDelivery {
  /** The delivery id (`Ductape-Delivery` header, `id` of the payload). */
  id: string;
  webhook_id: string;
  event_id: string;
  type: WebhookEventType;
  key: string;
  status: 'pending' | 'delivered' | 'failed';
  attempts: number;
  /** HTTP status of the last attempt, or null (no answer). */
  last_status: number | null;
  /** Why the last attempt failed (never a value), or null. */
  last_error: string | null;
  /** ISO 8601. */
  created_at: string;
  /** ISO 8601, or null when delivered or given up. */
  next_attempt_at: string | null;
  /** ISO 8601, or null. */
  delivered_at: string | null;
}
