/**
 * Applies PostgreSQL migrations under an advisory lock, so that nodes starting together
 * never race, and refuses a schema newer than this server knows.
 */
import type pg from 'pg';
import type { Migration } from '../../migrations/sqlite.js';
import { SchemaTooNewError } from '../../errors.js';
import type { MigrationResult } from '../../types.js';

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

export async function migrateWith(
  client: pg.ClientBase,
  schema: string,
  migrations: readonly Migration[],
): Promise<MigrationResult> {
  const known = migrations.at(-1)?.version ?? 0;
  // One lock per schema: nodes of one deployment wait for each other, other schemas do not.
  // Taken before the schema exists, so even creating it cannot race.
  const lockKey = `ductape:migrate:${schema}`;
  await client.query('SELECT pg_advisory_lock(hashtext($1))', [lockKey]);
  try {
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`);
    await client.query('BEGIN');
    await client.query(
      'CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at bigint NOT NULL)',
    );
    const { rows } = await client.query<{ v: number | null }>(
      'SELECT MAX(version) AS v FROM schema_migrations',
    );
    const current = rows[0]?.v ?? 0;
    if (current > known) {
      throw new SchemaTooNewError(current, known);
    }
    for (const m of migrations) {
      if (m.version <= current) continue;
      await client.query(m.sql);
      await client.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [
        m.version,
        m.name,
        Date.now(),
      ]);
    }
    await client.query('COMMIT');
    return { from: current, to: Math.max(current, known) };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    await client.query('SELECT pg_advisory_unlock(hashtext($1))', [lockKey]).catch(() => undefined);
  }
}
