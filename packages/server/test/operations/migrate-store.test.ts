/**
 * `ductape-server migrate-store --to postgres://...`: a SQLite deployment moved to PostgreSQL
 * serves every secret and version exactly, with the same users and credentials, and its audit
 * chains verify and export unchanged. A copy that fails half-way, or whose process is killed
 * half-way, leaves the target empty and a later run completes it; a target that holds data
 * is refused.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { MASTER_KEY_FILE } from '../../src/crypto/key-provider.js';
import { DATA_TABLES } from '../../src/store/data-tables.js';
import { freshPgSchema, PG_SKIP_REASON, PG_URL, pgSql } from '../helpers/backends.js';
import { OPERATOR_ENTRY, runOperator, startTestServer, type TestServer } from '../helpers/harness.js';
import { sleep } from '../helpers/http.js';
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

  it('leaves the target empty when the command is killed mid-copy (SIGKILL)', async () => {
    // Hold the audit log against writes (reads still pass) so the copy is caught after the
    // tables before it, then kill it.
    assert.equal((await runOperator(['migrate'], { env: targetEnv })).code, 0);
    const blocker = new pg.Client({ connectionString: PG_URL });
    await blocker.connect();
    let child: ChildProcess | undefined;
    try {
      await blocker.query('BEGIN');
      await blocker.query(`LOCK TABLE ${target.schema}.audit_log IN SHARE MODE`);
      child = spawn(
        process.execPath,
        [OPERATOR_ENTRY, 'migrate-store', '--to', PG_URL, '--schema', target.schema],
        { env: { PATH: process.env.PATH, ...sourceEnv }, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let progress = '';
      child.stderr?.setEncoding('utf8').on('data', (d: string) => (progress += d));
      for (const deadline = Date.now() + 30_000; !/secret_versions/.test(progress);) {
        assert.ok(Date.now() < deadline, `the copy did not reach the audit log: ${progress}`);
        await sleep(50);
      }
      const exited = new Promise((done) => child?.on('exit', done));
      child.kill('SIGKILL');
      await exited;
    } finally {
      if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await blocker.query('ROLLBACK');
      await blocker.end();
    }
    // PostgreSQL rolls the copy back once it finds its client gone.
    for (const deadline = Date.now() + 30_000; ; await sleep(100)) {
      const [row] = await pgSql<{ n: string }>(
        "SELECT COUNT(*) AS n FROM pg_stat_activity WHERE application_name = 'ductape-operator'",
      );
      if (Number(row?.n) === 0) break;
      assert.ok(Date.now() < deadline, 'the killed copy is still in PostgreSQL');
    }
    for (const { name } of DATA_TABLES) assert.equal(await rowsIn(name), 0, `${name} kept rows`);
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
