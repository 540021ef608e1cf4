/**
 * `ductape-server backup` and `restore`, on each backend: a backup taken while the server
 * runs holds values only as ciphertext and never the master key, records what it holds, and
 * restores (into either store) to a server that serves every secret and version exactly and
 * whose audit chains verify. A restore refuses a non-empty target, a newer schema, another
 * master key and a file altered after it was written, each saying which.
 */
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import Database from 'better-sqlite3';
import { MASTER_KEY_FILE } from '../../src/crypto/key-provider.js';
import { SQLITE_MIGRATIONS } from '../../src/store/migrations/sqlite.js';
import { BACKENDS, describeEachBackend, newMasterKey } from '../helpers/backends.js';
import { runOperator, startTestServer, storeEnv, tempDir, type TestServer } from '../helpers/harness.js';
import { assertServes, emptyStoreLike, fillStore, type Written } from './store-fixtures.js';

describeEachBackend('backup and restore', (backend) => {
  let srv: TestServer;
  let written: Written;
  let dir: string;
  let file: string;
  const cleanups: (() => Promise<void>)[] = [];

  before(async () => {
    srv = await startTestServer({}, backend);
    ({ written } = await fillStore(srv));
    dir = tempDir('ductape-backup-');
    file = join(dir, 'ductape.backup');
  });
  after(async () => {
    await srv.stop();
    for (const cleanup of cleanups) await cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes a checked backup while the server runs, recording what it holds', async () => {
    const result = await runOperator(['backup', '--out', file, '--json', '--quiet'], { env: srv.env });
    assert.equal(result.code, 0, result.stderr);
    const manifest = JSON.parse(result.stdout) as Record<string, unknown> & {
      counts: Record<string, number>;
      master_key_ids: string[];
    };
    assert.equal(manifest.source, backend);
    assert.equal(manifest.schema_version, SQLITE_MIGRATIONS.at(-1)?.version);
    assert.equal(manifest.counts.workspaces, 2);
    assert.equal(manifest.counts.secrets, 12);
    assert.equal(manifest.counts.secret_versions, 2 * (1 + 2 + 3 + 1 + 2 + 3));
    assert.equal(manifest.counts.service_tokens, 2);
    assert.equal(manifest.counts.users, 4);
    assert.ok((manifest.counts.audit_entries ?? 0) >= 30, `${manifest.counts.audit_entries} audit entries`);
    assert.equal(manifest.master_key_ids.length, 1);
    // Never overwrites.
    const again = await runOperator(['backup', '--out', file], { env: srv.env });
    assert.equal(again.code, 2);
    assert.match(again.stderr, /already exists/);
  });

  it('holds no value in the clear and not the master key', () => {
    const bytes = readFileSync(file);
    for (const history of written.values()) {
      for (const values of history.values()) {
        for (const value of values) assert.equal(bytes.includes(value), false, 'a value is in the clear');
      }
    }
    const key = srv.env.DUCTAPE_MASTER_KEY ?? readFileSync(join(srv.dataDir, MASTER_KEY_FILE), 'utf8').trim();
    assert.equal(bytes.includes(key), false, 'the master key (base64) is in the backup');
    assert.equal(bytes.includes(Buffer.from(key, 'base64')), false, 'the master key is in the backup');
  });

  for (const target of BACKENDS) {
    it(`restores into an empty ${target} store that serves everything and verifies`, async () => {
      const store = await emptyStoreLike(target, { env: srv.env, dataDir: srv.dataDir });
      cleanups.push(store.cleanup);
      const restored = await runOperator(['restore', '--from', file, '--json', '--quiet'], {
        env: store.env,
      });
      assert.equal(restored.code, 0, restored.stderr);
      const report = JSON.parse(restored.stdout) as Record<string, number>;
      assert.equal(report.secrets_checked, 12);
      assert.equal(report.audit_chains, 2, 'one chain per workspace');
      await assertServes(store.env, target, written);
      const verify = await runOperator(['audit', 'verify'], { env: store.env });
      assert.equal(verify.code, 0, verify.stdout + verify.stderr);

      // Now it holds data: a second restore is refused.
      const twice = await runOperator(['restore', '--from', file], { env: store.env });
      assert.equal(twice.code, 1);
      assert.match(twice.stderr, target === 'sqlite' ? /already holds a database/ : /is not empty/);
    });
  }

  it('creates the data dir it restores into, given the master key in the environment', async () => {
    const key = srv.env.DUCTAPE_MASTER_KEY ?? readFileSync(join(srv.dataDir, MASTER_KEY_FILE), 'utf8').trim();
    const dataDir = join(dir, 'not-yet', 'data');
    const result = await runOperator(['restore', '--from', file, '--quiet'], {
      env: { DUCTAPE_DATA_DIR: dataDir, DUCTAPE_MASTER_KEY: key },
    });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /Restored .* 12 secrets .* every one of 12 secrets and 24 versions passed/);
  });

  it('refuses another master key, naming both ids', async () => {
    const store = await storeEnv(backend, { DUCTAPE_MASTER_KEY: newMasterKey() });
    cleanups.push(store.cleanup);
    const result = await runOperator(['restore', '--from', file], { env: store.env });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /is wrapped by master key \S+, but the master key given is/);
    assert.equal(existsSync(join(store.env.DUCTAPE_DATA_DIR as string, 'ductape.sqlite')), false);
  });

  it('refuses a data dir with no master key rather than making one', async () => {
    const store = await storeEnv('sqlite');
    cleanups.push(store.cleanup);
    const result = await runOperator(['restore', '--from', file], { env: store.env });
    assert.equal(result.code, 2);
    assert.match(result.stderr, /no master key: set DUCTAPE_MASTER_KEY/);
    assert.equal(existsSync(join(store.env.DUCTAPE_DATA_DIR as string, MASTER_KEY_FILE)), false);
  });

  it('refuses a backup of a newer schema, and one altered after writing', async () => {
    const store = await emptyStoreLike('sqlite', { env: srv.env, dataDir: srv.dataDir });
    cleanups.push(store.cleanup);

    const newer = join(dir, 'newer.backup');
    copyFileSync(file, newer);
    const db = new Database(newer);
    const manifest = JSON.parse(
      db.prepare('SELECT manifest FROM ductape_backup').pluck().get() as string,
    ) as {
      schema_version: number;
    };
    db.prepare('UPDATE ductape_backup SET manifest = ?').run(
      JSON.stringify({ ...manifest, schema_version: 999 }),
    );
    db.close();
    const tooNew = await runOperator(['restore', '--from', newer], { env: store.env });
    assert.equal(tooNew.code, 1);
    assert.match(tooNew.stderr, /schema version 999, newer than this ductape-server knows/);

    const altered = join(dir, 'altered.backup');
    copyFileSync(file, altered);
    const edit = new Database(altered);
    const sealed = Buffer.from(
      edit.prepare("SELECT sealed FROM secrets WHERE key = 'KEY_0'").pluck().get() as Buffer,
    );
    sealed[sealed.length - 1] = (sealed[sealed.length - 1] as number) ^ 1;
    edit.prepare("UPDATE secrets SET sealed = ? WHERE key = 'KEY_0'").run(sealed);
    edit.close();
    const refused = await runOperator(['restore', '--from', altered], { env: store.env });
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /does not match its manifest: secrets: the content differs/);
    assert.equal(existsSync(join(store.env.DUCTAPE_DATA_DIR as string, 'ductape.sqlite')), false);
  });
});
