/**
 * Secrets and their versions on the embedded store (see store/secret-store.ts). Reads are
 * the shared statements (store/sql/secret-rows.ts); every write goes through the write
 * queue with its version, pruning, value bytes and audit entry in one transaction.
 */
import type Database from 'better-sqlite3';
import { DuplicateKeyError } from '../../errors.js';
import type {
  SecretChanges,
  SecretMeta,
  SecretRow,
  SecretSizes,
  SecretStore,
  WriteKeys,
} from '../../secret-store.js';
import {
  applyChanges,
  CHANGE_COLUMNS,
  changedFields,
  listedSecretMetas,
  secretReads,
  secretRowValues,
  SECRET_ROW_COLUMNS,
  SEALED_OVERHEAD,
  secretMetaOfTuple,
  secretRowOfTuple,
  toSecretRow,
  toSizedMeta,
  toVersionMeta,
  VALUE_BYTES_SQL,
  type SecretListRow,
  type SecretRecord,
  type SecretTuple,
  type VersionRecord,
} from '../../sql/secret-rows.js';
import { outboxEventsOf } from '../../sql/webhook-rows.js';
import type { SqliteAudit } from './sqlite-audit.js';
import type { SqliteOutbox } from './sqlite-webhooks.js';
import { listParam, parseList, SQLITE_DIALECT } from './sqlite-dialect.js';
import type { WriteQueue } from './write-queue.js';

/** The plaintext size of a sealed value, in bytes. */
const valueBytesOf = (sealed: Buffer): number => sealed.length - SEALED_OVERHEAD;

/** How each updatable field is stored: lists as JSON text, everything else as is. */
const encodeChange = (field: keyof SecretChanges, value: unknown): unknown =>
  field === 'scope' || field === 'envs' ? JSON.stringify(value) : value;

export interface SqliteSecretsDeps {
  db: Database.Database;
  writes: WriteQueue;
  audit: SqliteAudit;
  /** Where a change's webhook events go, in the change's transaction. */
  outbox: SqliteOutbox;
  /** The data keys a seal reads: on SQLite every read is on the one connection. */
  keys: WriteKeys;
  versionsToKeep: number;
}

export function sqliteSecrets({
  db,
  writes,
  audit,
  outbox,
  keys,
  versionsToKeep,
}: SqliteSecretsDeps): SecretStore & SecretSizes {
  const sql = secretReads(SQLITE_DIALECT);
  const stmt = {
    // One row as an array (see SecretTuple): the fetch and metadata routes read these.
    getSecret: db.prepare(sql.getSecret).raw(),
    getSecretMeta: db.prepare(sql.getSecretMeta).raw(),
    getSecrets: db.prepare(sql.getSecrets),
    listSecretRows: db.prepare(sql.listSecretRows),
    // Rows as arrays: better-sqlite3 then builds no object per row, most of a big list's cost.
    listSecrets: db.prepare(sql.listSecrets).raw(),
    listExpiringSecrets: db.prepare(sql.listExpiringSecrets).raw(),
    countSecrets: db.prepare(sql.countSecrets).pluck(),
    sizesAfter: db.prepare(sql.sizesAfter),
    sizesOf: db.prepare(sql.sizesOf),
    valueBytes: db.prepare(sql.valueBytes).pluck(),
    listVersions: db.prepare(sql.listVersions),
    getVersion: db.prepare(sql.getVersion).pluck(),
    insertSecret: db.prepare(
      `INSERT INTO secrets (${SECRET_ROW_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    deleteSecret: db.prepare('DELETE FROM secrets WHERE workspace_id = ? AND key = ?'),
    insertVersion: db.prepare(
      'INSERT INTO secret_versions (secret_id, version, sealed, created_at, created_by) VALUES (?, ?, ?, ?, ?)',
    ),
    pruneVersions: db
      .prepare(
        `DELETE FROM secret_versions WHERE secret_id = ? AND version <= ? RETURNING ${VALUE_BYTES_SQL('sealed')}`,
      )
      .pluck(),
    // What a delete frees: every recorded version (the current value is one of them).
    versionBytes: db
      .prepare(
        `SELECT COALESCE(SUM(${VALUE_BYTES_SQL('v.sealed')}), 0) FROM secret_versions v
         JOIN secrets s ON s.id = v.secret_id WHERE s.workspace_id = ? AND s.key = ?`,
      )
      .pluck(),
    addValueBytes: db.prepare(
      `INSERT INTO workspace_usage (workspace_id, value_bytes) VALUES (?, ?)
       ON CONFLICT (workspace_id) DO UPDATE SET value_bytes = value_bytes + excluded.value_bytes`,
    ),
  };
  const updateStatements = new Map<string, Database.Statement>();

  const getSecret = async (workspaceId: string, key: string): Promise<SecretRow | undefined> => {
    const r = stmt.getSecret.get(workspaceId, key) as SecretTuple<string> | undefined;
    return r && secretRowOfTuple(r, parseList);
  };
  const getSecretMeta = async (workspaceId: string, key: string): Promise<SecretMeta | undefined> => {
    const r = stmt.getSecretMeta.get(workspaceId, key) as SecretTuple<string> | undefined;
    return r && secretMetaOfTuple(r, parseList);
  };

  /**
   * Writes `changes` only if the row is still as read: same version and same updated_at,
   * which every change moves (revoke and restore keep the version). `changes` were computed
   * from the whole row, its MAC included: written over a row changed meanwhile, the columns
   * it does not set would no longer be the ones its MAC covers.
   */
  const updateIfUnchanged = (workspaceId: string, current: SecretRow, changes: SecretChanges): boolean => {
    const fields = changedFields(changes);
    const signature = fields.join(',');
    let statement = updateStatements.get(signature);
    if (!statement) {
      const sets = fields.map((f) => `${CHANGE_COLUMNS[f]} = ?`).join(', ');
      statement = db.prepare(
        `UPDATE secrets SET ${sets} WHERE workspace_id = ? AND id = ? AND version = ? AND updated_at = ?`,
      );
      updateStatements.set(signature, statement);
    }
    const values = fields.map((f) => encodeChange(f, changes[f]));
    return (
      statement.run(...values, workspaceId, current.id, current.version, current.updatedAt).changes === 1
    );
  };

  /**
   * The data keys as one write reads them: the newest version asked once per write and
   * workspace, so its seal and its row MAC share one lookup (as a PostgreSQL batch does).
   */
  const keysOfOneWrite = (): WriteKeys => {
    const newest = new Map<string, Promise<number | undefined>>();
    return {
      workspaceKeys: (workspaceId) => keys.workspaceKeys(workspaceId),
      latestKeyVersion: (workspaceId) => {
        let version = newest.get(workspaceId);
        if (!version) {
          version = keys.latestKeyVersion(workspaceId);
          newest.set(workspaceId, version);
        }
        return version;
      },
    };
  };

  return {
    async insertSecret(row, actor, auditAppend) {
      const made =
        'seal' in row ? await row.seal(keysOfOneWrite()) : { sealed: row.sealed, mac: row.mac ?? null };
      const { sealed, mac } = made;
      try {
        await writes.run(() => {
          stmt.insertSecret.run(...secretRowValues({ ...row, sealed, mac }, JSON.stringify));
          stmt.insertVersion.run(row.id, row.version, sealed, row.updatedAt, actor);
          stmt.addValueBytes.run(row.workspaceId, valueBytesOf(sealed));
          if (auditAppend) audit.appendSync(auditAppend);
          outbox.appendSync(outboxEventsOf(auditAppend, row));
        });
      } catch (error) {
        if ((error as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') throw new DuplicateKeyError();
        throw error;
      }
    },
    getSecret,
    getSecretMeta,
    async getSecrets(workspaceId, keyList) {
      if (keyList.length === 0) return [];
      const rows = stmt.getSecrets.all(workspaceId, listParam(keyList)) as SecretRecord<string>[];
      return rows.map((r) => toSecretRow(r, parseList));
    },
    async listSecretRows(workspaceId) {
      const rows = stmt.listSecretRows.all(workspaceId) as SecretRecord<string>[];
      return rows.map((r) => toSecretRow(r, parseList));
    },
    async countSecrets(workspaceId) {
      return stmt.countSecrets.get(workspaceId) as number;
    },
    async listSecrets(workspaceId) {
      const rows = stmt.listSecrets.all(workspaceId) as SecretListRow<string>[];
      return listedSecretMetas(workspaceId, rows, parseList);
    },
    async listExpiringSecrets(workspaceId, after, until) {
      const rows = stmt.listExpiringSecrets.all(workspaceId, after, until) as SecretListRow<string>[];
      return listedSecretMetas(workspaceId, rows, parseList);
    },

    /**
     * Optimistic: read, compute, then write only if the row did not change meanwhile.
     * better-sqlite3 is synchronous, so another request can only slip in while `compute`
     * awaits; then this simply runs again on the new row.
     */
    async modifySecret(workspaceId, key, compute, actor, auditOf) {
      for (let attempt = 0; attempt < 1000; attempt++) {
        const current = await getSecret(workspaceId, key);
        if (!current) return undefined;
        const changes = await compute(current, keysOfOneWrite());
        if (changes === null) return applyChanges(current, { updatedAt: current.updatedAt });
        const row = applyChanges(current, changes);
        const written = await writes.run(() => {
          if (!updateIfUnchanged(workspaceId, current, changes)) return false;
          if (changes.sealed !== undefined && changes.version !== undefined) {
            stmt.insertVersion.run(current.id, changes.version, changes.sealed, changes.updatedAt, actor);
            const pruned = stmt.pruneVersions.all(current.id, changes.version - versionsToKeep) as number[];
            const freed = pruned.reduce((n, bytes) => n + bytes, 0);
            stmt.addValueBytes.run(workspaceId, valueBytesOf(changes.sealed) - freed);
          }
          if (auditOf) {
            const append = auditOf(row);
            audit.appendSync(append);
            outbox.appendSync(outboxEventsOf(append, row));
          }
          return true;
        });
        if (written) return row;
      }
      throw new Error('modifySecret: the row kept changing under 1000 attempts');
    },
    async listVersions(workspaceId, key) {
      const meta = await getSecretMeta(workspaceId, key);
      if (!meta) return undefined;
      return (stmt.listVersions.all(meta.id) as VersionRecord[]).map(toVersionMeta);
    },
    async getSecretVersion(workspaceId, key, version) {
      const meta = await getSecretMeta(workspaceId, key);
      if (!meta) return undefined;
      return { meta, sealed: stmt.getVersion.get(meta.id, version) as Buffer | undefined };
    },
    deleteSecret(workspaceId, key, auditAppend) {
      return writes.run(() => {
        const freed = stmt.versionBytes.get(workspaceId, key) as number;
        const before = stmt.getSecretMeta.get(workspaceId, key) as SecretTuple<string> | undefined;
        const found = stmt.deleteSecret.run(workspaceId, key).changes === 1;
        if (found) stmt.addValueBytes.run(workspaceId, -freed);
        if (found && auditAppend) audit.appendSync(auditAppend);
        if (found && before)
          outbox.appendSync(outboxEventsOf(auditAppend, secretMetaOfTuple(before, parseList)));
        return found;
      });
    },

    async listSecretSizes(workspaceId, page) {
      const rows = (
        'keys' in page
          ? page.keys.length === 0
            ? []
            : stmt.sizesOf.all(workspaceId, listParam(page.keys))
          : stmt.sizesAfter.all(workspaceId, page.afterKey ?? '', page.limit)
      ) as (SecretRecord<string> & { value_bytes: number })[];
      return rows.map((r) => toSizedMeta(r, parseList));
    },
    async valueBytes(workspaceId) {
      return (stmt.valueBytes.get(workspaceId) as number | undefined) ?? 0;
    },
  };
}
