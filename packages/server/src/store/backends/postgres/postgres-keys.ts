/**
 * Data keys and server keys on PostgreSQL (see store/key-store.ts for the invariants; the SQL
 * is store/sql/key-rows.ts). Every change is a conditional UPDATE: under READ COMMITTED, an
 * UPDATE that waited for a concurrent writer's row lock re-checks its WHERE on the committed
 * row, so a user's update that landed first makes the re-encryption of that row a no-op
 * instead of overwriting it.
 */
import { dekVersionBytes, type KeyStore, type ServerKeyRow } from '../../key-store.js';
import type { WriteKeys } from '../../secret-store.js';
import {
  dataKeyUsageOf,
  KEY_SQL,
  toServerKeyRow,
  toWrappedDataKey,
  type DataKeyRecord,
  type ServerKeyRecord,
} from '../../sql/key-rows.js';
import { numberedAll, type PgContext, type Queryable } from './postgres-dialect.js';

export const SQL = numberedAll(KEY_SQL);

/**
 * The data keys as one write batch reads them (write-batch.ts): on the batch's own
 * connection, since a seal inside its transaction that waited for a second pooled connection
 * could wait for ever when every connection is held by such a batch; and the newest version
 * read once per batch, not once per sealed value.
 */
export function batchKeys(client: Queryable): WriteKeys {
  const latest = new Map<string, Promise<number | undefined>>();
  return {
    async workspaceKeys(workspaceId) {
      const { rows } = await client.query<DataKeyRecord>(SQL.workspaceKeys, [workspaceId]);
      return rows.map(toWrappedDataKey);
    },
    latestKeyVersion(workspaceId) {
      let version = latest.get(workspaceId);
      if (!version) {
        version = client
          .query<{ v: number | null }>(SQL.latestKeyVersion, [workspaceId])
          .then(({ rows }) => rows[0]?.v ?? undefined);
        latest.set(workspaceId, version);
      }
      return version;
    },
  };
}

export function postgresKeys({ query, transaction }: PgContext): KeyStore {
  const changed = async (text: string, values: unknown[]): Promise<boolean> =>
    (await query(text, values)).rowCount === 1;
  const serverKeyRows = async (text: string, values: unknown[] = []): Promise<ServerKeyRow[]> =>
    (await query<ServerKeyRecord>(text, values)).rows.map(toServerKeyRow);
  const getServerKey = async (name: string): Promise<ServerKeyRow | undefined> =>
    (await serverKeyRows(SQL.getServerKey, [name]))[0];

  return {
    async workspaceKeys(workspaceId) {
      return (await query<DataKeyRecord>(SQL.workspaceKeys, [workspaceId])).rows.map(toWrappedDataKey);
    },
    async latestKeyVersion(workspaceId) {
      const { rows } = await query<{ v: number | null }>(SQL.latestKeyVersion, [workspaceId]);
      return rows[0]?.v ?? undefined;
    },
    addWorkspaceKey(key, createdAt) {
      return changed(SQL.addWorkspaceKey, [key.workspaceId, key.version, key.kekId, key.wrapped, createdAt]);
    },
    async masterKeyUsage() {
      const { rows } = await query<{ kek_id: string; workspace_keys: number; server_keys: number }>(
        SQL.masterKeyUsage,
      );
      return rows.map((r) => ({
        kekId: r.kek_id,
        workspaceKeys: r.workspace_keys,
        serverKeys: r.server_keys,
      }));
    },
    async workspaceKeysNotWrappedBy(kekId, after, limit) {
      const values = [kekId, after?.workspaceId ?? '', after?.version ?? -1, limit];
      return (await query<DataKeyRecord>(SQL.workspaceKeysNotWrappedBy, values)).rows.map(toWrappedDataKey);
    },
    rewrapWorkspaceKey(key, fromKekId) {
      return changed(SQL.rewrapWorkspaceKey, [
        key.kekId,
        key.wrapped,
        key.workspaceId,
        key.version,
        fromKekId,
      ]);
    },
    async dataKeyUsage(workspaceId) {
      const keys = await query<DataKeyRecord>(SQL.workspaceKeys, [workspaceId]);
      const perHeader = await query<{ header: Buffer; n: number }>(SQL.sealedPerHeader, [
        workspaceId,
        workspaceId,
      ]);
      return dataKeyUsageOf(keys.rows, perHeader.rows);
    },
    async countSealedBelow(workspaceId, dekVersion) {
      const header = dekVersionBytes(dekVersion);
      const { rows } = await query<{ n: number }>(SQL.countSealedBelow, [
        workspaceId,
        header,
        workspaceId,
        header,
      ]);
      return rows[0]?.n ?? 0;
    },
    async sealedBelow(workspaceId, table, dekVersion, after, limit) {
      const { rows } = await query<{ secret_id: string; version: number; sealed: Buffer }>(
        SQL.sealedBelow[table],
        [workspaceId, dekVersionBytes(dekVersion), after?.secretId ?? '', after?.version ?? -1, limit],
      );
      return rows.map((r) => ({ table, secretId: r.secret_id, version: r.version, sealed: r.sealed }));
    },
    async resealIfUnchanged(items) {
      if (items.length === 0) return 0;
      return transaction(async (client) => {
        let replaced = 0;
        for (const { value, resealed } of items) {
          const values = [resealed, value.secretId, value.version, value.sealed];
          replaced += (await client.query(SQL.reseal[value.table], values)).rowCount ?? 0;
        }
        return replaced;
      });
    },

    getServerKey,
    async putServerKeyOnce(row) {
      await query(SQL.putServerKeyOnce, [row.name, row.kekId, row.wrapped]);
      return (await getServerKey(row.name)) as ServerKeyRow;
    },
    serverKeys: () => serverKeyRows(SQL.serverKeys),
    rewrapServerKey(row, fromKekId) {
      return changed(SQL.rewrapServerKey, [row.kekId, row.wrapped, row.name, row.version, fromKekId]);
    },
    serverKeyVersions: (name) => serverKeyRows(SQL.serverKeyVersions, [name]),
    async latestServerKeyVersion(name) {
      const { rows } = await query<{ v: number | null }>(SQL.latestServerKeyVersion, [name]);
      return rows[0]?.v ?? undefined;
    },
    addServerKeyVersion(row) {
      return changed(SQL.addServerKeyVersion, [row.name, row.version, row.kekId, row.wrapped, row.retiredAt]);
    },
    replaceServerKeyVersion(row, expected) {
      const { kekId, wrapped, retiredAt, name, version } = row;
      return changed(SQL.replaceServerKeyVersion, [kekId, wrapped, retiredAt, name, version, expected]);
    },
  };
}
