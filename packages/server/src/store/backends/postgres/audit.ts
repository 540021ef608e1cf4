/**
 * The audit chain on PostgreSQL. Appending locks the workspace's head row (FOR UPDATE), so
 * appends from any number of nodes queue up per workspace and the chain never forks. The
 * head lock is always the last lock a transaction takes, so it cannot deadlock with the
 * secret row locks taken before it.
 */
import type pg from 'pg';
import {
  AUDIT_COLUMNS,
  auditQuery,
  auditValues,
  chainEvents,
  toAuditRecord,
  type AuditRow,
} from '../../audit-records.js';
import type { AuditAppend, AuditFilter, AuditHead, AuditRecord } from '../../types.js';

type Queryable = Pick<pg.PoolClient, 'query'>;

const COLUMN_COUNT = AUDIT_COLUMNS.split(',').length;
/** Rows per INSERT: well under PostgreSQL's 65,535 parameters. */
export const ROWS_PER_INSERT = 1000;

/** Appends inside the caller's transaction. */
export async function appendAudit(client: Queryable, append: AuditAppend): Promise<void> {
  if (append.events.length === 0) return;
  const current = await lockHead(client, append.workspaceId, append.sealer.genesis);
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
  genesis: Buffer,
): Promise<Pick<AuditHead, 'seq' | 'mac'> | undefined> {
  const { rows } = await client.query<{ seq: number; mac: Buffer }>({
    name: 'lock_audit_head',
    text: `INSERT INTO audit_heads (workspace_id, seq, mac, head_mac) VALUES ($1, 0, $2, $2)
     ON CONFLICT (workspace_id) DO UPDATE SET seq = audit_heads.seq RETURNING seq, mac`,
    values: [workspaceId, genesis],
  });
  const current = rows[0];
  return current && current.seq > 0 ? current : undefined;
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
  values.push(head.workspaceId, head.seq, head.mac, head.headMac);
  return `UPDATE audit_heads SET seq = $${n + 2}, mac = $${n + 3}, head_mac = $${n + 4} WHERE workspace_id = $${n + 1}`;
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
  const { rows } = await client.query<{ seq: number; mac: Buffer; head_mac: Buffer }>(
    'SELECT seq, mac, head_mac FROM audit_heads WHERE workspace_id = $1',
    [workspaceId],
  );
  const r = rows[0];
  return r && { workspaceId, seq: r.seq, mac: r.mac, headMac: r.head_mac };
}

export async function auditChains(client: Queryable): Promise<string[]> {
  const { rows } = await client.query<{ workspace_id: string }>(
    'SELECT workspace_id FROM audit_heads UNION SELECT DISTINCT workspace_id FROM audit_log ORDER BY 1',
  );
  return rows.map((r) => r.workspace_id);
}
