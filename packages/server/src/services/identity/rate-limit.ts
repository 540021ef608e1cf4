/**
 * Fixed-window counters keyed by string, and the policies built on them: sign-ins, and
 * service-token guesses. Pure: the clock is injected, nothing is stored outside this process.
 *
 * Invariants: the counters live in one node's memory, so with N nodes behind a balancer an
 * attacker gets up to N times each limit (the documented trade-off: no shared store). Memory
 * is bounded: at most `maxKeys` keys per limiter, the oldest window evicted first.
 */
import type { SignInLimits } from '../../config.js';
import { AppError } from '../../errors.js';
import { addressKey } from './client-address.js';

export interface Decision {
  allowed: boolean;
  /** Whole seconds until the key's window ends (at least 1); 0 when allowed. */
  retryAfterSeconds: number;
}

export interface RateLimiterOptions {
  /** Events allowed per window. */
  limit: number;
  windowSeconds: number;
  /** Keys kept at most; past it the oldest window is forgotten. Default 100 000. */
  maxKeys?: number;
  /** Milliseconds since the epoch; Date.now by default. */
  now?: () => number;
}

export interface RateLimiter {
  /** Counts one event for `key`; refused (and not counted) once the window's limit is used. */
  hit(key: string): Decision;
  /** Whether an event for `key` would be refused now, without counting one. */
  peek(key: string): Decision;
  /** Keys currently held (for tests and bounds). */
  readonly size: number;
}

interface Window {
  count: number;
  endsAt: number;
}

export function createRateLimiter(options: RateLimiterOptions): RateLimiter {
  const { limit, windowSeconds, maxKeys = 100_000, now = Date.now } = options;
  const windowMs = windowSeconds * 1000;
  // Insertion order is window-start order (a renewed window is re-inserted), so the first
  // entries are always the first to expire and the first to evict.
  const windows = new Map<string, Window>();

  function sweep(at: number): void {
    for (const [key, window] of windows) {
      if (window.endsAt > at) break;
      windows.delete(key);
    }
  }

  function current(key: string, at: number): Window | undefined {
    const window = windows.get(key);
    if (window && window.endsAt <= at) {
      windows.delete(key);
      return undefined;
    }
    return window;
  }

  function decide(window: Window | undefined, at: number): Decision {
    if (!window || window.count < limit) return { allowed: true, retryAfterSeconds: 0 };
    return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((window.endsAt - at) / 1000)) };
  }

  return {
    hit(key) {
      const at = now();
      sweep(at);
      const window = current(key, at);
      const decision = decide(window, at);
      if (!decision.allowed) return decision;
      if (window) {
        window.count += 1;
      } else {
        while (windows.size >= maxKeys) {
          const oldest = windows.keys().next();
          if (oldest.done) break;
          windows.delete(oldest.value);
        }
        windows.set(key, { count: 1, endsAt: at + windowMs });
      }
      return decision;
    },
    peek(key) {
      const at = now();
      return decide(current(key, at), at);
    },
    get size() {
      return windows.size;
    },
  };
}

export type { SignInLimits };

export const DEFAULT_SIGN_IN_LIMITS: SignInLimits = Object.freeze({
  failuresPerAddress: 20,
  failuresPerUserPerAddress: 10,
  failureWindowSeconds: 300,
  exchangesPerAddress: 300,
  exchangeWindowSeconds: 60,
  serviceTokenFailuresPerAddress: 20,
});

/** A 429 that carries how long to wait; the error handler turns it into a `Retry-After` header. */
export class TooManyRequestsError extends AppError {
  constructor(
    readonly retryAfterSeconds: number,
    what: string,
  ) {
    super(
      'TOO_MANY_REQUESTS',
      `${what}; try again in ${retryAfterSeconds} second${retryAfterSeconds === 1 ? '' : 's'}`,
    );
  }
}

/**
 * Addresses are counted by `addressKey` (an IPv6 client by its /64). The user id is counted as
 * sent, together with the address: the id cannot hold the separator (ids are checked short
 * and NUL-free, see http/schemas.ts), so no two pairs share a key.
 */
export interface SignInGuard {
  /** Throws TooManyRequestsError when this attempt must be refused before any check. */
  admit(address: string, userId: string): void;
  /** Counts a failed sign-in (or a wrong key proven on rotate-key) against the address and the pair. */
  recordFailure(address: string, userId: string): void;
}

const pairKey = (address: string, userId: string): string => `${addressKey(address)}\u0000${userId}`;

export function createSignInGuard(limits: SignInLimits, now: () => number = Date.now): SignInGuard {
  const exchanges = createRateLimiter({
    limit: limits.exchangesPerAddress,
    windowSeconds: limits.exchangeWindowSeconds,
    now,
  });
  const byAddress = createRateLimiter({
    limit: limits.failuresPerAddress,
    windowSeconds: limits.failureWindowSeconds,
    now,
  });
  const byPair = createRateLimiter({
    limit: limits.failuresPerUserPerAddress,
    windowSeconds: limits.failureWindowSeconds,
    now,
  });
  return {
    admit(address, userId) {
      const exchange = exchanges.hit(addressKey(address));
      if (!exchange.allowed) {
        throw new TooManyRequestsError(
          exchange.retryAfterSeconds,
          'Too many sign-in requests from this address',
        );
      }
      const address_ = byAddress.peek(addressKey(address));
      const pair = byPair.peek(pairKey(address, userId));
      if (!address_.allowed || !pair.allowed) {
        // The same answer whether the user exists or not: the id is counted as sent.
        throw new TooManyRequestsError(
          Math.max(address_.retryAfterSeconds, pair.retryAfterSeconds),
          !address_.allowed
            ? 'Too many failed sign-ins from this address'
            : 'Too many failed sign-ins for this user_id from this address',
        );
      }
    },
    recordFailure(address, userId) {
      byAddress.hit(addressKey(address));
      byPair.hit(pairKey(address, userId));
    },
  };
}

/**
 * Bearer tokens shaped `dst_...` that authenticate nobody, per client address: a guess of a
 * service token id costs a lookup (the principal cache holds only rows that exist), so past
 * the limit a `dst_` bearer from that address is refused before any lookup, the right
 * token too, until the window ends (as sign-ins are).
 */
export interface ServiceTokenGuard {
  admit(address: string): void;
  recordFailure(address: string): void;
}

export function createServiceTokenGuard(
  limits: Pick<SignInLimits, 'serviceTokenFailuresPerAddress' | 'failureWindowSeconds'>,
  now: () => number = Date.now,
): ServiceTokenGuard {
  const failures = createRateLimiter({
    limit: limits.serviceTokenFailuresPerAddress,
    windowSeconds: limits.failureWindowSeconds,
    now,
  });
  return {
    admit(address) {
      const decision = failures.peek(addressKey(address));
      if (!decision.allowed) {
        throw new TooManyRequestsError(
          decision.retryAfterSeconds,
          'Too many requests with an invalid service token from this address',
        );
      }
    },
    recordFailure(address) {
      failures.hit(addressKey(address));
    },
  };
}
