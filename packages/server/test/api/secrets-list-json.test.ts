/**
 * secretsListJson writes the list as bytes by hand: for any metadata at all (any string,
 * lone surrogates included, any number, any timestamp a Date holds), its bytes must be those
 * of JSON.stringify over presentSecret, encoded as UTF-8.
 */
import fc from 'fast-check';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { presentSecret } from '../../src/http/present.js';
import { secretsListJson } from '../../src/http/present-list.js';
import type { SecretMeta } from '../../src/store/types.js';

const DATE_LIMIT = 8.64e15;

const anyString = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 30 }),
  fc.string({ unit: 'binary-ascii', maxLength: 30 }),
  fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)), maxLength: 30 }),
  fc.constantFrom('', 'plain', '"', '\\', '\u2028', '\ud83d', '\ude00x', '🔑'),
);
const timestamp = fc.oneof(
  fc.integer({ min: -DATE_LIMIT, max: DATE_LIMIT }),
  fc.integer({ min: 1_500_000_000_000, max: 2_000_000_000_000 }),
  fc.double({ min: -DATE_LIMIT, max: DATE_LIMIT, noNaN: true }),
);
const anyNumber = fc.oneof(fc.integer(), fc.double(), fc.constantFrom(0, -0, 1e21, NaN, Infinity));

const meta: fc.Arbitrary<SecretMeta> = fc.record({
  id: anyString,
  workspaceId: anyString,
  key: anyString,
  description: fc.option(anyString),
  tokenType: fc.option(anyString) as fc.Arbitrary<SecretMeta['tokenType']>,
  scope: fc.array(anyString, { maxLength: 4 }),
  envs: fc.array(anyString, { maxLength: 4 }),
  expiresAt: fc.option(anyNumber),
  revokedAt: fc.option(timestamp),
  version: anyNumber,
  createdAt: timestamp,
  updatedAt: timestamp,
});

function expected(list: SecretMeta[], nowMs: number): Buffer {
  return Buffer.from(JSON.stringify({ secrets: list.map((m) => presentSecret(m, nowMs)) }), 'utf8');
}

describe('secretsListJson', () => {
  it('is JSON.stringify of presentSecret, byte for byte, for any metadata', () => {
    fc.assert(
      fc.property(fc.array(meta, { maxLength: 20 }), fc.integer({ min: 0, max: 4e12 }), (list, nowMs) => {
        assert.deepEqual(secretsListJson(list, nowMs), expected(list, nowMs));
      }),
      { numRuns: 3000 },
    );
  });

  it('grows past its first guess of the size (long descriptions that all need escaping)', () => {
    const base: SecretMeta = {
      id: 'a'.repeat(24),
      workspaceId: 'b'.repeat(24),
      key: 'K',
      description: '\u0001'.repeat(1024),
      tokenType: null,
      scope: [],
      envs: [],
      expiresAt: null,
      revokedAt: null,
      version: 1,
      createdAt: 0,
      updatedAt: 0,
    };
    const list = Array.from({ length: 50 }, (_, i) => ({
      ...base,
      key: `K${i}`,
      description: '\u0001🔑'.repeat(700),
    }));
    assert.deepEqual(secretsListJson(list, 0), expected(list, 0));
  });

  it('writes an empty list', () => {
    assert.equal(secretsListJson([], 0).toString(), '{"secrets":[]}');
  });
});
