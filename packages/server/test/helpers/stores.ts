/**
 * Opens a bare Store (no server) on a fresh database of either backend, for the store suite.
 */
import { rmSync } from 'node:fs';
import { openPostgresStore } from '../../src/store/backends/postgres/postgres-store.js';
import { openSqliteStore, type SqliteStore } from '../../src/store/backends/sqlite/sqlite-store.js';
import type { Store } from '../../src/store/types.js';
import { freshPgSchema, PG_URL, type BackendName } from './backends.js';
import { tempDir } from './harness.js';

export interface TestStore {
  store: Store;
  /** Opens another store on the same database (as a second node, or a restart would). */
  reopen(): Promise<Store>;
  /** Runs raw SQL on the same database (to plant or inspect rows behind the store's back). */
  sql(text: string, values?: unknown[]): Promise<unknown[]>;
  cleanup(): Promise<void>;
}

export async function openTestStore(backend: BackendName): Promise<TestStore> {
  if (backend === 'sqlite') {
    const dir = tempDir();
    const opened: Store[] = [];
    const open = async (): Promise<Store> => {
      const store = openSqliteStore(dir);
      opened.push(store);
      return store;
    };
    const store = await open();
    return {
      store,
      reopen: open,
      async sql(text, values = []) {
        const { default: Database } = await import('better-sqlite3');
        const db = new Database((store as SqliteStore).file);
        try {
          const statement = db.prepare(text);
          return statement.reader ? statement.all(...values) : [statement.run(...values)];
        } finally {
          db.close();
        }
      },
      async cleanup() {
        for (const s of opened) await s.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const schema = await freshPgSchema();
  const opened: Store[] = [];
  const open = async (): Promise<Store> => {
    const store = await openPostgresStore({ url: PG_URL, schema: schema.schema, poolSize: 4 });
    opened.push(store);
    return store;
  };
  const store = await open();
  return {
    store,
    reopen: open,
    async sql(text, values = []) {
      const { default: pg } = await import('pg');
      const client = new pg.Client({ connectionString: PG_URL, options: `-c search_path=${schema.schema}` });
      await client.connect();
      try {
        return (await client.query(text, values)).rows;
      } finally {
        await client.end();
      }
    },
    async cleanup() {
      for (const s of opened) await s.close();
      await schema.drop();
    },
  };
}
