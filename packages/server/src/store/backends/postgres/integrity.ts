/**
 * Row MAC upkeep on PostgreSQL (see store/integrity.ts for the invariants). A MAC is filled
 * in by a conditional UPDATE: under READ COMMITTED one that waited for a concurrent writer
 * re-checks its WHERE on the committed row, so the writer's own MAC is never overwritten.
 */
import type { IntegrityStore, RecordedValue, RowCursor } from '../../integrity.js';
import {
  SECRET_META_COLUMNS,
  SECRET_ROW_COLUMNS,
  toSecretMeta,
  toSecretRow,
  type SecretRecord,
} from '../../records.js';
import type { SecretMeta, SecretRow } from '../../types.js';
import type { Query, Transaction } from './keys.js';

const sameList = (list: string[]): string[] => list;

export class PostgresIntegrityStore implements IntegrityStore {
  constructor(
    private readonly query: Query,
    private readonly transaction: Transaction,
  ) {}

  async legacyWorkspaces(): Promise<string[]> {
    // 1: the legacy data key format (crypto/envelope.ts).
    const { rows } = await this.query<{ workspace_id: string }>(
      `SELECT workspace_id FROM workspace_keys GROUP BY workspace_id
       HAVING MAX(get_byte(wrapped, 0)) = 1 ORDER BY workspace_id`,
    );
    return rows.map((r) => r.workspace_id);
  }

  async rowsWithoutMac(
    workspaceId: string,
    afterKey: string | undefined,
    limit: number,
  ): Promise<SecretMeta[]> {
    const { rows } = await this.query<SecretRecord>(
      `SELECT ${SECRET_META_COLUMNS} FROM secrets WHERE workspace_id = $1 AND key > $2 AND mac IS NULL
       ORDER BY key LIMIT $3`,
      [workspaceId, afterKey ?? '', limit],
    );
    return rows.map((r) => toSecretMeta(r, sameList));
  }

  async fillMissingMacs(items: readonly { row: SecretMeta; mac: Buffer }[]): Promise<number> {
    if (items.length === 0) return 0;
    return this.transaction(async (client) => {
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
  }

  async scanRows(after: RowCursor | undefined, limit: number, workspaceId?: string): Promise<SecretRow[]> {
    const { rows } =
      workspaceId === undefined
        ? await this.query<SecretRecord>(
            `SELECT ${SECRET_ROW_COLUMNS} FROM secrets WHERE (workspace_id, key) > ($1, $2)
             ORDER BY workspace_id, key LIMIT $3`,
            [after?.workspaceId ?? '', after?.key ?? '', limit],
          )
        : await this.query<SecretRecord>(
            `SELECT ${SECRET_ROW_COLUMNS} FROM secrets WHERE workspace_id = $1 AND key > $2 ORDER BY key LIMIT $3`,
            [workspaceId, after?.key ?? '', limit],
          );
    return rows.map((r) => toSecretRow(r, sameList));
  }

  async recordedValues(secretIds: readonly string[]): Promise<RecordedValue[]> {
    if (secretIds.length === 0) return [];
    const { rows } = await this.query<{ secret_id: string; version: number; sealed: Buffer }>(
      'SELECT secret_id, version, sealed FROM secret_versions WHERE secret_id = ANY($1::text[])',
      [secretIds],
    );
    return rows.map((r) => ({ secretId: r.secret_id, version: r.version, sealed: r.sealed }));
  }
}
