/**
 * The audit chain on PostgreSQL. Appending locks the workspace's head row (FOR UPDATE), so
 * appends from any number of nodes queue up per workspace and the chain never forks. The
 * head lock is always the last lock a transaction takes, so it cannot deadlock with the
 * secret row locks taken before it. A head sealed with an audit key version this node does
 * not hold yet (another node or process rotated the key) has that version read on the same
 * connection and handed to the sealer.
 */
import type pg from 'pg';
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
import type { AuditAppend, AuditFilter, AuditHead, AuditRecord, AuditSealer } from '../../types.js';

type Queryable = Pick<pg.PoolClient, 'query'>;

const COLUMN_COUNT = AUDIT_COLUMNS.split(',').length;
/** Rows per INSERT: well under PostgreSQL's 65,535 parameters. */
export const ROWS_PER_INSERT = 1000;

/** Appends inside the caller's transaction. */
export async function appendAudit(client: Queryable, append: AuditAppend): Promise<void> {
  if (append.events.length === 0) return;
  const current = await lockHead(client, append.workspaceId, append.sealer);
  const { records, head } = chainEvents(append, current);
  // The entries and the new head in one statement per 1000 entries (the head with the last).
  for (let start = 0; start < records.length; start += ROWS_PER_INSERT) {
    const values: unknown[] = [];
    const chunk = records.slice(start, start + ROWS_PER_INSERT);
    if (start + ROWS_PER_INSERT < records.length) {
      await client.query(insertEntries(chunk, values), values);
    } else {
      const entries = insertEntries(chunk, values);
      await client.query(`WITH entries AS (${entries}) ${updateHead(head, values)}`, values);
    }
  }
}

/**
 * Takes the chain's lock and reads its head (undefined: no entry yet), in one statement: a
 * chain's first append creates the head (a concurrent first append waits on it), later ones
 * lock it with a no-op update. Held until the transaction ends.
 */
export async function lockHead(
  client: Queryable,
  workspaceId: string,
  sealer: AuditSealer,
): Promise<Pick<AuditHead, 'seq' | 'mac' | 'macKey'> | undefined> {
  const { rows } = await client.query<{ seq: number; mac: Buffer; mac_key: number }>({
    name: 'lock_audit_head',
    text: `INSERT INTO audit_heads (workspace_id, seq, mac, head_mac) VALUES ($1, 0, $2, $2)
     ON CONFLICT (workspace_id) DO UPDATE SET seq = audit_heads.seq RETURNING seq, mac, mac_key`,
    values: [workspaceId, sealer.genesis],
  });
  const row = rows[0];
  const current = row && row.seq > 0 ? { seq: row.seq, mac: row.mac, macKey: row.mac_key } : undefined;
  const missing = missingHeadKey(sealer, current);
  if (missing !== undefined) {
    const found = await client.query<ServerKeyRecord>(
      `SELECT ${SERVER_KEY_COLUMNS} FROM server_keys WHERE name = $1 AND version = $2`,
      [sealer.keyName, missing],
    );
    const key = found.rows[0];
    adoptHeadKey(sealer, missing, key && toServerKeyRow(key));
  }
  return current;
}

/** `INSERT` of `records` (at most ROWS_PER_INSERT), their values pushed onto `values`. */
export function insertEntries(records: AuditRecord[], values: unknown[]): string {
  const tuples = records.map((record) => {
    const first = values.length;
    values.push(...auditValues(record));
    return `(${Array.from({ length: COLUMN_COUNT }, (_, i) => `$${first + i + 1}`).join(', ')})`;
  });
  return `INSERT INTO audit_log (${AUDIT_COLUMNS}) VALUES ${tuples.join(', ')}`;
}

/** `UPDATE` of the chain's head to `head`, its values pushed onto `values`. */
export function updateHead(head: AuditHead, values: unknown[]): string {
  const n = values.length;
  values.push(head.workspaceId, head.seq, head.mac, head.headMac, head.macKey);
  return `UPDATE audit_heads SET seq = $${n + 2}, mac = $${n + 3}, head_mac = $${n + 4}, mac_key = $${n + 5} WHERE workspace_id = $${n + 1}`;
}

export async function listAudit(
  client: Queryable,
  workspaceId: string,
  filter: AuditFilter,
): Promise<AuditRecord[]> {
  const { sql, values } = auditQuery(workspaceId, filter, (n) => `$${n}`);
  const { rows } = await client.query<AuditRow>(sql, values);
  return rows.map(toAuditRecord);
}

export async function auditHead(client: Queryable, workspaceId: string): Promise<AuditHead | undefined> {
  const { rows } = await client.query<{ seq: number; mac: Buffer; mac_key: number; head_mac: Buffer }>(
    'SELECT seq, mac, mac_key, head_mac FROM audit_heads WHERE workspace_id = $1',
    [workspaceId],
  );
  const r = rows[0];
  return r && { workspaceId, seq: r.seq, mac: r.mac, macKey: r.mac_key, headMac: r.head_mac };
}

export async function auditChains(client: Queryable): Promise<string[]> {
  const { rows } = await client.query<{ workspace_id: string }>(
    'SELECT workspace_id FROM audit_heads UNION SELECT DISTINCT workspace_id FROM audit_log ORDER BY 1',
  );
  return rows.map((r) => r.workspace_id);
}

export async function auditChainsBelowKey(client: Queryable, macKey: number): Promise<string[]> {
  const { rows } = await client.query<{ workspace_id: string }>(
    'SELECT workspace_id FROM audit_heads WHERE seq > 0 AND mac_key < $1 ORDER BY workspace_id',
    [macKey],
  );
  return rows.map((r) => r.workspace_id);
}

export async function workspaceIds(
  client: Queryable,
  after: string | undefined,
  limit: number,
): Promise<string[]> {
  const { rows } = await client.query<{ id: string }>(
    'SELECT id FROM workspaces WHERE id > $1 ORDER BY id LIMIT $2',
    [after ?? '', limit],
  );
  return rows.map((r) => r.id);
}
