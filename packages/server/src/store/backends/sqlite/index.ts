/**
 * The embedded store: one SQLite file in the data dir, through better-sqlite3.
 *
 * WAL journal with synchronous=FULL: a commit is on disk before the request is answered.
 * Statements are prepared once. Calls are synchronous underneath; the async signatures are
 * the Store interface's, shared with the PostgreSQL backend.
 */
import Database from 'better-sqlite3';
import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { WrappedDataKey } from '../../../crypto/keyring.js';
import { SQLITE_MIGRATIONS, type Migration } from '../../migrations/sqlite.js';
import {
  DuplicateKeyError,
  SchemaTooNewError,
  type MigrationResult,
  type SecretChanges,
  type ServiceTokenRow,
  type SecretMeta,
  type SecretRow,
  type ServerKeyRow,
  type Store,
  type UserRow,
  type WorkspaceRow,
} from '../../types.js';
import {
  CHANGE_COLUMNS,
  INSERT_USER_COLUMNS,
  SECRET_META_COLUMNS as META_COLUMNS,
  applyChanges,
  SERVICE_TOKEN_COLUMNS,
  serviceTokenValues,
  toServiceTokenRow,
  type ServiceTokenRecord,
  changedFields,
  toSecretMeta,
  toUserRow,
  userValues,
  type SecretRecord,
  type UserRecord,
} from '../../records.js';

export const SQLITE_FILE = 'ductape.sqlite';

const parseList = (json: string): string[] => JSON.parse(json) as string[];
const toMeta = (r: SecretRecord<string>): SecretMeta => toSecretMeta(r, parseList);

/** How each updatable field is stored: lists as JSON text, everything else as is. */
const encodeChange = (field: keyof SecretChanges, value: unknown): unknown =>
  field === 'scope' || field === 'envs' ? JSON.stringify(value) : value;

export function migrateSqlite(
  db: Database.Database,
  migrations: readonly Migration[] = SQLITE_MIGRATIONS,
): MigrationResult {
  db.exec(
    'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL) STRICT',
  );
  const known = migrations.at(-1)?.version ?? 0;
  const applyAll = db.transaction(() => {
    const row = db.prepare('SELECT MAX(version) AS v FROM schema_migrations').get() as { v: number | null };
    const current = row.v ?? 0;
    if (current > known) {
      throw new SchemaTooNewError(current, known);
    }
    for (const m of migrations) {
      if (m.version <= current) continue;
      db.exec(m.sql);
      db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(
        m.version,
        m.name,
        Date.now(),
      );
    }
    return { from: current, to: Math.max(current, known) };
  });
  return applyAll.immediate();
}

export class SqliteStore implements Store {
  readonly backend = 'sqlite' as const;
  readonly file: string;
  readonly migration: MigrationResult;
  private readonly db: Database.Database;
  private readonly stmt;
  private readonly updateStatements = new Map<string, Database.Statement>();

  constructor(dataDir: string) {
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
    } catch (error) {
      this.db.close();
      throw error;
    }
    const db = this.db;
    this.stmt = {
      ping: db.prepare('SELECT 1'),
      getServerKey: db.prepare('SELECT name, kek_id, wrapped FROM server_keys WHERE name = ?'),
      insertServerKey: db.prepare(
        'INSERT INTO server_keys (name, kek_id, wrapped) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING',
      ),
      insertWorkspace: db.prepare('INSERT INTO workspaces (id, name, created_at) VALUES (?, ?, ?)'),
      getWorkspace: db.prepare('SELECT id, name, created_at FROM workspaces WHERE id = ?'),
      insertWorkspaceKey: db.prepare(
        'INSERT INTO workspace_keys (workspace_id, version, kek_id, wrapped, created_at) VALUES (?, ?, ?, ?, ?)',
      ),
      workspaceKeys: db.prepare('SELECT version, kek_id, wrapped FROM workspace_keys WHERE workspace_id = ?'),
      insertUser: db.prepare(`INSERT INTO users (${INSERT_USER_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)`),
      getUser: db.prepare('SELECT * FROM users WHERE id = ?'),
      insertSecret: db.prepare(
        `INSERT INTO secrets (${META_COLUMNS}, sealed) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      getSecret: db.prepare(`SELECT ${META_COLUMNS}, sealed FROM secrets WHERE workspace_id = ? AND key = ?`),
      getSecretMeta: db.prepare(`SELECT ${META_COLUMNS} FROM secrets WHERE workspace_id = ? AND key = ?`),
      listSecrets: db.prepare(`SELECT ${META_COLUMNS} FROM secrets WHERE workspace_id = ? ORDER BY key`),
      deleteSecret: db.prepare('DELETE FROM secrets WHERE workspace_id = ? AND key = ?'),
      // json_each: one statement for any number of keys.
      getSecrets: db.prepare(
        `SELECT ${META_COLUMNS}, sealed FROM secrets WHERE workspace_id = ? AND key IN (SELECT value FROM json_each(?))`,
      ),
      listSecretRows: db.prepare(
        `SELECT ${META_COLUMNS}, sealed FROM secrets WHERE workspace_id = ? ORDER BY key`,
      ),
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
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }

  async ping(): Promise<void> {
    this.stmt.ping.get();
  }

  async getServerKey(name: string): Promise<ServerKeyRow | undefined> {
    const r = this.stmt.getServerKey.get(name) as
      { name: string; kek_id: string; wrapped: Buffer } | undefined;
    return r && { name: r.name, kekId: r.kek_id, wrapped: r.wrapped };
  }

  async putServerKeyOnce(row: ServerKeyRow): Promise<ServerKeyRow> {
    this.stmt.insertServerKey.run(row.name, row.kekId, row.wrapped);
    return (await this.getServerKey(row.name)) as ServerKeyRow;
  }

  async createWorkspace(workspace: WorkspaceRow, dataKey: WrappedDataKey, owner: UserRow): Promise<void> {
    this.db.transaction(() => {
      this.stmt.insertWorkspace.run(workspace.id, workspace.name, workspace.createdAt);
      this.stmt.insertWorkspaceKey.run(
        workspace.id,
        dataKey.version,
        dataKey.kekId,
        dataKey.wrapped,
        workspace.createdAt,
      );
      this.insertUserSync(owner);
    })();
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

  async insertUser(user: UserRow): Promise<void> {
    this.insertUserSync(user);
  }

  private insertUserSync(u: UserRow): void {
    this.stmt.insertUser.run(...userValues(u));
  }

  async getUser(id: string): Promise<UserRow | undefined> {
    const r = this.stmt.getUser.get(id) as UserRecord | undefined;
    return r && toUserRow(r);
  }

  async insertSecret(s: SecretRow): Promise<void> {
    try {
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
      );
    } catch (error) {
      if ((error as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') throw new DuplicateKeyError();
      throw error;
    }
  }

  async getSecret(workspaceId: string, key: string): Promise<SecretRow | undefined> {
    const r = this.stmt.getSecret.get(workspaceId, key) as SecretRecord<string> | undefined;
    return r && { ...toMeta(r), sealed: r.sealed as Buffer };
  }

  async getSecretMeta(workspaceId: string, key: string): Promise<SecretMeta | undefined> {
    const r = this.stmt.getSecretMeta.get(workspaceId, key) as SecretRecord<string> | undefined;
    return r && toMeta(r);
  }

  async listSecrets(workspaceId: string): Promise<SecretMeta[]> {
    return (this.stmt.listSecrets.all(workspaceId) as SecretRecord<string>[]).map(toMeta);
  }

  /**
   * Optimistic: read, compute, then write only if the version did not move meanwhile.
   * better-sqlite3 is synchronous, so another request can only slip in while `compute`
   * awaits; then this simply runs again on the new row.
   */
  async modifySecret(
    workspaceId: string,
    key: string,
    compute: (current: SecretMeta) => Promise<SecretChanges | null>,
  ): Promise<SecretMeta | undefined> {
    for (let attempt = 0; attempt < 1000; attempt++) {
      const current = await this.getSecretMeta(workspaceId, key);
      if (!current) return undefined;
      const changes = await compute(current);
      if (changes === null) return current;
      if (this.updateIfVersion(workspaceId, current.id, current.version, changes)) {
        return applyChanges(current, changes);
      }
    }
    throw new Error('modifySecret: the row kept changing under 1000 attempts');
  }

  private updateIfVersion(
    workspaceId: string,
    id: string,
    expectedVersion: number,
    changes: SecretChanges,
  ): boolean {
    const fields = changedFields(changes);
    const signature = fields.join(',');
    let statement = this.updateStatements.get(signature);
    if (!statement) {
      const sets = fields.map((f) => `${CHANGE_COLUMNS[f]} = ?`).join(', ');
      statement = this.db.prepare(
        `UPDATE secrets SET ${sets} WHERE workspace_id = ? AND id = ? AND version = ?`,
      );
      this.updateStatements.set(signature, statement);
    }
    const values = fields.map((f) => encodeChange(f, changes[f]));
    return statement.run(...values, workspaceId, id, expectedVersion).changes === 1;
  }

  async getSecrets(workspaceId: string, keys: readonly string[]): Promise<SecretRow[]> {
    if (keys.length === 0) return [];
    const rows = this.stmt.getSecrets.all(workspaceId, JSON.stringify(keys)) as SecretRecord<string>[];
    return rows.map((r) => ({ ...toMeta(r), sealed: r.sealed as Buffer }));
  }

  async listSecretRows(workspaceId: string): Promise<SecretRow[]> {
    const rows = this.stmt.listSecretRows.all(workspaceId) as SecretRecord<string>[];
    return rows.map((r) => ({ ...toMeta(r), sealed: r.sealed as Buffer }));
  }

  async insertServiceToken(row: ServiceTokenRow): Promise<void> {
    this.stmt.insertServiceToken.run(...serviceTokenValues(row));
  }

  async getServiceToken(id: string): Promise<ServiceTokenRow | undefined> {
    const r = this.stmt.getServiceToken.get(id) as ServiceTokenRecord | undefined;
    return r && toServiceTokenRow(r);
  }

  async listServiceTokens(workspaceId: string): Promise<ServiceTokenRow[]> {
    return (this.stmt.listServiceTokens.all(workspaceId) as ServiceTokenRecord[]).map(toServiceTokenRow);
  }

  async revokeServiceToken(workspaceId: string, id: string, revokedAt: number): Promise<boolean> {
    return this.stmt.revokeServiceToken.run(revokedAt, workspaceId, id).changes === 1;
  }

  async deleteSecret(workspaceId: string, key: string): Promise<boolean> {
    return this.stmt.deleteSecret.run(workspaceId, key).changes === 1;
  }
}
