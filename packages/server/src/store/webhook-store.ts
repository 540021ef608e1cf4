/**
 * Webhooks, their outbox of events and their deliveries: `WebhookStore` (`Store.webhooks`).
 *
 * Invariants every backend keeps:
 * - a webhook's signing secret is only ever stored sealed (`sealedSecret`), never in the clear;
 * - every lookup of a webhook or its deliveries by the API is scoped by workspace id;
 * - a secret change's event is written in the change's own transaction, and only while its
 *   workspace has at least one webhook (decided inside that transaction): see
 *   secret-store.ts, whose backends call `outboxEventsOf`;
 * - an event is fanned out to deliveries once, however many nodes try at once;
 * - a delivery is held by at most one node at a time (a lease); a lease that ran out (its
 *   node died) may be taken over, and only the current holder can settle the delivery;
 * - an expiry event is written once per (secret, expires_at, lead), across restarts and nodes;
 * - deleting a webhook deletes its deliveries: none of them is attempted again.
 */
import type { WebhookEventType } from '@ductape/sdk';
import type { AuditAppend } from './audit-store.js';

export interface WebhookRow {
  id: string;
  workspaceId: string;
  url: string;
  events: WebhookEventType[];
  app: string | null;
  env: string | null;
  description: string | null;
  /** The signing secret, sealed with the workspace's data keys. */
  sealedSecret: Buffer;
  createdBy: string;
  /** unix milliseconds */
  createdAt: number;
}

export type ActorType = 'user' | 'token' | 'operator' | 'system';

/** One event of the outbox. Never holds a value. */
export interface OutboxEvent {
  id: string;
  workspaceId: string;
  type: WebhookEventType;
  key: string;
  version: number | null;
  actorType: ActorType;
  actorId: string | null;
  /** unix seconds */
  expiresAt: number | null;
  /** The secret's scope and environments at the change, for the webhooks' app/env filters. */
  scope: string[];
  envs: string[];
  /** unix milliseconds */
  createdAt: number;
}

export type DeliveryStatus = 'pending' | 'delivered' | 'failed';

/** One delivery as the log shows it. Times are unix milliseconds. */
export interface DeliveryRow {
  id: string;
  webhookId: string;
  eventId: string;
  type: WebhookEventType;
  key: string;
  status: DeliveryStatus;
  attempts: number;
  lastStatus: number | null;
  lastError: string | null;
  createdAt: number;
  nextAttemptAt: number | null;
  deliveredAt: number | null;
}

/** A delivery a node claimed: what it needs to send it. */
export interface ClaimedDelivery {
  id: string;
  /** Proves the claim when settling (another node may have taken an expired lease over). */
  leaseToken: string;
  attempts: number;
  webhook: Pick<WebhookRow, 'id' | 'workspaceId' | 'url' | 'sealedSecret'>;
  event: OutboxEvent;
}

/** What an attempt leaves. */
export interface DeliverySettlement {
  status: DeliveryStatus;
  attempts: number;
  lastStatus: number | null;
  lastError: string | null;
  nextAttemptAt: number | null;
  deliveredAt: number | null;
}

/** An expiry lead time (seconds before expires_at) or 0 for the expiry itself. */
export interface ExpiryScan {
  /** unix milliseconds */
  now: number;
  /** Lead times in seconds, largest first. */
  leadsSeconds: readonly number[];
  /** Most events written per scan. */
  limit: number;
}

export interface WebhookStore {
  /** Inserts unless the workspace already holds `max` webhooks (then false); with its audit entry. */
  insertWebhook(row: WebhookRow, max: number, audit: AuditAppend): Promise<boolean>;
  /** The workspace's webhooks, newest first. */
  listWebhooks(workspaceId: string): Promise<WebhookRow[]>;
  /** Deletes the webhook and its deliveries, with its audit entry; false when not found. */
  deleteWebhook(workspaceId: string, id: string, audit: AuditAppend): Promise<boolean>;
  /** The webhook's deliveries, newest first; undefined when there is no such webhook. */
  listDeliveries(workspaceId: string, webhookId: string, limit: number): Promise<DeliveryRow[] | undefined>;

  /** Turns up to `limit` unfanned events into deliveries to the webhooks they match. */
  fanOut(now: number, limit: number): Promise<number>;
  /**
   * Claims up to `limit` due deliveries for `leaseMs`: at most one per webhook, and none of
   * the webhooks in `busy` (those the caller is sending to already).
   */
  claimDue(now: number, leaseMs: number, limit: number, busy: readonly string[]): Promise<ClaimedDelivery[]>;
  /** Records an attempt; ignored when the claim was lost meanwhile (or the webhook deleted). */
  settle(id: string, leaseToken: string, outcome: DeliverySettlement): Promise<void>;
  /** Writes the expiry events due (see ExpiryScan); returns how many. */
  scanExpiry(scan: ExpiryScan): Promise<number>;
  /** Drops settled deliveries and fanned events created before `before`, and stale marks. */
  prune(before: number): Promise<void>;
}
