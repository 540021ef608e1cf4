/**
 * `Store.keys`, run against every backend: the queries and conditional writes key rotation
 * relies on. Rows are planted with fake wrapped keys and hand-made sealed headers, so every
 * filter on a data key version and every "only if unchanged" is checked on its own.
 */
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import type { SecretRow, Store } from '../src/store/types.js';
import { describeEachBackend } from './helpers/backends.js';
import { openTestStore, type TestStore } from './helpers/stores.js';

/** A fake sealed value whose header names data key `dekVersion`; `tag` makes it unique. */
function sealedUnder(dekVersion: number, tag: string): Buffer {
  const header = Buffer.alloc(5);
  header[0] = 1;
  header.writeUInt32BE(dekVersion, 1);
  return Buffer.concat([header, Buffer.from(tag)]);
}

function secret(id: string, workspaceId: string, key: string, sealed: Buffer): SecretRow {
  return {
    id,
    workspaceId,
    key,
    description: null,
    tokenType: null,
    scope: [],
    envs: [],
    expiresAt: null,
    revokedAt: null,
    version: 1,
    createdAt: 1,
    updatedAt: 1,
    sealed,
    mac: null,
  };
}

describeEachBackend('store: key rotation', (backend) => {
  let t: TestStore;
  let store: Store;

  before(async () => {
    t = await openTestStore(backend);
    store = t.store;
    for (const ws of ['ws1', 'ws2']) {
      await store.createWorkspace(
        { id: ws, name: ws, createdAt: 1 },
        { workspaceId: ws, version: 1, kekId: 'old', wrapped: Buffer.from(`${ws}-v1`) },
        {
          id: `owner-${ws}`,
          workspaceId: ws,
          role: 'owner',
          keyHash: Buffer.alloc(32),
          keyGeneration: 1,
          createdAt: 1,
          removedAt: null,
        },
      );
    }
    await store.keys.putServerKeyOnce({ name: 'signing', kekId: 'old', wrapped: Buffer.from('s') });
    await store.keys.putServerKeyOnce({ name: 'audit', kekId: 'old', wrapped: Buffer.from('a') });
  });
  after(() => t.cleanup());

  it('adds data key versions once each and reports the newest', async () => {
    assert.equal(await store.keys.latestKeyVersion('ws1'), 1);
    assert.equal(await store.keys.latestKeyVersion('nowhere'), undefined);
    const v2 = { workspaceId: 'ws1', version: 2, kekId: 'old', wrapped: Buffer.from('ws1-v2') };
    assert.equal(await store.keys.addWorkspaceKey(v2, 5), true);
    assert.equal(await store.keys.addWorkspaceKey({ ...v2, wrapped: Buffer.from('loser') }, 6), false);
    assert.equal(await store.keys.latestKeyVersion('ws1'), 2);
    assert.deepEqual(
      (await store.keys.workspaceKeys('ws1'))
        .sort((a, b) => a.version - b.version)
        .map((k) => k.wrapped.toString()),
      ['ws1-v1', 'ws1-v2'],
    );
    assert.equal(await store.keys.latestKeyVersion('ws2'), 1, 'another workspace is untouched');
  });

  it('re-wraps a key only if it is still under the master key it was read under', async () => {
    assert.deepEqual(await store.keys.masterKeyUsage(), [{ kekId: 'old', workspaceKeys: 3, serverKeys: 2 }]);
    const first = await store.keys.workspaceKeysNotWrappedBy('new', undefined, 2);
    assert.deepEqual(
      first.map((k) => [k.workspaceId, k.version]),
      [
        ['ws1', 1],
        ['ws1', 2],
      ],
    );
    const rest = await store.keys.workspaceKeysNotWrappedBy('new', { workspaceId: 'ws1', version: 2 }, 10);
    assert.deepEqual(
      rest.map((k) => [k.workspaceId, k.version]),
      [['ws2', 1]],
    );
    const row = first[0]!;
    assert.equal(
      await store.keys.rewrapWorkspaceKey({ ...row, kekId: 'new', wrapped: Buffer.from('w') }, 'old'),
      true,
    );
    // A second run that read the same row before the first one wrote: its write does not land.
    assert.equal(
      await store.keys.rewrapWorkspaceKey({ ...row, kekId: 'other', wrapped: Buffer.from('x') }, 'old'),
      false,
    );
    const stored = (await store.keys.workspaceKeys('ws1')).find((k) => k.version === 1);
    assert.deepEqual([stored?.kekId, stored?.wrapped.toString()], ['new', 'w']);
    assert.equal((await store.keys.workspaceKeysNotWrappedBy('new', undefined, 10)).length, 2);

    const servers = await store.keys.serverKeys();
    assert.deepEqual(
      servers.map((s) => s.name),
      ['audit', 'signing'],
    );
    assert.equal(
      await store.keys.rewrapServerKey(
        { name: 'audit', version: 1, kekId: 'new', wrapped: Buffer.from('A'), retiredAt: null },
        'old',
      ),
      true,
    );
    assert.equal(
      await store.keys.rewrapServerKey(
        { name: 'audit', version: 1, kekId: 'x', wrapped: Buffer.from('X'), retiredAt: null },
        'old',
      ),
      false,
    );
    assert.deepEqual(await store.keys.getServerKey('audit'), {
      name: 'audit',
      version: 1,
      kekId: 'new',
      wrapped: Buffer.from('A'),
      retiredAt: null,
    });
    assert.deepEqual(await store.keys.masterKeyUsage(), [
      { kekId: 'new', workspaceKeys: 1, serverKeys: 1 },
      { kekId: 'old', workspaceKeys: 2, serverKeys: 1 },
    ]);
  });

  it('adds server key versions once each, replaces one only if unchanged, and reads the newest', async () => {
    const v = (version: number, wrapped: string, retiredAt: number | null = null) => ({
      name: 'rotated',
      version,
      kekId: 'k',
      wrapped: Buffer.from(wrapped),
      retiredAt,
    });
    assert.equal(await store.keys.latestServerKeyVersion('rotated'), undefined);
    assert.equal(await store.keys.addServerKeyVersion(v(1, 'one')), true);
    assert.equal(await store.keys.addServerKeyVersion(v(2, 'two')), true);
    assert.equal(await store.keys.addServerKeyVersion(v(2, 'loser')), false, 'a concurrent rotation');
    assert.equal(await store.keys.latestServerKeyVersion('rotated'), 2);
    assert.deepEqual((await store.keys.getServerKey('rotated'))?.wrapped.toString(), 'two');
    // Retiring version 1: only if its bytes are still those read.
    const retired = v(1, 'one-retired', 1_700_000_000_000);
    assert.equal(await store.keys.replaceServerKeyVersion(retired, Buffer.from('stale')), false);
    assert.equal(await store.keys.replaceServerKeyVersion(retired, Buffer.from('one')), true);
    assert.deepEqual(await store.keys.serverKeyVersions('rotated'), [retired, v(2, 'two')]);
    // putServerKeyOnce leaves a rotated key alone.
    const kept = await store.keys.putServerKeyOnce({
      name: 'rotated',
      kekId: 'z',
      wrapped: Buffer.from('z'),
    });
    assert.deepEqual(kept, v(2, 'two'));
  });

  it('finds the values under older data key versions, in order, current values and history alike', async () => {
    // ws1: A at v1 then v2 (history: v1 under dek 1, v2 under dek 1), B under dek 2; ws2: C under dek 1.
    await store.insertSecret(secret('id-a', 'ws1', 'A', sealedUnder(1, 'a1')), 't');
    await store.modifySecret(
      'ws1',
      'A',
      async () => ({ updatedAt: 2, version: 2, sealed: sealedUnder(1, 'a2') }),
      't',
    );
    await store.insertSecret(secret('id-b', 'ws1', 'B', sealedUnder(2, 'b1')), 't');
    await store.insertSecret(secret('id-c', 'ws2', 'C', sealedUnder(1, 'c1')), 't');

    assert.equal(await store.keys.countSealedBelow('ws1', 2), 3, 'A current + A v1 + A v2 in history');
    assert.equal(await store.keys.countSealedBelow('ws1', 1), 0);
    assert.equal(await store.keys.countSealedBelow('ws2', 2), 2);
    const current = await store.keys.sealedBelow('ws1', 'secrets', 2, undefined, 10);
    assert.deepEqual(
      current.map((v) => [v.table, v.secretId, v.version, v.sealed.subarray(5).toString()]),
      [['secrets', 'id-a', 2, 'a2']],
    );
    const history = await store.keys.sealedBelow('ws1', 'secret_versions', 2, undefined, 1);
    assert.deepEqual(
      history.map((v) => [v.secretId, v.version]),
      [['id-a', 1]],
    );
    const next = await store.keys.sealedBelow(
      'ws1',
      'secret_versions',
      2,
      { secretId: 'id-a', version: 1 },
      10,
    );
    assert.deepEqual(
      next.map((v) => [v.secretId, v.version]),
      [['id-a', 2]],
    );
    assert.deepEqual(
      (await store.keys.dataKeyUsage('ws1')).map((u) => [u.version, u.values]),
      [
        [1, 3],
        [2, 2],
      ],
    );
  });

  it('re-seals a value only if its sealed bytes are still those read', async () => {
    const [a] = await store.keys.sealedBelow('ws1', 'secrets', 2, undefined, 10);
    const history = await store.keys.sealedBelow('ws1', 'secret_versions', 2, undefined, 10);
    // A user updates A between the read and the write: the re-encryption of A's current value loses.
    await store.modifySecret(
      'ws1',
      'A',
      async () => ({ updatedAt: 3, version: 3, sealed: sealedUnder(2, 'a3') }),
      't',
    );
    const written = await store.keys.resealIfUnchanged([
      { value: a!, resealed: sealedUnder(2, 'stale') },
      ...history.map((h) => ({ value: h, resealed: sealedUnder(2, `re-${h.version}`) })),
    ]);
    assert.equal(written, 2, 'both history rows, not the current value');
    assert.equal((await store.getSecret('ws1', 'A'))?.sealed.subarray(5).toString(), 'a3');
    const old = await store.getSecretVersion('ws1', 'A', 1);
    assert.equal(old?.sealed?.subarray(5).toString(), 're-1');
    assert.equal(await store.keys.countSealedBelow('ws1', 2), 0);
    assert.equal(await store.keys.countSealedBelow('ws2', 2), 2, 'another workspace is untouched');
    assert.equal(await store.keys.resealIfUnchanged([]), 0);
  });

  it('a newest-version lookup inside a write transaction needs no second connection (no pool deadlock)', async () => {
    // PostgreSQL: the test pool has 4 connections. Each of 12 concurrent writes holds one in
    // its transaction while sealing, and a seal looks up the newest data key version.
    const keys = Array.from({ length: 12 }, (_, i) => `DEADLOCK_${i}`);
    for (const [i, key] of keys.entries()) {
      await store.insertSecret(secret(`id-dl-${i}`, 'ws2', key, sealedUnder(1, key)), 't');
    }
    const started = Date.now();
    await Promise.all(
      keys.map((key) =>
        store.modifySecret(
          'ws2',
          key,
          async (current) => {
            const latest = await store.keys.latestKeyVersion('ws2');
            await store.keys.workspaceKeys('ws2');
            return { updatedAt: 9, version: current.version + 1, sealed: sealedUnder(latest ?? 0, key) };
          },
          't',
        ),
      ),
    );
    assert.ok(Date.now() - started < 1500, `took ${Date.now() - started} ms: writes waited for connections`);
  });
});
