/**
 * PostgreSQL side of backups, restores and store moves: one connection to one schema, the
 * schema brought to a given version, the rows of the data tables read in key order (as
 * SQLite holds them: lists as JSON text, bigints as numbers) and written in batches.
 *
 * Invariant: nothing here opens a value or unwraps a key; rows move as stored bytes.
 */
import pg from 'pg';
import { POSTGRES_MIGRATIONS } from '../../migrations/postgres.js';
import {
  checkTableSet,
  dataTablesAt,
  LIST_COLUMNS,
  TableDigest,
  type Cell,
  type Row,
  type TableSummary,
} from '../../data-tables.js';
import { migrateWith, quoteIdent } from './migrate.js';

const INT8_OID = 20;
const TEXT_ARRAY_OID = 1009;

export interface PgTarget {
  readonly client: pg.Client;
  readonly schema: string;
  close(): Promise<void>;
}

/** One connection whose search path is `schema` (which need not exist yet). */
export async function connectPg(url: string, schema: string): Promise<PgTarget> {
  const client = new pg.Client({
    connectionString: url,
    options: `-c search_path=${quoteIdent(schema)}`,
    application_name: 'ductape-operator',
    connectionTimeoutMillis: 10_000,
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === INT8_OID ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format)) as never,
    },
  });
  await client.connect();
  return { client, schema, close: () => client.end() };
}

export async function pgTables(target: PgTarget): Promise<string[]> {
  const { rows } = await target.client.query<{ name: string }>(
    "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = $1 AND table_type = 'BASE TABLE'",
    [target.schema],
  );
  return rows.map((r) => r.name).sort();
}

/** The schema version (0 when the schema or its migrations table does not exist). */
export async function pgSchemaVersion(target: PgTarget): Promise<number> {
  if (!(await pgTables(target)).includes('schema_migrations')) return 0;
  const { rows } = await target.client.query<{ v: number | null }>(
    'SELECT MAX(version) AS v FROM schema_migrations',
  );
  return rows[0]?.v ?? 0;
}

/** Applies the migrations up to `version` (all of them when omitted). */
export async function pgMigrateTo(target: PgTarget, version?: number): Promise<void> {
  const migrations = POSTGRES_MIGRATIONS.filter((m) => version === undefined || m.version <= version);
  await migrateWith(target.client, target.schema, migrations);
}

/** The data tables that hold at least one row. */
export async function pgNonEmptyTables(target: PgTarget): Promise<string[]> {
  const present = new Set(await pgTables(target));
  const out: string[] = [];
  for (const { name } of dataTablesAt(Number.MAX_SAFE_INTEGER)) {
    if (!present.has(name)) continue;
    const { rows } = await target.client.query<{ any: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM ${name}) AS any`,
    );
    if (rows[0]?.any) out.push(name);
  }
  return out;
}

export async function pgMasterKeyIds(target: PgTarget): Promise<string[]> {
  const { rows } = await target.client.query<{ kek_id: string }>(
    `SELECT kek_id FROM (SELECT kek_id FROM server_keys UNION SELECT kek_id FROM workspace_keys) ids
      ORDER BY kek_id COLLATE "C"`,
  );
  return rows.map((r) => r.kek_id);
}

function asSqliteCell(value: unknown): Cell {
  if (Array.isArray(value)) return JSON.stringify(value);
  return value as Cell;
}

/**
 * Every row of a data table in primary-key order (byte order for text, as in SQLite), read
 * through a cursor 2,000 rows at a time. Call it inside a transaction: with REPEATABLE READ,
 * every table is read from the same snapshot.
 */
export async function* pgRows(target: PgTarget, table: string): AsyncGenerator<Row> {
  const spec = dataTablesAt(Number.MAX_SAFE_INTEGER).find((t) => t.name === table);
  if (!spec) throw new Error(`not a data table: ${table}`);
  const { rows: textColumns } = await target.client.query<{ name: string }>(
    `SELECT column_name AS name FROM information_schema.columns
      WHERE table_schema = $1 AND table_name = $2 AND data_type = 'text'`,
    [target.schema, table],
  );
  const isText = new Set(textColumns.map((c) => c.name));
  const order = spec.key.map((k) => (isText.has(k) ? `${k} COLLATE "C"` : k)).join(', ');
  const cursor = `copy_${table}`;
  await target.client.query(
    `DECLARE ${cursor} NO SCROLL CURSOR FOR SELECT * FROM ${table} ORDER BY ${order}`,
  );
  try {
    for (;;) {
      const { rows } = await target.client.query<Record<string, unknown>>(`FETCH 2000 FROM ${cursor}`);
      for (const raw of rows) {
        const row: Row = {};
        for (const [column, value] of Object.entries(raw)) row[column] = asSqliteCell(value);
        yield row;
      }
      if (rows.length < 2000) break;
    }
  } finally {
    await target.client.query(`CLOSE ${cursor}`);
  }
}

/** Row count and digest of every data table; call it inside a REPEATABLE READ transaction. */
export async function summarizePg(target: PgTarget, version: number): Promise<Record<string, TableSummary>> {
  checkTableSet(await pgTables(target), version, `the PostgreSQL schema '${target.schema}'`);
  const out: Record<string, TableSummary> = {};
  for (const { name } of dataTablesAt(version)) {
    const digest = new TableDigest();
    for await (const row of pgRows(target, name)) digest.add(row);
    out[name] = digest.summary();
  }
  return out;
}

/** Multi-row INSERTs of up to 500 rows (under PostgreSQL's 65,535 parameters at 18 columns). */
export async function pgInserter(
  target: PgTarget,
  table: string,
): Promise<{ add(row: Row): Promise<void>; flush(): Promise<void> }> {
  const { fields } = await target.client.query(`SELECT * FROM ${table} LIMIT 0`);
  const listColumns = new Set(
    fields.filter((f) => f.dataTypeID === TEXT_ARRAY_OID || LIST_COLUMNS.has(f.name)).map((f) => f.name),
  );
  const targetColumns = new Set(fields.map((f) => f.name));
  let batch: Row[] = [];
  let columns: string[] | undefined;
  const flush = async (): Promise<void> => {
    if (batch.length === 0 || columns === undefined) return;
    const cols = columns;
    const values: unknown[] = [];
    const tuples = batch.map((row) => {
      const start = values.length;
      for (const c of cols) {
        const cell = row[c] ?? null;
        values.push(listColumns.has(c) && typeof cell === 'string' ? (JSON.parse(cell) as string[]) : cell);
      }
      return `(${cols.map((_, i) => `$${start + i + 1}`).join(', ')})`;
    });
    await target.client.query(
      `INSERT INTO ${table} (${cols.join(', ')}) VALUES ${tuples.join(', ')}`,
      values,
    );
    batch = [];
  };
  return {
    async add(row) {
      if (columns === undefined) {
        columns = Object.keys(row);
        const strange = columns.filter((c) => !targetColumns.has(c));
        if (strange.length > 0) throw new Error(`${table}: the target has no column ${strange.join(', ')}`);
      }
      batch.push(row);
      if (batch.length >= 500) await flush();
    },
    flush,
  };
}
