/**
 * PostgreSQL's side of the shared statements (store/sql/): lists are text[], a list
 * parameter is one text[] value, and placeholders are numbered (`$1`...), once per statement.
 * Also the two ways this backend runs SQL, which every domain part is handed: a statement
 * through the pool, or a transaction on one connection, passed to its work as an argument.
 */
import type pg from 'pg';
import type { SqlDialect } from '../../sql/dialect.js';

export const PG_DIALECT: SqlDialect = {
  emptyList: "'{}'::text[]",
  inList: (column) => `${column} = ANY(?::text[])`,
};

/** `sql` with its `?` placeholders numbered `$1`, `$2`... in order. */
export function numbered(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

type Statements = { readonly [name: string]: string | Statements };
type Numbered<T> = { readonly [K in keyof T]: T[K] extends string ? string : Numbered<T[K]> };

/** Every statement of a (nested) table of shared statements, numbered. */
export function numberedAll<T extends Statements>(statements: T): Numbered<T> {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(statements)) {
    out[name] = typeof value === 'string' ? numbered(value) : numberedAll(value);
  }
  return out as Numbered<T>;
}

/** The placeholder style of builders that take one (`p(n)`). */
export const pgPlaceholder = (n: number): string => `$${n}`;

/** A connection, or the pool: anything a statement can run on. */
export type Queryable = Pick<pg.PoolClient, 'query'>;

/** A statement through the pool, with connection failures turned into StoreUnavailableError. */
export type Query = <R extends pg.QueryResultRow>(
  text: string,
  values?: unknown[],
  name?: string,
) => Promise<pg.QueryResult<R>>;

/** Runs `work` in one transaction, on the connection it is given; commits when it resolves. */
export type Transaction = <T>(work: (client: pg.PoolClient) => Promise<T>) => Promise<T>;

export interface PgContext {
  query: Query;
  /** A named statement through the pool whose rows come as arrays (no object per row). */
  queryArrays<R extends unknown[]>(name: string, text: string, values: unknown[]): Promise<R[]>;
  transaction: Transaction;
}
