/**
 * Row MAC upkeep on the embedded store (see store/integrity-store.ts for the invariants).
 * Writes go through the store's write queue.
 */
import type Database from 'better-sqlite3';
import type { IntegrityStore } from '../../integrity-store.js';
import { integrityReads, LEGACY_FORMAT, type RecordedValueRecord } from '../../sql/integrity-rows.js';
import { toSecretMeta, toSecretRow, type SecretRecord } from '../../sql/secret-rows.js';
import { listParam, parseList, SQLITE_DIALECT } from './sqlite-dialect.js';
import type { WriteQueue } from './write-queue.js';

export function sqliteIntegrity(db: Database.Database, writes: WriteQueue): IntegrityStore {
  const sql = integrityReads(SQLITE_DIALECT);
  const stmt = {
    legacy: db.prepare(sql.legacyWorkspaces).pluck(),
    withoutMac: db.prepare(sql.rowsWithoutMac),
    fill: db.prepare(
      'UPDATE secrets SET mac = ? WHERE id = ? AND mac IS NULL AND version = ? AND updated_at = ?',
    ),
    scan: db.prepare(sql.scanRows),
    scanOne: db.prepare(sql.scanWorkspaceRows),
    recorded: db.prepare(sql.recordedValues),
  };

  return {
    async legacyWorkspaces() {
      return stmt.legacy.all(LEGACY_FORMAT, LEGACY_FORMAT) as string[];
    },
    async rowsWithoutMac(workspaceId, afterKey, limit) {
      const rows = stmt.withoutMac.all(workspaceId, afterKey ?? '', limit) as SecretRecord<string>[];
      return rows.map((r) => toSecretMeta(r, parseList));
    },
    fillMissingMacs(items) {
      return writes.run(() => {
        let filled = 0;
        for (const { row, mac } of items)
          filled += stmt.fill.run(mac, row.id, row.version, row.updatedAt).changes;
        return filled;
      });
    },
    async scanRows(after, limit, workspaceId) {
      const rows = (
        workspaceId === undefined
          ? stmt.scan.all(after?.workspaceId ?? '', after?.key ?? '', limit)
          : stmt.scanOne.all(workspaceId, after?.key ?? '', limit)
      ) as SecretRecord<string>[];
      return rows.map((r) => toSecretRow(r, parseList));
    },
    async recordedValues(secretIds) {
      if (secretIds.length === 0) return [];
      const rows = stmt.recorded.all(listParam(secretIds)) as RecordedValueRecord[];
      return rows.map((r) => ({ secretId: r.secret_id, version: r.version, sealed: r.sealed }));
    },
  };
}
