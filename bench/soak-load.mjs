/**
 * The soak's load, in its own process: an open loop that starts requests at a fixed rate
 * whatever the answers do (a slow server gets more requests in flight, not fewer requests),
 * a steady mix of reads and writes, over keep-alive connections.
 *
 *   node bench/soak-load.mjs '<spec as JSON>'   (prints the result as one JSON line)
 *
 * spec: { url, creds, rate, duration, warmup, prefix, count }
 * Prints "warm" on a line of its own when the warm-up is over. Creates are deleted again
 * (oldest first) and updates are bounded by the kept versions, so the store stays the same
 * size: memory that grows is the server's, not the data's.
 */
import { Buffer } from 'node:buffer';
import { randomBytes } from 'node:crypto';
import { Agent, request as httpRequest } from 'node:http';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { URL } from 'node:url';
import { signIn } from './api.mjs';
import { keyName } from './keys.mjs';

const spec = JSON.parse(process.argv[2] ?? '{}');
const target = new URL(spec.url);
// An idle connection is dropped after 3 s, before the server's 5 s keep-alive timeout: reusing
// one the server is closing at that very moment would be a (client-made) ECONNRESET.
const agent = new Agent({ keepAlive: true, maxSockets: 64, timeout: 3000 });
/** A request still unanswered after this is an error (a timeout). */
const TIMEOUT_MS = 10_000;
/** In flight past this, the server is not keeping up: the request is not sent, and counted as an error. */
const MAX_IN_FLIGHT = 1000;
/** The access token is renewed this often, as the SDK does before it expires. */
const RENEW_MS = 60_000;

const tag = randomBytes(3).toString('hex');
let token;
let created = 0;
/** Keys created and not yet deleted, oldest first. */
const createdKeys = [];
const randomKey = () => keyName(spec.prefix, Math.floor(Math.random() * spec.count));
const RESOLVE_INPUT = [1, 2, 3].map((n) => `V${n}=$Secret{${keyName(spec.prefix, n * 7)}}`).join(' ');

/** [name, weight, () => { method, path, body?, expect, onOk? }] */
const MIX = [
  ['fetch', 45, () => ({ method: 'GET', path: `/v1/secrets/${randomKey()}`, expect: 200 })],
  ['list', 5, () => ({ method: 'GET', path: '/v1/secrets', expect: 200 })],
  [
    'update',
    14,
    () => ({
      method: 'PATCH',
      path: `/v1/secrets/${randomKey()}`,
      body: { value: `soak-${randomBytes(8).toString('hex')}` },
      expect: 200,
    }),
  ],
  [
    'create',
    8,
    () => {
      const key = `soak_${tag}_${created++}`;
      return {
        method: 'POST',
        path: '/v1/secrets',
        body: { key, value: `v-${key}`, scope: ['soak'], envs: ['prd'] },
        expect: 201,
        onOk: () => createdKeys.push(key),
      };
    },
  ],
  [
    'delete',
    8,
    () => {
      const key = createdKeys.shift();
      // Nothing created yet: read instead, so the mix keeps its rate.
      if (key === undefined)
        return { method: 'GET', path: `/v1/secrets/${randomKey()}/metadata`, expect: 200 };
      return { method: 'DELETE', path: `/v1/secrets/${key}`, expect: 200 };
    },
  ],
  [
    'resolve',
    20,
    () => ({ method: 'POST', path: '/v1/resolve', body: { input: RESOLVE_INPUT }, expect: 200 }),
  ],
];
const TOTAL_WEIGHT = MIX.reduce((sum, [, weight]) => sum + weight, 0);

function pick() {
  let r = Math.random() * TOTAL_WEIGHT;
  for (const entry of MIX) {
    r -= entry[1];
    if (r < 0) return entry;
  }
  return MIX[0];
}

const stats = {
  sent: 0,
  answered: 0,
  errors: 0,
  byStatus: {},
  socketErrors: {},
  latencies: [],
  byOp: {},
  maxLagMs: 0,
  inFlight: 0,
  maxInFlight: 0,
};

function record(op, latencyMs, failure) {
  const entry = (stats.byOp[op] ??= { count: 0, errors: 0, latencies: [] });
  entry.count += 1;
  if (latencyMs !== undefined) {
    entry.latencies.push(latencyMs);
    stats.latencies.push(latencyMs);
  }
  if (failure !== undefined) {
    entry.errors += 1;
    stats.errors += 1;
  }
}

/** Sends one request; resolves when it is answered or has failed. Never rejects. */
function send(op, { method, path, body, expect, onOk }) {
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  const headers = { authorization: `Bearer ${token}` };
  if (payload)
    Object.assign(headers, { 'content-type': 'application/json', 'content-length': payload.length });
  const started = performance.now();
  stats.sent += 1;
  stats.inFlight += 1;
  stats.maxInFlight = Math.max(stats.maxInFlight, stats.inFlight);
  return new Promise((resolve) => {
    const done = (status, error) => {
      stats.inFlight -= 1;
      const latency = performance.now() - started;
      if (error !== undefined) {
        stats.socketErrors[error] = (stats.socketErrors[error] ?? 0) + 1;
        record(op, undefined, error);
      } else {
        stats.answered += 1;
        stats.byStatus[status] = (stats.byStatus[status] ?? 0) + 1;
        if (status === expect) onOk?.();
        record(op, latency, status === expect ? undefined : status);
      }
      resolve();
    };
    const outgoing = httpRequest(
      { host: target.hostname, port: target.port, method, path, headers, agent },
      (incoming) => {
        incoming.resume();
        incoming.on('end', () => done(incoming.statusCode));
        incoming.on('error', (error) => done(undefined, error.code ?? error.message));
      },
    );
    outgoing.setTimeout(TIMEOUT_MS, () =>
      outgoing.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })),
    );
    outgoing.on('error', (error) => done(undefined, error.code ?? error.message));
    outgoing.end(payload);
  });
}

const percentile = (sorted, p) =>
  sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

function summary(latencies) {
  const sorted = Float64Array.from(latencies).sort();
  const round = (n) => Math.round(n * 100) / 100;
  return {
    p50: round(percentile(sorted, 50)),
    p90: round(percentile(sorted, 90)),
    p99: round(percentile(sorted, 99)),
    max: round(sorted.length ? sorted[sorted.length - 1] : 0),
  };
}

async function main() {
  token = await signIn(spec.url, spec.creds);
  const pending = new Set();
  const intervalMs = 1000 / spec.rate;
  const start = performance.now();
  const end = start + spec.duration * 1000;
  let warm = spec.warmup <= 0;
  if (warm) process.stdout.write('warm\n');
  let lastRenewal = start;
  let scheduled = 0;
  for (;;) {
    const now = performance.now();
    if (now >= end) break;
    if (!warm && now - start >= spec.warmup * 1000) {
      warm = true;
      process.stdout.write('warm\n');
    }
    if (now - lastRenewal >= RENEW_MS) {
      lastRenewal = now;
      token = await signIn(spec.url, spec.creds);
      record('sign-in', performance.now() - now);
      stats.sent += 1;
      stats.answered += 1;
    }
    // Every request whose time has come is started now; how late the latest one is, is the lag.
    while (start + scheduled * intervalMs <= now) {
      stats.maxLagMs = Math.max(stats.maxLagMs, now - (start + scheduled * intervalMs));
      scheduled += 1;
      const [op, , make] = pick();
      if (stats.inFlight >= MAX_IN_FLIGHT) {
        stats.sent += 1;
        stats.socketErrors.OVERLOADED = (stats.socketErrors.OVERLOADED ?? 0) + 1;
        record(op, undefined, 'OVERLOADED');
        continue;
      }
      const promise = send(op, make());
      pending.add(promise);
      void promise.then(() => pending.delete(promise));
    }
    await sleep(Math.max(1, Math.min(10, start + scheduled * intervalMs - performance.now())));
  }
  await Promise.all(pending);
  agent.destroy();
  const seconds = (performance.now() - start) / 1000;
  const byOp = Object.fromEntries(
    Object.entries(stats.byOp).map(([op, e]) => [
      op,
      { count: e.count, errors: e.errors, ...summary(e.latencies) },
    ]),
  );
  const out = {
    seconds: Math.round(seconds * 10) / 10,
    rate: spec.rate,
    sent: stats.sent,
    answered: stats.answered,
    achievedRate: Math.round((stats.sent / seconds) * 10) / 10,
    errors: stats.errors,
    byStatus: stats.byStatus,
    socketErrors: stats.socketErrors,
    latencyMs: summary(stats.latencies),
    byOp,
    maxLagMs: Math.round(stats.maxLagMs),
    maxInFlight: stats.maxInFlight,
    created,
    leftCreated: createdKeys.length,
  };
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

main().catch((error) => {
  process.stderr.write(`soak load failed: ${error?.stack ?? error}\n`);
  process.exitCode = 1;
});
