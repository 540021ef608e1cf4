/**
 * The store's stand-in (metrics/store-metrics.ts) times every call that returns a promise,
 * counts store errors by kind but not a service's own refusal thrown inside a store call,
 * names the operations of a domain object `domain.method`, and counts the operations under
 * way. A scripted object stands in for the store so a call can be held in flight; the
 * e2e suite (metrics-endpoint) measures the real stores.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { AppError } from '../../src/errors.js';
import { createStoreMetrics } from '../../src/metrics/store-metrics.js';
import { DuplicateKeyError, StoreUnavailableError } from '../../src/store/types.js';
import { parseScrape } from './scrape.js';

function scripted() {
  let release: (() => void) | undefined;
  const target = {
    calls: 0,
    async read(id: string): Promise<string> {
      this.calls++;
      return `row ${id}`;
    },
    held(): Promise<void> {
      return new Promise((resolve) => (release = resolve));
    },
    async down(): Promise<void> {
      throw new StoreUnavailableError(new Error('connection refused'));
    },
    async duplicate(): Promise<void> {
      throw new DuplicateKeyError();
    },
    async refused(): Promise<void> {
      throw new AppError('VERSION_CONFLICT', 'expected version 2');
    },
    watch(): { stop(): void } {
      return { stop: () => undefined };
    },
    keys: {
      async latest(): Promise<number> {
        return 3;
      },
    },
  };
  return { target, release: () => release?.() };
}

describe('the store measured at its boundary', () => {
  it('passes calls and answers through, with `this` the store itself', async () => {
    const registry = new Registry();
    const { target } = scripted();
    const store = createStoreMetrics(registry, [0.1, 1]).measure(target, ['keys']);
    assert.equal(await store.read('a'), 'row a');
    assert.equal(target.calls, 1);
    assert.equal(await store.keys.latest(), 3);
    assert.equal(typeof store.watch().stop, 'function', 'a synchronous method answers synchronously');
    const scraped = parseScrape(await registry.metrics());
    assert.equal(scraped.value('ductape_store_query_duration_seconds_count', { operation: 'read' }), 1);
    assert.equal(
      scraped.value('ductape_store_query_duration_seconds_count', { operation: 'keys.latest' }),
      1,
    );
    assert.equal(
      scraped.series('ductape_store_query_duration_seconds_count').length,
      2,
      'watch is not timed',
    );
  });

  it('counts store errors by kind, and not a refusal a service threw inside the call', async () => {
    const registry = new Registry();
    const store = createStoreMetrics(registry, [0.1, 1]).measure(scripted().target);
    await assert.rejects(store.down(), StoreUnavailableError);
    await assert.rejects(store.duplicate(), DuplicateKeyError);
    await assert.rejects(store.refused(), AppError);
    const scraped = parseScrape(await registry.metrics());
    const errors = 'ductape_store_query_errors_total';
    assert.equal(scraped.value(errors, { operation: 'down', kind: 'unavailable' }), 1);
    assert.equal(scraped.value(errors, { operation: 'duplicate', kind: 'duplicate_key' }), 1);
    assert.equal(scraped.value(errors, { operation: 'refused' }), 0);
    assert.equal(scraped.value('ductape_store_query_duration_seconds_count', { operation: 'refused' }), 1);
    assert.ok(!scraped.text.includes('connection refused') && !scraped.text.includes('expected version'));
  });

  it('counts the operations under way when scraped', async () => {
    const registry = new Registry();
    const { target, release } = scripted();
    const store = createStoreMetrics(registry, [0.1, 1]).measure(target);
    const inFlight = async (): Promise<number> =>
      parseScrape(await registry.metrics()).value('ductape_store_operations_in_flight');
    assert.equal(await inFlight(), 0);
    const held = store.held();
    await store.read('b');
    await assert.rejects(store.down());
    assert.equal(await inFlight(), 1, 'the held call only');
    release();
    await held;
    assert.equal(await inFlight(), 0);
  });
});
