/**
 * Group commit for PostgreSQL: the secret changes (create, update, delete) of one workspace
 * that arrive while its previous batch is committing share one transaction, one lock of the
 * audit chain's head, a handful of statements and one WAL flush.
 *
 * Why: every change carries its audit entry in its own transaction, and a workspace's chain
 * has one head row, locked from the append until COMMIT. One change per transaction, the
 * changes of a workspace commit one after another, four or five round trips each. And
 * under load every round trip waits for a turn of a busy event loop, so what counts is the
 * number of statements a batch makes one after another, not how many rows they carry.
 *
 * A batch, whatever its size, is five statements:
 * 1. BEGIN;
 * 2. the rows of every key in the batch, locked (FOR UPDATE) in key order;
 * 3. (JavaScript) each change decided against its row: a create of an existing key is a
 *    duplicate, an update or delete of a missing one finds nothing, an update's `compute`
 *    runs (and may refuse), a create's value is sealed (the newest data key version is read
 *    once per batch); nothing is written yet, so a refusal concerns its change alone;
 * 4. the chain's head locked and read, the entries numbered and MACed;
 * 5. every insert, update, version, pruning, delete, audit entry, the new head and the
 *    workspace's value bytes in one statement, then COMMIT.
 * Locks are taken in one order by every batch on every node (secret rows by key, then the
 * head, then the workspace's usage row), so batches cannot deadlock. A key appears at most once per batch; a second change
 * of it waits for the next batch (it arrived while the first was in flight, so either order
 * is one the callers could have seen). Per workspace on this node at most one batch is in
 * flight; an idle workspace's change starts at once, with no timer.
 *
 * A database error abandons the batch (ROLLBACK) and its changes run again one per batch,
 * so only the one at fault fails; a lost connection rejects them all (nothing committed).
 * Callers hear of their change only after COMMIT.
 */
import pg from 'pg';
import {
  applyChanges,
  SECRET_META_COLUMNS,
  SECRET_ROW_COLUMNS,
  toSecretRow,
  VALUE_BYTES_SQL,
  type SecretRecord,
} from '../../records.js';
import { chainEvents } from '../../audit-records.js';
import {
  DuplicateKeyError,
  type AuditAppend,
  type NewSecretRow,
  type SecretChanges,
  type SecretMeta,
  type SecretRow,
} from '../../types.js';
import { insertEntries, lockHead, ROWS_PER_INSERT, updateHead } from './audit.js';
import { isConnectionError } from './errors.js';
import { batchKeyVersions, transactionClient } from './keys.js';

/** One change of a secret, as the store's methods describe it. */
export type Change =
  | { kind: 'insert'; row: NewSecretRow; actor: string; audit?: AuditAppend }
  | {
      kind: 'modify';
      key: string;
      compute: (current: SecretRow) => Promise<SecretChanges | null>;
      actor: string;
      auditOf?: (written: SecretMeta) => AuditAppend;
    }
  | { kind: 'delete'; key: string; audit?: AuditAppend };

export interface BatchDeps {
  /** A pooled connection, and how to give it back (with the error that broke it, if any). */
  connect(): Promise<{ client: pg.PoolClient; release(error?: Error): void }>;
  /** Versions kept per secret. */
  versionsToKeep: number;
  /** The store's error for a database it cannot reach. */
  unavailable(error: unknown): Error;
}

interface Queued {
  change: Change;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

/** A change decided in step 3: what to write, and what its caller gets after COMMIT. */
type Decided =
  { ok: true; value: unknown; write?: Write; audit?: AuditAppend } | { ok: false; error: unknown };

type Write =
  | { kind: 'insert'; row: SecretRow; actor: string }
  | { kind: 'update'; row: SecretRow; newVersion: boolean; actor: string }
  | { kind: 'delete'; id: string };

/** Most changes in one transaction: bounds how long one batch holds its locks. */
export const MAX_BATCH = 256;

const keyOf = (change: Change): string => (change.kind === 'insert' ? change.row.key : change.key);

export class WriteBatcher {
  private readonly waiting = new Map<string, Queued[]>();
  private readonly running = new Set<string>();

  constructor(private readonly deps: BatchDeps) {}

  /** Queues a change in `workspaceId`; resolves with its result once it is committed. */
  run<T>(workspaceId: string, change: Change): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let queue = this.waiting.get(workspaceId);
      if (!queue) {
        queue = [];
        this.waiting.set(workspaceId, queue);
      }
      queue.push({ change, resolve: resolve as (value: unknown) => void, reject });
      // Changes that arrive in the same turn of the event loop start together.
      if (queue.length === 1 && !this.running.has(workspaceId)) setImmediate(() => this.next(workspaceId));
    });
  }

  private next(workspaceId: string): void {
    if (this.running.has(workspaceId)) return;
    const queue = this.waiting.get(workspaceId);
    if (!queue || queue.length === 0) {
      this.waiting.delete(workspaceId);
      return;
    }
    // Oldest first, one change per key; the rest keep their order for the next batch.
    const batch: Queued[] = [];
    const later: Queued[] = [];
    const keys = new Set<string>();
    for (const queued of queue) {
      const key = keyOf(queued.change);
      if (batch.length < MAX_BATCH && !keys.has(key)) {
        keys.add(key);
        batch.push(queued);
      } else later.push(queued);
    }
    this.waiting.set(workspaceId, later);
    this.running.add(workspaceId);
    void this.settle(workspaceId, batch).finally(() => {
      this.running.delete(workspaceId);
      this.next(workspaceId);
    });
  }

  /** Runs a batch; when the database refuses it, each change again on its own. */
  private async settle(workspaceId: string, batch: Queued[]): Promise<void> {
    const failure = await this.execute(workspaceId, batch);
    if (failure === undefined) return;
    if (batch.length === 1 || isConnectionError(failure)) {
      for (const queued of batch) queued.reject(this.reason(failure));
      return;
    }
    for (const queued of batch) {
      const alone = await this.execute(workspaceId, [queued]);
      if (alone !== undefined) queued.reject(this.reason(alone));
    }
  }

  /** What the caller of a change that failed on its own is told. */
  private reason(error: unknown): unknown {
    if (isConnectionError(error)) return this.deps.unavailable(error);
    // Created meanwhile by another node (caught by the count, or by the unique index).
    if (error instanceof DuplicateKeyRace || (error as { code?: unknown }).code === '23505') {
      return new DuplicateKeyError();
    }
    return error;
  }

  /**
   * One transaction for `batch`. Settles every change and returns undefined, or settles none
   * and returns the error that ended the transaction.
   */
  private async execute(workspaceId: string, batch: Queued[]): Promise<unknown> {
    let client: pg.PoolClient;
    let release: (error?: Error) => void;
    try {
      ({ client, release } = await this.deps.connect());
    } catch (error) {
      return error;
    }
    let decided: Decided[];
    try {
      await client.query('BEGIN');
      decided = await transactionClient.run(client, () =>
        batchKeyVersions.run(new Map(), () => this.decide(client, workspaceId, batch)),
      );
      await this.write(client, workspaceId, decided);
      const commit = await client.query('COMMIT');
      // COMMIT of a transaction that an error already ended reports ROLLBACK, not an error.
      if (commit.command !== 'COMMIT') throw new Error(`the batch's COMMIT answered ${commit.command}`);
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      release(isConnectionError(error) ? (error as Error) : undefined);
      return error;
    }
    release();
    batch.forEach((queued, i) => {
      const outcome = decided[i]!;
      if (outcome.ok) queued.resolve(outcome.value);
      else queued.reject(outcome.error);
    });
    return undefined;
  }

  /** Steps 2 and 3: locks the batch's rows and decides each change against its row. */
  private async decide(client: pg.PoolClient, workspaceId: string, batch: Queued[]): Promise<Decided[]> {
    const keys = batch.map((queued) => keyOf(queued.change));
    const { rows } = await client.query<SecretRecord>({
      name: 'lock_batch_secret_rows',
      text: `SELECT ${SECRET_ROW_COLUMNS} FROM secrets
        WHERE workspace_id = $1 AND key = ANY($2::text[]) ORDER BY key FOR UPDATE`,
      values: [workspaceId, keys],
    });
    const found = new Map<string, SecretRow>();
    for (const r of rows)
      found.set(
        r.key,
        toSecretRow(r, (list) => list),
      );
    const decided: Decided[] = [];
    for (const { change } of batch) {
      try {
        decided.push(await this.decideOne(change, found.get(keyOf(change))));
      } catch (error) {
        // A database error has ended the transaction: the batch is over.
        if (error instanceof pg.DatabaseError || isConnectionError(error)) throw error;
        decided.push({ ok: false, error });
      }
    }
    return decided;
  }

  private async decideOne(change: Change, current: SecretRow | undefined): Promise<Decided> {
    switch (change.kind) {
      case 'insert': {
        if (current) return { ok: false, error: new DuplicateKeyError() };
        const { sealed, mac } = change.row;
        // Sealed here, the batch's newest data key version is read once for all its values.
        const row: SecretRow = {
          ...change.row,
          sealed: typeof sealed === 'function' ? await sealed() : sealed,
          mac: typeof mac === 'function' ? await mac() : (mac ?? null),
        };
        return {
          ok: true,
          value: undefined,
          write: { kind: 'insert', row, actor: change.actor },
          audit: change.audit,
        };
      }
      case 'delete':
        if (!current) return { ok: true, value: false };
        return { ok: true, value: true, write: { kind: 'delete', id: current.id }, audit: change.audit };
      case 'modify': {
        if (!current) return { ok: true, value: undefined };
        const changes = await change.compute(current);
        if (changes === null)
          return { ok: true, value: applyChanges(current, { updatedAt: current.updatedAt }) };
        const written = applyChanges(current, changes);
        const row: SecretRow = {
          ...written,
          sealed: changes.sealed ?? current.sealed,
          mac: changes.mac ?? current.mac,
        };
        const newVersion = changes.sealed !== undefined && changes.version !== undefined;
        return {
          ok: true,
          value: written,
          write: { kind: 'update', row, newVersion, actor: change.actor },
          audit: change.auditOf?.(written),
        };
      }
    }
  }

  /** Steps 4 and 5: the head, then every write of the batch in one statement. */
  private async write(client: pg.PoolClient, workspaceId: string, decided: Decided[]): Promise<void> {
    const writes: Write[] = [];
    const events: AuditAppend['events'] = [];
    let sealer: AuditAppend['sealer'] | undefined;
    for (const outcome of decided) {
      if (!outcome.ok) continue;
      if (outcome.write) writes.push(outcome.write);
      if (outcome.audit && outcome.audit.events.length > 0) {
        if (outcome.audit.workspaceId !== workspaceId) throw new Error('an audit entry of another workspace');
        sealer = outcome.audit.sealer;
        events.push(...outcome.audit.events);
      }
    }
    if (events.length > ROWS_PER_INSERT) throw new Error('too many audit entries for one batch');
    const values: unknown[] = [];
    const ctes = secretWrites(workspaceId, writes, values, this.deps.versionsToKeep);
    if (sealer) {
      const current = await lockHead(client, workspaceId, sealer);
      const { records, head } = chainEvents({ workspaceId, sealer, events }, current);
      ctes.push(`entries AS (${insertEntries(records, values)})`, `head AS (${updateHead(head, values)})`);
    }
    if (ctes.length === 0) return;
    const inserts = writes.filter((w) => w.kind === 'insert').length;
    const { rows } = await client.query<{ inserted: number }>(
      `WITH ${ctes.join(',\n')} SELECT ${inserts > 0 ? '(SELECT count(*) FROM inserted)::int' : '0'} AS inserted`,
      values,
    );
    // A create of the same key committed on another node between steps 2 and 5.
    if (rows[0]?.inserted !== inserts) throw new DuplicateKeyRace();
  }
}

/** A create lost a race with another node's: the batch runs again, change by change. */
class DuplicateKeyRace extends Error {
  constructor() {
    super('a key of the batch was created meanwhile by another node');
    this.name = 'DuplicateKeyRace';
  }
}

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
    const columns: [string, string, unknown[]][] = [
      ['id', 'text', rows.map((r) => r.id)],
      ['workspace_id', 'text', rows.map((r) => r.workspaceId)],
      ['key', 'text', rows.map((r) => r.key)],
      ['description', 'text', rows.map((r) => r.description)],
      ['token_type', 'text', rows.map((r) => r.tokenType)],
      ['scope', 'text', rows.map((r) => JSON.stringify(r.scope))],
      ['envs', 'text', rows.map((r) => JSON.stringify(r.envs))],
      ['expires_at', 'int8', rows.map((r) => r.expiresAt)],
      ['revoked_at', 'int8', rows.map((r) => r.revokedAt)],
      ['version', 'int4', rows.map((r) => r.version)],
      ['created_at', 'int8', rows.map((r) => r.createdAt)],
      ['updated_at', 'int8', rows.map((r) => r.updatedAt)],
      ['sealed', 'bytea', rows.map((r) => r.sealed)],
      ['mac', 'bytea', rows.map((r) => r.mac)],
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
