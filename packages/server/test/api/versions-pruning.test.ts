/**
 * How many versions are kept, and what is stored of them: with DUCTAPE_KEEP_VERSIONS=3 only
 * the last three remain and the older ciphertexts are gone from the database, version numbers
 * keep counting, the default keeps twenty (and a lowered setting applies from the next start),
 * and no old value is ever on disk in the clear.
 */
import type Ductape from '@ductape/sdk';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config.js';
import { describeEachBackend } from '../helpers/backends.js';
import { startTestServer, type TestServer } from '../helpers/harness.js';
import { expectError, serverSql, tag } from '../helpers/usage.js';

interface StoredVersion {
  version: number;
  sealed: Buffer;
}

/** What the database really holds for a secret, read behind the server's back. */
async function storedVersions(server: TestServer, secretId: string): Promise<StoredVersion[]> {
  const rows = (await serverSql(
    server,
    'SELECT version, sealed FROM secret_versions WHERE secret_id = $1 ORDER BY version',
    [secretId],
  )) as { version: number | string; sealed: Buffer }[];
  return rows.map((r) => ({ version: Number(r.version), sealed: Buffer.from(r.sealed) }));
}

/** Creates a secret and changes its value until it has `count` versions; returns the values. */
async function withVersions(client: Ductape, key: string, count: number): Promise<string[]> {
  const values = Array.from({ length: count }, (_, i) => `${key.toLowerCase()}-v${i + 1}-${tag()}`);
  await client.secrets.create({ key, value: values[0] as string });
  for (const value of values.slice(1)) await client.secrets.update(key, { value });
  return values;
}

describeEachBackend('version pruning', (backend) => {
  let server: TestServer;
  let owner: Ductape;

  before(async () => {
    server = await startTestServer({ DUCTAPE_KEEP_VERSIONS: '3' }, backend);
    owner = server.client(server.owner);
  });
  after(() => server.stop());

  it('keeps the last 3 versions and destroys the older ciphertexts', async () => {
    const key = `PRUNED_${tag()}`;
    const values = [`pruned-v1-${tag()}`];
    const first = await owner.secrets.create({ key, value: values[0] as string });
    const [v1] = await storedVersions(server, first._id);
    assert.ok(v1 && v1.sealed.length > 0, 'version 1 is stored');
    for (let n = 2; n <= 6; n++) {
      const value = `pruned-v${n}-${tag()}`;
      values.push(value);
      assert.equal((await owner.secrets.update(key, { value })).version, n);
    }

    assert.deepEqual(
      (await owner.secrets.versions(key)).map((v) => v.version),
      [6, 5, 4],
    );
    for (const version of [1, 2, 3]) {
      await expectError(owner.secrets.fetch(key, { version }), {
        status: 404,
        code: 'VERSION_NOT_FOUND',
        message: new RegExp(`'${key}'.*\\bversion ${version}\\b`),
      });
    }
    for (const version of [4, 5, 6]) {
      assert.equal((await owner.secrets.fetch(key, { version })).value, values[version - 1]);
    }

    const stored = await storedVersions(server, first._id);
    assert.deepEqual(
      stored.map((s) => s.version),
      [4, 5, 6],
      'only the kept versions are in the database',
    );
    const everywhere = (await serverSql(server, 'SELECT sealed FROM secret_versions')) as {
      sealed: Buffer;
    }[];
    const current = (await serverSql(server, 'SELECT sealed FROM secrets')) as { sealed: Buffer }[];
    for (const row of [...everywhere, ...current]) {
      assert.equal(Buffer.from(row.sealed).equals(v1.sealed), false, "version 1's ciphertext is gone");
    }
  });

  it('version numbers keep counting after pruning, rollback included', async () => {
    const key = `COUNTING_${tag()}`;
    const values = await withVersions(owner, key, 5);
    assert.equal((await owner.secrets.update(key, { value: 'counting-v6' })).version, 6);
    assert.deepEqual(
      (await owner.secrets.versions(key)).map((v) => v.version),
      [6, 5, 4],
    );
    // Rolling back to the oldest kept version prunes that very version, not the value.
    assert.equal((await owner.secrets.rollback(key, 4)).version, 7);
    assert.deepEqual(
      (await owner.secrets.versions(key)).map((v) => v.version),
      [7, 6, 5],
    );
    assert.equal((await owner.secrets.fetch(key)).value, values[3]);
    await expectError(owner.secrets.fetch(key, { version: 4 }), { status: 404, code: 'VERSION_NOT_FOUND' });
    await expectError(owner.secrets.rollback(key, 2), { status: 404, code: 'VERSION_NOT_FOUND' });
    assert.equal((await owner.secrets.fetch(key)).version, 7, 'the refused rollback wrote nothing');
  });

  it('prunes each secret on its own, metadata-only versions counted like any other', async () => {
    const busy = `BUSY_${tag()}`;
    const quiet = `QUIET_${tag()}`;
    const quietValues = await withVersions(owner, quiet, 2);
    const busyValues = await withVersions(owner, busy, 3);
    for (let i = 0; i < 2; i++) await owner.secrets.update(busy, { description: `meta ${i}` });
    assert.deepEqual(
      (await owner.secrets.versions(busy)).map((v) => v.version),
      [5, 4, 3],
    );
    assert.equal(
      (await owner.secrets.fetch(busy, { version: 4 })).value,
      busyValues[2],
      'the value carried over',
    );
    for (let i = 0; i < 4; i++) await owner.secrets.update(busy, { value: `busy-more-${i}` });
    assert.equal((await owner.secrets.versions(busy)).length, 3);
    assert.deepEqual(
      (await owner.secrets.versions(quiet)).map((v) => v.version),
      [2, 1],
    );
    assert.equal((await owner.secrets.fetch(quiet, { version: 1 })).value, quietValues[0]);
  });
});

describeEachBackend('version retention by default', (backend) => {
  let server: TestServer;

  before(async () => {
    server = await startTestServer({}, backend);
  });
  after(() => server.stop());

  it('keeps the last 20 versions', async () => {
    const owner = server.client(server.owner);
    const key = `DEFAULT_${tag()}`;
    const values = await withVersions(owner, key, 22);
    const listed = (await owner.secrets.versions(key)).map((v) => v.version);
    assert.deepEqual(
      listed,
      Array.from({ length: 20 }, (_, i) => 22 - i),
    );
    await expectError(owner.secrets.fetch(key, { version: 2 }), { status: 404, code: 'VERSION_NOT_FOUND' });
    assert.equal((await owner.secrets.fetch(key, { version: 3 })).value, values[2]);
    const meta = await owner.secrets.list();
    const id = meta.find((s) => s.key === key)?._id as string;
    assert.equal((await storedVersions(server, id)).length, 20);

    // Lowering the setting destroys the surplus when a server starts with it, not only
    // at each secret's next change (this secret may never change again).
    const stricter = await startTestServer({ ...server.env, DUCTAPE_KEEP_VERSIONS: '3' }, backend);
    try {
      const there = stricter.client(server.owner);
      assert.deepEqual(
        (await there.secrets.versions(key)).map((v) => v.version),
        [22, 21, 20],
      );
      await expectError(there.secrets.fetch(key, { version: 19 }), {
        status: 404,
        code: 'VERSION_NOT_FOUND',
      });
      assert.deepEqual(
        (await storedVersions(server, id)).map((s) => s.version),
        [20, 21, 22],
      );
    } finally {
      await stricter.server.close();
    }
  });
});

describe('DUCTAPE_KEEP_VERSIONS', () => {
  it('must be a whole number from 1; a bad one names the variable', () => {
    assert.equal(loadConfig({ DUCTAPE_KEEP_VERSIONS: '7' }).versionsToKeep, 7);
    assert.equal(loadConfig({}).versionsToKeep, 20);
    for (const bad of ['0', '-1', 'many', '2.5']) {
      assert.throws(
        () => loadConfig({ DUCTAPE_KEEP_VERSIONS: bad }),
        (error: Error) => error instanceof ConfigError && /DUCTAPE_KEEP_VERSIONS/.test(error.message),
        bad,
      );
    }
  });
});

describe('old versions at rest [sqlite]', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({}, 'sqlite');
  });
  after(() => server.stop());

  it('no value of any version is in any file of the data dir, in any common encoding', async () => {
    const owner = server.client(server.owner);
    const key = `AT_REST_HISTORY_${tag()}`;
    const values = await withVersions(owner, key, 4);
    await owner.secrets.rollback(key, 1);
    assert.equal((await owner.secrets.fetch(key, { version: 2 })).value, values[1]);

    const files = readdirSync(server.dataDir).map((name) => ({
      name,
      content: readFileSync(join(server.dataDir, name)),
    }));
    const seen = files.filter((f) => f.content.includes(Buffer.from(key))).map((f) => f.name);
    assert.ok(seen.length > 0, 'the scan sees the stored data (the key is stored in the clear)');
    const leaks: string[] = [];
    for (const value of values) {
      const utf8 = Buffer.from(value);
      const forms = {
        utf8,
        utf16le: Buffer.from(value, 'utf16le'),
        base64: Buffer.from(utf8.toString('base64')),
        base64url: Buffer.from(utf8.toString('base64url')),
        hex: Buffer.from(utf8.toString('hex')),
      };
      for (const [encoding, needle] of Object.entries(forms)) {
        for (const file of files)
          if (file.content.includes(needle)) leaks.push(`${value} as ${encoding} in ${file.name}`);
      }
    }
    assert.deepEqual(leaks, [], 'an old value is stored in the clear');
  });
});
