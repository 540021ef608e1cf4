/**
 * The audit chain on SQLite. Appends run inside the caller's write transaction (see
 * write-queue.ts): SQLite has one writer at a time, across processes too, so reading the
 * head and appending after it cannot interleave with another append. A head sealed with an
 * audit key version this process does not hold yet (another process rotated the key) has
 * that version read here, in the same transaction, and handed to the sealer.
 */
import type Database from 'better-sqlite3';
import {
  adoptHeadKey,
  AUDIT_COLUMNS,
  auditQuery,
  auditValues,
  chainEvents,
  missingHeadKey,
  toAuditRecord,
  type AuditRow,
} from '../../audit-records.js';
import { SERVER_KEY_COLUMNS, toServerKeyRow, type ServerKeyRecord } from '../../keys.js';
import type { AuditAppend, AuditFilter, AuditHead, AuditRecord } from '../../types.js';

export class SqliteAudit {
  private readonly stmt;
  private readonly queries = new Map<string, Database.Statement>();

  constructor(private readonly db: Database.Database) {
    const placeholders = AUDIT_COLUMNS.split(',')
      .map(() => '?')
      .join(', ');
    this.stmt = {
      head: db.prepare('SELECT seq, mac, mac_key, head_mac FROM audit_heads WHERE workspace_id = ?'),
      insert: db.prepare(`INSERT INTO audit_log (${AUDIT_COLUMNS}) VALUES (${placeholders})`),
      putHead: db.prepare(
        `INSERT INTO audit_heads (workspace_id, seq, mac, mac_key, head_mac) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (workspace_id) DO UPDATE SET seq = excluded.seq, mac = excluded.mac,
           mac_key = excluded.mac_key, head_mac = excluded.head_mac`,
      ),
      chains: db.prepare(
        'SELECT workspace_id FROM audit_heads UNION SELECT DISTINCT workspace_id FROM audit_log ORDER BY 1',
      ),
      chainsBelowKey: db.prepare(
        'SELECT workspace_id FROM audit_heads WHERE seq > 0 AND mac_key < ? ORDER BY workspace_id',
      ),
      workspaceIds: db.prepare('SELECT id FROM workspaces WHERE id > ? ORDER BY id LIMIT ?').pluck(),
      serverKey: db.prepare(`SELECT ${SERVER_KEY_COLUMNS} FROM server_keys WHERE name = ? AND version = ?`),
    };
  }

  /** Appends; call inside a write transaction. */
  appendSync(append: AuditAppend): void {
    if (append.events.length === 0) return;
    const current = this.head(append.workspaceId);
    const missing = missingHeadKey(append.sealer, current);
    if (missing !== undefined) {
      const row = this.stmt.serverKey.get(append.sealer.keyName, missing) as ServerKeyRecord | undefined;
      adoptHeadKey(append.sealer, missing, row && toServerKeyRow(row));
    }
    const { records, head } = chainEvents(append, current);
    for (const record of records) this.stmt.insert.run(...auditValues(record));
    this.stmt.putHead.run(head.workspaceId, head.seq, head.mac, head.macKey, head.headMac);
  }

  list(workspaceId: string, filter: AuditFilter): AuditRecord[] {
    const { sql, values } = auditQuery(workspaceId, filter, () => '?');
    let statement = this.queries.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      this.queries.set(sql, statement);
    }
    return (statement.all(...values) as AuditRow[]).map(toAuditRecord);
  }

  head(workspaceId: string): AuditHead | undefined {
    const r = this.stmt.head.get(workspaceId) as
      { seq: number; mac: Buffer; mac_key: number; head_mac: Buffer } | undefined;
    return r && { workspaceId, seq: r.seq, mac: r.mac, macKey: r.mac_key, headMac: r.head_mac };
  }

  chains(): string[] {
    return (this.stmt.chains.all() as { workspace_id: string }[]).map((r) => r.workspace_id);
  }

  chainsBelowKey(macKey: number): string[] {
    return (this.stmt.chainsBelowKey.all(macKey) as { workspace_id: string }[]).map((r) => r.workspace_id);
  }

  workspaceIds(after: string | undefined, limit: number): string[] {
    return this.stmt.workspaceIds.all(after ?? '', limit) as string[];
  }
}
