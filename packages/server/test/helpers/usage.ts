/**
 * Shared by the resolve, export and service-token suites: asserting an SDK error exactly
 * (status, code, message, and that no secret value rides along), and raw SQL on a running
 * test server's own database, to set what no API may (a token's expiry in the past).
 */
import { DuctapeError } from '@ductape/sdk';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { PG_URL } from './backends.js';
import type { TestServer } from './harness.js';

export const tag = (): string => randomBytes(6).toString('hex');

export interface Expected {
  status: number;
  code: string;
  /** The exact message, or a pattern it must match. */
  message?: string | RegExp;
  field?: string;
  /** Strings (secret values, tokens) that must appear nowhere in the error. */
  absent?: readonly string[];
}

/** Expects `call` to fail with a DuctapeError carrying exactly this status, code and message. */
export async function expectError(call: Promise<unknown>, expected: Expected): Promise<DuctapeError> {
  let caught: unknown;
  try {
    await call;
  } catch (error) {
    caught = error;
  }
  assert.ok(
    caught instanceof DuctapeError,
    `expected a DuctapeError ${expected.code}, got ${String(caught)}`,
  );
  const body = JSON.stringify({ message: caught.message, data: caught.response?.data });
  assert.equal(caught.status, expected.status, body);
  assert.equal(caught.code, expected.code, body);
  assert.equal(caught.response?.status, expected.status);
  if (typeof expected.message === 'string') assert.equal(caught.message, expected.message);
  else if (expected.message) assert.match(caught.message, expected.message);
  if (expected.field !== undefined) assert.equal(caught.response?.data.field, expected.field, body);
  for (const value of expected.absent ?? []) {
    assert.equal(body.includes(value), false, `a secret value leaked into the error: ${body.slice(0, 300)}`);
  }
  return caught;
}

/** Asserts that none of `values` occurs in `text` (a JSON answer). */
export function assertAbsent(text: string, values: readonly string[], what: string): void {
  const leaked = values.filter((v) => text.includes(v) || text.includes(JSON.stringify(v).slice(1, -1)));
  assert.deepEqual(leaked, [], `${what} holds a secret value`);
}

/**
 * Runs SQL on the server's database, behind its back. Write placeholders as `$1, $2...`;
 * on SQLite each use becomes a `?`.
 */
export async function serverSql(
  server: TestServer,
  text: string,
  values: unknown[] = [],
): Promise<unknown[]> {
  if (server.backend === 'sqlite') {
    const { default: Database } = await import('better-sqlite3');
    const db = new Database(join(server.dataDir, 'ductape.sqlite'));
    try {
      db.pragma('busy_timeout = 5000');
      // `$n` may repeat: SQLite gets one `?` per use, bound in the order of use.
      const bound: unknown[] = [];
      const statement = db.prepare(
        text.replace(/\$(\d+)/g, (_, n: string) => {
          bound.push(values[Number(n) - 1]);
          return '?';
        }),
      );
      return statement.reader ? statement.all(...bound) : [statement.run(...bound)];
    } finally {
      db.close();
    }
  }
  const { default: pg } = await import('pg');
  const schema = server.env.DUCTAPE_PG_SCHEMA as string;
  const client = new pg.Client({ connectionString: PG_URL, options: `-c search_path=${schema}` });
  await client.connect();
  try {
    return (await client.query(text, values)).rows as unknown[];
  } finally {
    await client.end();
  }
}
