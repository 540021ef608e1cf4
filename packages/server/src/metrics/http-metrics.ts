/**
 * Requests by route, method and status, with their latency: `ductape_http_requests_total`
 * and `ductape_http_request_duration_seconds`.
 *
 * The route is the pattern the request matched (`/v1/secrets/:key`), never the URL sent:
 * a secret's key sits in the URL. Requests no route matched (the console's pages, typos,
 * probes) share the one value `unmatched`. Methods are those Node's parser accepts.
 *
 * Cheap on the request path: each (route, method, status) looks up its two series in
 * nested maps once made, so a request adds no string building or label hashing.
 */
import { Counter, Histogram, type Registry } from 'prom-client';

/** The route label of a request that matched no route. */
export const UNMATCHED_ROUTE = 'unmatched';

export interface HttpMetrics {
  /** One answered request; `route` undefined when none matched, `elapsedMs` as Fastify measures it. */
  request(route: string | undefined, method: string, status: number, elapsedMs: number): void;
}

interface Series {
  count: { inc(): void };
  duration: { observe(value: number): void };
}

export function createHttpMetrics(registry: Registry, buckets: number[]): HttpMetrics {
  const labelNames = ['route', 'method', 'status'] as const;
  const requests = new Counter({
    name: 'ductape_http_requests_total',
    help: 'HTTP requests answered, by route pattern, method and status',
    labelNames,
    registers: [registry],
  });
  const durations = new Histogram({
    name: 'ductape_http_request_duration_seconds',
    help: 'Time from receiving a request to the end of its response, by route pattern, method and status',
    labelNames,
    buckets,
    registers: [registry],
  });
  const byRoute = new Map<string, Map<string, Map<number, Series>>>();

  function series(route: string, method: string, status: number): Series {
    let byMethod = byRoute.get(route);
    if (!byMethod) byRoute.set(route, (byMethod = new Map()));
    let byStatus = byMethod.get(method);
    if (!byStatus) byMethod.set(method, (byStatus = new Map()));
    let found = byStatus.get(status);
    if (!found) {
      const labels = [route, method, String(status)] as const;
      found = { count: requests.labels(...labels), duration: durations.labels(...labels) };
      byStatus.set(status, found);
    }
    return found;
  }

  return {
    request(route, method, status, elapsedMs) {
      const { count, duration } = series(route ?? UNMATCHED_ROUTE, method, status);
      count.inc();
      duration.observe(elapsedMs / 1000);
    },
  };
}
