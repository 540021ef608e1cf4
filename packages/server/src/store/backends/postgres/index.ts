/**
 * The PostgreSQL store, for teams that run several stateless server nodes on one database.
 *
 * node-postgres with a pool. Every failure to reach the database becomes
 * `StoreUnavailableError` (503) quickly: connecting times out after `connectTimeoutMs` (2 s),
 * and a query after `queryTimeoutMs` (5 s). Broken connections are dropped by the pool and replaced on
 * the next query, so the store recovers by itself when the database comes back.
 * Migrations run under an advisory lock, so nodes starting together never race.
 */
import pg from 'pg';
import type { WrappedDataKey } from '../../../crypto/keyring.js';
import { POSTGRES_MIGRATIONS } from '../../migrations/postgres.js';
import {
  type AuditAppend,
  type AuditFilter,
  type AuditHead,
  type AuditRecord,
  StoreUnavailableError,
  type MigrationResult,
  type PrincipalFeed,
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
import * as audit from './audit.js';
import {
  INSERT_USER_COLUMNS,
  SECRET_META_COLUMNS as META_COLUMNS,
  SECRET_ROW_COLUMNS as ROW_COLUMNS,
  VALUE_BYTES_SQL,
  toSecretRow,
  toSizedMeta,
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
  listedSecretMeta,
  secretListColumns,
  toSecretMeta,
  toUserRow,
  userValues,
  type SecretListRow,
  type SecretRecord,
  type UserRecord,
} from '../../records.js';
import { isConnectionError } from './errors.js';
import { migrateWith, quoteIdent } from './migrate.js';
import { PostgresIntegrityStore } from './integrity.js';
import { PostgresKeyStore, transactionClient } from './keys.js';
import { SERVER_KEY_COLUMNS, toServerKeyRow, type ServerKeyRecord } from '../../keys.js';
import { PrincipalListener } from './principal-listener.js';
import { WriteBatcher } from './write-batch.js';

export interface PostgresOptions {
  url: string;
  /** Schema holding the tables (created when missing). */
  schema: string;
  poolSize: number;
  /** Versions kept per secret (default 20). */
  versionsToKeep?: number;
  connectTimeoutMs?: number;
  queryTimeoutMs?: number;
  /** Told about connection errors on idle pooled clients (which would otherwise crash). */
  onIdleError?: (error: Error) => void;
  /** Told when the principal listener's connection fails; it reconnects by itself. */
  onListenerError?: (error: Error) => void;
}

// bigint (int8) columns hold unix milliseconds: well inside Number's exact range.
const INT8_OID = 20;
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format)) as never,
};

const toMeta = (r: SecretRecord): SecretMeta => toSecretMeta(r, (list) => list);
const toRow = (r: SecretRecord): SecretRow => toSecretRow(r, (list) => list);

const sameList = (list: string[]): string[] => list;

/**
 * The pool listens for 'error' only on idle clients. A checked-out client whose connection
 * drops (database restart, pg_terminate_backend, network cut) emits 'error' even when its
 * query already failed, and with no listener that would crash the process. The failure still
 * reaches the holder through its pending or next query. Returns the function that removes
 * the listener, to call just before `release()` (which puts the pool's back).
 */
function guardCheckedOut(client: pg.PoolClient): () => void {
  const ignore = (): void => undefined;
  client.on('error', ignore);
  return () => client.off('error', ignore);
}

export class PostgresStore implements Store {
  readonly backend = 'postgres' as const;
  private readonly pool: pg.Pool;
  readonly keys: PostgresKeyStore;
  readonly integrity: PostgresIntegrityStore;
  /** Secret changes of one workspace, committed together (see write-batch.ts). */
  private readonly batcher: WriteBatcher;
  /** This node's LISTEN connection, opened by the first `watchPrincipals`. */
  readonly principals: PrincipalListener;

  private constructor(
    pool: pg.Pool,
    readonly migration: MigrationResult,
    private readonly versionsToKeep: number,
    options: PostgresOptions,
  ) {
    this.pool = pool;
    this.principals = new PrincipalListener({
      url: options.url,
      schema: options.schema,
      connectTimeoutMs: options.connectTimeoutMs,
      onError: options.onListenerError,
      query: (text, values) => this.query(text, values),
    });
    this.keys = new PostgresKeyStore(
      (text, values) => this.query(text, values),
      (work) => this.transaction(work),
    );
    this.integrity = new PostgresIntegrityStore(
      (text, values) => this.query(text, values),
      (work) => this.transaction(work),
    );
    this.batcher = new WriteBatcher({
      connect: async () => {
        const client = await this.pool.connect();
        const unguard = guardCheckedOut(client);
        return {
          client,
          release: (error) => {
            unguard();
            client.release(error);
          },
        };
      },
      versionsToKeep,
      unavailable: (error) => new StoreUnavailableError(error),
    });
  }

  /** Connects, creates the schema when missing, applies migrations, and returns the store. */
  static async open(options: PostgresOptions, migrations = POSTGRES_MIGRATIONS): Promise<PostgresStore> {
    const pool = new pg.Pool({
      connectionString: options.url,
      max: options.poolSize,
      // Fail fast when the database is unreachable: refuse within 2 s to connect and 5 s
      // to answer (a silent network partition), and let TCP keepalive find dead links.
      connectionTimeoutMillis: options.connectTimeoutMs ?? 2000,
      query_timeout: options.queryTimeoutMs ?? 5000,
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
      idleTimeoutMillis: 30_000,
      options: `-c search_path=${quoteIdent(options.schema)}`,
      application_name: 'ductape',
      types,
    });
    pool.on('error', (error) => options.onIdleError?.(error));
    let migration: MigrationResult;
    try {
      const client = await pool.connect();
      const unguard = guardCheckedOut(client);
      try {
        migration = await migrateWith(client, options.schema, migrations);
        // A lowered DUCTAPE_KEEP_VERSIONS also destroys the surplus of secrets that never change
        // again, and takes what it frees off each workspace's value bytes (one statement, so a
        // node's concurrent change to the counter is never lost).
        await client.query(
          `WITH pruned AS (
             DELETE FROM secret_versions v USING secrets s WHERE s.id = v.secret_id AND v.version <= s.version - $1
             RETURNING s.workspace_id, ${VALUE_BYTES_SQL('v.sealed')} AS bytes
           ), freed AS (SELECT workspace_id, SUM(bytes) AS bytes FROM pruned GROUP BY workspace_id)
           UPDATE workspace_usage u SET value_bytes = u.value_bytes - f.bytes
           FROM freed f WHERE u.workspace_id = f.workspace_id`,
          [options.versionsToKeep ?? DEFAULT_VERSIONS_TO_KEEP],
        );
      } finally {
        unguard();
        client.release();
      }
    } catch (error) {
      await pool.end().catch(() => undefined);
      throw error;
    }
    return new PostgresStore(pool, migration, options.versionsToKeep ?? DEFAULT_VERSIONS_TO_KEEP, options);
  }

  private async query<R extends pg.QueryResultRow>(
    text: string,
    values: unknown[] = [],
    name?: string,
  ): Promise<pg.QueryResult<R>> {
    try {
      return await this.pool.query<R>(name ? { name, text, values } : { text, values });
    } catch (error) {
      if (isConnectionError(error)) throw new StoreUnavailableError(error);
      throw error;
    }
  }

  private async transaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (error) {
      throw isConnectionError(error) ? new StoreUnavailableError(error) : error;
    }
    const unguard = guardCheckedOut(client);
    try {
      await client.query('BEGIN');
      const result = await transactionClient.run(client, () => work(client));
      const commit = await client.query('COMMIT');
      // COMMIT of a transaction that an error already ended reports ROLLBACK, not an error.
      if (commit.command !== 'COMMIT') throw new Error(`COMMIT answered ${commit.command}`);
      unguard();
      client.release();
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      unguard();
      // A broken connection must not go back to the pool.
      client.release(isConnectionError(error) ? (error as Error) : undefined);
      throw isConnectionError(error) ? new StoreUnavailableError(error) : error;
    }
  }

  async close(): Promise<void> {
    await this.principals.stop();
    await this.pool.end();
  }

  /** Heard through this node's LISTEN connection (see principal-listener.ts). */
  watchPrincipals(watcher: PrincipalWatcher): PrincipalFeed {
    return this.principals.watch(watcher);
  }

  /** Readiness: a short timeout of its own, so a load balancer's check never hangs. */
  async ping(): Promise<void> {
    try {
      await this.pool.query({ text: 'SELECT 1', query_timeout: 2000 } as pg.QueryConfig);
    } catch (error) {
      throw new StoreUnavailableError(error);
    }
  }

  async getServerKey(name: string): Promise<ServerKeyRow | undefined> {
    const { rows } = await this.query<ServerKeyRecord>(
      `SELECT ${SERVER_KEY_COLUMNS} FROM server_keys WHERE name = $1 ORDER BY version DESC LIMIT 1`,
      [name],
    );
    const r = rows[0];
    return r && toServerKeyRow(r);
  }

  async putServerKeyOnce(row: Omit<ServerKeyRow, 'version' | 'retiredAt'>): Promise<ServerKeyRow> {
    await this.query(
      'INSERT INTO server_keys (name, version, kek_id, wrapped) VALUES ($1, 1, $2, $3) ON CONFLICT DO NOTHING',
      [row.name, row.kekId, row.wrapped],
    );
    return (await this.getServerKey(row.name)) as ServerKeyRow;
  }

  async createWorkspace(
    workspace: WorkspaceRow,
    dataKey: WrappedDataKey,
    owner: UserRow,
    auditAppend?: AuditAppend,
  ): Promise<void> {
    await this.transaction(async (client) => {
      await client.query('INSERT INTO workspaces (id, name, created_at) VALUES ($1, $2, $3)', [
        workspace.id,
        workspace.name,
        workspace.createdAt,
      ]);
      await client.query(
        'INSERT INTO workspace_keys (workspace_id, version, kek_id, wrapped, created_at) VALUES ($1, $2, $3, $4, $5)',
        [workspace.id, dataKey.version, dataKey.kekId, dataKey.wrapped, workspace.createdAt],
      );
      await client.query(INSERT_USER, userValues(owner));
      if (auditAppend) await audit.appendAudit(client, auditAppend);
    });
  }

  async getWorkspace(id: string): Promise<WorkspaceRow | undefined> {
    const { rows } = await this.query<{ id: string; name: string; created_at: number }>(
      'SELECT id, name, created_at FROM workspaces WHERE id = $1',
      [id],
    );
    const r = rows[0];
    return r && { id: r.id, name: r.name, createdAt: r.created_at };
  }

  async workspaceKeys(workspaceId: string): Promise<WrappedDataKey[]> {
    const { rows } = await this.query<{ version: number; kek_id: string; wrapped: Buffer }>(
      'SELECT version, kek_id, wrapped FROM workspace_keys WHERE workspace_id = $1',
      [workspaceId],
    );
    return rows.map((r) => ({ workspaceId, version: r.version, kekId: r.kek_id, wrapped: r.wrapped }));
  }

  async insertUser(user: UserRow, auditAppend?: AuditAppend): Promise<void> {
    if (!auditAppend) {
      await this.query(INSERT_USER, userValues(user));
      return;
    }
    await this.transaction(async (client) => {
      await client.query(INSERT_USER, userValues(user));
      await audit.appendAudit(client, auditAppend);
    });
  }

  async getUser(id: string): Promise<UserRow | undefined> {
    const { rows } = await this.query<UserRecord>('SELECT * FROM users WHERE id = $1', [id], 'get_user');
    const r = rows[0];
    return r && toUserRow(r);
  }

  async listUsers(workspaceId: string): Promise<UserRow[]> {
    const { rows } = await this.query<UserRecord>(
      'SELECT * FROM users WHERE workspace_id = $1 ORDER BY created_at, id',
      [workspaceId],
    );
    return rows.map(toUserRow);
  }

  /** Locks the workspace's users, so two owners cannot demote each other at once. */
  async updateUser(
    workspaceId: string,
    id: string,
    requested: UserChanges,
    auditAppend?: AuditAppend,
  ): Promise<UserRow | undefined | 'last-owner'> {
    return this.principals.announce('user', id, (notify) =>
      this.transaction(async (client) => {
        const { rows } = await client.query<UserRecord>(
          'SELECT * FROM users WHERE workspace_id = $1 ORDER BY id FOR UPDATE',
          [workspaceId],
        );
        const record = rows.find((r) => r.id === id);
        if (!record) return undefined;
        const user = toUserRow(record);
        const changes = userChangesToWrite(user, requested);
        if (leavesOwners(user, changes)) {
          const owners = rows.filter((r) => r.role === 'owner' && r.removed_at === null).length;
          if (owners <= 1) return 'last-owner' as const;
        }
        const fields = (Object.keys(changes) as (keyof UserChanges)[]).filter(
          (f) => changes[f] !== undefined,
        );
        if (fields.length > 0) {
          const sets = fields.map((f, i) => `${USER_CHANGE_COLUMNS[f]} = $${i + 1}`).join(', ');
          await client.query(`UPDATE users SET ${sets} WHERE id = $${fields.length + 1}`, [
            ...fields.map((f) => changes[f]),
            id,
          ]);
          await notify(client);
        }
        if (auditAppend) await audit.appendAudit(client, auditAppend);
        return { ...user, ...changes };
      }),
    );
  }

  /** Committed with the workspace's batch (see write-batch.ts). */
  async insertSecret(s: NewSecretRow, actor: string, auditAppend?: AuditAppend): Promise<void> {
    await this.batcher.run(s.workspaceId, { kind: 'insert', row: s, actor, audit: auditAppend });
  }

  async getSecret(workspaceId: string, key: string): Promise<SecretRow | undefined> {
    const { rows } = await this.query<SecretRecord>(
      `SELECT ${ROW_COLUMNS} FROM secrets WHERE workspace_id = $1 AND key = $2`,
      [workspaceId, key],
      'get_secret_row',
    );
    const r = rows[0];
    return r && toRow(r);
  }

  async listSecretSizes(
    workspaceId: string,
    page: { afterKey?: string; limit: number } | { keys: readonly string[] },
  ): Promise<SizedSecretMeta[]> {
    const columns = `${META_COLUMNS}, ${VALUE_BYTES_SQL('sealed')} AS value_bytes`;
    const { rows } =
      'keys' in page
        ? await this.query<SecretRecord & { value_bytes: number }>(
            `SELECT ${columns} FROM secrets WHERE workspace_id = $1 AND key = ANY($2::text[])`,
            [workspaceId, page.keys],
          )
        : await this.query<SecretRecord & { value_bytes: number }>(
            `SELECT ${columns} FROM secrets WHERE workspace_id = $1 AND key > $2 ORDER BY key LIMIT $3`,
            [workspaceId, page.afterKey ?? '', page.limit],
          );
    return rows.map((r) => toSizedMeta(r, (list) => list));
  }

  async valueBytes(workspaceId: string): Promise<number> {
    const { rows } = await this.query<{ value_bytes: number }>(
      'SELECT value_bytes FROM workspace_usage WHERE workspace_id = $1',
      [workspaceId],
      'value_bytes',
    );
    return rows[0]?.value_bytes ?? 0;
  }

  async getSecretMeta(workspaceId: string, key: string): Promise<SecretMeta | undefined> {
    const { rows } = await this.query<SecretRecord>(
      `SELECT ${META_COLUMNS} FROM secrets WHERE workspace_id = $1 AND key = $2`,
      [workspaceId, key],
      'get_secret_meta',
    );
    const r = rows[0];
    return r && toMeta(r);
  }

  /** An index-only scan of the (workspace_id, key) unique index. */
  async countSecrets(workspaceId: string): Promise<number> {
    const { rows } = await this.query<{ n: string }>(
      'SELECT COUNT(*) AS n FROM secrets WHERE workspace_id = $1',
      [workspaceId],
      'count_secrets',
    );
    return Number(rows[0]?.n ?? 0);
  }

  async listSecrets(workspaceId: string): Promise<SecretMeta[]> {
    let rows: SecretListRow[];
    try {
      // Rows as arrays: node-postgres then builds no object per row.
      ({ rows } = await this.pool.query<SecretListRow>({
        name: 'list_secret_rows',
        text: `SELECT ${secretListColumns("'{}'::text[]")} FROM secrets WHERE workspace_id = $1 ORDER BY key`,
        values: [workspaceId],
        rowMode: 'array',
      }));
    } catch (error) {
      if (isConnectionError(error)) throw new StoreUnavailableError(error);
      throw error;
    }
    const out = new Array<SecretMeta>(rows.length);
    for (let i = 0; i < rows.length; i++)
      out[i] = listedSecretMeta(workspaceId, rows[i] as SecretListRow, sameList);
    return out;
  }

  /**
   * Pessimistic: the row is locked (FOR UPDATE) from the read until the write commits, with
   * the workspace's batch (see write-batch.ts).
   */
  async modifySecret(
    workspaceId: string,
    key: string,
    compute: (current: SecretRow) => Promise<SecretChanges | null>,
    actor: string,
    auditOf?: (written: SecretMeta) => AuditAppend,
  ): Promise<SecretMeta | undefined> {
    return this.batcher.run(workspaceId, { kind: 'modify', key, compute, actor, auditOf });
  }

  async getSecrets(workspaceId: string, keys: readonly string[]): Promise<SecretRow[]> {
    if (keys.length === 0) return [];
    const { rows } = await this.query<SecretRecord>(
      `SELECT ${ROW_COLUMNS} FROM secrets WHERE workspace_id = $1 AND key = ANY($2::text[])`,
      [workspaceId, keys],
      'get_secret_rows',
    );
    return rows.map(toRow);
  }

  async listSecretRows(workspaceId: string): Promise<SecretRow[]> {
    const { rows } = await this.query<SecretRecord>(
      `SELECT ${ROW_COLUMNS} FROM secrets WHERE workspace_id = $1 ORDER BY key`,
      [workspaceId],
    );
    return rows.map(toRow);
  }

  async insertServiceToken(row: ServiceTokenRow, auditAppend?: AuditAppend): Promise<void> {
    await this.transaction(async (client) => {
      await client.query(
        `INSERT INTO service_tokens (${SERVICE_TOKEN_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
        serviceTokenValues(row),
      );
      if (auditAppend) await audit.appendAudit(client, auditAppend);
    });
  }

  async getServiceToken(id: string): Promise<ServiceTokenRow | undefined> {
    const { rows } = await this.query<ServiceTokenRecord>(
      `SELECT ${SERVICE_TOKEN_COLUMNS} FROM service_tokens WHERE id = $1`,
      [id],
      'get_service_token',
    );
    const r = rows[0];
    return r && toServiceTokenRow(r);
  }

  async listServiceTokens(workspaceId: string): Promise<ServiceTokenRow[]> {
    const { rows } = await this.query<ServiceTokenRecord>(
      `SELECT ${SERVICE_TOKEN_COLUMNS} FROM service_tokens WHERE workspace_id = $1 ORDER BY created_at DESC, id DESC`,
      [workspaceId],
    );
    return rows.map(toServiceTokenRow);
  }

  async revokeServiceToken(
    workspaceId: string,
    id: string,
    revokedAt: number,
    auditAppend?: AuditAppend,
  ): Promise<boolean> {
    return this.principals.announce('token', id, (notify) =>
      this.transaction(async (client) => {
        const result = await client.query(
          'UPDATE service_tokens SET revoked_at = COALESCE(revoked_at, $1) WHERE workspace_id = $2 AND id = $3',
          [revokedAt, workspaceId, id],
        );
        const found = result.rowCount === 1;
        if (found) await notify(client);
        if (found && auditAppend) await audit.appendAudit(client, auditAppend);
        return found;
      }),
    );
  }

  async listVersions(workspaceId: string, key: string): Promise<SecretVersionMeta[] | undefined> {
    const meta = await this.getSecretMeta(workspaceId, key);
    if (!meta) return undefined;
    const { rows } = await this.query<VersionRecord>(
      'SELECT version, created_at, created_by FROM secret_versions WHERE secret_id = $1 ORDER BY version DESC',
      [meta.id],
    );
    return rows.map(toVersionMeta);
  }

  async getSecretVersion(
    workspaceId: string,
    key: string,
    version: number,
  ): Promise<{ meta: SecretMeta; sealed: Buffer | undefined } | undefined> {
    const meta = await this.getSecretMeta(workspaceId, key);
    if (!meta) return undefined;
    const { rows } = await this.query<{ sealed: Buffer }>(
      'SELECT sealed FROM secret_versions WHERE secret_id = $1 AND version = $2',
      [meta.id, version],
    );
    return { meta, sealed: rows[0]?.sealed };
  }

  /** Committed with the workspace's batch (see write-batch.ts). */
  async deleteSecret(workspaceId: string, key: string, auditAppend?: AuditAppend): Promise<boolean> {
    return this.batcher.run(workspaceId, { kind: 'delete', key, audit: auditAppend });
  }

  async appendAudit(append: AuditAppend): Promise<void> {
    if (append.events.length === 0) return;
    await this.transaction((client) => audit.appendAudit(client, append));
  }

  async listAudit(workspaceId: string, filter: AuditFilter): Promise<AuditRecord[]> {
    return this.withClient((client) => audit.listAudit(client, workspaceId, filter));
  }

  async auditHead(workspaceId: string): Promise<AuditHead | undefined> {
    return this.withClient((client) => audit.auditHead(client, workspaceId));
  }

  async auditChains(): Promise<string[]> {
    return this.withClient((client) => audit.auditChains(client));
  }

  async auditChainsBelowKey(macKey: number): Promise<string[]> {
    return this.withClient((client) => audit.auditChainsBelowKey(client, macKey));
  }

  async workspaceIds(after: string | undefined, limit: number): Promise<string[]> {
    return this.withClient((client) => audit.workspaceIds(client, after, limit));
  }

  /** Plain queries through the pool, with connection errors turned into StoreUnavailableError. */
  private withClient<T>(work: (client: Pick<pg.PoolClient, 'query'>) => Promise<T>): Promise<T> {
    return work({ query: ((text: string, values?: unknown[]) => this.query(text, values)) as never });
  }
}

const INSERT_USER = `INSERT INTO users (${INSERT_USER_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)`;
