/**
 * The embedded store: one SQLite file in the data dir, through better-sqlite3.
 *
 * WAL journal; every write goes through the write queue (write-queue.ts), which commits
 * concurrent writes together and fsyncs the WAL off the event loop: a write is on disk
 * before it is acknowledged, as with synchronous=FULL, without stalling other requests.
 * Statements are prepared once. Calls are synchronous underneath; the async signatures are
 * the Store interface's, shared with the PostgreSQL backend.
 */
import Database from 'better-sqlite3';
import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { WrappedDataKey } from '../../../crypto/keyring.js';
import { SqliteAudit } from './audit.js';
import { withStoreErrors } from './errors.js';
import { migrateSqlite } from './migrate.js';
import { SqliteIntegrityStore } from './integrity.js';
import { SqliteKeyStore } from './keys.js';
import { SERVER_KEY_COLUMNS, toServerKeyRow, type ServerKeyRecord } from '../../keys.js';
import { WriteQueue } from './write-queue.js';
import {
  DuplicateKeyError,
  type AuditAppend,
  type AuditFilter,
  type AuditHead,
  type AuditRecord,
  type MigrationResult,
  type PrincipalFeed,
  type PrincipalKind,
  type PrincipalWatcher,
  type SecretChanges,
  type UserChanges,
  type SecretVersionMeta,
  type ServiceTokenRow,
  type SecretMeta,
  type NewSecretRow,
  type SecretRow,
  type ServerKeyRow,
  type SizedSecretMeta,
  type Store,
  type UserRow,
  type WorkspaceRow,
} from '../../types.js';
import {
  CHANGE_COLUMNS,
  INSERT_USER_COLUMNS,
  SECRET_META_COLUMNS as META_COLUMNS,
  SECRET_ROW_COLUMNS as ROW_COLUMNS,
  SEALED_OVERHEAD,
  VALUE_BYTES_SQL,
  toSecretRow,
  toSizedMeta,
  applyChanges,
  leavesOwners,
  USER_CHANGE_COLUMNS,
  userChangesToWrite,
  DEFAULT_VERSIONS_TO_KEEP,
  toVersionMeta,
  type VersionRecord,
  SERVICE_TOKEN_COLUMNS,
  serviceTokenValues,
  toServiceTokenRow,
  type ServiceTokenRecord,
  changedFields,
  listedSecretMeta,
  secretListColumns,
  toSecretMeta,
  toUserRow,
  userValues,
  type SecretListRow,
  type SecretRecord,
  type UserRecord,
} from '../../records.js';

export const SQLITE_FILE = 'ductape.sqlite';
export { migrateSqlite } from './migrate.js';

// Most secrets have no scope and no environments: '[]' needs no parser.
const parseList = (json: string): string[] => (json === '[]' ? [] : (JSON.parse(json) as string[]));
const toMeta = (r: SecretRecord<string>): SecretMeta => toSecretMeta(r, parseList);
const toRow = (r: SecretRecord<string>): SecretRow => toSecretRow(r, parseList);
/** The plaintext size of a sealed value, in bytes. */
const valueBytesOf = (sealed: Buffer): number => sealed.length - SEALED_OVERHEAD;

/** How each updatable field is stored: lists as JSON text, everything else as is. */
const encodeChange = (field: keyof SecretChanges, value: unknown): unknown =>
  field === 'scope' || field === 'envs' ? JSON.stringify(value) : value;

/**
 * A lowered DUCTAPE_KEEP_VERSIONS also destroys the surplus of secrets that never change
 * again, and takes what it frees off each workspace's value bytes.
 */
function pruneSurplusVersions(db: Database.Database, versionsToKeep: number): void {
  db.transaction(() => {
    const surplus =
      'FROM secret_versions v JOIN secrets s ON s.id = v.secret_id WHERE v.version <= s.version - ?';
    const freed = db
      .prepare(
        `SELECT s.workspace_id, SUM(${VALUE_BYTES_SQL('v.sealed')}) AS bytes ${surplus} GROUP BY s.workspace_id`,
      )
      .all(versionsToKeep) as { workspace_id: string; bytes: number }[];
    const take = db.prepare(
      'UPDATE workspace_usage SET value_bytes = value_bytes - ? WHERE workspace_id = ?',
    );
    for (const f of freed) take.run(f.bytes, f.workspace_id);
    // Run even when there is nothing to delete: a write statement is also what tells, at
    // start, a database this process cannot write to (a read-only mount, see errors.ts).
    db.prepare(
      'DELETE FROM secret_versions WHERE version <= (SELECT version FROM secrets WHERE secrets.id = secret_versions.secret_id) - ?',
    ).run(versionsToKeep);
  }).immediate();
}

export class SqliteStore implements Store {
  readonly backend = 'sqlite' as const;
  readonly file: string;
  readonly migration: MigrationResult;
  private readonly db: Database.Database;
  private readonly stmt;
  private readonly updateStatements = new Map<string, Database.Statement>();
  private readonly audit: SqliteAudit;
  private readonly writes: WriteQueue;
  private readonly principalWatchers = new Set<PrincipalWatcher>();
  /** `PRAGMA data_version` when last looked at, for the principal watchers. */
  private dataVersion = 0;

  private readonly versionsToKeep: number;
  readonly keys: SqliteKeyStore;
  readonly integrity: SqliteIntegrityStore;

  constructor(dataDir: string, options: { versionsToKeep?: number } = {}) {
    this.versionsToKeep = options.versionsToKeep ?? DEFAULT_VERSIONS_TO_KEEP;
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    this.file = join(dataDir, SQLITE_FILE);
    const fresh = !existsSync(this.file);
    this.db = new Database(this.file);
    if (fresh) chmodSync(this.file, 0o600);
    try {
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = FULL');
      this.db.pragma('foreign_keys = ON');
      this.db.pragma('busy_timeout = 5000');
      this.migration = migrateSqlite(this.db);
      pruneSurplusVersions(this.db, this.versionsToKeep);
    } catch (error) {
      this.db.close();
      throw error;
    }
    const db = this.db;
    this.audit = new SqliteAudit(db);
    // Migrations ran with synchronous=FULL; from here on the write queue does the fsyncs.
    const wal = db.pragma('journal_mode', { simple: true }) === 'wal';
    if (wal) db.pragma('synchronous = NORMAL');
    this.writes = new WriteQueue(db, wal ? `${this.file}-wal` : undefined);
    this.keys = new SqliteKeyStore(db, this.writes);
    this.integrity = new SqliteIntegrityStore(db, this.writes);
    this.stmt = {
      ping: db.prepare('SELECT 1'),
      // Moves when another connection (another process) commits; never for this one's own.
      dataVersion: db.prepare('PRAGMA data_version').pluck(),
      getServerKey: db.prepare(
        `SELECT ${SERVER_KEY_COLUMNS} FROM server_keys WHERE name = ? ORDER BY version DESC LIMIT 1`,
      ),
      insertServerKey: db.prepare(
        'INSERT INTO server_keys (name, version, kek_id, wrapped) VALUES (?, 1, ?, ?) ON CONFLICT DO NOTHING',
      ),
      insertWorkspace: db.prepare('INSERT INTO workspaces (id, name, created_at) VALUES (?, ?, ?)'),
      getWorkspace: db.prepare('SELECT id, name, created_at FROM workspaces WHERE id = ?'),
      insertWorkspaceKey: db.prepare(
        'INSERT INTO workspace_keys (workspace_id, version, kek_id, wrapped, created_at) VALUES (?, ?, ?, ?, ?)',
      ),
      workspaceKeys: db.prepare('SELECT version, kek_id, wrapped FROM workspace_keys WHERE workspace_id = ?'),
      insertUser: db.prepare(`INSERT INTO users (${INSERT_USER_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)`),
      getUser: db.prepare('SELECT * FROM users WHERE id = ?'),
      listUsers: db.prepare('SELECT * FROM users WHERE workspace_id = ? ORDER BY created_at, id'),
      countOwners: db.prepare(
        "SELECT COUNT(*) AS n FROM users WHERE workspace_id = ? AND role = 'owner' AND removed_at IS NULL",
      ),
      insertSecret: db.prepare(
        `INSERT INTO secrets (${ROW_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      getSecret: db.prepare(`SELECT ${ROW_COLUMNS} FROM secrets WHERE workspace_id = ? AND key = ?`),
      getSecretMeta: db.prepare(`SELECT ${META_COLUMNS} FROM secrets WHERE workspace_id = ? AND key = ?`),
      // Answered from the (workspace_id, key) unique index alone.
      countSecrets: db.prepare('SELECT COUNT(*) AS n FROM secrets WHERE workspace_id = ?'),
      // Rows as arrays: better-sqlite3 then builds no object per row, most of a big list's cost.
      listSecrets: db
        .prepare(`SELECT ${secretListColumns("'[]'")} FROM secrets WHERE workspace_id = ? ORDER BY key`)
        .raw(),
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
      valueBytes: db.prepare('SELECT value_bytes FROM workspace_usage WHERE workspace_id = ?').pluck(),
      sizesAfter: db.prepare(
        `SELECT ${META_COLUMNS}, ${VALUE_BYTES_SQL('sealed')} AS value_bytes FROM secrets
         WHERE workspace_id = ? AND key > ? ORDER BY key LIMIT ?`,
      ),
      sizesOf: db.prepare(
        `SELECT ${META_COLUMNS}, ${VALUE_BYTES_SQL('sealed')} AS value_bytes FROM secrets
         WHERE workspace_id = ? AND key IN (SELECT value FROM json_each(?))`,
      ),
      listVersions: db.prepare(
        'SELECT version, created_at, created_by FROM secret_versions WHERE secret_id = ? ORDER BY version DESC',
      ),
      getVersion: db.prepare('SELECT sealed FROM secret_versions WHERE secret_id = ? AND version = ?'),
      // json_each: one statement for any number of keys.
      getSecrets: db.prepare(
        `SELECT ${ROW_COLUMNS} FROM secrets WHERE workspace_id = ? AND key IN (SELECT value FROM json_each(?))`,
      ),
      listSecretRows: db.prepare(`SELECT ${ROW_COLUMNS} FROM secrets WHERE workspace_id = ? ORDER BY key`),
      insertServiceToken: db.prepare(
        `INSERT INTO service_tokens (${SERVICE_TOKEN_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      getServiceToken: db.prepare(`SELECT ${SERVICE_TOKEN_COLUMNS} FROM service_tokens WHERE id = ?`),
      listServiceTokens: db.prepare(
        `SELECT ${SERVICE_TOKEN_COLUMNS} FROM service_tokens WHERE workspace_id = ? ORDER BY created_at DESC, id DESC`,
      ),
      revokeServiceToken: db.prepare(
        'UPDATE service_tokens SET revoked_at = COALESCE(revoked_at, ?) WHERE workspace_id = ? AND id = ?',
      ),
    };
    return withStoreErrors(this); // a full or failing disk: 507/503, not 500 (see errors.ts)
  }

  async close(): Promise<void> {
    if (!this.db.open) return;
    this.principalWatchers.clear();
    await this.writes.close();
    this.db.close();
  }

  async ping(): Promise<void> {
    this.stmt.ping.get();
  }

  /**
   * Reads and writes (the write queue included) share this one connection, so
   * `PRAGMA data_version` moves only when another process commits: an operator command such
   * as `ductape-server user remove` on the same file. Each `fresh()` looks (a few microseconds) and
   * resets every watcher when it moved. This process's own changes are told directly.
   */
  watchPrincipals(watcher: PrincipalWatcher): PrincipalFeed {
    if (this.principalWatchers.size === 0) this.dataVersion = this.stmt.dataVersion.get() as number;
    this.principalWatchers.add(watcher);
    return {
      fresh: () => {
        if (!this.db.open) return false;
        let version: number;
        try {
          version = this.stmt.dataVersion.get() as number;
        } catch {
          return false; // the store's own read will say what is wrong
        }
        if (version !== this.dataVersion) {
          this.dataVersion = version;
          for (const w of this.principalWatchers) w.reset();
        }
        return true;
      },
      stop: async () => {
        this.principalWatchers.delete(watcher);
      },
    };
  }

  /** Called inside the write, before its commit: nothing else runs until the commit. */
  private principalChanged(kind: PrincipalKind, id: string): void {
    for (const w of this.principalWatchers) w.changed(kind, id);
  }

  async getServerKey(name: string): Promise<ServerKeyRow | undefined> {
    const r = this.stmt.getServerKey.get(name) as ServerKeyRecord | undefined;
    return r && toServerKeyRow(r);
  }

  async putServerKeyOnce(row: Omit<ServerKeyRow, 'version' | 'retiredAt'>): Promise<ServerKeyRow> {
    await this.writes.run(() => this.stmt.insertServerKey.run(row.name, row.kekId, row.wrapped));
    return (await this.getServerKey(row.name)) as ServerKeyRow;
  }

  async createWorkspace(
    workspace: WorkspaceRow,
    dataKey: WrappedDataKey,
    owner: UserRow,
    audit?: AuditAppend,
  ): Promise<void> {
    await this.writes.run(() => {
      this.stmt.insertWorkspace.run(workspace.id, workspace.name, workspace.createdAt);
      this.stmt.insertWorkspaceKey.run(
        workspace.id,
        dataKey.version,
        dataKey.kekId,
        dataKey.wrapped,
        workspace.createdAt,
      );
      this.insertUserSync(owner);
      if (audit) this.audit.appendSync(audit);
    });
  }

  async getWorkspace(id: string): Promise<WorkspaceRow | undefined> {
    const r = this.stmt.getWorkspace.get(id) as { id: string; name: string; created_at: number } | undefined;
    return r && { id: r.id, name: r.name, createdAt: r.created_at };
  }

  async workspaceKeys(workspaceId: string): Promise<WrappedDataKey[]> {
    const rows = this.stmt.workspaceKeys.all(workspaceId) as {
      version: number;
      kek_id: string;
      wrapped: Buffer;
    }[];
    return rows.map((r) => ({ workspaceId, version: r.version, kekId: r.kek_id, wrapped: r.wrapped }));
  }

  async insertUser(user: UserRow, audit?: AuditAppend): Promise<void> {
    await this.writes.run(() => {
      this.insertUserSync(user);
      if (audit) this.audit.appendSync(audit);
    });
  }

  private insertUserSync(u: UserRow): void {
    this.stmt.insertUser.run(...userValues(u));
  }

  async getUser(id: string): Promise<UserRow | undefined> {
    const r = this.stmt.getUser.get(id) as UserRecord | undefined;
    return r && toUserRow(r);
  }

  async listUsers(workspaceId: string): Promise<UserRow[]> {
    return (this.stmt.listUsers.all(workspaceId) as UserRecord[]).map(toUserRow);
  }

  async updateUser(
    workspaceId: string,
    id: string,
    requested: UserChanges,
    audit?: AuditAppend,
  ): Promise<UserRow | undefined | 'last-owner'> {
    return this.writes.run(() => {
      const record = this.stmt.getUser.get(id) as UserRecord | undefined;
      if (!record || record.workspace_id !== workspaceId) return undefined;
      const user = toUserRow(record);
      const changes = userChangesToWrite(user, requested);
      if (leavesOwners(user, changes)) {
        const { n } = this.stmt.countOwners.get(workspaceId) as { n: number };
        if (n <= 1) return 'last-owner' as const;
      }
      const fields = (Object.keys(changes) as (keyof UserChanges)[]).filter((f) => changes[f] !== undefined);
      if (fields.length > 0) {
        const sets = fields.map((f) => `${USER_CHANGE_COLUMNS[f]} = ?`).join(', ');
        this.db.prepare(`UPDATE users SET ${sets} WHERE id = ?`).run(...fields.map((f) => changes[f]), id);
        this.principalChanged('user', id);
      }
      if (audit) this.audit.appendSync(audit);
      return { ...user, ...changes };
    });
  }

  async insertSecret(row: NewSecretRow, actor: string, audit?: AuditAppend): Promise<void> {
    const sealed = typeof row.sealed === 'function' ? await row.sealed() : row.sealed;
    const mac = typeof row.mac === 'function' ? await row.mac() : (row.mac ?? null);
    const s: SecretRow = { ...row, sealed, mac };
    try {
      await this.writes.run(() => {
        this.insertSecretRow(s);
        this.stmt.insertVersion.run(s.id, s.version, s.sealed, s.updatedAt, actor);
        this.stmt.addValueBytes.run(s.workspaceId, valueBytesOf(s.sealed));
        if (audit) this.audit.appendSync(audit);
      });
    } catch (error) {
      if ((error as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') throw new DuplicateKeyError();
      throw error;
    }
  }

  private insertSecretRow(s: SecretRow): void {
    this.stmt.insertSecret.run(
      s.id,
      s.workspaceId,
      s.key,
      s.description,
      s.tokenType,
      JSON.stringify(s.scope),
      JSON.stringify(s.envs),
      s.expiresAt,
      s.revokedAt,
      s.version,
      s.createdAt,
      s.updatedAt,
      s.sealed,
      s.mac,
    );
  }

  async getSecret(workspaceId: string, key: string): Promise<SecretRow | undefined> {
    const r = this.stmt.getSecret.get(workspaceId, key) as SecretRecord<string> | undefined;
    return r && toRow(r);
  }

  async listSecretSizes(
    workspaceId: string,
    page: { afterKey?: string; limit: number } | { keys: readonly string[] },
  ): Promise<SizedSecretMeta[]> {
    const rows = (
      'keys' in page
        ? page.keys.length === 0
          ? []
          : this.stmt.sizesOf.all(workspaceId, JSON.stringify(page.keys))
        : this.stmt.sizesAfter.all(workspaceId, page.afterKey ?? '', page.limit)
    ) as (SecretRecord<string> & { value_bytes: number })[];
    return rows.map((r) => toSizedMeta(r, parseList));
  }

  async valueBytes(workspaceId: string): Promise<number> {
    return (this.stmt.valueBytes.get(workspaceId) as number | undefined) ?? 0;
  }

  async countSecrets(workspaceId: string): Promise<number> {
    return (this.stmt.countSecrets.get(workspaceId) as { n: number }).n;
  }

  async getSecretMeta(workspaceId: string, key: string): Promise<SecretMeta | undefined> {
    const r = this.stmt.getSecretMeta.get(workspaceId, key) as SecretRecord<string> | undefined;
    return r && toMeta(r);
  }

  async listSecrets(workspaceId: string): Promise<SecretMeta[]> {
    const rows = this.stmt.listSecrets.all(workspaceId) as SecretListRow<string>[];
    const out = new Array<SecretMeta>(rows.length);
    for (let i = 0; i < rows.length; i++)
      out[i] = listedSecretMeta(workspaceId, rows[i] as SecretListRow<string>, parseList);
    return out;
  }

  /**
   * Optimistic: read, compute, then write only if the row did not change meanwhile.
   * better-sqlite3 is synchronous, so another request can only slip in while `compute`
   * awaits; then this simply runs again on the new row.
   */
  async modifySecret(
    workspaceId: string,
    key: string,
    compute: (current: SecretRow) => Promise<SecretChanges | null>,
    actor: string,
    audit?: (written: SecretMeta) => AuditAppend,
  ): Promise<SecretMeta | undefined> {
    for (let attempt = 0; attempt < 1000; attempt++) {
      const current = await this.getSecret(workspaceId, key);
      if (!current) return undefined;
      const changes = await compute(current);
      if (changes === null) return applyChanges(current, { updatedAt: current.updatedAt });
      const row = applyChanges(current, changes);
      const written = await this.writes.run(() => {
        if (!this.updateIfUnchanged(workspaceId, current, changes)) return false;
        if (changes.sealed !== undefined && changes.version !== undefined) {
          this.stmt.insertVersion.run(current.id, changes.version, changes.sealed, changes.updatedAt, actor);
          const pruned = this.stmt.pruneVersions.all(current.id, changes.version - this.versionsToKeep);
          const freed = (pruned as number[]).reduce((n, bytes) => n + bytes, 0);
          this.stmt.addValueBytes.run(workspaceId, valueBytesOf(changes.sealed) - freed);
        }
        if (audit) this.audit.appendSync(audit(row));
        return true;
      });
      if (written) return row;
    }
    throw new Error('modifySecret: the row kept changing under 1000 attempts');
  }

  /**
   * Writes `changes` only if the row is still as read: same version and same updated_at,
   * which every change moves (revoke and restore keep the version). `changes` were computed
   * from the whole row, its MAC included: written over a row changed meanwhile, the columns
   * it does not set would no longer be the ones its MAC covers.
   */
  private updateIfUnchanged(workspaceId: string, current: SecretRow, changes: SecretChanges): boolean {
    const fields = changedFields(changes);
    const signature = fields.join(',');
    let statement = this.updateStatements.get(signature);
    if (!statement) {
      const sets = fields.map((f) => `${CHANGE_COLUMNS[f]} = ?`).join(', ');
      statement = this.db.prepare(
        `UPDATE secrets SET ${sets} WHERE workspace_id = ? AND id = ? AND version = ? AND updated_at = ?`,
      );
      this.updateStatements.set(signature, statement);
    }
    const values = fields.map((f) => encodeChange(f, changes[f]));
    return (
      statement.run(...values, workspaceId, current.id, current.version, current.updatedAt).changes === 1
    );
  }

  async getSecrets(workspaceId: string, keys: readonly string[]): Promise<SecretRow[]> {
    if (keys.length === 0) return [];
    const rows = this.stmt.getSecrets.all(workspaceId, JSON.stringify(keys)) as SecretRecord<string>[];
    return rows.map(toRow);
  }

  async listSecretRows(workspaceId: string): Promise<SecretRow[]> {
    const rows = this.stmt.listSecretRows.all(workspaceId) as SecretRecord<string>[];
    return rows.map(toRow);
  }

  async insertServiceToken(row: ServiceTokenRow, audit?: AuditAppend): Promise<void> {
    await this.writes.run(() => {
      this.stmt.insertServiceToken.run(...serviceTokenValues(row));
      if (audit) this.audit.appendSync(audit);
    });
  }

  async getServiceToken(id: string): Promise<ServiceTokenRow | undefined> {
    const r = this.stmt.getServiceToken.get(id) as ServiceTokenRecord | undefined;
    return r && toServiceTokenRow(r);
  }

  async listServiceTokens(workspaceId: string): Promise<ServiceTokenRow[]> {
    return (this.stmt.listServiceTokens.all(workspaceId) as ServiceTokenRecord[]).map(toServiceTokenRow);
  }

  async revokeServiceToken(
    workspaceId: string,
    id: string,
    revokedAt: number,
    audit?: AuditAppend,
  ): Promise<boolean> {
    return this.writes.run(() => {
      const found = this.stmt.revokeServiceToken.run(revokedAt, workspaceId, id).changes === 1;
      if (found) this.principalChanged('token', id);
      if (found && audit) this.audit.appendSync(audit);
      return found;
    });
  }

  async listVersions(workspaceId: string, key: string): Promise<SecretVersionMeta[] | undefined> {
    const meta = await this.getSecretMeta(workspaceId, key);
    if (!meta) return undefined;
    const rows = this.stmt.listVersions.all(meta.id) as VersionRecord[];
    return rows.map(toVersionMeta);
  }

  async getSecretVersion(
    workspaceId: string,
    key: string,
    version: number,
  ): Promise<{ meta: SecretMeta; sealed: Buffer | undefined } | undefined> {
    const meta = await this.getSecretMeta(workspaceId, key);
    if (!meta) return undefined;
    const row = this.stmt.getVersion.get(meta.id, version) as { sealed: Buffer } | undefined;
    return { meta, sealed: row?.sealed };
  }

  async deleteSecret(workspaceId: string, key: string, audit?: AuditAppend): Promise<boolean> {
    return this.writes.run(() => {
      const freed = this.stmt.versionBytes.get(workspaceId, key) as number;
      const found = this.stmt.deleteSecret.run(workspaceId, key).changes === 1;
      if (found) this.stmt.addValueBytes.run(workspaceId, -freed);
      if (found && audit) this.audit.appendSync(audit);
      return found;
    });
  }

  async appendAudit(append: AuditAppend): Promise<void> {
    await this.writes.run(() => this.audit.appendSync(append));
  }

  async listAudit(workspaceId: string, filter: AuditFilter): Promise<AuditRecord[]> {
    return this.audit.list(workspaceId, filter);
  }

  async auditHead(workspaceId: string): Promise<AuditHead | undefined> {
    return this.audit.head(workspaceId);
  }

  async auditChains(): Promise<string[]> {
    return this.audit.chains();
  }

  async auditChainsBelowKey(macKey: number): Promise<string[]> {
    return this.audit.chainsBelowKey(macKey);
  }

  async workspaceIds(after: string | undefined, limit: number): Promise<string[]> {
    return this.audit.workspaceIds(after, limit);
  }
}
