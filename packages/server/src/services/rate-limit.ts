/**
 * Fixed-window counters keyed by string, and the sign-in policy built on them. Pure: the
 * clock is injected, nothing is stored outside this process.
 *
 * Invariants: the counters live in one node's memory, so with N nodes behind a balancer an
 * attacker gets up to N times each limit (the documented trade-off: no shared store). Memory
 * is bounded: at most `maxKeys` keys per limiter, the oldest window evicted first.
 */
import { AppError } from '../errors.js';

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

/** The sign-in limits (see config.ts for the variables and defaults). */
export interface SignInLimits {
  /** Failed sign-ins per client address per `failureWindowSeconds`. */
  failuresPerAddress: number;
  /** Failed sign-ins per user id (as sent, existing or not) per `failureWindowSeconds`. */
  failuresPerUser: number;
  failureWindowSeconds: number;
  /** Token exchanges (failed or not) per client address per `exchangeWindowSeconds`. */
  exchangesPerAddress: number;
  exchangeWindowSeconds: number;
}

export const DEFAULT_SIGN_IN_LIMITS: SignInLimits = Object.freeze({
  failuresPerAddress: 20,
  failuresPerUser: 10,
  failureWindowSeconds: 300,
  exchangesPerAddress: 300,
  exchangeWindowSeconds: 60,
});

/** A 429 that carries how long to wait; the route turns it into a `Retry-After` header. */
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

export interface SignInGuard {
  /** Throws TooManyRequestsError when this attempt must be refused before any check. */
  admit(address: string, userId: string): void;
  /** Counts a failed sign-in against the address and the user id. */
  recordFailure(address: string, userId: string): void;
}

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
  const byUser = createRateLimiter({
    limit: limits.failuresPerUser,
    windowSeconds: limits.failureWindowSeconds,
    now,
  });
  return {
    admit(address, userId) {
      const exchange = exchanges.hit(address);
      if (!exchange.allowed) {
        throw new TooManyRequestsError(
          exchange.retryAfterSeconds,
          'Too many sign-in requests from this address',
        );
      }
      const address_ = byAddress.peek(address);
      const user = byUser.peek(userId);
      if (!address_.allowed || !user.allowed) {
        // The same answer whether the user exists or not: the id is counted as sent.
        throw new TooManyRequestsError(
          Math.max(address_.retryAfterSeconds, user.retryAfterSeconds),
          !address_.allowed
            ? 'Too many failed sign-ins from this address'
            : 'Too many failed sign-ins for this user_id',
        );
      }
    },
    recordFailure(address, userId) {
      byAddress.hit(address);
      byUser.hit(userId);
    },
  };
}
