/**
 * The load generator, in its own process so it never shares an event loop with the server
 * or the orchestrator: one warm-up run, then the measured run, with the same settings.
 *
 *   node bench/cannon.mjs '<spec as JSON>'   (prints the measured result as one JSON line)
 *
 * spec: { url, connections, duration, warmup, method, path, headers?, body?,
 *         uniqueIds?, keys?: { prefix, count, order: 'random' | 'cycle' } }
 * With `keys`, every request's path has `{key}` replaced by one of the seeded keys.
 * With `uniqueIds`, `[<id>]` in the body becomes an id unique to the request. (Not
 * autocannon's own idReplacement: it swaps the id in after the Content-Length was computed,
 * so a longer id corrupts the request and the connection stalls.)
 */
import { randomBytes } from 'node:crypto';
import autocannon from 'autocannon';
import { keyName } from './keys.mjs';

const spec = JSON.parse(process.argv[2] ?? '{}');

// Unique across processes (the tag) and across the warm-up and measured runs (the counter).
const tag = randomBytes(4).toString('hex');
let issued = 0;
const nextId = () => `${tag}${(issued++).toString(36)}`;

function requests() {
  const base = { method: spec.method, path: spec.path, headers: spec.headers ?? {}, body: spec.body };
  const keys = spec.keys;
  if (!keys && !spec.uniqueIds) return [base];
  let next = 0;
  const pick =
    keys?.order === 'cycle' ? () => next++ % keys.count : () => Math.floor(Math.random() * keys.count);
  return [
    {
      ...base,
      setupRequest: (request) => ({
        ...request,
        path: keys ? spec.path.replace('{key}', keyName(keys.prefix, pick())) : spec.path,
        body: spec.uniqueIds ? spec.body.replaceAll('[<id>]', nextId()) : spec.body,
      }),
    },
  ];
}

function run(duration) {
  return autocannon({
    url: spec.url,
    connections: spec.connections,
    pipelining: 1,
    duration,
    timeout: 10,
    requests: requests(),
  });
}

async function main() {
  if (spec.warmup > 0) await run(spec.warmup);
  // Tells the parent the measured window starts (it reads the server's CPU time now).
  process.stdout.write('measuring\n');
  const r = await run(spec.duration);
  const out = {
    connections: spec.connections,
    duration: r.duration,
    requests: r.requests.total,
    ok: r['2xx'],
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
    statusCodes: r.statusCodeStats,
    // Only 2xx answers count: an error page is not a served request.
    rps: r['2xx'] / r.duration,
    latency: { p50: r.latency.p50, p90: r.latency.p90, p99: r.latency.p99, max: r.latency.max },
    bytesPerSecond: r.throughput.average,
  };
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

main().catch((error) => {
  process.stderr.write(`load failed: ${error?.stack ?? error}\n`);
  process.exitCode = 1;
});
