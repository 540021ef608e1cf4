import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { OpenError } from '../../src/crypto/aead.js';
import {
  openValue,
  sealValue,
  toKeyObject,
  unwrapDataKey,
  unwrapServerKey,
  wrapDataKey,
  wrapServerKey,
  type ValueBinding,
} from '../../src/crypto/envelope.js';
import { accessTokenKeyVersion, signAccessToken, verifyAccessToken } from '../../src/crypto/access-token.js';
import { unwrapServerKeyRow } from '../helpers/attacker.js';
import { generatePrivateKey, hashCredential, verifyCredential } from '../../src/crypto/credentials.js';

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
  const claims = { w: 'ws', u: 'user', g: 1, iat: 1000, exp: 1900, k: 3 };
  const verify = (token: string, now: number, k = 3, ttl = 900) => verifyAccessToken(key, k, token, now, ttl);

  it('verify before expiry and report expiry after', () => {
    const token = signAccessToken(key, claims);
    assert.equal(accessTokenKeyVersion(token), 3);
    assert.deepEqual(verify(token, 1500), { ok: true, claims });
    assert.deepEqual(verify(token, 1900), { ok: false, reason: 'expired' });
  });

  it('refuse a token signed by another key, with an edited payload, or naming another key version', () => {
    const token = signAccessToken(key, claims);
    assert.deepEqual(verifyAccessToken(toKeyObject(randomBytes(32)), 3, token, 1500, 900), {
      ok: false,
      reason: 'invalid',
    });
    const forged = signAccessToken(key, { ...claims, u: 'admin' }).split('.')[0] + '.' + token.split('.')[1];
    assert.deepEqual(verify(forged, 1500), { ok: false, reason: 'invalid' });
    assert.deepEqual(verify('garbage', 1500), { ok: false, reason: 'invalid' });
    assert.deepEqual(verify(token, 1500, 2), { ok: false, reason: 'invalid' });
    assert.equal(accessTokenKeyVersion('dat_bm90IGpzb24.x'), undefined);
    assert.equal(accessTokenKeyVersion(signAccessToken(key, { ...claims, k: 0 })), undefined);
  });

  it('a token without a key version is version 1 (made before versions existed)', () => {
    const { k: _k, ...old } = claims;
    const token = signAccessToken(key, old);
    assert.equal(accessTokenKeyVersion(token), 1);
    assert.equal(verify(token, 1500, 1).ok, true);
  });

  it('refuse what only a stolen key makes: longer than the lifetime, issued in the future, odd times', () => {
    const sign = (changes: Record<string, unknown>) =>
      signAccessToken(key, { ...claims, ...changes } as never);
    assert.deepEqual(verify(sign({ exp: 1901 }), 1500), { ok: false, reason: 'invalid' });
    assert.deepEqual(verify(sign({ exp: 1000 + 10 * 365 * 86400 }), 1500), { ok: false, reason: 'invalid' });
    // Within the lifetime, but ten years ahead.
    const ahead = 10 * 365 * 86400;
    assert.deepEqual(verify(sign({ iat: 1000 + ahead, exp: 1900 + ahead }), 1500), {
      ok: false,
      reason: 'invalid',
    });
    // A minute of clock skew between nodes is tolerated.
    assert.equal(verify(sign({ iat: 1560, exp: 2400 }), 1500).ok, true);
    for (const odd of [
      { iat: 1000.5 },
      { iat: '1000' },
      { iat: undefined },
      { exp: 1000 },
      { g: '1' },
      { w: 1 },
    ]) {
      assert.deepEqual(verify(sign(odd), 1500), { ok: false, reason: 'invalid' }, JSON.stringify(odd));
    }
  });
});

describe('server keys', () => {
  const kek = toKeyObject(randomBytes(32));
  const raw = randomBytes(32);
  const binding = { name: 'access-token-signing', version: 2, retiredAt: null };

  it('open only under the name, version and retirement they were wrapped with', () => {
    const wrapped = wrapServerKey(kek, binding, raw);
    assert.equal(wrapped[0], 2, 'format byte');
    assert.deepEqual(unwrapServerKey(kek, binding, wrapped), raw);
    for (const other of [
      { ...binding, name: 'audit-mac' },
      { ...binding, version: 3 },
      { ...binding, retiredAt: 1 },
    ]) {
      assert.throws(() => unwrapServerKey(kek, other, wrapped), OpenError, JSON.stringify(other));
    }
    const retired = wrapServerKey(kek, { ...binding, retiredAt: 1234 }, raw);
    assert.throws(() => unwrapServerKey(kek, binding, retired), OpenError, 'retirement undone');
  });

  it('the documented format: an outside implementation opens it', () => {
    const base64 = randomBytes(32).toString('base64');
    const wrapped = wrapServerKey(
      toKeyObject(Buffer.from(base64, 'base64')),
      { ...binding, retiredAt: 99 },
      raw,
    );
    const row = { name: binding.name, version: 2, retired_at: 99, wrapped };
    assert.deepEqual(unwrapServerKeyRow(base64, row), raw);
  });
});
