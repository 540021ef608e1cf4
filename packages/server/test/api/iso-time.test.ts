/**
 * isoString (and writeIso, its bytes) must be Date.prototype.toISOString, value for value: checked with fast-check
 * over the whole range of Date (and past it, where both must throw), with the boundaries of
 * days, months, leap years, centuries and of the four-digit years pinned as examples.
 */
import fc from 'fast-check';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isoString, writeIso } from '../../src/http/iso-time.js';

/** The largest |ms| a Date holds. */
const DATE_LIMIT = 8.64e15;
const FIRST_MS = new Date(0).setUTCFullYear(0, 0, 1); // 0000-01-01T00:00:00.000Z
const LAST_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

function expected(ms: number): string | RangeError {
  try {
    return new Date(ms).toISOString();
  } catch (error) {
    if (error instanceof RangeError) return error;
    throw error;
  }
}

const buf = Buffer.alloc(64);

function check(ms: number): void {
  const want = expected(ms);
  if (want instanceof RangeError) {
    assert.throws(() => isoString(ms), RangeError, `isoString(${ms}) must throw as toISOString does`);
    assert.throws(() => writeIso(buf, 0, ms), RangeError, `writeIso(${ms}) must throw as toISOString does`);
  } else {
    assert.equal(isoString(ms), want, `isoString(${ms})`);
    // At an offset, between bytes that must stay as they were.
    buf.fill(0xee);
    const end = writeIso(buf, 5, ms);
    assert.equal(end, 5 + want.length, `writeIso(${ms}) length`);
    assert.equal(buf.toString('latin1', 5, end), want, `writeIso(${ms})`);
    assert.equal(buf[4], 0xee);
    assert.equal(buf[end], 0xee);
  }
}

describe('isoString', () => {
  it('equals toISOString for every integer millisecond a Date holds', () => {
    fc.assert(
      fc.property(fc.integer({ min: -DATE_LIMIT, max: DATE_LIMIT }), (ms) => check(ms)),
      { numRuns: 200_000 },
    );
  });

  it('equals toISOString over the four-digit years, where it formats by itself', () => {
    fc.assert(
      fc.property(fc.integer({ min: FIRST_MS - 86_400_000, max: LAST_MS + 86_400_000 }), (ms) => check(ms)),
      { numRuns: 200_000 },
    );
  });

  it('equals toISOString around now, in runs that share a day (the cached date)', () => {
    const now = Date.now();
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: -5 * 86_400_000, max: 5 * 86_400_000 }), { minLength: 1, maxLength: 50 }),
        (offsets) => {
          for (const offset of offsets) check(now + offset);
          for (const offset of offsets) check(now + (offset % 1000));
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('equals toISOString (or throws as it does) for any number at all', () => {
    fc.assert(
      fc.property(fc.double(), (ms) => check(ms)),
      { numRuns: 50_000 },
    );
    fc.assert(
      fc.property(fc.double({ min: -DATE_LIMIT * 1.01, max: DATE_LIMIT * 1.01 }), (ms) => check(ms)),
      { numRuns: 50_000 },
    );
  });

  it('equals toISOString at the edges of days, months, leap years, centuries and the range', () => {
    const edges: number[] = [0, -1, 1, FIRST_MS, FIRST_MS - 1, LAST_MS, LAST_MS + 1, DATE_LIMIT, -DATE_LIMIT];
    edges.push(DATE_LIMIT + 1, -DATE_LIMIT - 1, NaN, Infinity, -Infinity, -0, 0.5, -0.5, 1e15 + 0.25);
    for (const year of [
      0, 1, 4, 99, 100, 399, 400, 1582, 1600, 1700, 1900, 1969, 1970, 2000, 2024, 2100, 9999,
    ]) {
      for (const month of [0, 1, 2, 11]) {
        for (const day of [1, 28, 29, 30, 31]) {
          const d = new Date(0);
          d.setUTCFullYear(year, month, day);
          edges.push(d.getTime(), d.getTime() - 1, d.getTime() + 86_399_999);
        }
      }
    }
    for (const ms of edges) check(ms);
  });
});
