/**
 * Direct SQL on a test server's database, behind the server's back, for the suites that
 * alter stored bytes: one `query` with `?` placeholders for both backends.
 */
import Database from 'better-sqlite3';
import { join } from 'node:path';
import pg from 'pg';
import { SQLITE_FILE } from '../../src/store/backends/sqlite/sqlite-store.js';
import type { BackendName } from './backends.js';

export interface RawDb {
  query<R>(sql: string, params?: unknown[]): Promise<R[]>;
  close(): Promise<void>;
}

/** Opens the database a server configured with `env` uses. */
export async function openRawDb(backend: BackendName, env: Record<string, string>): Promise<RawDb> {
  if (backend === 'sqlite') {
    const db = new Database(join(env.DUCTAPE_DATA_DIR as string, SQLITE_FILE));
    return {
      async query<R>(sql: string, params: unknown[] = []) {
        const statement = db.prepare(sql);
        if (statement.reader) return statement.all(...params) as R[];
        statement.run(...params);
        return [];
      },
      async close() {
        db.close();
      },
    };
  }
  const client = new pg.Client({ connectionString: env.DATABASE_URL });
  await client.connect();
  await client.query(`SET search_path TO ${env.DUCTAPE_PG_SCHEMA as string}`);
  return {
    async query<R>(sql: string, params: unknown[] = []) {
      let n = 0;
      const numbered = sql.replace(/\?/g, () => `$${++n}`);
      return (await client.query(numbered, params)).rows as R[];
    },
    async close() {
      await client.end();
    },
  };
}
