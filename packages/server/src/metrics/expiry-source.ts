/**
 * Where the expiry counts come from, through the store's existing reads: the workspaces a
 * page at a time, and each one's secrets' metadata (never a value). A whole pass reads every
 * secret's metadata, which is why expiry-metrics.ts runs it at most once a minute, and only
 * when Prometheus asks. (One GROUP BY query in each backend would be cheaper: see
 * docs/metrics.md.)
 */
import type { Store } from '../store/types.js';
import type { ExpiryCount, ExpirySource } from './expiry-metrics.js';

const PAGE = 500;

export function expiryFromListings(store: Pick<Store, 'workspaceIds' | 'listSecrets'>): ExpirySource {
  return async (nowSeconds, untilSeconds) => {
    const counts: ExpiryCount[] = [];
    let after: string | undefined;
    for (;;) {
      const ids = await store.workspaceIds(after, PAGE);
      for (const workspaceId of ids) {
        let expiring = 0;
        let expired = 0;
        for (const secret of await store.listSecrets(workspaceId)) {
          if (secret.revokedAt !== null || secret.expiresAt === null) continue;
          if (secret.expiresAt <= nowSeconds) expired++;
          else if (secret.expiresAt <= untilSeconds) expiring++;
        }
        if (expiring > 0 || expired > 0) counts.push({ workspaceId, expiring, expired });
      }
      if (ids.length < PAGE) return counts;
      after = ids[ids.length - 1];
    }
  };
}
