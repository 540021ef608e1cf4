import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { OpenError } from '../src/crypto/aead.js';
import {
  openValue,
  sealValue,
  toKeyObject,
  unwrapDataKey,
  wrapDataKey,
  type ValueBinding,
} from '../src/crypto/envelope.js';
import { signAccessToken, verifyAccessToken } from '../src/crypto/access-token.js';
import { generatePrivateKey, hashCredential, verifyCredential } from '../src/crypto/credentials.js';

const dek = toKeyObject(randomBytes(32));
const binding: ValueBinding = { workspaceId: 'ws-a', secretId: 'secret-1', version: 1 };

describe('sealed values', () => {
  it('open what was sealed, unicode included', () => {
    const value = 'sk_live_☃\n"quoted"\u0000$HOME 🎉';
    assert.equal(openValue(dek, binding, sealValue(dek, 1, binding, value)), value);
  });

  it('never seal the same value to the same bytes (fresh nonce)', () => {
    const a = sealValue(dek, 1, binding, 'same');
    const b = sealValue(dek, 1, binding, 'same');
    assert.notDeepEqual(a, b);
    assert.equal(a.subarray(0, 5).toString('hex'), b.subarray(0, 5).toString('hex'));
  });

  it('carry a format byte and the data key version in the clear', () => {
    const sealed = sealValue(dek, 7, binding, 'v');
    assert.equal(sealed[0], 0x01);
    assert.equal(sealed.readUInt32BE(1), 7);
  });

  it('refuse every single flipped bit, header, nonce, body and tag alike', () => {
    const sealed = sealValue(dek, 1, binding, 'a value worth protecting');
    for (let i = 0; i < sealed.length; i++) {
      const altered = Buffer.from(sealed);
      altered[i] = (altered[i] as number) ^ 0x01;
      assert.throws(() => openValue(dek, binding, altered), OpenError, `byte ${i} altered but opened`);
    }
  });

  it('refuse a truncated or empty ciphertext', () => {
    const sealed = sealValue(dek, 1, binding, 'value');
    assert.throws(() => openValue(dek, binding, sealed.subarray(0, sealed.length - 1)), OpenError);
    assert.throws(() => openValue(dek, binding, Buffer.alloc(0)), OpenError);
  });

  it('refuse a ciphertext moved to another secret (swapped rows)', () => {
    const sealed = sealValue(dek, 1, binding, 'value of secret 1');
    assert.throws(() => openValue(dek, { ...binding, secretId: 'secret-2' }, sealed), OpenError);
  });

  it('refuse a ciphertext moved to another workspace, even under the same key', () => {
    const sealed = sealValue(dek, 1, binding, 'value');
    assert.throws(() => openValue(dek, { ...binding, workspaceId: 'ws-b' }, sealed), OpenError);
  });

  it('refuse an older version replayed as the current one', () => {
    const old = sealValue(dek, 1, binding, 'old value');
    assert.throws(() => openValue(dek, { ...binding, version: 2 }, old), OpenError);
  });

  it('refuse the wrong key', () => {
    const sealed = sealValue(dek, 1, binding, 'value');
    assert.throws(() => openValue(toKeyObject(randomBytes(32)), binding, sealed), OpenError);
  });
});

describe('wrapped data keys', () => {
  const kek = toKeyObject(randomBytes(32));
  const raw = randomBytes(32);

  it('unwrap under the same master key, workspace and version', () => {
    assert.deepEqual(unwrapDataKey(kek, 'ws-a', 1, wrapDataKey(kek, 'ws-a', 1, raw)), raw);
  });

  it('refuse another workspace, another version or another master key', () => {
    const wrapped = wrapDataKey(kek, 'ws-a', 1, raw);
    assert.throws(() => unwrapDataKey(kek, 'ws-b', 1, wrapped), OpenError);
    assert.throws(() => unwrapDataKey(kek, 'ws-a', 2, wrapped), OpenError);
    assert.throws(() => unwrapDataKey(toKeyObject(randomBytes(32)), 'ws-a', 1, wrapped), OpenError);
  });
});

describe('private keys', () => {
  it('carry 256 random bits and verify only against their own hash', () => {
    const key = generatePrivateKey();
    assert.match(key, /^dtk_[A-Za-z0-9_-]{43}$/);
    assert.equal(Buffer.from(key.slice(4), 'base64url').length, 32);
    assert.notEqual(generatePrivateKey(), key);
    assert.equal(verifyCredential(key, hashCredential(key)), true);
    assert.equal(verifyCredential(key + 'x', hashCredential(key)), false);
    assert.equal(verifyCredential(key, undefined), false);
    assert.equal(verifyCredential(key, Buffer.alloc(3)), false);
  });
});

describe('access tokens', () => {
  const key = toKeyObject(randomBytes(32));
  const claims = { w: 'ws', u: 'user', g: 1, iat: 1000, exp: 2000 };

  it('verify before expiry and report expiry after', () => {
    const token = signAccessToken(key, claims);
    assert.deepEqual(verifyAccessToken(key, token, 1500), { ok: true, claims });
    assert.deepEqual(verifyAccessToken(key, token, 2000), { ok: false, reason: 'expired' });
  });

  it('refuse a token signed by another key or with an edited payload', () => {
    const token = signAccessToken(key, claims);
    assert.deepEqual(verifyAccessToken(toKeyObject(randomBytes(32)), token, 1500), {
      ok: false,
      reason: 'invalid',
    });
    const forged = signAccessToken(key, { ...claims, u: 'admin' }).split('.')[0] + '.' + token.split('.')[1];
    assert.deepEqual(verifyAccessToken(key, forged, 1500), { ok: false, reason: 'invalid' });
    assert.deepEqual(verifyAccessToken(key, 'garbage', 1500), { ok: false, reason: 'invalid' });
  });
});
