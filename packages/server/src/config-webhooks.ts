/**
 * The webhook variables of the one configuration schema (config.ts reads process.env and
 * hands them here): delivery timing, expiry lead times and which URLs may be registered.
 */
import { z } from 'zod';
import { oneOf, optionalText, refuse, wholeNumber } from './config-values.js';

export interface WebhookConfig {
  /** `DUCTAPE_WEBHOOK_ALLOW_HTTP=true`: http to any host (default: http only to loopback). */
  readonly allowHttp: boolean;
  /** `DUCTAPE_WEBHOOK_EXPIRING_LEADS` (default `7d,1d`): seconds before expiry, largest first. */
  readonly expiringLeadsSeconds: readonly number[];
  /** `DUCTAPE_WEBHOOK_SCAN_INTERVAL` (default 60s): how often expiries are looked for. */
  readonly scanIntervalMs: number;
  /** `DUCTAPE_WEBHOOK_RETRY_BASE` (default 30s): the first retry's delay, doubled after each. */
  readonly retryBaseMs: number;
  /** The longest delay between two attempts (6 h). */
  readonly retryCapMs: number;
  /** `DUCTAPE_WEBHOOK_TIMEOUT` (default 10s): an attempt without an answer by then failed. */
  readonly timeoutMs: number;
  /** `DUCTAPE_WEBHOOK_MAX_ATTEMPTS` (default 15): then the delivery is `failed`. */
  readonly maxAttempts: number;
  /** `DUCTAPE_WEBHOOK_MAX_PER_WORKSPACE` (default 20). */
  readonly maxPerWorkspace: number;
  /** Deliveries in flight at once per server process. */
  readonly concurrency: number;
  /** How long a node holds a claimed delivery before another may take it over. */
  readonly leaseMs: number;
  /** Delivery log rows older than this are pruned (30 days). */
  readonly keepLogMs: number;
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const DURATION_RULE = 'a duration such as 200ms, 30s, 5m, 6h or 7d';

/** A duration (`200ms`, `30s`, `7d`...) in milliseconds, from min to max. */
function durationMs(raw: string): number | undefined {
  const match = /^(\d{1,9})(ms|s|m|h|d)$/.exec(raw.trim());
  if (!match) return undefined;
  return Number(match[1]) * (UNITS[match[2] as string] as number);
}

function duration(fallback: string, minMs: number, maxMs: number) {
  return optionalText.transform((raw, ctx) => {
    const ms = durationMs(raw ?? fallback);
    if (ms === undefined) return refuse(ctx, `must be ${DURATION_RULE}, got '${raw}'`);
    if (ms < minMs || ms > maxMs) return refuse(ctx, `must be from ${minMs} ms to ${maxMs} ms, got ${ms} ms`);
    return ms;
  });
}

export const webhookVariables = z.object({
  DUCTAPE_WEBHOOK_ALLOW_HTTP: oneOf(['true', 'false'] as const, 'false', 'must be true or false'),
  DUCTAPE_WEBHOOK_EXPIRING_LEADS: optionalText.transform((raw, ctx) => {
    const parts = (raw ?? '7d,1d').split(',').map((part) => durationMs(part));
    if (parts.length > 10 || parts.some((ms) => ms === undefined || ms < 1000)) {
      return refuse(
        ctx,
        `must be a comma-separated list of at most 10 durations of 1s or more (${DURATION_RULE})`,
      );
    }
    const seconds = [...new Set(parts.map((ms) => Math.floor((ms as number) / 1000)))];
    return Object.freeze(seconds.sort((a, b) => b - a));
  }),
  DUCTAPE_WEBHOOK_SCAN_INTERVAL: duration('60s', 50, 86_400_000),
  DUCTAPE_WEBHOOK_RETRY_BASE: duration('30s', 10, 86_400_000),
  DUCTAPE_WEBHOOK_TIMEOUT: duration('10s', 100, 600_000),
  DUCTAPE_WEBHOOK_MAX_ATTEMPTS: wholeNumber(15, 1, 100),
  DUCTAPE_WEBHOOK_MAX_PER_WORKSPACE: wholeNumber(20, 1, 1000),
});

export function webhookConfig(v: z.output<typeof webhookVariables>): WebhookConfig {
  return Object.freeze({
    allowHttp: v.DUCTAPE_WEBHOOK_ALLOW_HTTP === 'true',
    expiringLeadsSeconds: v.DUCTAPE_WEBHOOK_EXPIRING_LEADS,
    scanIntervalMs: v.DUCTAPE_WEBHOOK_SCAN_INTERVAL,
    retryBaseMs: v.DUCTAPE_WEBHOOK_RETRY_BASE,
    retryCapMs: Math.max(6 * 3_600_000, v.DUCTAPE_WEBHOOK_RETRY_BASE),
    timeoutMs: v.DUCTAPE_WEBHOOK_TIMEOUT,
    maxAttempts: v.DUCTAPE_WEBHOOK_MAX_ATTEMPTS,
    maxPerWorkspace: v.DUCTAPE_WEBHOOK_MAX_PER_WORKSPACE,
    concurrency: 8,
    // Longer than any attempt can take, so a live node never loses a delivery it is sending.
    leaseMs: Math.max(60_000, 3 * v.DUCTAPE_WEBHOOK_TIMEOUT),
    keepLogMs: 30 * 86_400_000,
  });
}
