/**
 * The expiry gauges (metrics/expiry-metrics.ts) count when scraped, at most once per refresh
 * interval however often Prometheus asks, keep the last counts when counting fails, and
 * label at most `maxWorkspaces` workspaces.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import {
  EXPIRY_HORIZON_SECONDS,
  registerExpiryMetrics,
  type ExpiryCount,
} from '../../src/metrics/expiry-metrics.js';
import { parseScrape } from './scrape.js';

function setUp(counts: () => ExpiryCount[], options: { maxWorkspaces?: number } = {}) {
  const registry = new Registry();
  let clock = 1_000_000_000_000;
  const calls: [number, number][] = [];
  const errors: unknown[] = [];
  registerExpiryMetrics(
    registry,
    async (now, until) => {
      calls.push([now, until]);
      return counts();
    },
    { refreshMs: 60_000, now: () => clock, onError: (e) => errors.push(e), ...options },
  );
  return {
    calls,
    errors,
    advance: (ms: number) => (clock += ms),
    scrape: async () => parseScrape(await registry.metrics()),
  };
}

describe('expiry gauges', () => {
  it('count on the first scrape, then at most once a minute', async () => {
    let expiring = 3;
    const t = setUp(() => [{ workspaceId: 'w1', expiring, expired: 1 }]);
    assert.equal((await t.scrape()).value('ductape_secrets_expiring', { workspace_id: 'w1' }), 3);
    assert.deepEqual(t.calls, [[1_000_000_000, 1_000_000_000 + EXPIRY_HORIZON_SECONDS]]);
    expiring = 5;
    t.advance(59_000);
    await t.scrape();
    assert.equal(t.calls.length, 1, 'a scrape within the minute reuses the counts');
    t.advance(1_000);
    const later = await t.scrape();
    assert.equal(t.calls.length, 2);
    assert.equal(later.value('ductape_secrets_expiring', { workspace_id: 'w1' }), 5);
    assert.equal(later.value('ductape_secrets_expired', { workspace_id: 'w1' }), 1);
  });

  it('keep the last counts when counting fails, and say so', async () => {
    let fail = false;
    const t = setUp(() => {
      if (fail) throw new Error('database unavailable');
      return [{ workspaceId: 'w1', expiring: 2, expired: 0 }];
    });
    await t.scrape();
    fail = true;
    t.advance(60_000);
    const scraped = await t.scrape();
    assert.equal(scraped.value('ductape_secrets_expiring', { workspace_id: 'w1' }), 2);
    assert.equal(scraped.series('ductape_secrets_expired').length, 0, 'no series for a count of 0');
    assert.equal(t.errors.length, 1);
  });

  it('label at most maxWorkspaces workspaces, the most expired first', async () => {
    const t = setUp(
      () => [
        { workspaceId: 'few', expiring: 1, expired: 0 },
        { workspaceId: 'many', expiring: 0, expired: 9 },
        { workspaceId: 'some', expiring: 4, expired: 2 },
      ],
      { maxWorkspaces: 2 },
    );
    const scraped = await t.scrape();
    const ids = new Set(
      [...scraped.series('ductape_secrets_expiring'), ...scraped.series('ductape_secrets_expired')].map(
        (l) => l.workspace_id,
      ),
    );
    assert.deepEqual([...ids].sort(), ['many', 'some']);
  });
});
