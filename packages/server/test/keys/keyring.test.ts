/**
 * The pure parts of key rotation: a server's set of master keys (primary, unwrap-only,
 * re-read from the data dir), the keyring picking the master key by id and the data key by
 * the newest version, and the messages a missing key produces.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { keyId, sealedDataKeyVersion, toKeyObject, wrapDataKey } from '../../src/crypto/envelope.js';
import type { MasterKey } from '../../src/crypto/key-provider.js';
import { KeyMismatchError, Keyring, type WrappedDataKey } from '../../src/crypto/keyring.js';
import { MasterKeys, type MasterKeyRead } from '../../src/crypto/master-keys.js';

function newMaster(): MasterKey {
  const raw = randomBytes(32);
  return { id: keyId(raw), key: toKeyObject(raw) };
}

/** A store of wrapped data keys in memory, with a count of each kind of lookup. */
function memorySource(rows: WrappedDataKey[] = []) {
  const calls = { workspaceKeys: 0, latest: 0 };
  return {
    rows,
    calls,
    async workspaceKeys(workspaceId: string) {
      calls.workspaceKeys += 1;
      return rows.filter((r) => r.workspaceId === workspaceId);
    },
    async latestKeyVersion(workspaceId: string) {
      calls.latest += 1;
      const versions = rows.filter((r) => r.workspaceId === workspaceId).map((r) => r.version);
      return versions.length === 0 ? undefined : Math.max(...versions);
    },
  };
}

function wrapped(master: MasterKey, workspaceId: string, version: number): WrappedDataKey {
  return {
    workspaceId,
    version,
    kekId: master.id,
    wrapped: wrapDataKey(master.key, workspaceId, version, randomBytes(32)),
  };
}

const binding = (version = 1) => ({ workspaceId: 'ws', secretId: 's1', version });

describe('master key sets', () => {
  it('find keys by id, primary first, and hold unwrap-only keys', () => {
    const [a, b] = [newMaster(), newMaster()];
    const keys = new MasterKeys(a, [b]);
    assert.equal(keys.primary, a);
    assert.equal(keys.find(b.id), b);
    assert.deepEqual(keys.ids(), [a.id, b.id]);
    assert.equal(keys.find(newMaster().id), undefined);
    assert.equal(keys.refresh(), false, 'keys from the environment never change');
  });

  it('re-read their source: the file key becomes primary, every key read is added, none is forgotten', () => {
    const [a, b, c] = [newMaster(), newMaster(), newMaster()];
    let onDisk: MasterKeyRead = { primary: a, unwrapOnly: [] };
    const changes: [string, string[]][] = [];
    const keys = new MasterKeys(
      a,
      [],
      () => onDisk,
      (primary, added) => changes.push([primary, added]),
    );
    onDisk = { primary: b, unwrapOnly: [c] };
    assert.equal(keys.findOrRefresh(c.id), c);
    assert.equal(keys.primary, b);
    assert.deepEqual(changes, [[b.id, [b.id, c.id]]]);
    onDisk = { primary: b, unwrapOnly: [] };
    assert.equal(keys.refresh(), false);
    assert.equal(keys.find(a.id), a, 'a key once held stays held');
  });

  it('re-read only when a key is missing', () => {
    const a = newMaster();
    let reads = 0;
    const keys = new MasterKeys(a, [], () => {
      reads += 1;
      return { primary: a, unwrapOnly: [] };
    });
    keys.findOrRefresh(a.id);
    assert.equal(reads, 0);
    assert.equal(keys.findOrRefresh(newMaster().id), undefined);
    assert.equal(reads, 1);
  });
});

describe('the keyring during a master key rotation', () => {
  it('opens data keys wrapped by the primary and by an unwrap-only key, and wraps new ones with the primary', async () => {
    const [oldKey, newKey] = [newMaster(), newMaster()];
    const source = memorySource([wrapped(oldKey, 'ws', 1), wrapped(newKey, 'other', 1)]);
    const keyring = new Keyring(new MasterKeys(newKey, [oldKey]), source);
    const sealed = await keyring.seal(binding(), 'value');
    assert.equal(await keyring.open(binding(), sealed), 'value');
    assert.equal(
      await keyring.open(
        { ...binding(), workspaceId: 'other' },
        await keyring.seal({ ...binding(), workspaceId: 'other' }, 'v2'),
      ),
      'v2',
    );
    assert.equal(keyring.newWorkspaceKey('third').kekId, newKey.id);
    assert.equal(keyring.newDataKeyVersion('ws', 2).kekId, newKey.id);
    assert.equal(keyring.masterKeyId, newKey.id);
  });

  it('re-reads the key files once when a data key was wrapped by a key it lacks, then opens it', async () => {
    const [oldKey, newKey] = [newMaster(), newMaster()];
    const source = memorySource([wrapped(newKey, 'ws', 1)]);
    let reads = 0;
    const keys = new MasterKeys(oldKey, [], () => {
      reads += 1;
      return { primary: oldKey, unwrapOnly: [newKey] };
    });
    const keyring = new Keyring(keys, source);
    const sealed = await keyring.seal(binding(), 'after the swap');
    assert.equal(await keyring.open(binding(), sealed), 'after the swap');
    assert.equal(reads, 1);
  });

  it('fails with a message naming both key ids and what to do when the key is nowhere', async () => {
    const [oldKey, newKey] = [newMaster(), newMaster()];
    const keyring = new Keyring(oldKey, memorySource([wrapped(newKey, 'ws', 1)]));
    await assert.rejects(keyring.seal(binding(), 'x'), (error: unknown) => {
      assert.ok(error instanceof KeyMismatchError);
      assert.match(error.message, new RegExp(`wrapped by master key ${newKey.id}`));
      assert.match(error.message, new RegExp(`this server has master key ${oldKey.id}`));
      assert.match(error.message, /ductape-server keys rotate-master/);
      assert.match(error.message, /DUCTAPE_MASTER_KEY\b/);
      return true;
    });
  });
});

describe('the keyring during a data key rotation', () => {
  it('seals the next write under a version added behind its back, without being told to forget', async () => {
    const master = newMaster();
    const source = memorySource([wrapped(master, 'ws', 1)]);
    const keyring = new Keyring(master, source);
    const before = await keyring.seal(binding(1), 'v1');
    assert.equal(sealedDataKeyVersion(before), 1);
    // Another process adds version 2 (as `ductape-server keys rotate-workspace` does).
    source.rows.push(wrapped(master, 'ws', 2));
    const after = await keyring.seal(binding(2), 'v2');
    assert.equal(sealedDataKeyVersion(after), 2);
    assert.equal(await keyring.open(binding(1), before), 'v1', 'older values still open');
    assert.equal(await keyring.open(binding(2), after), 'v2');
  });

  it('asks for the newest version on every seal but loads the keys only when a version is new', async () => {
    const master = newMaster();
    const source = memorySource([wrapped(master, 'ws', 1)]);
    const keyring = new Keyring(master, source);
    for (let i = 0; i < 5; i++) await keyring.seal(binding(), 'v');
    assert.deepEqual(source.calls, { workspaceKeys: 1, latest: 5 });
  });

  it('opens a value sealed under a version it has not cached (written by another node)', async () => {
    const master = newMaster();
    const source = memorySource([wrapped(master, 'ws', 1)]);
    const ours = new Keyring(master, source);
    await ours.seal(binding(), 'warm the cache');
    source.rows.push(wrapped(master, 'ws', 2));
    const theirs = new Keyring(master, source);
    const sealed = await theirs.seal(binding(), 'from the other node');
    assert.equal(await ours.open(binding(), sealed), 'from the other node');
  });

  it('seals under an explicit version when told, and refuses one that does not exist', async () => {
    const master = newMaster();
    const source = memorySource([wrapped(master, 'ws', 1), wrapped(master, 'ws', 2)]);
    const keyring = new Keyring(master, source);
    assert.equal(sealedDataKeyVersion(await keyring.seal(binding(), 'v', 1)), 1);
    await assert.rejects(keyring.seal(binding(), 'v', 3), /data key version 3 of the workspace is missing/);
  });

  it('does not cache a new data key version before the store holds it', async () => {
    const master = newMaster();
    // No newest-version lookup: the cached newest decides, so a cached v2 would show.
    const { workspaceKeys } = memorySource([wrapped(master, 'ws', 1)]);
    const keyring = new Keyring(master, { workspaceKeys });
    await keyring.seal(binding(), 'warm the cache');
    keyring.newDataKeyVersion('ws', 2);
    assert.equal(sealedDataKeyVersion(await keyring.seal(binding(), 'v')), 1);
  });
});
