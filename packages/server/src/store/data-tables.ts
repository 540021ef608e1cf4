/**
 * The tables that hold a deployment's data, in the order a copy must insert them (parents
 * before the rows that reference them), and a digest of their content that is the same on
 * both backends. Backups, restores and `migrate-store` copy these tables row for row and
 * column for column, and compare digests to prove a copy whole.
 *
 * Invariant: a copy keeps every column byte for byte. Values stay sealed, data keys and
 * server keys stay wrapped by the master key, and the row MACs and the audit chains (bound to
 * workspace ids, secret ids, versions and sequence numbers) stay valid. Nothing here ever
 * unwraps or opens anything, and no digest is computed over anything but ciphertext and
 * metadata. `schema_migrations` is not copied: the target's own migrations write it.
 */
import { createHash, type Hash } from 'node:crypto';

export interface DataTable {
  readonly name: string;
  /** The primary key: rows are read in this order, so both backends digest them alike. */
  readonly key: readonly string[];
  /** The schema version that created the table. */
  readonly since: number;
}

export const DATA_TABLES: readonly DataTable[] = [
  { name: 'server_keys', key: ['name', 'version'], since: 1 },
  { name: 'workspaces', key: ['id'], since: 1 },
  { name: 'workspace_keys', key: ['workspace_id', 'version'], since: 1 },
  { name: 'users', key: ['id'], since: 1 },
  { name: 'service_tokens', key: ['id'], since: 2 },
  { name: 'secrets', key: ['id'], since: 1 },
  { name: 'secret_versions', key: ['secret_id', 'version'], since: 3 },
  { name: 'audit_log', key: ['workspace_id', 'seq'], since: 4 },
  { name: 'audit_heads', key: ['workspace_id'], since: 4 },
  { name: 'workspace_usage', key: ['workspace_id'], since: 6 },
  { name: 'webhooks', key: ['id'], since: 7 },
  { name: 'webhook_events', key: ['id'], since: 7 },
  { name: 'webhook_deliveries', key: ['id'], since: 7 },
  { name: 'webhook_expiry_marks', key: ['secret_id', 'expires_at', 'lead_seconds'], since: 7 },
];

/** The data tables of a database at schema `version`, in insertion order. */
export function dataTablesAt(version: number): readonly DataTable[] {
  return DATA_TABLES.filter((t) => t.since <= version);
}

/** Bookkeeping tables that are not data (each backend's own, or a backup's manifest). */
export const NOT_DATA = new Set(['schema_migrations', 'sqlite_sequence', 'ductape_backup']);

/** Columns that hold a list: JSON text in SQLite, text[] in PostgreSQL. */
export const LIST_COLUMNS = new Set(['scope', 'envs']);

/**
 * One cell as both backends read it: integers as numbers, blobs as Buffers, lists as their
 * JSON text (SQLite's form), text as text.
 */
export type Cell = number | string | Buffer | null;
export type Row = Record<string, Cell>;

/** Row count and content digest of one table. */
export interface TableSummary {
  rows: number;
  sha256: string;
}

/**
 * Digests one table's rows, fed in primary-key order. The columns are taken in name order
 * (the backends' column orders differ after their migrations); blobs are tagged so that no
 * text can pass for them.
 */
export class TableDigest {
  private readonly hash: Hash = createHash('sha256');
  private count = 0;
  private columns: string[] | undefined;

  add(row: Row): void {
    if (this.columns === undefined) {
      this.columns = Object.keys(row).sort();
      this.hash.update(JSON.stringify(this.columns) + '\n');
    }
    const cells = this.columns.map((c) => {
      const cell = row[c];
      return Buffer.isBuffer(cell) ? { hex: cell.toString('hex') } : (cell ?? null);
    });
    this.hash.update(JSON.stringify(cells) + '\n');
    this.count++;
  }

  summary(): TableSummary {
    return { rows: this.count, sha256: this.hash.digest('hex') };
  }
}

/** The summaries of two copies that differ, as "table: what" lines (empty when they agree). */
export function compareSummaries(
  expected: Readonly<Record<string, TableSummary>>,
  actual: Readonly<Record<string, TableSummary>>,
  version: number,
): string[] {
  const out: string[] = [];
  for (const { name } of dataTablesAt(version)) {
    const want = expected[name];
    const got = actual[name];
    if (!want || !got) out.push(`${name}: missing from ${want ? 'the copy' : 'the record'}`);
    else if (want.rows !== got.rows) out.push(`${name}: ${got.rows} rows where ${want.rows} were recorded`);
    else if (want.sha256 !== got.sha256) out.push(`${name}: the content differs from what was recorded`);
  }
  return out;
}

/** Refuses a source whose data tables are not exactly those this version knows how to copy. */
export function checkTableSet(found: readonly string[], version: number, where: string): void {
  const known = new Set(dataTablesAt(version).map((t) => t.name));
  const unknown = found.filter((t) => !known.has(t) && !NOT_DATA.has(t));
  const missing = [...known].filter((t) => !found.includes(t));
  if (unknown.length > 0 || missing.length > 0) {
    const parts = [
      unknown.length > 0 ? `tables this version does not know: ${unknown.join(', ')}` : '',
      missing.length > 0 ? `missing tables: ${missing.join(', ')}` : '',
    ].filter(Boolean);
    throw new Error(`${where} does not have the tables this version copies (${parts.join('; ')})`);
  }
}
