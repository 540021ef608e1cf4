/**
 * Rate-limit refusals (`ductape_rate_limit_refusals_total`), counted where the guards are
 * wired: the guard's `admit` is wrapped, and each 429 it raises is counted under the
 * guard's name before it goes on its way. The guards themselves stay pure.
 */
import { TooManyRequestsError } from '../services/identity/rate-limit.js';
import type { RateLimitMetrics, RateLimitName } from './events.js';

export function countRefusals<G extends { admit(...args: never[]): void }>(
  guard: G,
  limit: RateLimitName,
  metrics: RateLimitMetrics | undefined,
): G {
  if (!metrics) return guard;
  return {
    ...guard,
    admit(...args: Parameters<G['admit']>) {
      try {
        guard.admit(...args);
      } catch (error) {
        if (error instanceof TooManyRequestsError) metrics.rateLimited(limit);
        throw error;
      }
    },
  };
}
