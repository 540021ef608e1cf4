/**
 * Webhooks, their outbox and deliveries on PostgreSQL (see store/webhook-store.ts). Several
 * nodes share the tables: fanning out and claiming lock the rows they take with
 * `FOR UPDATE SKIP LOCKED`, so two nodes never take the same event or delivery at once, and
 * a claim is a lease (`lease_until`) that another node takes over once it runs out.
 */
import { randomUUID } from 'node:crypto';
import { newId } from '../../../ids.js';
import {
  DUE_SELECT,
  dueIds,
  EVENT_COLUMNS,
  eventValues,
  matches,
  toClaimed,
  toDeliveryRow,
  toOutboxEvent,
  toWebhookRow,
  WEBHOOK_COLUMNS,
  WEBHOOK_SQL,
  webhookValues,
  type DeliveryRecord,
  type DueRecord,
  type EventRecord,
  type WebhookRecord,
} from '../../sql/webhook-rows.js';
import {
  expiryCandidates,
  expiryCandidateValues,
  expiryEvent,
  type ExpiryCandidate,
} from '../../sql/webhook-expiry.js';
import type { OutboxEvent, WebhookStore } from '../../webhook-store.js';
import { appendAudit } from './postgres-audit.js';
import { numbered, numberedAll, PG_DIALECT, type PgContext, type Queryable } from './postgres-dialect.js';

const SQL = numberedAll(WEBHOOK_SQL);

/** The types of EVENT_COLUMNS, in order, for the arrays a batch of events travels in. */
const EVENT_TYPES = ['text', 'text', 'text', 'text', 'int4', 'text', 'text', 'int8', 'text', 'text', 'int8'];

/**
 * `INSERT` of `events` (as parallel arrays, values pushed onto `values`) that writes nothing
 * unless the workspace has a webhook: usable as a data-modifying CTE of a larger statement.
 */
export function insertEvents(events: readonly OutboxEvent[], workspaceId: string, values: unknown[]): string {
  const tuples = events.map(eventValues);
  const arrays = EVENT_TYPES.map((type, i) => {
    values.push(tuples.map((t) => t[i]));
    return `$${values.length}::${type}[]`;
  });
  values.push(workspaceId);
  return `INSERT INTO webhook_events (${EVENT_COLUMNS}) SELECT * FROM unnest(${arrays.join(', ')})
    WHERE EXISTS (SELECT 1 FROM webhooks WHERE workspace_id = $${values.length})`;
}

/** Writes events inside the transaction `client` runs (see `insertEvents`). */
export async function appendEvents(client: Queryable, events: readonly OutboxEvent[]): Promise<void> {
  const first = events[0];
  if (!first) return;
  const values: unknown[] = [];
  await client.query(insertEvents(events, first.workspaceId, values), values);
}

const UNFANNED = `SELECT ${EVENT_COLUMNS} FROM webhook_events WHERE fanned_at IS NULL
  ORDER BY created_at, id LIMIT $1 FOR UPDATE SKIP LOCKED`;
/** Locks the due rows (SKIP LOCKED: those another node is claiming) and leases them. */
const CLAIM = numbered(`WITH due AS (
    SELECT id FROM webhook_deliveries WHERE id IN (${dueIds(PG_DIALECT)})
      AND status = 'pending' AND (lease_until IS NULL OR lease_until < ?)
    FOR UPDATE SKIP LOCKED)
  UPDATE webhook_deliveries d SET lease_until = ?, lease_token = ? FROM due WHERE d.id = due.id
  RETURNING d.id`);
const CLAIMED = `${DUE_SELECT} WHERE d.lease_token = $1`;
const MARK_AND_EVENT = `WITH mark AS (
    INSERT INTO webhook_expiry_marks (secret_id, expires_at, lead_seconds) VALUES ($1, $2, $3)
    ON CONFLICT DO NOTHING RETURNING 1)
  INSERT INTO webhook_events (${EVENT_COLUMNS})
  SELECT $4, $5, $6, $7, $8::int4, $9, $10, $11::int8, $12, $13, $14::int8 FROM mark`;

export function postgresWebhooks({ query, transaction }: PgContext): WebhookStore {
  return {
    async insertWebhook(row, max, audit) {
      const full = Symbol('full');
      try {
        await transaction(async (client) => {
          // The chain's head lock comes first: it also serializes the count per workspace.
          await appendAudit(client, audit);
          const { rows } = await client.query<{ n: string }>(SQL.count, [row.workspaceId]);
          if (Number(rows[0]?.n ?? 0) >= max) throw full;
          await client.query(SQL.insert, webhookValues(row));
        });
        return true;
      } catch (error) {
        if (error === full) return false;
        throw error;
      }
    },
    async listWebhooks(workspaceId) {
      return (await query<WebhookRecord>(SQL.list, [workspaceId])).rows.map(toWebhookRow);
    },
    deleteWebhook(workspaceId, id, audit) {
      return transaction(async (client) => {
        const found = await client.query(`${SQL.exists} FOR UPDATE`, [workspaceId, id]);
        if (found.rows.length === 0) return false;
        await client.query(SQL.deleteDeliveries, [id]);
        await client.query(SQL.delete, [workspaceId, id]);
        await appendAudit(client, audit);
        return true;
      });
    },
    async listDeliveries(workspaceId, webhookId, limit) {
      if ((await query(SQL.exists, [workspaceId, webhookId])).rows.length === 0) return undefined;
      return (await query<DeliveryRecord>(SQL.deliveries, [webhookId, limit])).rows.map(toDeliveryRow);
    },

    async fanOut(now, limit) {
      // Polled every second or so: one cheap read, and a transaction only when there is work.
      if ((await query(SQL.anyUnfanned, [], 'webhook_any_unfanned')).rows.length === 0) return 0;
      return transaction(async (client) => {
        const events = (await client.query<EventRecord>(UNFANNED, [limit])).rows.map(toOutboxEvent);
        if (events.length === 0) return 0;
        const workspaces = [...new Set(events.map((e) => e.workspaceId))];
        const hooks = (
          await client.query<WebhookRecord>(
            `SELECT ${WEBHOOK_COLUMNS} FROM webhooks WHERE workspace_id = ANY($1::text[])`,
            [workspaces],
          )
        ).rows.map(toWebhookRow);
        const ids: string[] = [];
        const hookIds: string[] = [];
        const eventIds: string[] = [];
        const spaces: string[] = [];
        for (const event of events) {
          for (const hook of hooks) {
            if (hook.workspaceId !== event.workspaceId || !matches(hook, event)) continue;
            ids.push(newId());
            hookIds.push(hook.id);
            eventIds.push(event.id);
            spaces.push(event.workspaceId);
          }
        }
        if (ids.length > 0) {
          await client.query(
            `INSERT INTO webhook_deliveries (id, webhook_id, event_id, workspace_id, status, attempts, created_at, next_attempt_at)
             SELECT u.id, u.webhook_id, u.event_id, u.workspace_id, 'pending', 0, $5, $5
             FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS u(id, webhook_id, event_id, workspace_id)
             ON CONFLICT (event_id, webhook_id) DO NOTHING`,
            [ids, hookIds, eventIds, spaces, now],
          );
        }
        await client.query('UPDATE webhook_events SET fanned_at = $1 WHERE id = ANY($2::text[])', [
          now,
          events.map((e) => e.id),
        ]);
        return events.length;
      });
    },
    async claimDue(now, leaseMs, limit, busy) {
      if ((await query(SQL.anyDue, [now, now], 'webhook_any_due')).rows.length === 0) return [];
      const token = randomUUID();
      const claimed = await query<{ id: string }>(CLAIM, [now, now, busy, limit, now, now + leaseMs, token]);
      if (claimed.rows.length === 0) return [];
      // The rows this claim holds (its token), with what sending them needs.
      const { rows } = await query<DueRecord>(CLAIMED, [token]);
      return rows.map((r) => toClaimed(r, token));
    },
    async settle(id, leaseToken, o) {
      await query(SQL.settle, [
        o.status,
        o.attempts,
        o.lastStatus,
        o.lastError,
        o.nextAttemptAt,
        o.deliveredAt,
        id,
        leaseToken,
      ]);
    },
    async scanExpiry({ now, leadsSeconds, limit }) {
      const values = expiryCandidateValues(leadsSeconds, Math.floor(now / 1000), limit);
      const { rows } = await query<ExpiryCandidate>(numbered(expiryCandidates(leadsSeconds)), values);
      let written = 0;
      for (const c of rows) {
        // The mark and the event in one statement: written together, once, whichever node is first.
        const event = eventValues(expiryEvent(c, now));
        const result = await query(MARK_AND_EVENT, [c.id, c.expires_at, c.stage, ...event]);
        written += result.rowCount ?? 0;
      }
      return written;
    },
    async prune(before) {
      await query(SQL.pruneDeliveries, [before]);
      await query(SQL.pruneEvents, [before]);
      await query(SQL.pruneMarks, []);
    },
  };
}
