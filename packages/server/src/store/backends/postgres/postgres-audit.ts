/**
 * The audit chain on PostgreSQL. Appending locks the workspace's head row (FOR UPDATE), so
 * appends from any number of nodes queue up per workspace and the chain never forks. The
 * head lock is always the last lock a transaction takes, so it cannot deadlock with the
 * secret row locks taken before it. A head sealed with an audit key version this node does
 * not hold yet (another node or process rotated the key) has that version read on the same
 * connection and handed to the sealer. Appends run on the connection of the transaction
 * they belong to, passed as an argument.
 */
import type { AuditAppend, AuditHead, AuditSealer, AuditStore } from '../../audit-store.js';
import {
  adoptHeadKey,
  AUDIT_SQL,
  auditQuery,
  chainEvents,
  insertEntries,
  missingHeadKey,
  toAuditHead,
  toAuditRecord,
  type AuditHeadRecord,
  type AuditRow,
} from '../../sql/audit-rows.js';
import { toServerKeyRow, type ServerKeyRecord } from '../../sql/key-rows.js';
import { numberedAll, pgPlaceholder, type PgContext, type Queryable } from './postgres-dialect.js';
import { SQL as KEY_SQL } from './postgres-keys.js';

const SQL = numberedAll(AUDIT_SQL);

/** Rows per INSERT: well under PostgreSQL's 65,535 parameters. */
export const ROWS_PER_INSERT = 1000;

/** Appends inside the transaction `client` runs. */
export async function appendAudit(client: Queryable, append: AuditAppend): Promise<void> {
  if (append.events.length === 0) return;
  const current = await lockHead(client, append.workspaceId, append.sealer);
  const { records, head } = chainEvents(append, current);
  // The entries and the new head in one statement per 1000 entries (the head with the last).
  for (let start = 0; start < records.length; start += ROWS_PER_INSERT) {
    const values: unknown[] = [];
    const entries = insertEntries(records.slice(start, start + ROWS_PER_INSERT), values, pgPlaceholder);
    if (start + ROWS_PER_INSERT < records.length) await client.query(entries, values);
    else await client.query(`WITH entries AS (${entries}) ${updateHead(head, values)}`, values);
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
    const found = await client.query<ServerKeyRecord>(KEY_SQL.serverKeyVersion, [sealer.keyName, missing]);
    const key = found.rows[0];
    adoptHeadKey(sealer, missing, key && toServerKeyRow(key));
  }
  return current;
}

/** `UPDATE` of the chain's head (locked by `lockHead`) to `head`, its values pushed onto `values`. */
export function updateHead(head: AuditHead, values: unknown[]): string {
  const n = values.length;
  values.push(head.workspaceId, head.seq, head.mac, head.headMac, head.macKey);
  return `UPDATE audit_heads SET seq = $${n + 2}, mac = $${n + 3}, head_mac = $${n + 4}, mac_key = $${n + 5} WHERE workspace_id = $${n + 1}`;
}

export function postgresAudit({ query, transaction }: PgContext): AuditStore {
  return {
    async appendAudit(append) {
      if (append.events.length === 0) return;
      await transaction((client) => appendAudit(client, append));
    },
    async listAudit(workspaceId, filter) {
      const { sql, values } = auditQuery(workspaceId, filter, pgPlaceholder);
      return (await query<AuditRow>(sql, values)).rows.map(toAuditRecord);
    },
    async auditHead(workspaceId) {
      const r = (await query<AuditHeadRecord>(SQL.head, [workspaceId])).rows[0];
      return r && toAuditHead(workspaceId, r);
    },
    async auditChains() {
      return (await query<{ workspace_id: string }>(SQL.chains)).rows.map((r) => r.workspace_id);
    },
    async auditChainsBelowKey(macKey) {
      const { rows } = await query<{ workspace_id: string }>(SQL.chainsBelowKey, [macKey]);
      return rows.map((r) => r.workspace_id);
    },
  };
}
