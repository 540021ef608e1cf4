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
 *    runs (and may refuse), a create's value is sealed; both are handed the data keys as the
 *    batch reads them (`batchKeys`: on its own connection, the newest version once per
 *    batch); nothing is written yet, so a refusal concerns its change alone;
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
import type { AuditAppend } from '../../audit-store.js';
import { DuplicateKeyError } from '../../errors.js';
import type { NewSecretRow, SecretChanges, SecretMeta, SecretRow, WriteKeys } from '../../secret-store.js';
import { applyChanges, secretReads, toSecretRow, type SecretRecord } from '../../sql/secret-rows.js';
import { outboxEventsOf } from '../../sql/webhook-rows.js';
import { DuplicateKeyRace, writeBatch, type Decided } from './batch-statement.js';
import { isConnectionError } from './errors.js';
import { numbered, PG_DIALECT } from './postgres-dialect.js';
import { batchKeys } from './postgres-keys.js';

/** One change of a secret, as the store's methods describe it. */
export type Change =
  | { kind: 'insert'; row: NewSecretRow; actor: string; audit?: AuditAppend }
  | {
      kind: 'modify';
      key: string;
      compute: (current: SecretRow, keys: WriteKeys) => Promise<SecretChanges | null>;
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

/** Most changes in one transaction: bounds how long one batch holds its locks. */
export const MAX_BATCH = 256;

const sameList = (list: string[]): string[] => list;

/** The rows of a batch's keys, locked in key order (see step 2). */
const LOCK_ROWS = numbered(`${secretReads(PG_DIALECT).getSecrets} ORDER BY key FOR UPDATE`);

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
      decided = await this.decide(client, workspaceId, batch);
      await writeBatch(client, workspaceId, decided, this.deps.versionsToKeep);
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
    const secretKeys = batch.map((queued) => keyOf(queued.change));
    const { rows } = await client.query<SecretRecord>({
      name: 'lock_batch_secret_rows',
      text: LOCK_ROWS,
      values: [workspaceId, secretKeys],
    });
    const found = new Map<string, SecretRow>();
    for (const r of rows) found.set(r.key, toSecretRow(r, sameList));
    // Seals and `compute`s read the data keys through this batch's own connection.
    const dataKeys = batchKeys(client);
    const decided: Decided[] = [];
    for (const { change } of batch) {
      try {
        decided.push(await this.decideOne(change, found.get(keyOf(change)), dataKeys));
      } catch (error) {
        // A database error has ended the transaction: the batch is over.
        if (error instanceof pg.DatabaseError || isConnectionError(error)) throw error;
        decided.push({ ok: false, error });
      }
    }
    return decided;
  }

  private async decideOne(change: Change, current: SecretRow | undefined, keys: WriteKeys): Promise<Decided> {
    switch (change.kind) {
      case 'insert': {
        if (current) return { ok: false, error: new DuplicateKeyError() };
        // Sealed here, the batch's newest data key version is read once for all its values.
        const made = 'seal' in change.row ? await change.row.seal(keys) : change.row;
        const row: SecretRow = { ...change.row, sealed: made.sealed, mac: made.mac ?? null };
        return {
          ok: true,
          value: undefined,
          write: { kind: 'insert', row, actor: change.actor },
          audit: change.audit,
          events: outboxEventsOf(change.audit, row),
        };
      }
      case 'delete':
        if (!current) return { ok: true, value: false };
        return {
          ok: true,
          value: true,
          write: { kind: 'delete', id: current.id },
          audit: change.audit,
          events: outboxEventsOf(change.audit, current),
        };
      case 'modify': {
        if (!current) return { ok: true, value: undefined };
        const changes = await change.compute(current, keys);
        if (changes === null)
          return { ok: true, value: applyChanges(current, { updatedAt: current.updatedAt }) };
        const written = applyChanges(current, changes);
        const row: SecretRow = {
          ...written,
          sealed: changes.sealed ?? current.sealed,
          mac: changes.mac ?? current.mac,
        };
        const newVersion = changes.sealed !== undefined && changes.version !== undefined;
        const audit = change.auditOf?.(written);
        return {
          ok: true,
          value: written,
          write: { kind: 'update', row, newVersion, actor: change.actor },
          audit,
          events: outboxEventsOf(audit, written),
        };
      }
    }
  }
}
