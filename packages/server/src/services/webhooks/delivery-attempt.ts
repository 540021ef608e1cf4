/**
 * One attempt of one delivery: the signed POST, and what it leaves (delivered, retried later
 * with exponential backoff, or failed for good). Redirects are not followed (a 3xx is a
 * failure); a response body is never read or kept, only its status.
 */
import type { WebhookPayload } from '@ductape/sdk';
import type { ClaimedDelivery, DeliverySettlement, OutboxEvent } from '../../store/webhook-store.js';
import { signatureHeader } from './signature.js';

export interface AttemptPolicy {
  timeoutMs: number;
  retryBaseMs: number;
  retryCapMs: number;
  maxAttempts: number;
}

/** The JSON body a receiver gets: never a value. */
export function payloadOf(deliveryId: string, event: OutboxEvent): WebhookPayload {
  return {
    id: deliveryId,
    event_id: event.id,
    type: event.type,
    created_at: new Date(event.createdAt).toISOString(),
    workspace_id: event.workspaceId,
    data: {
      key: event.key,
      version: event.version,
      actor: { type: event.actorType, id: event.actorId },
      expires_at: event.expiresAt,
    },
  };
}

/** The delay before attempt `attempts + 1`: base, doubled each time, capped, plus up to 10% jitter. */
export function backoffMs(attempts: number, policy: AttemptPolicy): number {
  const exponential = policy.retryBaseMs * 2 ** Math.min(Math.max(attempts - 1, 0), 40);
  const delay = Math.min(policy.retryCapMs, exponential);
  return Math.round(delay * (1 + Math.random() * 0.1));
}

/** Why an attempt got no answer, in a few words (never a body, never the URL). */
function reasonOf(error: unknown, timeoutMs: number): string {
  const e = error as { name?: string; cause?: { code?: string } };
  if (e.name === 'TimeoutError' || e.name === 'AbortError') return `no answer within ${timeoutMs} ms`;
  const code = e.cause?.code;
  return code ? `network error (${code})` : 'network error';
}

/** Sends `delivery` once and says what to record. */
export async function attempt(
  delivery: ClaimedDelivery,
  secret: string,
  policy: AttemptPolicy,
  signal?: AbortSignal,
): Promise<DeliverySettlement> {
  const body = JSON.stringify(payloadOf(delivery.id, delivery.event));
  const timestamp = Math.floor(Date.now() / 1000);
  let status: number | null = null;
  let error: string | null = null;
  try {
    const timeout = AbortSignal.timeout(policy.timeoutMs);
    const response = await fetch(delivery.webhook.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'user-agent': 'ductape-webhooks',
        'ductape-signature': signatureHeader(secret, timestamp, body),
        'ductape-delivery': delivery.id,
        'ductape-event': delivery.event.type,
      },
      body,
      redirect: 'manual',
      signal: signal ? AbortSignal.any([timeout, signal]) : timeout,
    });
    status = response.status;
    // The body is not wanted: drop it so the connection can be reused or closed.
    await response.body?.cancel().catch(() => undefined);
    if (status >= 200 && status < 300) {
      return {
        status: 'delivered',
        attempts: delivery.attempts + 1,
        lastStatus: status,
        lastError: null,
        nextAttemptAt: null,
        deliveredAt: Date.now(),
      };
    }
    error = status >= 300 && status < 400 ? `redirect not followed (HTTP ${status})` : `HTTP ${status}`;
  } catch (caught) {
    error = reasonOf(caught, policy.timeoutMs);
  }
  const attempts = delivery.attempts + 1;
  const giveUp = attempts >= policy.maxAttempts;
  return {
    status: giveUp ? 'failed' : 'pending',
    attempts,
    lastStatus: status,
    lastError: error,
    nextAttemptAt: giveUp ? null : Date.now() + backoffMs(attempts, policy),
    deliveredAt: null,
  };
}
