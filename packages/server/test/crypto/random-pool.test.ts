/**
 * The pool behind ids and nonces: every draw is fresh (never handed out twice, across
 * refills too), its own copy, and of the size asked; bad sizes are refused.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { randomPooled } from '../../src/crypto/random-pool.js';
import { newId } from '../../src/ids.js';

describe('randomPooled', () => {
  it('never hands out the same nonce twice over 200,000 draws (about 600 refills)', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 200_000; i += 1) seen.add(randomPooled(12).toString('hex'));
    assert.equal(seen.size, 200_000);
  });

  it('draws of any sizes, crossing refills, are the size asked and distinct', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 4096 }), { minLength: 1, maxLength: 40 }), (sizes) => {
        const drawn = sizes.map((size) => randomPooled(size));
        drawn.forEach((b, i) => assert.equal(b.length, sizes[i]));
        const long = drawn.filter((b) => b.length >= 8).map((b) => b.toString('hex'));
        assert.equal(new Set(long).size, long.length);
      }),
    );
  });

  it('gives each caller its own copy: changing one draw changes no other', () => {
    const a = randomPooled(16);
    const b = randomPooled(16);
    const before = Buffer.from(b);
    a.fill(0xff);
    assert.deepEqual(b, before);
  });

  it('looks random: about half the bits of 1 MiB are set', () => {
    let ones = 0;
    for (let i = 0; i < 256; i += 1) {
      for (const byte of randomPooled(4096)) ones += byte.toString(2).replaceAll('0', '').length;
    }
    const bits = 256 * 4096 * 8;
    assert.ok(Math.abs(ones / bits - 0.5) < 0.005, `${ones} of ${bits} bits set`);
  });

  it('refuses sizes it cannot serve', () => {
    for (const size of [0, -1, 4097, 1.5, Number.NaN]) assert.throws(() => randomPooled(size), RangeError);
  });

  it('ids stay 24 hex characters, distinct, led by the creation second', () => {
    const ids = Array.from({ length: 10_000 }, () => newId());
    assert.equal(new Set(ids).size, ids.length);
    const second = Math.floor(Date.now() / 1000);
    for (const id of ids.slice(0, 10)) {
      assert.match(id, /^[0-9a-f]{24}$/);
      assert.ok(Math.abs(parseInt(id.slice(0, 8), 16) - second) <= 2);
    }
  });
});
