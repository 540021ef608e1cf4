/**
 * The one statement that writes a batch of secret changes (write-batch.ts): every insert,
 * update, version, pruning, delete, audit entry, the new head and the workspace's value
 * bytes, as data-modifying CTEs over parallel arrays (one parameter per column), after the
 * chain's head is locked. PostgreSQL only: SQLite writes each change with its own statements
 * (backends/sqlite/sqlite-secrets.ts).
 */
import type { AuditAppend } from '../../audit-store.js';
import type { SecretRow } from '../../secret-store.js';
import { chainEvents, insertEntries } from '../../sql/audit-rows.js';
import {
  SECRET_META_COLUMNS,
  SECRET_ROW_COLUMNS,
  secretRowValues,
  VALUE_BYTES_SQL,
} from '../../sql/secret-rows.js';
import type { OutboxEvent } from '../../webhook-store.js';
import { lockHead, ROWS_PER_INSERT, updateHead } from './postgres-audit.js';
import { pgPlaceholder, type Queryable } from './postgres-dialect.js';
import { insertEvents } from './postgres-webhooks.js';

/** A change decided in step 3: what to write, and what its caller gets after COMMIT. */
export type Decided =
  | { ok: true; value: unknown; write?: Write; audit?: AuditAppend; events?: OutboxEvent[] }
  | { ok: false; error: unknown };

export type Write =
  | { kind: 'insert'; row: SecretRow; actor: string }
  | { kind: 'update'; row: SecretRow; newVersion: boolean; actor: string }
  | { kind: 'delete'; id: string };

/** Steps 4 and 5 of a batch (see write-batch.ts): the head, then every write in one statement. */
export async function writeBatch(
  client: Queryable,
  workspaceId: string,
  decided: Decided[],
  versionsToKeep: number,
): Promise<void> {
  const writes: Write[] = [];
  const events: AuditAppend['events'] = [];
  const outbox: OutboxEvent[] = [];
  let sealer: AuditAppend['sealer'] | undefined;
  for (const outcome of decided) {
    if (!outcome.ok) continue;
    if (outcome.write) writes.push(outcome.write);
    if (outcome.events) outbox.push(...outcome.events);
    if (outcome.audit && outcome.audit.events.length > 0) {
      if (outcome.audit.workspaceId !== workspaceId) throw new Error('an audit entry of another workspace');
      sealer = outcome.audit.sealer;
      events.push(...outcome.audit.events);
    }
  }
  if (events.length > ROWS_PER_INSERT) throw new Error('too many audit entries for one batch');
  const values: unknown[] = [];
  const ctes = secretWrites(workspaceId, writes, values, versionsToKeep);
  if (sealer) {
    const current = await lockHead(client, workspaceId, sealer);
    const { records, head } = chainEvents({ workspaceId, sealer, events }, current);
    ctes.push(
      `entries AS (${insertEntries(records, values, pgPlaceholder)})`,
      `head AS (${updateHead(head, values)})`,
    );
  }
  // The changes' webhook events, written only while the workspace has a webhook (see webhook-store.ts).
  if (outbox.length > 0) ctes.push(`outbox AS (${insertEvents(outbox, workspaceId, values)})`);
  if (ctes.length === 0) return;
  const inserts = writes.filter((w) => w.kind === 'insert').length;
  const { rows } = await client.query<{ inserted: number }>(
    `WITH ${ctes.join(',\n')} SELECT ${inserts > 0 ? '(SELECT count(*) FROM inserted)::int' : '0'} AS inserted`,
    values,
  );
  // A create of the same key committed on another node between steps 2 and 5.
  if (rows[0]?.inserted !== inserts) throw new DuplicateKeyRace();
}

/** A create lost a race with another node's: the batch runs again, change by change. */
export class DuplicateKeyRace extends Error {
  constructor() {
    super('a key of the batch was created meanwhile by another node');
    this.name = 'DuplicateKeyRace';
  }
}

const ROW_COLUMNS = SECRET_ROW_COLUMNS.split(', ');
/** The type of each of SECRET_ROW_COLUMNS, in order, as the arrays of a batch carry them. */
const ROW_TYPES = [
  'text',
  'text',
  'text',
  'text',
  'text',
  'text',
  'text',
  'int8',
  'int8',
  'int4',
  'int8',
  'int8',
  'bytea',
  'bytea',
];

/** The data-modifying CTEs of a batch's writes, as arrays (one parameter per column). */
function secretWrites(
  workspaceId: string,
  writes: Write[],
  values: unknown[],
  versionsToKeep: number,
): string[] {
  const p = (value: unknown): string => {
    values.push(value);
    return `$${values.length}`;
  };
  const ctes: string[] = [];
  const inserts = writes.filter((w): w is Extract<Write, { kind: 'insert' }> => w.kind === 'insert');
  const updates = writes.filter((w): w is Extract<Write, { kind: 'update' }> => w.kind === 'update');
  const deletes = writes.filter((w): w is Extract<Write, { kind: 'delete' }> => w.kind === 'delete');
  /** Rows of `column`s from parallel arrays: lists travel as JSON text (no arrays of arrays). */
  const table = (rows: SecretRow[], extra: Record<string, [string, unknown[]]> = {}): string => {
    const tuples = rows.map((r) => secretRowValues(r, JSON.stringify));
    const columns: [string, string, unknown[]][] = [
      ...ROW_COLUMNS.map((name, i): [string, string, unknown[]] => [
        name,
        ROW_TYPES[i]!,
        tuples.map((t) => t[i]),
      ]),
      ...Object.entries(extra).map(([name, [type, list]]): [string, string, unknown[]] => [name, type, list]),
    ];
    const args = columns.map(([, type, list]) => `${p(list)}::${type}[]`).join(', ');
    return `unnest(${args}) AS u(${columns.map(([name]) => name).join(', ')})`;
  };
  const list = (column: string): string => `ARRAY(SELECT jsonb_array_elements_text(u.${column}::jsonb))`;
  if (inserts.length > 0) {
    const source = table(
      inserts.map((w) => w.row),
      { actor: ['text', inserts.map((w) => w.actor)] },
    );
    ctes.push(
      `source AS (SELECT * FROM ${source})`,
      `inserted AS (INSERT INTO secrets (${SECRET_META_COLUMNS}, sealed, mac)
        SELECT id, workspace_id, key, description, token_type, ${list('scope')}, ${list('envs')},
          expires_at, revoked_at, version, created_at, updated_at, sealed, mac FROM source u
        ON CONFLICT (workspace_id, key) DO NOTHING RETURNING id)`,
      `first_versions AS (INSERT INTO secret_versions (secret_id, version, sealed, created_at, created_by)
        SELECT u.id, u.version, u.sealed, u.updated_at, u.actor FROM source u JOIN inserted USING (id))`,
    );
  }
  if (updates.length > 0) {
    const source = table(
      updates.map((w) => w.row),
      {
        new_version: ['bool', updates.map((w) => w.newVersion)],
        actor: ['text', updates.map((w) => w.actor)],
      },
    );
    ctes.push(
      `changes AS (SELECT * FROM ${source})`,
      `updated AS (UPDATE secrets s SET description = u.description, token_type = u.token_type,
        scope = ${list('scope')}, envs = ${list('envs')}, expires_at = u.expires_at,
        revoked_at = u.revoked_at, version = u.version, sealed = u.sealed, mac = u.mac,
        updated_at = u.updated_at FROM changes u WHERE s.id = u.id)`,
      `new_versions AS (INSERT INTO secret_versions (secret_id, version, sealed, created_at, created_by)
        SELECT id, version, sealed, updated_at, actor FROM changes WHERE new_version)`,
      `pruned AS (DELETE FROM secret_versions v USING changes u
        WHERE u.new_version AND v.secret_id = u.id AND v.version <= u.version - ${p(versionsToKeep)}::int4
        RETURNING ${VALUE_BYTES_SQL('v.sealed')} AS bytes)`,
    );
  }
  // What the workspace's values weigh after the batch (see Store.valueBytes): new values in,
  // pruned versions and deleted secrets (every recorded version, read before the delete) out.
  const bytes: string[] = [];
  if (inserts.length > 0)
    bytes.push(`(SELECT SUM(${VALUE_BYTES_SQL('u.sealed')}) FROM source u JOIN inserted USING (id))`);
  if (updates.some((w) => w.newVersion)) {
    bytes.push(`(SELECT SUM(${VALUE_BYTES_SQL('sealed')}) FROM changes WHERE new_version)`);
    bytes.push('-(SELECT SUM(bytes) FROM pruned)');
  }
  if (deletes.length > 0) {
    const ids = p(deletes.map((w) => w.id));
    ctes.push(`deleted AS (DELETE FROM secrets WHERE id = ANY(${ids}::text[]))`);
    bytes.push(
      `-(SELECT SUM(${VALUE_BYTES_SQL('sealed')}) FROM secret_versions WHERE secret_id = ANY(${ids}::text[]))`,
    );
  }
  if (bytes.length > 0) {
    const delta = bytes.map((b) => `COALESCE(${b}, 0)`).join(' + ');
    ctes.push(`usage AS (INSERT INTO workspace_usage (workspace_id, value_bytes) VALUES (${p(workspaceId)}, ${delta})
      ON CONFLICT (workspace_id) DO UPDATE SET value_bytes = workspace_usage.value_bytes + EXCLUDED.value_bytes)`);
  }
  return ctes;
}
