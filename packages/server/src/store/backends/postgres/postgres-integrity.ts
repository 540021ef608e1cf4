/**
 * Row MAC upkeep on PostgreSQL (see store/integrity-store.ts for the invariants). A MAC is
 * filled in by a conditional UPDATE: under READ COMMITTED one that waited for a concurrent
 * writer re-checks its WHERE on the committed row, so the writer's own MAC is never
 * overwritten.
 */
import type { IntegrityStore } from '../../integrity-store.js';
import { integrityReads, LEGACY_FORMAT, type RecordedValueRecord } from '../../sql/integrity-rows.js';
import { toSecretMeta, toSecretRow, type SecretRecord } from '../../sql/secret-rows.js';
import { numberedAll, PG_DIALECT, type PgContext } from './postgres-dialect.js';

const SQL = numberedAll(integrityReads(PG_DIALECT));
const sameList = (list: string[]): string[] => list;

export function postgresIntegrity({ query, transaction }: PgContext): IntegrityStore {
  return {
    async legacyWorkspaces() {
      const { rows } = await query<{ workspace_id: string }>(SQL.legacyWorkspaces, [
        LEGACY_FORMAT,
        LEGACY_FORMAT,
      ]);
      return rows.map((r) => r.workspace_id);
    },
    async rowsWithoutMac(workspaceId, afterKey, limit) {
      const { rows } = await query<SecretRecord>(SQL.rowsWithoutMac, [workspaceId, afterKey ?? '', limit]);
      return rows.map((r) => toSecretMeta(r, sameList));
    },
    /** One statement for the whole page (the rows as parallel arrays). */
    async fillMissingMacs(items) {
      if (items.length === 0) return 0;
      return transaction(async (client) => {
        const result = await client.query(
          `UPDATE secrets s SET mac = u.mac
           FROM unnest($1::text[], $2::bytea[], $3::int4[], $4::int8[]) AS u(id, mac, version, updated_at)
           WHERE s.id = u.id AND s.mac IS NULL AND s.version = u.version AND s.updated_at = u.updated_at`,
          [
            items.map((i) => i.row.id),
            items.map((i) => i.mac),
            items.map((i) => i.row.version),
            items.map((i) => i.row.updatedAt),
          ],
        );
        return result.rowCount ?? 0;
      });
    },
    async scanRows(after, limit, workspaceId) {
      const { rows } =
        workspaceId === undefined
          ? await query<SecretRecord>(SQL.scanRows, [after?.workspaceId ?? '', after?.key ?? '', limit])
          : await query<SecretRecord>(SQL.scanWorkspaceRows, [workspaceId, after?.key ?? '', limit]);
      return rows.map((r) => toSecretRow(r, sameList));
    },
    async recordedValues(secretIds) {
      if (secretIds.length === 0) return [];
      const { rows } = await query<RecordedValueRecord>(SQL.recordedValues, [secretIds]);
      return rows.map((r) => ({ secretId: r.secret_id, version: r.version, sealed: r.sealed }));
    },
  };
}
