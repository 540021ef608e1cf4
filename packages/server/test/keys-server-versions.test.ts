/**
 * Server key versions on a real store of each backend, two "nodes" (two key sets over two
 * store connections): a version added on one is used and accepted by the other without a
 * restart; a retired version is refused; and tokens naming unknown versions, sent by the
 * hundred at once, cost at most a couple of reads of the key table, not one each.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { masterKeyFromBase64 } from '../src/crypto/key-provider.js';
import { MasterKeys } from '../src/crypto/master-keys.js';
import { rotateServerKeys } from '../src/services/keys/server-key-rotation.service.js';
import { KEY_REFRESH_MS, ServerKeySet } from '../src/services/keys/server-keys.js';
import { SIGNING_KEY_NAME, SigningKeys, type SigningKeySource } from '../src/services/keys/signing-keys.js';
import type { Store } from '../src/store/types.js';
import { describeEachBackend } from './helpers/backends.js';
import { openTestStore, type TestStore } from './helpers/stores.js';

/** The key store of `store`, counting the reads of a key's versions. */
function counting(store: Store): SigningKeySource & { reads: number } {
  const counted = {
    reads: 0,
    serverKeyVersions: async (name: string) => {
      counted.reads += 1;
      return store.keys.serverKeyVersions(name);
    },
    addServerKeyVersion: (row: Parameters<Store['keys']['addServerKeyVersion']>[0]) =>
      store.keys.addServerKeyVersion(row),
    latestServerKeyVersion: (name: string) => store.keys.latestServerKeyVersion(name),
  };
  return counted;
}

describeEachBackend('server key versions across nodes', (backend) => {
  const master = new MasterKeys(masterKeyFromBase64(randomBytes(32).toString('base64')));
  let t: TestStore;
  let other: Store;
  let now = Date.now();
  const clock = (): number => now;

  before(async () => {
    t = await openTestStore(backend);
    other = await t.reopen();
  });
  after(() => t.cleanup());

  test('a version added anywhere signs the next token on every node, and verifies there', async () => {
    const a = await SigningKeys.open(t.store.keys, master, clock);
    const b = await SigningKeys.open(other.keys, master, clock);
    const first = await a.forSigning();
    assert.equal(first.version, 1);
    assert.equal((await b.forSigning()).version, 1, 'both nodes share version 1');

    await rotateServerKeys(t.store.keys, master, { target: master.primary, retireSigningAt: now + 60_000 });
    const signedOnB = await b.forSigning();
    assert.equal(signedOnB.version, 2, 'node B signs with the new version at once');
    // Node A never looked: a token of version 2 makes it read the versions again.
    const onA = await a.forVerifying(2);
    assert.ok(onA);
    assert.equal(onA.export().equals(signedOnB.key.export()), true);
    // Version 1 still verifies until its retirement, then no more (after A's keys grow stale).
    assert.ok(await a.forVerifying(1));
    now += 60_000 + KEY_REFRESH_MS;
    assert.equal(await a.forVerifying(1), undefined);
    assert.equal(await b.forVerifying(1), undefined);
    assert.ok(await a.forVerifying(2));
  });

  test('hundreds of tokens naming unknown versions at once cost a couple of reads, and find nothing', async () => {
    const source = counting(t.store);
    const keys = await SigningKeys.open(source, master); // the real clock: reads are spaced in real time
    const reads = source.reads;
    const versions = Array.from({ length: 300 }, (_, i) => 100 + i);
    const found = await Promise.all([...versions, 5_000_000, -1, 0].map((v) => keys.forVerifying(v)));
    assert.deepEqual(new Set(found), new Set([undefined]));
    assert.ok(source.reads - reads <= 2, `${source.reads - reads} reads for 303 unknown versions`);
    // One after the other, as fast as they are answered: at most one read a second.
    const started = Date.now();
    const sequential = source.reads;
    for (let v = 1000; Date.now() - started < 2500; v++) assert.equal(await keys.forVerifying(v), undefined);
    const seconds = (Date.now() - started) / 1000;
    assert.ok(
      source.reads - sequential <= Math.ceil(seconds) + 1,
      `${source.reads - sequential} reads in ${seconds} s`,
    );
    // A version below the newest held, or absurdly high, needs no read at all.
    const before = source.reads;
    await Promise.all([keys.forVerifying(-5), keys.forVerifying(2_000_000)]);
    assert.equal(source.reads, before);
  });

  test('a key set adopts a version a store read for it, and refuses rows of another key', async () => {
    const set = await ServerKeySet.open(t.store.keys, master, 'adopted', clock);
    assert.deepEqual([set.get(1)?.version, set.get(2)], [1, undefined]);
    const elsewhere = await ServerKeySet.open(other.keys, master, 'adopted', clock);
    await elsewhere.add(2);
    const [row] = (await t.store.keys.serverKeyVersions('adopted')).filter((r) => r.version === 2);
    assert.ok(row);
    set.adopt(row);
    assert.equal(set.newest().version, 2);
    const [signing] = await t.store.keys.serverKeyVersions(SIGNING_KEY_NAME);
    assert.ok(signing);
    assert.throws(() => set.adopt(signing), /not a version of server key 'adopted'/);
  });
});
