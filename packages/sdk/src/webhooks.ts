import type { Transport } from './transport.js';
import type { CreatedWebhook, CreateWebhookInput, Webhook, WebhookDelivery } from './types.js';

const path = (id: string): string => `/v1/webhooks/${encodeURIComponent(id)}`;

/** Options of `webhooks.deliveries`. */
export interface WebhookDeliveriesOptions {
  /** How many deliveries, newest first (the server's default when left out). */
  limit?: number;
}

/**
 * Webhooks: URLs the server calls, signed, when secrets change or near their expiry. Admin
 * role. Check each call with `verifyWebhook` where it arrives.
 */
export class WebhooksClient {
  private readonly transport: Transport;

  /** @internal Use `new Ductape(...).webhooks`. */
  constructor(transport: Transport) {
    this.transport = transport;
  }

  /**
   * Registers a webhook for some events, optionally only for secrets an app in an environment
   * may use. The answer carries the signing `secret` (`whsec_...`), this once only: store it
   * where the receiver can read it.
   *
   * @example
   * const { id, secret } = await ductape.webhooks.create({
   *   url: 'https://hooks.example.com/ductape',
   *   events: ['secret.expiring', 'secret.expired'],
   *   env: 'prd',
   * });
   */
  create(input: CreateWebhookInput): Promise<CreatedWebhook> {
    return this.transport.request<CreatedWebhook>('POST', '/v1/webhooks', input);
  }

  /**
   * Every webhook of the workspace: registrations only, never a signing secret.
   *
   * @example
   * for (const w of await ductape.webhooks.list()) console.log(w.id, w.url, w.events.join(','));
   */
  async list(): Promise<Webhook[]> {
    return (await this.transport.request<{ webhooks: Webhook[] }>('GET', '/v1/webhooks')).webhooks;
  }

  /**
   * Deletes a webhook: nothing more is delivered to it. Returns true; fails with status 404 when
   * there is no such webhook in the workspace.
   *
   * @example
   * await ductape.webhooks.delete('6b0a15a869b9506474f5848f');
   */
  async delete(id: string): Promise<boolean> {
    return (await this.transport.request<{ deleted: boolean }>('DELETE', path(id))).deleted;
  }

  /**
   * The delivery log of one webhook, newest first: each delivery's status, attempts, last
   * HTTP status and error, and when it is tried next.
   *
   * @example
   * const failed = (await ductape.webhooks.deliveries(id, { limit: 50 })).filter((d) => d.status === 'failed');
   */
  async deliveries(id: string, options: WebhookDeliveriesOptions = {}): Promise<WebhookDelivery[]> {
    const query = options.limit === undefined ? '' : `?limit=${encodeURIComponent(options.limit)}`;
    const answer = await this.transport.request<{ deliveries: WebhookDelivery[] }>(
      'GET',
      `${path(id)}/deliveries${query}`,
    );
    return answer.deliveries;
  }
}
