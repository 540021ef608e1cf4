/**
 * `ductape-server migrate-store --to postgres://...`: a SQLite deployment moved to PostgreSQL
 * serves every secret and version exactly, with the same users and credentials, and its audit
 * chains verify and export unchanged. A copy that fails half-way leaves the target empty and
 * a second run completes it; a target that holds data is refused.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MASTER_KEY_FILE } from '../../src/crypto/key-provider.js';
import { DATA_TABLES } from '../../src/store/data-tables.js';
import { freshPgSchema, PG_SKIP_REASON, PG_URL, pgSql } from '../helpers/backends.js';
import { runOperator, startTestServer, type TestServer } from '../helpers/harness.js';
import { assertServes, fillStore, type Written } from './store-fixtures.js';

describe('migrate-store from SQLite to PostgreSQL', { skip: PG_SKIP_REASON }, () => {
  let srv: TestServer;
  let written: Written;
  let sourceEnv: Record<string, string>;
  let target: Awaited<ReturnType<typeof freshPgSchema>>;
  let targetEnv: Record<string, string>;

  before(async () => {
    srv = await startTestServer({}, 'sqlite');
    ({ written } = await fillStore(srv));
    // The move is made with the SQLite server stopped, as the docs say.
    await srv.server.close();
    sourceEnv = { DUCTAPE_DATA_DIR: srv.dataDir };
    target = await freshPgSchema();
    targetEnv = {
      DATABASE_URL: PG_URL,
      DUCTAPE_PG_SCHEMA: target.schema,
      DUCTAPE_MASTER_KEY: readFileSync(join(srv.dataDir, MASTER_KEY_FILE), 'utf8').trim(),
    };
  });
  after(async () => {
    await srv.stop();
    await target.drop();
  });

  const rowsIn = async (table: string): Promise<number> =>
    Number((await pgSql<{ n: string }>(`SELECT COUNT(*) AS n FROM ${target.schema}.${table}`))[0]?.n);

  it('leaves the target empty when the copy fails half-way', async () => {
    // An empty schema at the current version is a fine target; the trigger fails the copy at
    // the audit log, after most tables were written.
    const migrated = await runOperator(['migrate'], { env: targetEnv });
    assert.equal(migrated.code, 0, migrated.stderr);
    await pgSql(`CREATE FUNCTION ${target.schema}.cut() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'connection cut'; END $$`);
    await pgSql(
      `CREATE TRIGGER cut BEFORE INSERT ON ${target.schema}.audit_log FOR EACH ROW EXECUTE FUNCTION ${target.schema}.cut()`,
    );
    const cut = await runOperator(['migrate-store', '--to', PG_URL, '--schema', target.schema, '--quiet'], {
      env: sourceEnv,
    });
    assert.equal(cut.code, 1);
    assert.match(cut.stderr, /connection cut/);
    for (const { name } of DATA_TABLES) assert.equal(await rowsIn(name), 0, `${name} kept rows`);
    await pgSql(`DROP TRIGGER cut ON ${target.schema}.audit_log`);
  });

  it('copies everything on a second run, checks it and verifies the chains', async () => {
    const moved = await runOperator(['migrate-store', '--to', PG_URL, '--schema', target.schema, '--json'], {
      env: sourceEnv,
    });
    assert.equal(moved.code, 0, moved.stderr);
    const report = JSON.parse(moved.stdout) as {
      counts: Record<string, number>;
      rows: Record<string, number>;
      audit_chains: number;
      secrets_checked: number;
    };
    assert.equal(report.counts.secrets, 12);
    assert.equal(report.counts.workspaces, 2);
    assert.equal(report.secrets_checked, 12);
    assert.equal(report.audit_chains, 2);
    for (const [table, rows] of Object.entries(report.rows)) assert.equal(await rowsIn(table), rows, table);
    assert.match(moved.stderr, /secrets\s+12 rows/);
  });

  it('serves every secret and version, to the same credentials', async () => {
    await assertServes(targetEnv, 'postgres', written);
  });

  it('keeps the audit chains unchanged', async () => {
    const source = await runOperator(['audit', 'export'], { env: sourceEnv });
    const moved = await runOperator(['audit', 'export'], { env: targetEnv });
    assert.equal(source.code, 0, source.stderr);
    assert.equal(moved.code, 0, moved.stderr);
    // The PostgreSQL server appended its own entries (reads by the check above) after the copy.
    const sourceLines = source.stdout.trim().split('\n');
    const movedLines = new Set(moved.stdout.trim().split('\n'));
    assert.ok(sourceLines.length > 30);
    for (const line of sourceLines)
      assert.ok(movedLines.has(line), `not carried over: ${line.slice(0, 120)}`);
    const verify = await runOperator(['audit', 'verify'], { env: targetEnv });
    assert.equal(verify.code, 0, verify.stdout + verify.stderr);
  });

  it('refuses a target that holds data, and a URL that is not PostgreSQL', async () => {
    const again = await runOperator(['migrate-store', '--to', PG_URL, '--schema', target.schema], {
      env: sourceEnv,
    });
    assert.equal(again.code, 1);
    assert.match(
      again.stderr,
      new RegExp(`the target schema '${target.schema}' is not empty \\(server_keys, `),
    );
    const bad = await runOperator(['migrate-store', '--to', 'mysql://x'], { env: sourceEnv });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--to: must be a postgres:\/\//);
  });
});
