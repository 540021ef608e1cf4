/**
 * `node bench/metrics-hooks.mjs`: the CPU time the metrics add to one request, measured on
 * the hooks themselves (a load test on a busy machine cannot resolve a microsecond): the
 * request hook, a store call through the measuring stand-in against the same call made
 * directly, and a counter of the services. Process CPU time, best of 5 runs of 200,000
 * calls each. Build first: `npm run build`.
 */
import { URL } from 'node:url';

const dist = new URL('../packages/server/dist/metrics/', import.meta.url);
const { createMetrics } = await import(new URL('metrics.js', dist).href);

const CALLS = 200_000;
const metrics = createMetrics();

/** Nanoseconds of CPU per call of `body`, best of 5. */
async function perCall(body) {
  let best = Infinity;
  for (let run = 0; run < 5; run++) {
    const start = process.cpuUsage();
    for (let i = 0; i < CALLS; i++) await body(i);
    const used = process.cpuUsage(start);
    best = Math.min(best, ((used.user + used.system) * 1000) / CALLS);
  }
  return best;
}

const STATUSES = [200, 200, 200, 404, 401];
const ROUTES = ['/v1/secrets/:key', '/healthz', '/v1/secrets', undefined];
const store = {
  async getSecret(workspaceId, key) {
    return { workspaceId, key };
  },
};
const measured = metrics.store.measure(store);

const rows = {
  'nothing (the loop itself)': await perCall(() => undefined),
  'request hook (counter + histogram)': await perCall((i) =>
    metrics.http.request(ROUTES[i % 4], 'GET', STATUSES[i % 5], 1.5),
  ),
  'store call, direct': await perCall((i) => store.getSecret('w', `k${i % 10}`)),
  'store call, measured': await perCall((i) => measured.getSecret('w', `k${i % 10}`)),
  'sign-in counter': await perCall(() => metrics.signIn('success')),
  'principal cache counter': await perCall(() => metrics.principalLookup('user', 'hit')),
};
console.table(Object.entries(rows).map(([what, ns]) => ({ what, 'ns CPU per call': Math.round(ns) })));
