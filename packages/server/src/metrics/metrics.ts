/**
 * Every metric the server exports, on a registry of its own (one per server, so two servers
 * in one process never share series), in the Prometheus text format (prom-client).
 *
 * Made only when DUCTAPE_METRICS_PORT is set: without it nothing here exists, no hook is
 * added and no counter is touched on the request path.
 *
 * Label values are fixed words, route patterns (`/v1/secrets/:key`, never the URL sent) and
 * workspace ids: never a secret's key or value, a token, or anything else a caller chose.
 */
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';
import type {
  AttemptResult,
  AuditMetrics,
  CacheResult,
  PrincipalCacheMetrics,
  RateLimitMetrics,
  RateLimitName,
  SignInMetrics,
  WebhookMetrics,
  WebhookOutcome,
} from './events.js';
import { createHttpMetrics, type HttpMetrics } from './http-metrics.js';
import { createStoreMetrics, type StoreMetrics } from './store-metrics.js';

/** Seconds: from a cached lookup (well under 1 ms) to a request that times out (30 s). */
export const LATENCY_BUCKETS = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
];

export interface Metrics
  extends SignInMetrics, RateLimitMetrics, PrincipalCacheMetrics, AuditMetrics, WebhookMetrics {
  readonly registry: Registry;
  readonly http: HttpMetrics;
  readonly store: StoreMetrics;
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  // process_* and nodejs_* under their usual names, so the usual dashboards work.
  collectDefaultMetrics({ register: registry });
  const registers = [registry];

  const signIns = new Counter({
    name: 'ductape_sign_ins_total',
    help: 'Private keys exchanged for access tokens (POST /v1/auth/token), by result; failure: wrong credentials',
    labelNames: ['result'] as const,
    registers,
  });
  const serviceTokens = new Counter({
    name: 'ductape_service_token_authentications_total',
    help: 'Requests authenticated with a service token, by result; failure: not a valid token',
    labelNames: ['result'] as const,
    registers,
  });
  const refusals = new Counter({
    name: 'ductape_rate_limit_refusals_total',
    help: 'Requests refused with a 429 by a rate limit, by limit (sign_in, service_token)',
    labelNames: ['limit'] as const,
    registers,
  });
  const lookups = new Counter({
    name: 'ductape_principal_cache_lookups_total',
    help: 'Users and service tokens looked up by authentication, by kind and result (hit, miss, bypass: cache not trusted)',
    labelNames: ['kind', 'result'] as const,
    registers,
  });
  const batchEntries = new Histogram({
    name: 'ductape_audit_batch_entries',
    help: 'Audit entries per group commit (reads, sign-ins and refusals gathered per workspace)',
    buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024],
    registers,
  });
  const batchSeconds = new Histogram({
    name: 'ductape_audit_batch_commit_duration_seconds',
    help: 'Time to commit one batch of audit entries, failed ones included',
    buckets: LATENCY_BUCKETS,
    registers,
  });
  const batchFailures = new Counter({
    name: 'ductape_audit_batch_failures_total',
    help: 'Batches of audit entries that could not be written (their requests failed, or were served under best-effort)',
    registers,
  });

  const deliveries = new Counter({
    name: 'ductape_webhook_deliveries_total',
    help: 'Webhook delivery attempts by this node, by outcome (delivered, retry: failed and scheduled again, failed: given up)',
    labelNames: ['outcome'] as const,
    registers,
  });

  // Every fixed series starts at 0, so a rate() sees its first increase.
  for (const result of ['success', 'failure'] as const) {
    signIns.labels(result).inc(0);
    serviceTokens.labels(result).inc(0);
  }
  for (const limit of ['sign_in', 'service_token'] as const) refusals.labels(limit).inc(0);
  const lookupSeries = {
    user: {
      hit: lookups.labels('user', 'hit'),
      miss: lookups.labels('user', 'miss'),
      bypass: lookups.labels('user', 'bypass'),
    },
    token: {
      hit: lookups.labels('token', 'hit'),
      miss: lookups.labels('token', 'miss'),
      bypass: lookups.labels('token', 'bypass'),
    },
  };
  for (const kind of Object.values(lookupSeries)) for (const series of Object.values(kind)) series.inc(0);
  batchFailures.inc(0);
  for (const outcome of ['delivered', 'retry', 'failed'] as const) deliveries.labels(outcome).inc(0);

  return {
    registry,
    http: createHttpMetrics(registry, LATENCY_BUCKETS),
    store: createStoreMetrics(registry, LATENCY_BUCKETS),
    signIn: (result: AttemptResult) => signIns.labels(result).inc(),
    serviceToken: (result: AttemptResult) => serviceTokens.labels(result).inc(),
    rateLimited: (limit: RateLimitName) => refusals.labels(limit).inc(),
    principalLookup: (kind: 'user' | 'token', result: CacheResult) => lookupSeries[kind][result].inc(),
    webhookAttempt: (outcome: WebhookOutcome) => deliveries.labels(outcome).inc(),
    auditBatch(entries: number, seconds: number, ok: boolean) {
      batchEntries.observe(entries);
      batchSeconds.observe(seconds);
      if (!ok) batchFailures.inc();
    },
  };
}
