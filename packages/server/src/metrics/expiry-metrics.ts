/**
 * Secrets that expire within 7 days, and secrets already expired, per workspace id
 * (`ductape_secrets_expiring`, `ductape_secrets_expired`): counted when Prometheus scrapes,
 * never on a request, and at most once per `refreshMs` (a scrape in between gets the last
 * counts). Revoked secrets are left out: nothing more will happen to them.
 *
 * Labels: the workspace id only (never its name, never a key), for at most
 * `maxWorkspaces` workspaces, those with the most expired then expiring secrets first.
 */
import { Gauge, type Registry } from 'prom-client';

export const EXPIRY_HORIZON_SECONDS = 7 * 24 * 3600;

export interface ExpiryCount {
  workspaceId: string;
  /** Expires after now and within the horizon. */
  expiring: number;
  /** Expired at or before now. */
  expired: number;
}

/** Counts per workspace of the secrets that are not revoked and expire before `untilSeconds`. */
export type ExpirySource = (nowSeconds: number, untilSeconds: number) => Promise<ExpiryCount[]>;

export interface ExpiryMetricsOptions {
  refreshMs?: number;
  maxWorkspaces?: number;
  now?: () => number;
  /** Told when counting failed; the scrape then carries the last counts. */
  onError?: (error: unknown) => void;
}

export function registerExpiryMetrics(
  registry: Registry,
  source: ExpirySource,
  options: ExpiryMetricsOptions = {},
): void {
  const { refreshMs = 60_000, maxWorkspaces = 1000, now = Date.now, onError } = options;
  let counts: ExpiryCount[] = [];
  let countedAt = -Infinity;
  let counting: Promise<void> | undefined;

  async function refresh(): Promise<void> {
    const at = now();
    if (at - countedAt < refreshMs) return;
    counting ??= (async () => {
      try {
        const nowSeconds = Math.floor(at / 1000);
        const found = await source(nowSeconds, nowSeconds + EXPIRY_HORIZON_SECONDS);
        counts = found
          .filter((c) => c.expired > 0 || c.expiring > 0)
          .sort((a, b) => b.expired - a.expired || b.expiring - a.expiring)
          .slice(0, maxWorkspaces);
        countedAt = at;
      } catch (error) {
        onError?.(error);
      } finally {
        counting = undefined;
      }
    })();
    await counting;
  }

  const labelNames = ['workspace_id'] as const;
  new Gauge({
    name: 'ductape_secrets_expiring',
    help: 'Secrets (not revoked) that expire within 7 days, per workspace id',
    labelNames,
    registers: [registry],
    async collect() {
      await refresh();
      this.reset();
      for (const c of counts) if (c.expiring > 0) this.labels(c.workspaceId).set(c.expiring);
    },
  });
  new Gauge({
    name: 'ductape_secrets_expired',
    help: 'Secrets (not revoked) already expired, per workspace id',
    labelNames,
    registers: [registry],
    async collect() {
      await refresh();
      this.reset();
      for (const c of counts) if (c.expired > 0) this.labels(c.workspaceId).set(c.expired);
    },
  });
}
