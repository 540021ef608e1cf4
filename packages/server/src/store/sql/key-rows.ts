/**
 * Data keys and server keys in SQL, shared by the backends: columns, mapping and every
 * statement (`?` placeholders). Both dialects read a sealed value's data key version as
 * `substr(sealed, 2, 4)` and compare it as bytes (memcmp in SQLite, bytea in PostgreSQL), so
 * big-endian orders like numbers (see store/key-store.ts).
 */
import type { WrappedDataKey } from '../../crypto/keyring.js';
import type { ServerKeyRow } from '../key-store.js';

/** A row of server_keys as both backends read it (PostgreSQL's bigint comes as a number). */
export interface ServerKeyRecord {
  name: string;
  version: number;
  kek_id: string;
  wrapped: Buffer;
  retired_at: number | null;
}

export const SERVER_KEY_COLUMNS = 'name, version, kek_id, wrapped, retired_at';

export function toServerKeyRow(r: ServerKeyRecord): ServerKeyRow {
  return {
    name: r.name,
    version: Number(r.version),
    kekId: r.kek_id,
    wrapped: r.wrapped,
    retiredAt: r.retired_at,
  };
}

export interface DataKeyRecord {
  workspace_id: string;
  version: number;
  kek_id: string;
  wrapped: Buffer;
}

export const toWrappedDataKey = (r: DataKeyRecord): WrappedDataKey => ({
  workspaceId: r.workspace_id,
  version: r.version,
  kekId: r.kek_id,
  wrapped: r.wrapped,
});

/** The sealed values of one workspace: current ones, then recorded versions (`?`: the workspace, twice). */
const WORKSPACE_SEALED = `SELECT sealed FROM secrets WHERE workspace_id = ?
  UNION ALL SELECT v.sealed FROM secret_versions v JOIN secrets s ON s.id = v.secret_id WHERE s.workspace_id = ?`;

const INSERT_DATA_KEY =
  'INSERT INTO workspace_keys (workspace_id, version, kek_id, wrapped, created_at) VALUES (?, ?, ?, ?, ?)';

export const KEY_SQL = {
  // Data keys.
  workspaceKeys: 'SELECT workspace_id, version, kek_id, wrapped FROM workspace_keys WHERE workspace_id = ?',
  // Answered from the (workspace_id, version) primary key alone.
  latestKeyVersion: 'SELECT MAX(version) AS v FROM workspace_keys WHERE workspace_id = ?',
  insertDataKey: INSERT_DATA_KEY,
  addWorkspaceKey: `${INSERT_DATA_KEY} ON CONFLICT DO NOTHING`,
  masterKeyUsage: `SELECT kek_id, SUM(w) AS workspace_keys, SUM(1 - w) AS server_keys FROM (
      SELECT kek_id, 1 AS w FROM workspace_keys UNION ALL SELECT kek_id, 0 FROM server_keys
    ) k GROUP BY kek_id ORDER BY kek_id`,
  workspaceKeysNotWrappedBy: `SELECT workspace_id, version, kek_id, wrapped FROM workspace_keys
    WHERE kek_id <> ? AND (workspace_id, version) > (?, ?) ORDER BY workspace_id, version LIMIT ?`,
  rewrapWorkspaceKey:
    'UPDATE workspace_keys SET kek_id = ?, wrapped = ? WHERE workspace_id = ? AND version = ? AND kek_id = ?',
  /** How many sealed values of the workspace use each data key version (by header bytes). */
  sealedPerHeader: `SELECT substr(sealed, 2, 4) AS header, COUNT(*) AS n FROM (${WORKSPACE_SEALED}) x GROUP BY 1`,
  countSealedBelow: `SELECT (SELECT COUNT(*) FROM secrets WHERE workspace_id = ? AND substr(sealed, 2, 4) < ?)
    + (SELECT COUNT(*) FROM secret_versions v JOIN secrets s ON s.id = v.secret_id
       WHERE s.workspace_id = ? AND substr(v.sealed, 2, 4) < ?) AS n`,
  sealedBelow: {
    secrets: `SELECT id AS secret_id, version, sealed FROM secrets
      WHERE workspace_id = ? AND substr(sealed, 2, 4) < ? AND (id, version) > (?, ?)
      ORDER BY id, version LIMIT ?`,
    secret_versions: `SELECT v.secret_id, v.version, v.sealed FROM secret_versions v JOIN secrets s ON s.id = v.secret_id
      WHERE s.workspace_id = ? AND substr(v.sealed, 2, 4) < ? AND (v.secret_id, v.version) > (?, ?)
      ORDER BY v.secret_id, v.version LIMIT ?`,
  },
  reseal: {
    secrets: 'UPDATE secrets SET sealed = ? WHERE id = ? AND version = ? AND sealed = ?',
    secret_versions:
      'UPDATE secret_versions SET sealed = ? WHERE secret_id = ? AND version = ? AND sealed = ?',
  },

  // Server keys.
  getServerKey: `SELECT ${SERVER_KEY_COLUMNS} FROM server_keys WHERE name = ? ORDER BY version DESC LIMIT 1`,
  serverKeyVersion: `SELECT ${SERVER_KEY_COLUMNS} FROM server_keys WHERE name = ? AND version = ?`,
  putServerKeyOnce:
    'INSERT INTO server_keys (name, version, kek_id, wrapped) VALUES (?, 1, ?, ?) ON CONFLICT DO NOTHING',
  serverKeys: `SELECT ${SERVER_KEY_COLUMNS} FROM server_keys ORDER BY name, version`,
  rewrapServerKey:
    'UPDATE server_keys SET kek_id = ?, wrapped = ? WHERE name = ? AND version = ? AND kek_id = ?',
  serverKeyVersions: `SELECT ${SERVER_KEY_COLUMNS} FROM server_keys WHERE name = ? ORDER BY version`,
  latestServerKeyVersion: 'SELECT MAX(version) AS v FROM server_keys WHERE name = ?',
  addServerKeyVersion: `INSERT INTO server_keys (${SERVER_KEY_COLUMNS}) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
  replaceServerKeyVersion:
    'UPDATE server_keys SET kek_id = ?, wrapped = ?, retired_at = ? WHERE name = ? AND version = ? AND wrapped = ?',
} as const;

/** Per data key version, how many values use it, from `sealedPerHeader`'s rows. */
export function dataKeyUsageOf(
  keys: readonly DataKeyRecord[],
  perHeader: readonly { header: Buffer; n: number }[],
): { version: number; kekId: string; values: number }[] {
  const counts = new Map<number, number>();
  for (const r of perHeader) {
    if (r.header.length === 4) counts.set(r.header.readUInt32BE(0), Number(r.n));
  }
  return [...keys]
    .sort((a, b) => a.version - b.version)
    .map((k) => ({ version: k.version, kekId: k.kek_id, values: counts.get(k.version) ?? 0 }));
}
