/**
 * Row MACs, pure (crypto/row-mac.ts) and through the keyring: a change to any column a MAC
 * covers, a MAC of another row or workspace, a cut or relabelled MAC, each fails; the keyring
 * makes MACs under the newest data key and still checks those made under older ones; data key
 * formats say whether a workspace's rows carry MACs, and only the master key can say so.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { dataKeyFormat, keyId, toKeyObject, unwrapDataKey, wrapDataKey } from '../../src/crypto/envelope.js';
import { OpenError } from '../../src/crypto/aead.js';
import { Keyring, type WrappedDataKey } from '../../src/crypto/keyring.js';
import {
  RowMacError,
  rowMac,
  rowMacDataKeyVersion,
  rowMacKey,
  rowMacMatches,
  type RowFields,
} from '../../src/crypto/row-mac.js';

const row: RowFields = {
  workspaceId: 'ws-a',
  id: 'id-1',
  key: 'DB_PASSWORD',
  description: 'the database',
  tokenType: 'password',
  scope: ['web'],
  envs: ['dev'],
  expiresAt: 2_000_000_000,
  revokedAt: null,
  version: 3,
  createdAt: 1000,
  updatedAt: 2000,
};

const CHANGES: Partial<RowFields>[] = [
  { workspaceId: 'ws-b' },
  { id: 'id-2' },
  { key: 'PROD_DB_PASSWORD' },
  { description: null },
  { tokenType: 'api' },
  { scope: [] },
  { scope: ['web', 'api'] },
  { envs: ['prd'] },
  { envs: [] },
  { expiresAt: null },
  { expiresAt: 2_000_000_001 },
  { revokedAt: 5 },
  { version: 2 },
  { createdAt: 999 },
  { updatedAt: 2001 },
];

describe('row MACs', () => {
  const dek = randomBytes(32);
  const key = rowMacKey(dek, 'ws-a', 1);

  it('match the row they were made for, and no row with any covered column changed', () => {
    const mac = rowMac(key, 1, row);
    assert.equal(rowMacMatches(key, mac, row), true);
    assert.equal(rowMacDataKeyVersion(mac), 1);
    for (const change of CHANGES) {
      assert.equal(rowMacMatches(key, mac, { ...row, ...change }), false, JSON.stringify(change));
    }
  });

  it('do not match under another workspace’s or data key version’s key, cut, or relabelled', () => {
    const mac = rowMac(key, 1, row);
    assert.equal(rowMacMatches(rowMacKey(dek, 'ws-b', 1), mac, row), false);
    assert.equal(rowMacMatches(rowMacKey(dek, 'ws-a', 2), mac, row), false);
    assert.equal(rowMacMatches(key, mac.subarray(0, mac.length - 1), row), false);
    const relabelled = Buffer.from(mac);
    relabelled.writeUInt32BE(2, 1);
    assert.equal(rowMacMatches(key, relabelled, row), false);
    assert.equal(rowMacDataKeyVersion(null), undefined);
    assert.equal(rowMacDataKeyVersion(Buffer.alloc(37)), undefined, 'an unknown format');
  });
});

describe('the keyring and row MACs', () => {
  const raw = randomBytes(32);
  const master = { id: keyId(raw), key: toKeyObject(raw) };
  const wrapped = (version: number, format?: number): WrappedDataKey => ({
    workspaceId: 'ws-a',
    version,
    kekId: master.id,
    wrapped: wrapDataKey(master.key, 'ws-a', version, randomBytes(32), format),
  });
  const source = (rows: WrappedDataKey[]) => ({
    workspaceKeys: async () => rows,
    latestKeyVersion: async () => Math.max(...rows.map((r) => r.version)),
  });

  it('makes MACs under the newest data key, and checks those made under older ones', async () => {
    const rows = [wrapped(1)];
    const keyring = new Keyring(master, source(rows));
    const old = await keyring.rowMac(row);
    assert.equal(rowMacDataKeyVersion(old), 1);
    rows.push(wrapped(2));
    keyring.forget();
    const newer = await keyring.rowMac(row);
    assert.equal(rowMacDataKeyVersion(newer), 2);
    await keyring.verifyRow({ ...row, mac: old });
    await keyring.verifyRow({ ...row, mac: newer });
    await assert.rejects(keyring.verifyRow({ ...row, mac: null }), RowMacError);
    await assert.rejects(keyring.verifyRow({ ...row, scope: [], mac: newer }), RowMacError);
    const unknownVersion = Buffer.from(newer);
    unknownVersion.writeUInt32BE(9, 1);
    await assert.rejects(keyring.verifyRow({ ...row, mac: unknownVersion }), RowMacError);
  });

  it('tells a workspace from before row MACs by its authenticated data keys, and re-wraps them', async () => {
    const legacy = [wrapped(1, 0x01), wrapped(2, 0x01)];
    const keyring = new Keyring(master, source(legacy));
    assert.equal(await keyring.hasRowMacs('ws-a'), false);
    assert.equal(dataKeyFormat(keyring.newDataKeyVersion('ws-a', 3, false).wrapped), 0x01);
    const converted = await keyring.withRowMacs('ws-a');
    assert.deepEqual(
      converted.map((k) => [k.version, dataKeyFormat(k.wrapped), k.kekId]),
      [
        [1, 0x02, master.id],
        [2, 0x02, master.id],
      ],
    );
    // The same data keys: what they sealed still opens.
    for (const [i, k] of converted.entries()) {
      const before = unwrapDataKey(master.key, 'ws-a', k.version, (legacy[i] as WrappedDataKey).wrapped);
      assert.deepEqual(unwrapDataKey(master.key, 'ws-a', k.version, k.wrapped), before);
    }
    assert.equal(await new Keyring(master, source(converted)).hasRowMacs('ws-a'), true);
    // The format byte is authenticated: relabelling a converted key breaks it.
    const relabelled = Buffer.from((converted[0] as WrappedDataKey).wrapped);
    relabelled[0] = 0x01;
    assert.throws(() => unwrapDataKey(master.key, 'ws-a', 1, relabelled), OpenError);
  });
});
