/**
 * The audit chain on SQLite. Appends run inside the caller's write transaction (see
 * write-queue.ts): SQLite has one writer at a time, across processes too, so reading the
 * head and appending after it cannot interleave with another append. A head sealed with an
 * audit key version this process does not hold yet (another process rotated the key) has
 * that version read here, in the same transaction, and handed to the sealer.
 */
import type Database from 'better-sqlite3';
import type { AuditAppend, AuditHead, AuditStore } from '../../audit-store.js';
import {
  adoptHeadKey,
  AUDIT_SQL,
  auditQuery,
  auditValues,
  chainEvents,
  insertEntriesSql,
  missingHeadKey,
  toAuditHead,
  toAuditRecord,
  type AuditHeadRecord,
  type AuditRow,
} from '../../sql/audit-rows.js';
import { KEY_SQL, toServerKeyRow, type ServerKeyRecord } from '../../sql/key-rows.js';
import type { WriteQueue } from './write-queue.js';

export interface SqliteAudit {
  store: AuditStore;
  /** Appends; call inside a write (a function the write queue runs). */
  appendSync(append: AuditAppend): void;
}

export function sqliteAudit(db: Database.Database, writes: WriteQueue): SqliteAudit {
  const queries = new Map<string, Database.Statement>();
  const stmt = {
    head: db.prepare(AUDIT_SQL.head),
    insert: db.prepare(insertEntriesSql(1, () => '?')),
    putHead: db.prepare(
      `INSERT INTO audit_heads (workspace_id, seq, mac, mac_key, head_mac) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (workspace_id) DO UPDATE SET seq = excluded.seq, mac = excluded.mac,
         mac_key = excluded.mac_key, head_mac = excluded.head_mac`,
    ),
    chains: db.prepare(AUDIT_SQL.chains).pluck(),
    chainsBelowKey: db.prepare(AUDIT_SQL.chainsBelowKey).pluck(),
    serverKey: db.prepare(KEY_SQL.serverKeyVersion),
  };

  const head = (workspaceId: string): AuditHead | undefined => {
    const r = stmt.head.get(workspaceId) as AuditHeadRecord | undefined;
    return r && toAuditHead(workspaceId, r);
  };

  const appendSync = (append: AuditAppend): void => {
    if (append.events.length === 0) return;
    const current = head(append.workspaceId);
    const missing = missingHeadKey(append.sealer, current);
    if (missing !== undefined) {
      const row = stmt.serverKey.get(append.sealer.keyName, missing) as ServerKeyRecord | undefined;
      adoptHeadKey(append.sealer, missing, row && toServerKeyRow(row));
    }
    const { records, head: next } = chainEvents(append, current);
    for (const record of records) stmt.insert.run(...auditValues(record));
    stmt.putHead.run(next.workspaceId, next.seq, next.mac, next.macKey, next.headMac);
  };

  const store: AuditStore = {
    async appendAudit(append) {
      await writes.run(() => appendSync(append));
    },
    async listAudit(workspaceId, filter) {
      const { sql, values } = auditQuery(workspaceId, filter, () => '?');
      let statement = queries.get(sql);
      if (!statement) {
        statement = db.prepare(sql);
        queries.set(sql, statement);
      }
      return (statement.all(...values) as AuditRow[]).map(toAuditRecord);
    },
    async auditHead(workspaceId) {
      return head(workspaceId);
    },
    async auditChains() {
      return stmt.chains.all() as string[];
    },
    async auditChainsBelowKey(macKey) {
      return stmt.chainsBelowKey.all(macKey) as string[];
    },
  };
  return { store, appendSync };
}
