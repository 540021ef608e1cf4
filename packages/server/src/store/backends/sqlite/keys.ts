/**
 * Key rotation on the embedded store (see store/keys.ts for the invariants). Every change is
 * a conditional UPDATE in its own short transaction; a sealed value's data key version is
 * `substr(sealed, 2, 4)`, compared as a blob (memcmp, so big-endian orders like numbers).
 */
import type Database from 'better-sqlite3';
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
import type { WriteQueue } from './write-queue.js';

interface KeyRecord {
  workspace_id: string;
  version: number;
  kek_id: string;
  wrapped: Buffer;
}

const HEADER = 'substr(sealed, 2, 4)';

export class SqliteKeyStore implements KeyStore {
  private readonly stmt;

  /** Writes go through the store's write queue: durable before they are acknowledged. */
  constructor(
    private readonly db: Database.Database,
    private readonly writes: WriteQueue,
  ) {
    this.stmt = {
      workspaceKeys: db.prepare(
        'SELECT workspace_id, version, kek_id, wrapped FROM workspace_keys WHERE workspace_id = ?',
      ),
      // Answered from the (workspace_id, version) primary key alone.
      latest: db.prepare('SELECT MAX(version) AS v FROM workspace_keys WHERE workspace_id = ?'),
      add: db.prepare(
        'INSERT INTO workspace_keys (workspace_id, version, kek_id, wrapped, created_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING',
      ),
      usage: db.prepare(`
        SELECT kek_id, SUM(w) AS workspace_keys, SUM(s) AS server_keys FROM (
          SELECT kek_id, 1 AS w, 0 AS s FROM workspace_keys
          UNION ALL SELECT kek_id, 0, 1 FROM server_keys
        ) GROUP BY kek_id ORDER BY kek_id`),
      notWrappedBy: db.prepare(
        `SELECT workspace_id, version, kek_id, wrapped FROM workspace_keys
         WHERE kek_id <> ? AND (workspace_id, version) > (?, ?)
         ORDER BY workspace_id, version LIMIT ?`,
      ),
      rewrap: db.prepare(
        'UPDATE workspace_keys SET kek_id = ?, wrapped = ? WHERE workspace_id = ? AND version = ? AND kek_id = ?',
      ),
      serverKeys: db.prepare(`SELECT ${SERVER_KEY_COLUMNS} FROM server_keys ORDER BY name, version`),
      rewrapServer: db.prepare(
        'UPDATE server_keys SET kek_id = ?, wrapped = ? WHERE name = ? AND version = ? AND kek_id = ?',
      ),
      serverKeyVersions: db.prepare(
        `SELECT ${SERVER_KEY_COLUMNS} FROM server_keys WHERE name = ? ORDER BY version`,
      ),
      latestServerKey: db.prepare('SELECT MAX(version) AS v FROM server_keys WHERE name = ?'),
      addServerKey: db.prepare(
        `INSERT INTO server_keys (${SERVER_KEY_COLUMNS}) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
      ),
      replaceServerKey: db.prepare(
        'UPDATE server_keys SET kek_id = ?, wrapped = ?, retired_at = ? WHERE name = ? AND version = ? AND wrapped = ?',
      ),
      dataKeyUsage: db.prepare(`
        SELECT k.version, k.kek_id, (
          SELECT COUNT(*) FROM secrets s WHERE s.workspace_id = k.workspace_id AND substr(s.sealed, 2, 4) = @header
        ) + (
          SELECT COUNT(*) FROM secret_versions v JOIN secrets s ON s.id = v.secret_id
          WHERE s.workspace_id = k.workspace_id AND substr(v.sealed, 2, 4) = @header
        ) AS n_values
        FROM workspace_keys k WHERE k.workspace_id = @workspace AND k.version = @version`),
      countBelow: db.prepare(`
        SELECT (SELECT COUNT(*) FROM secrets WHERE workspace_id = @workspace AND ${HEADER} < @header)
             + (SELECT COUNT(*) FROM secret_versions v JOIN secrets s ON s.id = v.secret_id
                WHERE s.workspace_id = @workspace AND substr(v.sealed, 2, 4) < @header) AS n`),
      secretsBelow: db.prepare(
        `SELECT id AS secret_id, version, sealed FROM secrets
         WHERE workspace_id = ? AND ${HEADER} < ? AND (id, version) > (?, ?)
         ORDER BY id, version LIMIT ?`,
      ),
      versionsBelow: db.prepare(
        `SELECT v.secret_id, v.version, v.sealed FROM secret_versions v JOIN secrets s ON s.id = v.secret_id
         WHERE s.workspace_id = ? AND substr(v.sealed, 2, 4) < ? AND (v.secret_id, v.version) > (?, ?)
         ORDER BY v.secret_id, v.version LIMIT ?`,
      ),
      resealSecret: db.prepare('UPDATE secrets SET sealed = ? WHERE id = ? AND version = ? AND sealed = ?'),
      resealVersion: db.prepare(
        'UPDATE secret_versions SET sealed = ? WHERE secret_id = ? AND version = ? AND sealed = ?',
      ),
    };
  }

  async workspaceKeys(workspaceId: string): Promise<WrappedDataKey[]> {
    return (this.stmt.workspaceKeys.all(workspaceId) as KeyRecord[]).map(toWrapped);
  }

  async latestKeyVersion(workspaceId: string): Promise<number | undefined> {
    const row = this.stmt.latest.get(workspaceId) as { v: number | null };
    return row.v ?? undefined;
  }

  async addWorkspaceKey(key: WrappedDataKey, createdAt: number): Promise<boolean> {
    return this.writes.run(
      () => this.stmt.add.run(key.workspaceId, key.version, key.kekId, key.wrapped, createdAt).changes === 1,
    );
  }

  async masterKeyUsage(): Promise<MasterKeyUsage[]> {
    const rows = this.stmt.usage.all() as { kek_id: string; workspace_keys: number; server_keys: number }[];
    return rows.map((r) => ({ kekId: r.kek_id, workspaceKeys: r.workspace_keys, serverKeys: r.server_keys }));
  }

  async workspaceKeysNotWrappedBy(
    kekId: string,
    after: WorkspaceKeyCursor | undefined,
    limit: number,
  ): Promise<WrappedDataKey[]> {
    const rows = this.stmt.notWrappedBy.all(
      kekId,
      after?.workspaceId ?? '',
      after?.version ?? -1,
      limit,
    ) as KeyRecord[];
    return rows.map(toWrapped);
  }

  async rewrapWorkspaceKey(key: WrappedDataKey, fromKekId: string): Promise<boolean> {
    const result = await this.writes.run(() =>
      this.stmt.rewrap.run(key.kekId, key.wrapped, key.workspaceId, key.version, fromKekId),
    );
    return result.changes === 1;
  }

  async serverKeys(): Promise<ServerKeyRow[]> {
    return (this.stmt.serverKeys.all() as ServerKeyRecord[]).map(toServerKeyRow);
  }

  async rewrapServerKey(row: ServerKeyRow, fromKekId: string): Promise<boolean> {
    return this.writes.run(
      () =>
        this.stmt.rewrapServer.run(row.kekId, row.wrapped, row.name, row.version, fromKekId).changes === 1,
    );
  }

  async serverKeyVersions(name: string): Promise<ServerKeyRow[]> {
    return (this.stmt.serverKeyVersions.all(name) as ServerKeyRecord[]).map(toServerKeyRow);
  }

  async latestServerKeyVersion(name: string): Promise<number | undefined> {
    return (this.stmt.latestServerKey.get(name) as { v: number | null }).v ?? undefined;
  }

  async addServerKeyVersion(row: ServerKeyRow): Promise<boolean> {
    return this.writes.run(
      () =>
        this.stmt.addServerKey.run(row.name, row.version, row.kekId, row.wrapped, row.retiredAt).changes ===
        1,
    );
  }

  async replaceServerKeyVersion(row: ServerKeyRow, expected: Buffer): Promise<boolean> {
    return this.writes.run(
      () =>
        this.stmt.replaceServerKey.run(row.kekId, row.wrapped, row.retiredAt, row.name, row.version, expected)
          .changes === 1,
    );
  }

  async dataKeyUsage(workspaceId: string): Promise<DataKeyUsage[]> {
    const versions = (this.stmt.workspaceKeys.all(workspaceId) as KeyRecord[]).map((r) => r.version);
    return versions
      .sort((a, b) => a - b)
      .map((version) => {
        const r = this.stmt.dataKeyUsage.get({
          header: dekVersionBytes(version),
          workspace: workspaceId,
          version,
        }) as {
          version: number;
          kek_id: string;
          n_values: number;
        };
        return { version: r.version, kekId: r.kek_id, values: r.n_values };
      });
  }

  async countSealedBelow(workspaceId: string, dekVersion: number): Promise<number> {
    return (
      this.stmt.countBelow.get({ workspace: workspaceId, header: dekVersionBytes(dekVersion) }) as {
        n: number;
      }
    ).n;
  }

  async sealedBelow(
    workspaceId: string,
    table: SealedTable,
    dekVersion: number,
    after: SealedCursor | undefined,
    limit: number,
  ): Promise<SealedValue[]> {
    const statement = table === 'secrets' ? this.stmt.secretsBelow : this.stmt.versionsBelow;
    const rows = statement.all(
      workspaceId,
      dekVersionBytes(dekVersion),
      after?.secretId ?? '',
      after?.version ?? -1,
      limit,
    ) as { secret_id: string; version: number; sealed: Buffer }[];
    return rows.map((r) => ({ table, secretId: r.secret_id, version: r.version, sealed: r.sealed }));
  }

  async resealIfUnchanged(items: readonly { value: SealedValue; resealed: Buffer }[]): Promise<number> {
    return this.writes.run(() => {
      let changed = 0;
      for (const { value, resealed } of items) {
        const statement = value.table === 'secrets' ? this.stmt.resealSecret : this.stmt.resealVersion;
        changed += statement.run(resealed, value.secretId, value.version, value.sealed).changes;
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
