/**
 * Key rotation on PostgreSQL (see store/keys.ts for the invariants). Every change is a
 * conditional UPDATE: under READ COMMITTED, an UPDATE that waited for a concurrent writer's
 * row lock re-checks its WHERE on the committed row, so a user's update that landed first
 * makes the re-encryption of that row a no-op instead of overwriting it. A sealed value's
 * data key version is `substring(sealed from 2 for 4)`, compared as bytea (byte-wise, so
 * big-endian orders like numbers).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type pg from 'pg';
import type { WrappedDataKey } from '../../../crypto/keyring.js';
import {
  dekVersionBytes,
  type DataKeyUsage,
  type KeyStore,
  type MasterKeyUsage,
  type SealedCursor,
  type SealedTable,
  type SealedValue,
  type ServerKeyRecord,
  SERVER_KEY_COLUMNS,
  toServerKeyRow,
  type WorkspaceKeyCursor,
} from '../../keys.js';
import type { ServerKeyRow } from '../../types.js';

/** The store's own query and transaction helpers (they map connection failures to 503). */
export type Query = <R extends pg.QueryResultRow>(
  text: string,
  values?: unknown[],
) => Promise<pg.QueryResult<R>>;
export type Transaction = <T>(work: (client: pg.PoolClient) => Promise<T>) => Promise<T>;

/**
 * The client of the store transaction the caller runs in, if any. A seal runs inside
 * `modifySecret`'s transaction and asks for the newest data key version (or, with a cold
 * cache, the wrapped keys): from a second pooled connection, N concurrent writes holding all
 * N connections would each wait for another one until the connect timeout. So lookups
 * made inside a transaction use its connection (see `PostgresStore.transaction`).
 */
export const transactionClient = new AsyncLocalStorage<pg.PoolClient>();

/**
 * Within a batch of secret changes (write-batch.ts), the newest data key version of each
 * workspace, read once per batch transaction rather than once per sealed value.
 */
export const batchKeyVersions = new AsyncLocalStorage<Map<string, number | undefined>>();

interface KeyRecord {
  workspace_id: string;
  version: number;
  kek_id: string;
  wrapped: Buffer;
}

const SEALED_BELOW = {
  secrets: `SELECT id AS secret_id, version, sealed FROM secrets
    WHERE workspace_id = $1 AND substring(sealed from 2 for 4) < $2 AND (id, version) > ($3, $4)
    ORDER BY id, version LIMIT $5`,
  secret_versions: `SELECT v.secret_id, v.version, v.sealed FROM secret_versions v JOIN secrets s ON s.id = v.secret_id
    WHERE s.workspace_id = $1 AND substring(v.sealed from 2 for 4) < $2 AND (v.secret_id, v.version) > ($3, $4)
    ORDER BY v.secret_id, v.version LIMIT $5`,
} as const;

const RESEAL = {
  secrets: 'UPDATE secrets SET sealed = $1 WHERE id = $2 AND version = $3 AND sealed = $4',
  secret_versions:
    'UPDATE secret_versions SET sealed = $1 WHERE secret_id = $2 AND version = $3 AND sealed = $4',
} as const;

export class PostgresKeyStore implements KeyStore {
  constructor(
    private readonly pooled: Query,
    private readonly transaction: Transaction,
  ) {}

  /** On the caller's transaction connection when there is one, else from the pool. */
  private query<R extends pg.QueryResultRow>(
    text: string,
    values: unknown[] = [],
  ): Promise<pg.QueryResult<R>> {
    const client = transactionClient.getStore();
    return client ? client.query<R>(text, values) : this.pooled<R>(text, values);
  }

  async workspaceKeys(workspaceId: string): Promise<WrappedDataKey[]> {
    const { rows } = await this.query<KeyRecord>(
      'SELECT workspace_id, version, kek_id, wrapped FROM workspace_keys WHERE workspace_id = $1',
      [workspaceId],
    );
    return rows.map(toWrapped);
  }

  /** Answered from the (workspace_id, version) primary key alone. */
  async latestKeyVersion(workspaceId: string): Promise<number | undefined> {
    const memo = batchKeyVersions.getStore();
    if (memo?.has(workspaceId)) return memo.get(workspaceId);
    const { rows } = await this.query<{ v: number | null }>(
      'SELECT MAX(version) AS v FROM workspace_keys WHERE workspace_id = $1',
      [workspaceId],
    );
    const version = rows[0]?.v ?? undefined;
    memo?.set(workspaceId, version);
    return version;
  }

  async addWorkspaceKey(key: WrappedDataKey, createdAt: number): Promise<boolean> {
    const result = await this.query(
      'INSERT INTO workspace_keys (workspace_id, version, kek_id, wrapped, created_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING',
      [key.workspaceId, key.version, key.kekId, key.wrapped, createdAt],
    );
    return result.rowCount === 1;
  }

  async masterKeyUsage(): Promise<MasterKeyUsage[]> {
    const { rows } = await this.query<{ kek_id: string; workspace_keys: number; server_keys: number }>(
      `SELECT kek_id, COUNT(*) FILTER (WHERE w) AS workspace_keys, COUNT(*) FILTER (WHERE NOT w) AS server_keys
       FROM (SELECT kek_id, true AS w FROM workspace_keys UNION ALL SELECT kek_id, false FROM server_keys) k
       GROUP BY kek_id ORDER BY kek_id`,
    );
    return rows.map((r) => ({ kekId: r.kek_id, workspaceKeys: r.workspace_keys, serverKeys: r.server_keys }));
  }

  async workspaceKeysNotWrappedBy(
    kekId: string,
    after: WorkspaceKeyCursor | undefined,
    limit: number,
  ): Promise<WrappedDataKey[]> {
    const { rows } = await this.query<KeyRecord>(
      `SELECT workspace_id, version, kek_id, wrapped FROM workspace_keys
       WHERE kek_id <> $1 AND (workspace_id, version) > ($2, $3)
       ORDER BY workspace_id, version LIMIT $4`,
      [kekId, after?.workspaceId ?? '', after?.version ?? -1, limit],
    );
    return rows.map(toWrapped);
  }

  async rewrapWorkspaceKey(key: WrappedDataKey, fromKekId: string): Promise<boolean> {
    const result = await this.query(
      'UPDATE workspace_keys SET kek_id = $1, wrapped = $2 WHERE workspace_id = $3 AND version = $4 AND kek_id = $5',
      [key.kekId, key.wrapped, key.workspaceId, key.version, fromKekId],
    );
    return result.rowCount === 1;
  }

  async serverKeys(): Promise<ServerKeyRow[]> {
    const { rows } = await this.query<ServerKeyRecord>(
      `SELECT ${SERVER_KEY_COLUMNS} FROM server_keys ORDER BY name, version`,
    );
    return rows.map(toServerKeyRow);
  }

  async rewrapServerKey(row: ServerKeyRow, fromKekId: string): Promise<boolean> {
    const result = await this.query(
      'UPDATE server_keys SET kek_id = $1, wrapped = $2 WHERE name = $3 AND version = $4 AND kek_id = $5',
      [row.kekId, row.wrapped, row.name, row.version, fromKekId],
    );
    return result.rowCount === 1;
  }

  async serverKeyVersions(name: string): Promise<ServerKeyRow[]> {
    const { rows } = await this.query<ServerKeyRecord>(
      `SELECT ${SERVER_KEY_COLUMNS} FROM server_keys WHERE name = $1 ORDER BY version`,
      [name],
    );
    return rows.map(toServerKeyRow);
  }

  async latestServerKeyVersion(name: string): Promise<number | undefined> {
    const { rows } = await this.query<{ v: number | null }>(
      'SELECT MAX(version) AS v FROM server_keys WHERE name = $1',
      [name],
    );
    return rows[0]?.v ?? undefined;
  }

  async addServerKeyVersion(row: ServerKeyRow): Promise<boolean> {
    const result = await this.query(
      `INSERT INTO server_keys (${SERVER_KEY_COLUMNS}) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`,
      [row.name, row.version, row.kekId, row.wrapped, row.retiredAt],
    );
    return result.rowCount === 1;
  }

  async replaceServerKeyVersion(row: ServerKeyRow, expected: Buffer): Promise<boolean> {
    const result = await this.query(
      'UPDATE server_keys SET kek_id = $1, wrapped = $2, retired_at = $3 WHERE name = $4 AND version = $5 AND wrapped = $6',
      [row.kekId, row.wrapped, row.retiredAt, row.name, row.version, expected],
    );
    return result.rowCount === 1;
  }

  async dataKeyUsage(workspaceId: string): Promise<DataKeyUsage[]> {
    const { rows } = await this.query<{ version: number; kek_id: string; n_values: number }>(
      `WITH sealed AS (
         SELECT sealed FROM secrets WHERE workspace_id = $1
         UNION ALL
         SELECT v.sealed FROM secret_versions v JOIN secrets s ON s.id = v.secret_id WHERE s.workspace_id = $1
       ), used AS (
         SELECT get_byte(sealed, 1)::bigint * 16777216 + get_byte(sealed, 2) * 65536
                + get_byte(sealed, 3) * 256 + get_byte(sealed, 4) AS version, COUNT(*) AS n
         FROM sealed GROUP BY 1
       )
       SELECT k.version, k.kek_id, COALESCE(u.n, 0)::bigint AS n_values
       FROM workspace_keys k LEFT JOIN used u ON u.version = k.version
       WHERE k.workspace_id = $1 ORDER BY k.version`,
      [workspaceId],
    );
    return rows.map((r) => ({ version: r.version, kekId: r.kek_id, values: r.n_values }));
  }

  async countSealedBelow(workspaceId: string, dekVersion: number): Promise<number> {
    const { rows } = await this.query<{ n: number }>(
      `SELECT (SELECT COUNT(*) FROM secrets WHERE workspace_id = $1 AND substring(sealed from 2 for 4) < $2)
            + (SELECT COUNT(*) FROM secret_versions v JOIN secrets s ON s.id = v.secret_id
               WHERE s.workspace_id = $1 AND substring(v.sealed from 2 for 4) < $2) AS n`,
      [workspaceId, dekVersionBytes(dekVersion)],
    );
    return rows[0]?.n ?? 0;
  }

  async sealedBelow(
    workspaceId: string,
    table: SealedTable,
    dekVersion: number,
    after: SealedCursor | undefined,
    limit: number,
  ): Promise<SealedValue[]> {
    const { rows } = await this.query<{ secret_id: string; version: number; sealed: Buffer }>(
      SEALED_BELOW[table],
      [workspaceId, dekVersionBytes(dekVersion), after?.secretId ?? '', after?.version ?? -1, limit],
    );
    return rows.map((r) => ({ table, secretId: r.secret_id, version: r.version, sealed: r.sealed }));
  }

  async resealIfUnchanged(items: readonly { value: SealedValue; resealed: Buffer }[]): Promise<number> {
    if (items.length === 0) return 0;
    return this.transaction(async (client) => {
      let changed = 0;
      for (const { value, resealed } of items) {
        const result = await client.query(RESEAL[value.table], [
          resealed,
          value.secretId,
          value.version,
          value.sealed,
        ]);
        changed += result.rowCount ?? 0;
      }
      return changed;
    });
  }
}

const toWrapped = (r: KeyRecord): WrappedDataKey => ({
  workspaceId: r.workspace_id,
  version: r.version,
  kekId: r.kek_id,
  wrapped: r.wrapped,
});
