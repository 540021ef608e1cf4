/**
 * SQLite's side of the shared statements (store/sql/): lists are JSON text, a list parameter
 * is JSON text read with json_each (one statement for any number of values).
 */
import type { SqlDialect } from '../../sql/dialect.js';

export const SQLITE_DIALECT: SqlDialect = {
  emptyList: "'[]'",
  inList: (column) => `${column} IN (SELECT value FROM json_each(?))`,
};

/** A list parameter (see `inList`). */
export const listParam = (values: readonly string[]): string => JSON.stringify(values);

// Most secrets have no scope and no environments: '[]' needs no parser.
export const parseList = (json: string): string[] => (json === '[]' ? [] : (JSON.parse(json) as string[]));
