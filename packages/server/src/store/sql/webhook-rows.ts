/**
 * Webhook rows as both backends store them (lists as JSON text on both), the statements the
 * dialects agree on, and the two rules both backends apply: which change makes which event
 * (`outboxEventsOf`), and which webhooks an event goes to (`matches`).
 */
import type { WebhookEventType } from '@ductape/sdk';
import { newId } from '../../ids.js';
import type { AuditAppend } from '../audit-store.js';
import type { SqlDialect } from './dialect.js';
import type { ActorType, ClaimedDelivery, DeliveryRow, OutboxEvent, WebhookRow } from '../webhook-store.js';

export const WEBHOOK_COLUMNS =
  'id, workspace_id, url, events, app, env, description, sealed_secret, created_by, created_at';
export const EVENT_COLUMNS =
  'id, workspace_id, type, key, version, actor_type, actor_id, expires_at, scope_list, env_list, created_at';

export interface WebhookRecord {
  id: string;
  workspace_id: string;
  url: string;
  events: string;
  app: string | null;
  env: string | null;
  description: string | null;
  sealed_secret: Buffer;
  created_by: string;
  created_at: number | string;
}

export interface EventRecord {
  id: string;
  workspace_id: string;
  type: string;
  key: string;
  version: number | null;
  actor_type: string;
  actor_id: string | null;
  expires_at: number | string | null;
  scope_list: string;
  env_list: string;
  created_at: number | string;
}

export interface DeliveryRecord {
  id: string;
  webhook_id: string;
  event_id: string;
  type: string;
  key: string;
  status: string;
  attempts: number;
  last_status: number | null;
  last_error: string | null;
  created_at: number | string;
  next_attempt_at: number | string | null;
  delivered_at: number | string | null;
}

const num = (v: number | string): number => Number(v);
const numOrNull = (v: number | string | null): number | null => (v === null ? null : Number(v));

export const webhookValues = (r: WebhookRow): unknown[] => [
  r.id,
  r.workspaceId,
  r.url,
  JSON.stringify(r.events),
  r.app,
  r.env,
  r.description,
  r.sealedSecret,
  r.createdBy,
  r.createdAt,
];

export const toWebhookRow = (r: WebhookRecord): WebhookRow => ({
  id: r.id,
  workspaceId: r.workspace_id,
  url: r.url,
  events: JSON.parse(r.events) as WebhookEventType[],
  app: r.app,
  env: r.env,
  description: r.description,
  sealedSecret: r.sealed_secret,
  createdBy: r.created_by,
  createdAt: num(r.created_at),
});

export const eventValues = (e: OutboxEvent): unknown[] => [
  e.id,
  e.workspaceId,
  e.type,
  e.key,
  e.version,
  e.actorType,
  e.actorId,
  e.expiresAt,
  JSON.stringify(e.scope),
  JSON.stringify(e.envs),
  e.createdAt,
];

export const toOutboxEvent = (r: EventRecord): OutboxEvent => ({
  id: r.id,
  workspaceId: r.workspace_id,
  type: r.type as WebhookEventType,
  key: r.key,
  version: r.version,
  actorType: r.actor_type as ActorType,
  actorId: r.actor_id,
  expiresAt: numOrNull(r.expires_at),
  scope: JSON.parse(r.scope_list) as string[],
  envs: JSON.parse(r.env_list) as string[],
  createdAt: num(r.created_at),
});

export const toDeliveryRow = (r: DeliveryRecord): DeliveryRow => ({
  id: r.id,
  webhookId: r.webhook_id,
  eventId: r.event_id,
  type: r.type as WebhookEventType,
  key: r.key,
  status: r.status as DeliveryRow['status'],
  attempts: r.attempts,
  lastStatus: r.last_status,
  lastError: r.last_error,
  createdAt: num(r.created_at),
  nextAttemptAt: numOrNull(r.next_attempt_at),
  deliveredAt: numOrNull(r.delivered_at),
});

/** Statements written once (`?` placeholders; the PostgreSQL backend numbers them). */
export const WEBHOOK_SQL = {
  count: 'SELECT count(*) AS n FROM webhooks WHERE workspace_id = ?',
  insert: `INSERT INTO webhooks (${WEBHOOK_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  list: `SELECT ${WEBHOOK_COLUMNS} FROM webhooks WHERE workspace_id = ? ORDER BY created_at DESC, id DESC`,
  exists: 'SELECT 1 AS found FROM webhooks WHERE workspace_id = ? AND id = ?',
  deleteDeliveries: 'DELETE FROM webhook_deliveries WHERE webhook_id = ?',
  delete: 'DELETE FROM webhooks WHERE workspace_id = ? AND id = ?',
  deliveries: `SELECT d.id, d.webhook_id, d.event_id, e.type, e.key, d.status, d.attempts, d.last_status,
      d.last_error, d.created_at, d.next_attempt_at, d.delivered_at
    FROM webhook_deliveries d JOIN webhook_events e ON e.id = d.event_id
    WHERE d.webhook_id = ? ORDER BY d.created_at DESC, d.id DESC LIMIT ?`,
  // Cheap looks before a dispatcher's poll takes a write transaction (or locks): usually nothing.
  anyUnfanned: 'SELECT 1 AS found FROM webhook_events WHERE fanned_at IS NULL LIMIT 1',
  anyDue: `SELECT 1 AS found FROM webhook_deliveries WHERE status = 'pending' AND next_attempt_at <= ?
    AND (lease_until IS NULL OR lease_until < ?) LIMIT 1`,
  settle: `UPDATE webhook_deliveries SET status = ?, attempts = ?, last_status = ?, last_error = ?,
      next_attempt_at = ?, delivered_at = ?, lease_until = NULL, lease_token = NULL
    WHERE id = ? AND lease_token = ?`,
  pruneDeliveries: "DELETE FROM webhook_deliveries WHERE status <> 'pending' AND created_at < ?",
  pruneEvents: `DELETE FROM webhook_events WHERE fanned_at IS NOT NULL AND created_at < ?
    AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event_id = webhook_events.id)`,
  // A mark whose secret is gone or expires at another time now can never be needed again.
  pruneMarks: `DELETE FROM webhook_expiry_marks WHERE NOT EXISTS (SELECT 1 FROM secrets s
    WHERE s.id = webhook_expiry_marks.secret_id AND s.expires_at = webhook_expiry_marks.expires_at)`,
} as const;

/** Pending deliveries due and not held by a live lease, with what sending them needs. */
export const DUE_SELECT = `SELECT d.id AS delivery_id, d.attempts, w.id AS webhook_id, w.url, w.sealed_secret,
    ${EVENT_COLUMNS.split(', ')
      .map((c) => `e.${c}`)
      .join(', ')}
  FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id JOIN webhook_events e ON e.id = d.event_id`;
/**
 * The ids of up to `?` deliveries due and not held by a live lease, oldest first, at most one
 * per webhook and none of the webhooks listed (those this node is already sending to): so a
 * receiver that is slow or hangs holds one of a node's slots, never all of them.
 * Placeholders: now, now, the webhooks left out (a list parameter), the limit.
 */
export const dueIds = (dialect: SqlDialect): string => `SELECT c.id FROM (
    SELECT d.id, d.next_attempt_at,
      ROW_NUMBER() OVER (PARTITION BY d.webhook_id ORDER BY d.next_attempt_at, d.id) AS n
    FROM webhook_deliveries d
    WHERE d.status = 'pending' AND d.next_attempt_at <= ? AND (d.lease_until IS NULL OR d.lease_until < ?)
      AND NOT (${dialect.inList('d.webhook_id')})
  ) c WHERE c.n = 1 ORDER BY c.next_attempt_at, c.id LIMIT ?`;

export interface DueRecord extends EventRecord {
  delivery_id: string;
  attempts: number;
  webhook_id: string;
  url: string;
  sealed_secret: Buffer;
}

export const toClaimed = (r: DueRecord, leaseToken: string): ClaimedDelivery => ({
  id: r.delivery_id,
  leaseToken,
  attempts: r.attempts,
  webhook: { id: r.webhook_id, workspaceId: r.workspace_id, url: r.url, sealedSecret: r.sealed_secret },
  event: toOutboxEvent(r),
});

const EVENT_OF_ACTION: Readonly<Record<string, WebhookEventType>> = {
  'secret.create': 'secret.created',
  'secret.update': 'secret.updated',
  'secret.rollback': 'secret.updated',
  'secret.revoke': 'secret.revoked',
  'secret.restore': 'secret.restored',
  'secret.delete': 'secret.deleted',
};

/** What of a secret an event carries. */
export interface EventSubject {
  /** The version the change leaves (or, deleted, the last one). */
  version: number;
  expiresAt: number | null;
  scope: string[];
  envs: string[];
}

/**
 * The outbox events of a secret change: one per successful audit entry of a change the
 * webhooks announce, from the entry the change writes in its transaction (key, version,
 * actor, time) and the secret as the change leaves it (or, deleted, as it was).
 */
export function outboxEventsOf(audit: AuditAppend | undefined, subject: EventSubject): OutboxEvent[] {
  if (!audit) return [];
  const out: OutboxEvent[] = [];
  for (const e of audit.events) {
    const type = EVENT_OF_ACTION[e.action];
    if (!type || e.outcome !== 'success' || e.secretKey === null) continue;
    out.push({
      id: newId(),
      workspaceId: audit.workspaceId,
      type,
      key: e.secretKey,
      version: e.version ?? subject.version,
      actorType: e.actorType === 'anonymous' ? 'system' : e.actorType,
      actorId: e.actorId,
      expiresAt: subject.expiresAt,
      scope: subject.scope,
      envs: subject.envs,
      createdAt: e.at,
    });
  }
  return out;
}

/** Whether `webhook` wants `event`: its type, and its app and env filters against the secret's. */
export function matches(
  webhook: Pick<WebhookRow, 'events' | 'app' | 'env'>,
  event: Pick<OutboxEvent, 'type' | 'scope' | 'envs'>,
): boolean {
  if (!webhook.events.includes(event.type)) return false;
  // An empty scope or environment list allows every app or environment (usage-rules.ts).
  if (webhook.app !== null && event.scope.length > 0 && !event.scope.includes(webhook.app)) return false;
  if (webhook.env !== null && event.envs.length > 0 && !event.envs.includes(webhook.env)) return false;
  return true;
}
