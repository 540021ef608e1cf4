/**
 * Data keys and server keys on the embedded store (see store/key-store.ts for the
 * invariants; the SQL is store/sql/key-rows.ts). Every change is a conditional UPDATE in its
 * own short transaction, through the store's write queue: durable before it is acknowledged.
 */
import type Database from 'better-sqlite3';
import { dekVersionBytes, type KeyStore, type ServerKeyRow } from '../../key-store.js';
import {
  dataKeyUsageOf,
  KEY_SQL,
  toServerKeyRow,
  toWrappedDataKey,
  type DataKeyRecord,
  type ServerKeyRecord,
} from '../../sql/key-rows.js';
import type { WriteQueue } from './write-queue.js';

export function sqliteKeys(db: Database.Database, writes: WriteQueue): KeyStore {
  const stmt = {
    workspaceKeys: db.prepare(KEY_SQL.workspaceKeys),
    latestKeyVersion: db.prepare(KEY_SQL.latestKeyVersion).pluck(),
    addWorkspaceKey: db.prepare(KEY_SQL.addWorkspaceKey),
    masterKeyUsage: db.prepare(KEY_SQL.masterKeyUsage),
    notWrappedBy: db.prepare(KEY_SQL.workspaceKeysNotWrappedBy),
    rewrapWorkspaceKey: db.prepare(KEY_SQL.rewrapWorkspaceKey),
    sealedPerHeader: db.prepare(KEY_SQL.sealedPerHeader),
    countSealedBelow: db.prepare(KEY_SQL.countSealedBelow).pluck(),
    secretsBelow: db.prepare(KEY_SQL.sealedBelow.secrets),
    versionsBelow: db.prepare(KEY_SQL.sealedBelow.secret_versions),
    resealSecret: db.prepare(KEY_SQL.reseal.secrets),
    resealVersion: db.prepare(KEY_SQL.reseal.secret_versions),
    getServerKey: db.prepare(KEY_SQL.getServerKey),
    putServerKeyOnce: db.prepare(KEY_SQL.putServerKeyOnce),
    serverKeys: db.prepare(KEY_SQL.serverKeys),
    rewrapServerKey: db.prepare(KEY_SQL.rewrapServerKey),
    serverKeyVersions: db.prepare(KEY_SQL.serverKeyVersions),
    latestServerKeyVersion: db.prepare(KEY_SQL.latestServerKeyVersion).pluck(),
    addServerKeyVersion: db.prepare(KEY_SQL.addServerKeyVersion),
    replaceServerKeyVersion: db.prepare(KEY_SQL.replaceServerKeyVersion),
  };
  const changed = (statement: Database.Statement, ...values: unknown[]): Promise<boolean> =>
    writes.run(() => statement.run(...values).changes === 1);
  const getServerKey = async (name: string): Promise<ServerKeyRow | undefined> => {
    const r = stmt.getServerKey.get(name) as ServerKeyRecord | undefined;
    return r && toServerKeyRow(r);
  };

  return {
    async workspaceKeys(workspaceId) {
      return (stmt.workspaceKeys.all(workspaceId) as DataKeyRecord[]).map(toWrappedDataKey);
    },
    async latestKeyVersion(workspaceId) {
      return (stmt.latestKeyVersion.get(workspaceId) as number | null) ?? undefined;
    },
    addWorkspaceKey(key, createdAt) {
      return changed(stmt.addWorkspaceKey, key.workspaceId, key.version, key.kekId, key.wrapped, createdAt);
    },
    async masterKeyUsage() {
      const rows = stmt.masterKeyUsage.all() as {
        kek_id: string;
        workspace_keys: number;
        server_keys: number;
      }[];
      return rows.map((r) => ({
        kekId: r.kek_id,
        workspaceKeys: r.workspace_keys,
        serverKeys: r.server_keys,
      }));
    },
    async workspaceKeysNotWrappedBy(kekId, after, limit) {
      const rows = stmt.notWrappedBy.all(kekId, after?.workspaceId ?? '', after?.version ?? -1, limit);
      return (rows as DataKeyRecord[]).map(toWrappedDataKey);
    },
    rewrapWorkspaceKey(key, fromKekId) {
      return changed(
        stmt.rewrapWorkspaceKey,
        key.kekId,
        key.wrapped,
        key.workspaceId,
        key.version,
        fromKekId,
      );
    },
    async dataKeyUsage(workspaceId) {
      const keys = stmt.workspaceKeys.all(workspaceId) as DataKeyRecord[];
      const perHeader = stmt.sealedPerHeader.all(workspaceId, workspaceId) as { header: Buffer; n: number }[];
      return dataKeyUsageOf(keys, perHeader);
    },
    async countSealedBelow(workspaceId, dekVersion) {
      const header = dekVersionBytes(dekVersion);
      return stmt.countSealedBelow.get(workspaceId, header, workspaceId, header) as number;
    },
    async sealedBelow(workspaceId, table, dekVersion, after, limit) {
      const statement = table === 'secrets' ? stmt.secretsBelow : stmt.versionsBelow;
      const rows = statement.all(
        workspaceId,
        dekVersionBytes(dekVersion),
        after?.secretId ?? '',
        after?.version ?? -1,
        limit,
      ) as { secret_id: string; version: number; sealed: Buffer }[];
      return rows.map((r) => ({ table, secretId: r.secret_id, version: r.version, sealed: r.sealed }));
    },
    resealIfUnchanged(items) {
      return writes.run(() => {
        let replaced = 0;
        for (const { value, resealed } of items) {
          const statement = value.table === 'secrets' ? stmt.resealSecret : stmt.resealVersion;
          replaced += statement.run(resealed, value.secretId, value.version, value.sealed).changes;
        }
        return replaced;
      });
    },

    getServerKey,
    async putServerKeyOnce(row) {
      await writes.run(() => stmt.putServerKeyOnce.run(row.name, row.kekId, row.wrapped));
      return (await getServerKey(row.name)) as ServerKeyRow;
    },
    async serverKeys() {
      return (stmt.serverKeys.all() as ServerKeyRecord[]).map(toServerKeyRow);
    },
    rewrapServerKey(row, fromKekId) {
      return changed(stmt.rewrapServerKey, row.kekId, row.wrapped, row.name, row.version, fromKekId);
    },
    async serverKeyVersions(name) {
      return (stmt.serverKeyVersions.all(name) as ServerKeyRecord[]).map(toServerKeyRow);
    },
    async latestServerKeyVersion(name) {
      return (stmt.latestServerKeyVersion.get(name) as number | null) ?? undefined;
    },
    addServerKeyVersion(row) {
      return changed(stmt.addServerKeyVersion, row.name, row.version, row.kekId, row.wrapped, row.retiredAt);
    },
    replaceServerKeyVersion(row, expected) {
      const { kekId, wrapped, retiredAt, name, version } = row;
      return changed(stmt.replaceServerKeyVersion, kekId, wrapped, retiredAt, name, version, expected);
    },
  };
}
