/**
 * Secrets and their versions on PostgreSQL (see store/secret-store.ts). Reads are the shared
 * statements (store/sql/secret-rows.ts), the hot ones prepared by name; every write is
 * committed with its workspace's batch (write-batch.ts).
 */
import type { SecretMeta, SecretSizes, SecretStore } from '../../secret-store.js';
import {
  listedSecretMetas,
  secretReads,
  toSecretMeta,
  toSecretRow,
  toSizedMeta,
  toVersionMeta,
  type SecretListRow,
  type SecretRecord,
  type VersionRecord,
} from '../../sql/secret-rows.js';
import { numberedAll, PG_DIALECT, type PgContext } from './postgres-dialect.js';
import type { WriteBatcher } from './write-batch.js';

const SQL = numberedAll(secretReads(PG_DIALECT));
const sameList = (list: string[]): string[] => list;

export function postgresSecrets(
  { query, queryArrays }: PgContext,
  batcher: WriteBatcher,
): SecretStore & SecretSizes {
  const getSecretMeta = async (workspaceId: string, key: string): Promise<SecretMeta | undefined> => {
    const r = (await query<SecretRecord>(SQL.getSecretMeta, [workspaceId, key], 'get_secret_meta')).rows[0];
    return r && toSecretMeta(r, sameList);
  };

  return {
    /** Committed with the workspace's batch (see write-batch.ts). */
    async insertSecret(row, actor, audit) {
      await batcher.run(row.workspaceId, { kind: 'insert', row, actor, audit });
    },
    async getSecret(workspaceId, key) {
      const r = (await query<SecretRecord>(SQL.getSecret, [workspaceId, key], 'get_secret_row')).rows[0];
      return r && toSecretRow(r, sameList);
    },
    getSecretMeta,
    async getSecrets(workspaceId, keys) {
      if (keys.length === 0) return [];
      const { rows } = await query<SecretRecord>(SQL.getSecrets, [workspaceId, keys], 'get_secret_rows');
      return rows.map((r) => toSecretRow(r, sameList));
    },
    async listSecretRows(workspaceId) {
      const { rows } = await query<SecretRecord>(SQL.listSecretRows, [workspaceId]);
      return rows.map((r) => toSecretRow(r, sameList));
    },
    /** An index-only scan of the (workspace_id, key) unique index. */
    async countSecrets(workspaceId) {
      const { rows } = await query<{ n: number }>(SQL.countSecrets, [workspaceId], 'count_secrets');
      return Number(rows[0]?.n ?? 0);
    },
    async listSecrets(workspaceId) {
      // Rows as arrays: node-postgres then builds no object per row.
      const rows = await queryArrays<SecretListRow>('list_secret_rows', SQL.listSecrets, [workspaceId]);
      return listedSecretMetas(workspaceId, rows, sameList);
    },
    async listExpiringSecrets(workspaceId, after, until) {
      const params = [workspaceId, after, until];
      const rows = await queryArrays<SecretListRow>('list_expiring_secrets', SQL.listExpiringSecrets, params);
      return listedSecretMetas(workspaceId, rows, sameList);
    },
    /**
     * Pessimistic: the row is locked (FOR UPDATE) from the read until the write commits, with
     * the workspace's batch (see write-batch.ts).
     */
    modifySecret(workspaceId, key, compute, actor, auditOf) {
      return batcher.run(workspaceId, { kind: 'modify', key, compute, actor, auditOf });
    },
    async listVersions(workspaceId, key) {
      const meta = await getSecretMeta(workspaceId, key);
      if (!meta) return undefined;
      return (await query<VersionRecord>(SQL.listVersions, [meta.id])).rows.map(toVersionMeta);
    },
    async getSecretVersion(workspaceId, key, version) {
      const meta = await getSecretMeta(workspaceId, key);
      if (!meta) return undefined;
      const { rows } = await query<{ sealed: Buffer }>(SQL.getVersion, [meta.id, version]);
      return { meta, sealed: rows[0]?.sealed };
    },
    /** Committed with the workspace's batch (see write-batch.ts). */
    deleteSecret(workspaceId, key, audit) {
      return batcher.run(workspaceId, { kind: 'delete', key, audit });
    },

    async listSecretSizes(workspaceId, page) {
      const { rows } =
        'keys' in page
          ? await query<SecretRecord & { value_bytes: number }>(SQL.sizesOf, [workspaceId, page.keys])
          : await query<SecretRecord & { value_bytes: number }>(SQL.sizesAfter, [
              workspaceId,
              page.afterKey ?? '',
              page.limit,
            ]);
      return rows.map((r) => toSizedMeta(r, sameList));
    },
    async valueBytes(workspaceId) {
      const { rows } = await query<{ value_bytes: number }>(SQL.valueBytes, [workspaceId], 'value_bytes');
      return rows[0]?.value_bytes ?? 0;
    },
  };
}
