/**
 * Webhooks: admins register a URL for some secret events (optionally one app's, one
 * environment's), get the signing secret once, list them, delete them and read their
 * delivery log. The signing secret is sealed with the workspace's data keys (AAD bound to the
 * webhook id), never stored, logged or audited in the clear.
 */
import type { CreatedWebhook, CreateWebhookInput, Webhook, WebhookDelivery } from '@ductape/sdk';
import type { WebhookConfig } from '../../config-webhooks.js';
import type { Keyring } from '../../crypto/keyring.js';
import type { ValueBinding } from '../../crypto/envelope.js';
import { AppError } from '../../errors.js';
import { newId } from '../../ids.js';
import type { DeliveryRow, WebhookRow, WebhookStore } from '../../store/webhook-store.js';
import type { AuditService } from '../audit/audit.service.js';
import { actorId, type Principal } from '../identity/principal.js';
import { authorize } from '../identity/roles.js';
import { newSigningSecret } from './signature.js';
import { checkWebhookUrl } from './webhook-url.js';

/** Where a webhook's signing secret is sealed: its workspace, and an id no secret can have. */
export const secretBinding = (workspaceId: string, webhookId: string): ValueBinding => ({
  workspaceId,
  secretId: `webhook:${webhookId}`,
  version: 0,
});

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

export function presentWebhook(row: WebhookRow): Webhook {
  return {
    id: row.id,
    workspace_id: row.workspaceId,
    url: row.url,
    events: row.events,
    app: row.app,
    env: row.env,
    description: row.description,
    created_by: row.createdBy,
    created_at: new Date(row.createdAt).toISOString(),
  };
}

export function presentDelivery(row: DeliveryRow): WebhookDelivery {
  return {
    id: row.id,
    webhook_id: row.webhookId,
    event_id: row.eventId,
    type: row.type,
    key: row.key,
    status: row.status,
    attempts: row.attempts,
    last_status: row.lastStatus,
    last_error: row.lastError,
    created_at: new Date(row.createdAt).toISOString(),
    next_attempt_at: row.status === 'pending' ? iso(row.nextAttemptAt) : null,
    delivered_at: iso(row.deliveredAt),
  };
}

export interface WebhooksDeps {
  store: WebhookStore;
  keyring: Pick<Keyring, 'seal'>;
  audit: Pick<AuditService, 'entry' | 'guard'>;
  /** DUCTAPE_WEBHOOK_ALLOW_HTTP and DUCTAPE_WEBHOOK_MAX_PER_WORKSPACE. */
  config: Pick<WebhookConfig, 'allowHttp' | 'maxPerWorkspace'>;
}

export type WebhooksService = ReturnType<typeof createWebhooksService>;

const notFound = (id: string): AppError => new AppError('WEBHOOK_NOT_FOUND', `Webhook '${id}' not found`);

export function createWebhooksService({ store, keyring, audit, config }: WebhooksDeps) {
  const { allowHttp, maxPerWorkspace } = config;
  async function create(principal: Principal, input: CreateWebhookInput): Promise<CreatedWebhook> {
    authorize(principal, 'webhooks.manage');
    const url = checkWebhookUrl(input.url, allowHttp);
    const id = newId();
    const secret = newSigningSecret();
    const row: WebhookRow = {
      id,
      workspaceId: principal.workspaceId,
      url,
      events: input.events,
      app: input.app ?? null,
      env: input.env ?? null,
      description: input.description ?? null,
      sealedSecret: await keyring.seal(secretBinding(principal.workspaceId, id), secret),
      createdBy: actorId(principal),
      createdAt: Date.now(),
    };
    const entry = audit.entry(principal, 'webhook.create', {
      detail: { webhook_id: id, events: input.events.join(',') },
    });
    if (!(await store.insertWebhook(row, maxPerWorkspace, entry))) {
      throw new AppError(
        'WEBHOOK_LIMIT',
        `This workspace has ${maxPerWorkspace} webhooks, the most it may have: delete one first`,
      );
    }
    return { ...presentWebhook(row), secret };
  }

  return {
    /** Registers a webhook; its signing secret is in this answer only. */
    create(principal: Principal, input: CreateWebhookInput): Promise<CreatedWebhook> {
      return audit.guard(principal, 'webhook.create', {}, () => create(principal, input));
    },

    /** The workspace's webhooks, newest first; never a signing secret. */
    async list(principal: Principal): Promise<Webhook[]> {
      authorize(principal, 'webhooks.manage');
      return (await store.listWebhooks(principal.workspaceId)).map(presentWebhook);
    },

    /** Deletes a webhook: its pending deliveries are never attempted again. */
    async delete(principal: Principal, id: string): Promise<void> {
      const fields = { detail: { webhook_id: id } };
      await audit.guard(principal, 'webhook.delete', fields, async () => {
        authorize(principal, 'webhooks.manage');
        const entry = audit.entry(principal, 'webhook.delete', fields);
        if (!(await store.deleteWebhook(principal.workspaceId, id, entry))) throw notFound(id);
      });
    },

    /** A webhook's delivery log, newest first. */
    async deliveries(principal: Principal, id: string, limit: number): Promise<WebhookDelivery[]> {
      authorize(principal, 'webhooks.manage');
      const rows = await store.listDeliveries(principal.workspaceId, id, limit);
      if (!rows) throw notFound(id);
      return rows.map(presentDelivery);
    },
  };
}
