/**
 * What the services tell the metrics, as plain calls: the services depend on these small
 * interfaces (optional: without metrics nothing is passed and nothing is counted), never on
 * prom-client. Every label value is one of a few fixed words: nothing a caller sends (a key,
 * a value, a token, a user id) can become one.
 */

/** How an attempt ended: `failure` is a credential that did not check out. */
export type AttemptResult = 'success' | 'failure';

/** Private keys exchanged for access tokens (POST /v1/auth/token), and `dst_` service tokens presented. */
export interface SignInMetrics {
  signIn(result: AttemptResult): void;
  serviceToken(result: AttemptResult): void;
}

/** Which guard refused a request with a 429 (services/identity/rate-limit.ts). */
export type RateLimitName = 'sign_in' | 'service_token';

export interface RateLimitMetrics {
  rateLimited(limit: RateLimitName): void;
}

/** `bypass`: the cache could not vouch for its rows (a listener down), so the store was asked. */
export type CacheResult = 'hit' | 'miss' | 'bypass';

export interface PrincipalCacheMetrics {
  principalLookup(kind: 'user' | 'token', result: CacheResult): void;
}

export interface AuditMetrics {
  /** One group commit of audit entries: how many, how long it took, whether it was written. */
  auditBatch(entries: number, seconds: number, ok: boolean): void;
}

/** How a webhook delivery attempt ended: delivered, to be retried, or given up (`failed`). */
export type WebhookOutcome = 'delivered' | 'retry' | 'failed';

export interface WebhookMetrics {
  webhookAttempt(outcome: WebhookOutcome): void;
}
