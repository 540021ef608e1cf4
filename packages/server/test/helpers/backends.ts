/**
 * The store backends every store and end-to-end suite runs against: SQLite always, and
 * PostgreSQL when DUCTAPE_TEST_PG_URL (default postgres://postgres@127.0.0.1:5432/test)
 * answers. Each PostgreSQL run gets a fresh schema of its own, dropped afterwards, so runs
 * never see each other's data.
 *
 * When PostgreSQL cannot be reached: locally, its runs are reported as skipped with a loud
 * reason; in CI (CI=true) that is a failure, never a skip.
 */
import { randomBytes } from 'node:crypto';
import { describe } from 'node:test';
import pg from 'pg';

export const PG_URL = process.env.DUCTAPE_TEST_PG_URL || 'postgres://postgres@127.0.0.1:5432/test';
export const IN_CI = process.env.CI === 'true' || process.env.CI === '1';

export type BackendName = 'sqlite' | 'postgres';

async function probe(): Promise<string | undefined> {
  // A server that is down refuses at once; the long wait only matters on a busy machine,
  // where a 3 s limit made a running PostgreSQL look absent (and CI fail for it).
  const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 20_000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return undefined;
  } catch (error) {
    return (error as Error).message || String(error);
  } finally {
    await client.end().catch(() => undefined);
  }
}

const unreachable = await probe();
if (unreachable !== undefined) {
  const line = `PostgreSQL at ${PG_URL} is unreachable (${unreachable})`;
  if (IN_CI) throw new Error(`${line}: in CI the PostgreSQL runs must not be skipped`);
  process.stderr.write(
    `\n*** SKIPPING every PostgreSQL run: ${line}. Start PostgreSQL or set DUCTAPE_TEST_PG_URL. ***\n\n`,
  );
}

export const PG_SKIP_REASON =
  unreachable === undefined ? undefined : `PostgreSQL at ${PG_URL} is unreachable: ${unreachable}`;

/** The backends to run against here; PostgreSQL only when reachable. */
export const BACKENDS: readonly BackendName[] =
  unreachable === undefined ? ['sqlite', 'postgres'] : ['sqlite'];

/**
 * Declares a suite once per backend, titled `title [backend]`. An unreachable PostgreSQL
 * shows up as a skipped suite with the reason, not as silence.
 */
export function describeEachBackend(title: string, body: (backend: BackendName) => void): void {
  for (const backend of ['sqlite', 'postgres'] as const) {
    if (backend === 'postgres' && PG_SKIP_REASON !== undefined) {
      describe(`${title} [postgres]`, { skip: PG_SKIP_REASON }, () => undefined);
    } else {
      describe(`${title} [${backend}]`, () => body(backend));
    }
  }
}

/** One statement on the test PostgreSQL, on a connection of its own, behind the server's back. */
export async function pgSql<R extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<R[]> {
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  try {
    return (await client.query<R>(text, values)).rows;
  } finally {
    await client.end();
  }
}

/** A fresh, empty schema on the test PostgreSQL; `drop()` removes it and all it holds. */
export async function freshPgSchema(): Promise<{ schema: string; drop(): Promise<void> }> {
  const schema = `ductape_test_${randomBytes(6).toString('hex')}`;
  return {
    schema,
    async drop() {
      const client = new pg.Client({ connectionString: PG_URL });
      await client.connect();
      try {
        await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      } finally {
        await client.end();
      }
    },
  };
}

/** A new base64 master key. */
export function newMasterKey(): string {
  return randomBytes(32).toString('base64');
}
