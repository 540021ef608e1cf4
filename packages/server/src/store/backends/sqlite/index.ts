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
  type SecretChanges,
  type SecretMeta,
  type SecretRow,
  type ServerKeyRow,
  type Store,
  type UserRow,
  type WorkspaceRow,
} from '../../types.js';

export const SQLITE_FILE = 'ductape.sqlite';

interface SecretRecord {
  id: string;
  workspace_id: string;
  key: string;
  description: string | null;
  token_type: string | null;
  scope: string;
  envs: string;
  expires_at: number | null;
  revoked_at: number | null;
  version: number;
  created_at: number;
  updated_at: number;
  sealed?: Buffer;
}

interface UserRecord {
  id: string;
  workspace_id: string;
  role: string;
  key_hash: Buffer;
  key_generation: number;
  created_at: number;
  removed_at: number | null;
}

const META_COLUMNS =
  'id, workspace_id, key, description, token_type, scope, envs, expires_at, revoked_at, version, created_at, updated_at';

function toMeta(r: SecretRecord): SecretMeta {
  return {
    id: r.id,
    workspaceId: r.workspace_id,
    key: r.key,
    description: r.description,
    tokenType: r.token_type as SecretMeta['tokenType'],
    scope: JSON.parse(r.scope) as string[],
    envs: JSON.parse(r.envs) as string[],
    expiresAt: r.expires_at,
    revokedAt: r.revoked_at,
    version: r.version,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

function toUser(r: UserRecord): UserRow {
  return {
    id: r.id,
    workspaceId: r.workspace_id,
    role: r.role as UserRow['role'],
    keyHash: r.key_hash,
    keyGeneration: r.key_generation,
    createdAt: r.created_at,
    removedAt: r.removed_at,
  };
}

/** Column of each updatable field, and how its value is stored. */
const CHANGE_COLUMNS: { [K in keyof SecretChanges]-?: [string, (v: SecretChanges[K]) => unknown] } = {
  description: ['description', (v) => v],
  tokenType: ['token_type', (v) => v],
  scope: ['scope', (v) => JSON.stringify(v)],
  envs: ['envs', (v) => JSON.stringify(v)],
  expiresAt: ['expires_at', (v) => v],
  revokedAt: ['revoked_at', (v) => v],
  version: ['version', (v) => v],
  sealed: ['sealed', (v) => v],
  updatedAt: ['updated_at', (v) => v],
};

export class SchemaTooNewError extends Error {}

export function migrateSqlite(
  db: Database.Database,
  migrations: readonly Migration[] = SQLITE_MIGRATIONS,
): number {
  db.exec(
    'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL) STRICT',
  );
  const known = migrations.at(-1)?.version ?? 0;
  const applyAll = db.transaction(() => {
    const row = db.prepare('SELECT MAX(version) AS v FROM schema_migrations').get() as { v: number | null };
    const current = row.v ?? 0;
    if (current > known) {
      throw new SchemaTooNewError(
        `the database schema is at version ${current}, newer than this server knows (${known}); upgrade the server`,
      );
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
    return known;
  });
  return applyAll.immediate();
}

export class SqliteStore implements Store {
  readonly backend = 'sqlite' as const;
  readonly file: string;
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
      migrateSqlite(this.db);
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
      insertUser: db.prepare(
        'INSERT INTO users (id, workspace_id, role, key_hash, key_generation, created_at, removed_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
      ),
      getUser: db.prepare('SELECT * FROM users WHERE id = ?'),
      insertSecret: db.prepare(
        `INSERT INTO secrets (${META_COLUMNS}, sealed) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      getSecret: db.prepare(`SELECT ${META_COLUMNS}, sealed FROM secrets WHERE workspace_id = ? AND key = ?`),
      getSecretMeta: db.prepare(`SELECT ${META_COLUMNS} FROM secrets WHERE workspace_id = ? AND key = ?`),
      listSecrets: db.prepare(`SELECT ${META_COLUMNS} FROM secrets WHERE workspace_id = ? ORDER BY key`),
      deleteSecret: db.prepare('DELETE FROM secrets WHERE workspace_id = ? AND key = ?'),
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
    this.stmt.insertUser.run(
      u.id,
      u.workspaceId,
      u.role,
      u.keyHash,
      u.keyGeneration,
      u.createdAt,
      u.removedAt,
    );
  }

  async getUser(id: string): Promise<UserRow | undefined> {
    const r = this.stmt.getUser.get(id) as UserRecord | undefined;
    return r && toUser(r);
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
    const r = this.stmt.getSecret.get(workspaceId, key) as SecretRecord | undefined;
    return r && { ...toMeta(r), sealed: r.sealed as Buffer };
  }

  async getSecretMeta(workspaceId: string, key: string): Promise<SecretMeta | undefined> {
    const r = this.stmt.getSecretMeta.get(workspaceId, key) as SecretRecord | undefined;
    return r && toMeta(r);
  }

  async listSecrets(workspaceId: string): Promise<SecretMeta[]> {
    return (this.stmt.listSecrets.all(workspaceId) as SecretRecord[]).map(toMeta);
  }

  async updateSecret(
    workspaceId: string,
    id: string,
    expectedVersion: number,
    changes: SecretChanges,
  ): Promise<boolean> {
    const fields = (Object.keys(changes) as (keyof SecretChanges)[]).filter((f) => changes[f] !== undefined);
    const signature = fields.join(',');
    let statement = this.updateStatements.get(signature);
    if (!statement) {
      const sets = fields.map((f) => `${CHANGE_COLUMNS[f][0]} = ?`).join(', ');
      statement = this.db.prepare(
        `UPDATE secrets SET ${sets} WHERE workspace_id = ? AND id = ? AND version = ?`,
      );
      this.updateStatements.set(signature, statement);
    }
    const values = fields.map((f) => (CHANGE_COLUMNS[f][1] as (v: unknown) => unknown)(changes[f]));
    return statement.run(...values, workspaceId, id, expectedVersion).changes === 1;
  }

  async deleteSecret(workspaceId: string, key: string): Promise<boolean> {
    return this.stmt.deleteSecret.run(workspaceId, key).changes === 1;
  }
}
