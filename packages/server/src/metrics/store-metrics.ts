/**
 * Store query latency and errors, measured at the store's boundary: the composition root
 * hands the services a stand-in for the store that times every call returning a promise
 * (`ductape_store_query_duration_seconds`) and counts those that fail
 * (`ductape_store_query_errors_total`), by operation: the store method's name, a fixed set.
 * The backends are not touched; calls a backend makes to itself are not counted twice.
 *
 * How many store operations are under way when Prometheus scrapes
 * (`ductape_store_operations_in_flight`) tells how busy the store is: SQLite's writes waiting
 * for the single writer, or PostgreSQL queries holding or waiting for a pooled connection.
 *
 * An error a service throws from inside a store call (a rule checked in a read-modify-write)
 * is the service's answer, not a store error: it is not counted.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** What failed, by the error's class (store/types.ts): a fixed set of words. */
export type StoreErrorKind = 'unavailable' | 'disk' | 'disk_full' | 'duplicate_key' | 'other';

export interface StoreMetrics {
  /**
   * `store` with every method timed; the objects under the property names in `domains`
   * (e.g. `keys`) too, their operations named `keys.<method>`.
   */
  measure<T extends object>(store: T, domains?: readonly string[]): T;
}

/** Classified by name, which each error class sets: the store's modules can move freely. */
export function storeErrorKind(error: unknown): StoreErrorKind | undefined {
  switch ((error as { name?: unknown } | null)?.name) {
    case 'AppError':
      return undefined;
    case 'StoreUnavailableError':
      return 'unavailable';
    case 'StoreDiskError':
      return 'disk';
    case 'StoreFullError':
      return 'disk_full';
    case 'DuplicateKeyError':
      return 'duplicate_key';
    default:
      return 'other';
  }
}

type AnyFunction = (...args: unknown[]) => unknown;

const isThenable = (value: unknown): value is PromiseLike<unknown> =>
  typeof (value as { then?: unknown } | null)?.then === 'function';

export function createStoreMetrics(registry: Registry, buckets: number[]): StoreMetrics {
  const durations = new Histogram({
    name: 'ductape_store_query_duration_seconds',
    help: 'Time a store operation took, failed ones included, by operation (store method)',
    labelNames: ['operation'] as const,
    buckets,
    registers: [registry],
  });
  const errors = new Counter({
    name: 'ductape_store_query_errors_total',
    help: 'Store operations that failed, by operation and kind (unavailable, disk, disk_full, duplicate_key, other)',
    labelNames: ['operation', 'kind'] as const,
    registers: [registry],
  });
  // A plain number on the request path; read only when Prometheus scrapes.
  let inFlight = 0;
  new Gauge({
    name: 'ductape_store_operations_in_flight',
    help: 'Store operations started and not yet finished (writes queued for SQLite, queries on or waiting for a PostgreSQL connection)',
    registers: [registry],
    collect() {
      this.set(inFlight);
    },
  });

  function timed(method: AnyFunction, self: object, operation: string): AnyFunction {
    const duration = durations.labels(operation);
    const failed = (error: unknown): void => {
      const kind = storeErrorKind(error);
      if (kind) errors.labels(operation, kind).inc();
    };
    return (...args: unknown[]) => {
      const start = performance.now();
      let result: unknown;
      inFlight++;
      try {
        result = method.apply(self, args);
      } catch (error) {
        inFlight--;
        failed(error);
        throw error;
      }
      if (!isThenable(result)) {
        inFlight--;
        return result;
      }
      return Promise.resolve(result).then(
        (value) => {
          inFlight--;
          duration.observe((performance.now() - start) / 1000);
          return value;
        },
        (error: unknown) => {
          inFlight--;
          duration.observe((performance.now() - start) / 1000);
          failed(error);
          throw error;
        },
      );
    };
  }

  function wrap<T extends object>(target: T, prefix: string, domains: readonly string[]): T {
    const made = new Map<string, unknown>();
    return new Proxy(target, {
      get(object, property) {
        const value: unknown = Reflect.get(object, property, object);
        if (typeof property !== 'string') return value;
        const known = made.get(property);
        if (known !== undefined) return known;
        let stand: unknown;
        if (typeof value === 'function') {
          stand = timed(value as AnyFunction, object, prefix + property);
        } else if (domains.includes(property) && typeof value === 'object' && value !== null) {
          stand = wrap(value, `${property}.`, []);
        } else {
          return value;
        }
        made.set(property, stand);
        return stand;
      },
    });
  }

  return { measure: (store, domains = []) => wrap(store, '', domains) };
}
