/**
 * Webhooks, their outbox and deliveries on the embedded store (see store/webhook-store.ts).
 * One process writes: every write goes through the write queue, whose transactions also
 * make the claims (a lease still keeps a delivery in flight from being claimed twice).
 */
import type Database from 'better-sqlite3';
import { randomUUID } from 'node:crypto';
import { newId } from '../../../ids.js';
import {
  EVENT_COLUMNS,
  eventValues,
  matches,
  toDeliveryRow,
  toOutboxEvent,
  toWebhookRow,
  WEBHOOK_COLUMNS,
  WEBHOOK_SQL,
  webhookValues,
  DUE_SELECT,
  dueIds,
  toClaimed,
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
import type { OutboxEvent, WebhookRow, WebhookStore } from '../../webhook-store.js';
import type { SqliteAudit } from './sqlite-audit.js';
import { listParam, parseList, SQLITE_DIALECT } from './sqlite-dialect.js';
import type { WriteQueue } from './write-queue.js';

export interface SqliteOutbox {
  /** Writes a change's events, only while the workspace has a webhook; call inside a write. */
  appendSync(events: readonly OutboxEvent[]): void;
}

export function sqliteOutbox(db: Database.Database): SqliteOutbox {
  const insert = db.prepare(
    `INSERT INTO webhook_events (${EVENT_COLUMNS}) SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?
     WHERE EXISTS (SELECT 1 FROM webhooks WHERE workspace_id = ?)`,
  );
  return {
    appendSync(events) {
      for (const e of events) insert.run(...eventValues(e), e.workspaceId);
    },
  };
}

export function sqliteWebhooks(
  db: Database.Database,
  writes: WriteQueue,
  audit: SqliteAudit,
  outbox: SqliteOutbox,
): WebhookStore {
  const stmt = {
    count: db.prepare(WEBHOOK_SQL.count).pluck(),
    insert: db.prepare(WEBHOOK_SQL.insert),
    list: db.prepare(WEBHOOK_SQL.list),
    exists: db.prepare(WEBHOOK_SQL.exists).pluck(),
    deleteDeliveries: db.prepare(WEBHOOK_SQL.deleteDeliveries),
    delete: db.prepare(WEBHOOK_SQL.delete),
    deliveries: db.prepare(WEBHOOK_SQL.deliveries),
    settle: db.prepare(WEBHOOK_SQL.settle),
    anyUnfanned: db.prepare(WEBHOOK_SQL.anyUnfanned),
    anyDue: db.prepare(WEBHOOK_SQL.anyDue),
    pruneDeliveries: db.prepare(WEBHOOK_SQL.pruneDeliveries),
    pruneEvents: db.prepare(WEBHOOK_SQL.pruneEvents),
    pruneMarks: db.prepare(WEBHOOK_SQL.pruneMarks),
    unfanned: db.prepare(
      `SELECT ${EVENT_COLUMNS} FROM webhook_events WHERE fanned_at IS NULL ORDER BY created_at, id LIMIT ?`,
    ),
    hooksOf: db.prepare(`SELECT ${WEBHOOK_COLUMNS} FROM webhooks WHERE workspace_id = ?`),
    addDelivery: db.prepare(
      `INSERT INTO webhook_deliveries (id, webhook_id, event_id, workspace_id, status, attempts, created_at, next_attempt_at)
       VALUES (?, ?, ?, ?, 'pending', 0, ?, ?) ON CONFLICT (event_id, webhook_id) DO NOTHING`,
    ),
    fanned: db.prepare('UPDATE webhook_events SET fanned_at = ? WHERE id = ?'),
    due: db.prepare(`${DUE_SELECT} WHERE d.id IN (${dueIds(SQLITE_DIALECT)})`),
    lease: db.prepare('UPDATE webhook_deliveries SET lease_until = ?, lease_token = ? WHERE id = ?'),
    mark: db.prepare(
      'INSERT INTO webhook_expiry_marks (secret_id, expires_at, lead_seconds) VALUES (?, ?, ?) ON CONFLICT DO NOTHING',
    ),
  };

  /** The expiry scan's statement, per set of lead times. */
  const candidates = new Map<string, Database.Statement>();

  return {
    insertWebhook(row, max, auditAppend) {
      return writes.run(() => {
        if ((stmt.count.get(row.workspaceId) as number) >= max) return false;
        stmt.insert.run(...webhookValues(row));
        audit.appendSync(auditAppend);
        return true;
      });
    },
    async listWebhooks(workspaceId) {
      return (stmt.list.all(workspaceId) as WebhookRecord[]).map(toWebhookRow);
    },
    deleteWebhook(workspaceId, id, auditAppend) {
      return writes.run(() => {
        if (stmt.exists.get(workspaceId, id) === undefined) return false;
        stmt.deleteDeliveries.run(id);
        stmt.delete.run(workspaceId, id);
        audit.appendSync(auditAppend);
        return true;
      });
    },
    async listDeliveries(workspaceId, webhookId, limit) {
      if (stmt.exists.get(workspaceId, webhookId) === undefined) return undefined;
      return (stmt.deliveries.all(webhookId, limit) as DeliveryRecord[]).map(toDeliveryRow);
    },

    async fanOut(now, limit) {
      // Polled every second or so: no write transaction (and no fsync) when there is nothing.
      if (stmt.anyUnfanned.get() === undefined) return 0;
      return writes.run(() => {
        const events = (stmt.unfanned.all(limit) as EventRecord[]).map(toOutboxEvent);
        const hooks = new Map<string, WebhookRow[]>();
        for (const event of events) {
          let list = hooks.get(event.workspaceId);
          if (!list) {
            list = (stmt.hooksOf.all(event.workspaceId) as WebhookRecord[]).map(toWebhookRow);
            hooks.set(event.workspaceId, list);
          }
          for (const hook of list) {
            if (matches(hook, event))
              stmt.addDelivery.run(newId(), hook.id, event.id, event.workspaceId, now, now);
          }
          stmt.fanned.run(now, event.id);
        }
        return events.length;
      });
    },
    async claimDue(now, leaseMs, limit, busy) {
      if (stmt.anyDue.get(now, now) === undefined) return [];
      return writes.run(() => {
        const rows = stmt.due.all(now, now, listParam(busy), limit) as DueRecord[];
        return rows.map((r) => {
          const claimed = toClaimed(r, randomUUID());
          stmt.lease.run(now + leaseMs, claimed.leaseToken, claimed.id);
          return claimed;
        });
      });
    },
    async settle(id, leaseToken, o) {
      await writes.run(() =>
        stmt.settle.run(
          o.status,
          o.attempts,
          o.lastStatus,
          o.lastError,
          o.nextAttemptAt,
          o.deliveredAt,
          id,
          leaseToken,
        ),
      );
    },
    scanExpiry({ now, leadsSeconds, limit }) {
      let statement = candidates.get(leadsSeconds.join(','));
      if (!statement) {
        statement = db.prepare(expiryCandidates(leadsSeconds));
        candidates.set(leadsSeconds.join(','), statement);
      }
      const query = statement;
      return writes.run(() => {
        const values = expiryCandidateValues(leadsSeconds, Math.floor(now / 1000), limit);
        const rows = query.all(...values) as ExpiryCandidate<string>[];
        let written = 0;
        for (const r of rows) {
          const c = { ...r, scope: parseList(r.scope), envs: parseList(r.envs) };
          // Written once per (secret, expires_at, stage), whoever else tries.
          if (stmt.mark.run(c.id, c.expires_at, c.stage).changes === 0) continue;
          outbox.appendSync([expiryEvent(c, now)]);
          written++;
        }
        return written;
      });
    },
    async prune(before) {
      await writes.run(() => {
        stmt.pruneDeliveries.run(before);
        stmt.pruneEvents.run(before);
        stmt.pruneMarks.run();
      });
    },
  };
}
