/**
 * The rate limiter and the sign-in policy on a fake clock: counting, windows, Retry-After,
 * bounded memory.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AppError } from '../src/errors.js';
import {
  createRateLimiter,
  createServiceTokenGuard,
  createSignInGuard,
  TooManyRequestsError,
} from '../src/services/identity/rate-limit.js';

function fakeClock(start = 1_000_000): { now: () => number; advance(ms: number): void } {
  let t = start;
  return { now: () => t, advance: (ms) => (t += ms) };
}

describe('rate limiter', () => {
  it('allows `limit` hits per window, then refuses with the seconds left', () => {
    const clock = fakeClock();
    const limiter = createRateLimiter({ limit: 3, windowSeconds: 60, now: clock.now });
    for (let i = 0; i < 3; i++) assert.deepEqual(limiter.hit('a'), { allowed: true, retryAfterSeconds: 0 });
    assert.deepEqual(limiter.hit('a'), { allowed: false, retryAfterSeconds: 60 });
    clock.advance(20_500);
    assert.deepEqual(limiter.hit('a'), { allowed: false, retryAfterSeconds: 40 });
    assert.deepEqual(limiter.peek('a'), { allowed: false, retryAfterSeconds: 40 });
    assert.equal(limiter.hit('b').allowed, true, 'another key has its own count');
  });

  it('opens again when the window ends, and Retry-After is never below 1', () => {
    const clock = fakeClock();
    const limiter = createRateLimiter({ limit: 1, windowSeconds: 10, now: clock.now });
    limiter.hit('a');
    clock.advance(9_999);
    assert.deepEqual(limiter.peek('a'), { allowed: false, retryAfterSeconds: 1 });
    clock.advance(1);
    assert.deepEqual(limiter.peek('a'), { allowed: true, retryAfterSeconds: 0 });
    assert.equal(limiter.hit('a').allowed, true);
    assert.equal(limiter.hit('a').allowed, false, 'the new window counts from zero again');
  });

  it('peek never counts', () => {
    const limiter = createRateLimiter({ limit: 1, windowSeconds: 10, now: fakeClock().now });
    for (let i = 0; i < 5; i++) assert.equal(limiter.peek('a').allowed, true);
    assert.equal(limiter.hit('a').allowed, true);
    assert.equal(limiter.peek('a').allowed, false);
  });

  it('holds at most maxKeys keys, forgetting the oldest window first', () => {
    const clock = fakeClock();
    const limiter = createRateLimiter({ limit: 1, windowSeconds: 60, maxKeys: 100, now: clock.now });
    for (let i = 0; i < 1000; i++) {
      limiter.hit(`k${i}`);
      clock.advance(1);
    }
    assert.equal(limiter.size, 100);
    assert.equal(limiter.peek('k999').allowed, false, 'the newest keys are kept');
    assert.equal(limiter.peek('k900').allowed, false);
    assert.equal(limiter.peek('k0').allowed, true, 'the oldest were evicted');
  });

  it('drops expired windows as time passes', () => {
    const clock = fakeClock();
    const limiter = createRateLimiter({ limit: 5, windowSeconds: 1, now: clock.now });
    for (let i = 0; i < 50; i++) limiter.hit(`k${i}`);
    clock.advance(1_000);
    limiter.hit('fresh');
    assert.equal(limiter.size, 1);
  });
});

describe('sign-in guard', () => {
  const limits = {
    failuresPerAddress: 4,
    failuresPerUserPerAddress: 2,
    failureWindowSeconds: 300,
    exchangesPerAddress: 10,
    exchangeWindowSeconds: 60,
    serviceTokenFailuresPerAddress: 3,
  };

  const refused = (call: () => void, retryAfter: number, message: RegExp): void =>
    assert.throws(call, (error: unknown) => {
      assert.ok(error instanceof TooManyRequestsError);
      assert.ok(error instanceof AppError);
      assert.equal(error.status, 429);
      assert.equal(error.code, 'TOO_MANY_REQUESTS');
      assert.equal(error.retryAfterSeconds, retryAfter);
      assert.match(error.message, message);
      assert.match(error.message, new RegExp(`try again in ${retryAfter} seconds?`));
      return true;
    });

  it('locks a user id after its failures from one address, for that address only, until the window ends', () => {
    const clock = fakeClock();
    const guard = createSignInGuard(limits, clock.now);
    guard.admit('1.1.1.1', 'u1');
    guard.recordFailure('1.1.1.1', 'u1');
    guard.admit('1.1.1.1', 'u1');
    guard.recordFailure('1.1.1.1', 'u1');
    refused(() => guard.admit('1.1.1.1', 'u1'), 300, /for this user_id from this address/);
    // The attack of issue 13 item 7: failures from one address locked the user out everywhere.
    guard.admit('2.2.2.2', 'u1');
    guard.admit('1.1.1.1', 'u2');
    clock.advance(300_000);
    guard.admit('1.1.1.1', 'u1');
  });

  it('counts an IPv6 client by its /64, and an IPv4-mapped address as the IPv4 address', () => {
    const guard = createSignInGuard(limits, fakeClock().now);
    // Four failures from four addresses of one /64 (each written differently) lock the /64.
    for (const address of [
      '2001:db8:1:2::1',
      '2001:db8:1:2::2',
      '2001:DB8:1:2:ffff::9',
      '2001:db8:1:2:0:0:0:3',
    ]) {
      guard.admit(address, `u-${address}`);
      guard.recordFailure(address, `u-${address}`);
    }
    refused(() => guard.admit('2001:db8:1:2:abcd::1', 'someone'), 300, /from this address/);
    guard.admit('2001:db8:1:3::1', 'someone');
    for (let i = 0; i < 4; i++) guard.recordFailure('::ffff:198.51.100.7', `m${i}`);
    refused(() => guard.admit('198.51.100.7', 'someone'), 300, /from this address/);
  });

  it('locks an address after its failures across many user ids', () => {
    const clock = fakeClock();
    const guard = createSignInGuard(limits, clock.now);
    for (let i = 0; i < 4; i++) {
      guard.admit('1.1.1.1', `u${i}`);
      guard.recordFailure('1.1.1.1', `u${i}`);
    }
    clock.advance(100_000);
    refused(() => guard.admit('1.1.1.1', 'someone-else'), 200, /from this address/);
    guard.admit('2.2.2.2', 'someone-else');
  });

  it('limits every exchange per address, successful or not', () => {
    const guard = createSignInGuard(limits, fakeClock().now);
    for (let i = 0; i < 10; i++) guard.admit('1.1.1.1', 'u1');
    refused(() => guard.admit('1.1.1.1', 'u1'), 60, /Too many sign-in requests from this address/);
    guard.admit('2.2.2.2', 'u1');
  });
});

describe('service token guard', () => {
  const limits = { serviceTokenFailuresPerAddress: 3, failureWindowSeconds: 60 };

  it('refuses an address after its failures, before any lookup, until the window ends', () => {
    const clock = fakeClock();
    const guard = createServiceTokenGuard(limits, clock.now);
    for (let i = 0; i < 3; i++) {
      guard.admit('1.1.1.1');
      guard.recordFailure('1.1.1.1');
    }
    assert.throws(
      () => guard.admit('1.1.1.1'),
      (error: unknown) =>
        error instanceof TooManyRequestsError &&
        error.retryAfterSeconds === 60 &&
        /invalid service token from this address/.test(error.message),
    );
    guard.admit('2.2.2.2');
    clock.advance(60_000);
    guard.admit('1.1.1.1');
  });

  it('counts an IPv6 client by its /64', () => {
    const guard = createServiceTokenGuard(limits, fakeClock().now);
    for (const address of ['2001:db8::1', '2001:db8::2', '2001:db8:0:0:1::']) guard.recordFailure(address);
    assert.throws(() => guard.admit('2001:db8::abcd'), TooManyRequestsError);
    guard.admit('2001:db8:0:1::1');
  });
});
