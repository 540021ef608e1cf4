/**
 * `node bench/metrics-overhead.mjs`: what metrics cost per request. The same server, store
 * and load, with metrics off (DUCTAPE_METRICS_PORT unset) and on, alternated (off, on, off,
 * on...) so a neighbour's load on the machine falls on both: autocannon against /healthz and
 * against a fetch of one secret's value, and the server's CPU time per request.
 *
 * Settings (environment): BENCH_DURATION seconds per run (5), BENCH_WARMUP (2),
 * BENCH_CONNECTIONS (20), BENCH_ROUNDS pairs of off/on runs (2). Build first: `npm run build`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { call, signIn } from './api.mjs';
import {
  freePort,
  killAll,
  runLoad,
  runNode,
  START_FLAGS,
  startProcess,
  watchProcess,
} from './processes.mjs';

const number = (name, fallback) => Number(process.env[name] || fallback);
const duration = number('BENCH_DURATION', 5);
const warmup = number('BENCH_WARMUP', 2);
const connections = number('BENCH_CONNECTIONS', 20);
const rounds = number('BENCH_ROUNDS', 2);
const log = (message) => process.stderr.write(`[metrics-overhead] ${message}\n`);

const dataDir = mkdtempSync(join(os.tmpdir(), 'ductape-bench-metrics-'));
const env = {
  PATH: process.env.PATH,
  DUCTAPE_DATA_DIR: dataDir,
  LOG_LEVEL: 'warn',
  DUCTAPE_TOKEN_EXCHANGES_PER_IP: '100000',
};

async function measure(metrics) {
  const server = await startProcess('packages/server/dist/main.js', {
    env: metrics ? { ...env, DUCTAPE_METRICS_PORT: String(await freePort()) } : env,
    readyPath: '/healthz',
    nodeFlags: START_FLAGS,
  });
  try {
    const token = await signIn(server.url, creds);
    const created = await call(server.url, 'POST', '/v1/secrets', {
      token,
      body: { key: 'BENCH', value: 'v'.repeat(40) },
    });
    if (created.status !== 201 && created.status !== 409) throw new Error(`create: ${created.status}`);
    const results = {};
    for (const [name, path, headers] of [
      ['healthz', '/healthz', {}],
      ['fetch', '/v1/secrets/BENCH', { authorization: `Bearer ${token}` }],
    ]) {
      const watch = watchProcess(server.pid);
      const load = await runLoad(
        { url: server.url, connections, duration, warmup, method: 'GET', path, headers },
        { onMeasuring: () => watch.measuring() },
      );
      const { cpuMs } = watch.stop();
      if (load.non2xx > 0 || load.errors > 0) throw new Error(`${name}: ${JSON.stringify(load.statusCodes)}`);
      results[name] = {
        rps: load.rps,
        p99: load.latency.p99,
        cpuUsPerRequest: (cpuMs * 1000) / load.requests,
      };
    }
    return results;
  } finally {
    await server.stop();
  }
}

let creds;
try {
  // The operator command, as a newcomer makes a workspace; its owner's credentials from its output.
  const made = await runNode(
    ['packages/server/bin/ductape-server.js', 'workspace', 'create', '--name', 'bench'],
    {
      env,
      timeoutMs: 60_000,
    },
  );
  const field = (name) => new RegExp(`${name}\\s+(\\S+)`).exec(made)?.[1];
  creds = {
    workspace_id: field('workspace_id'),
    user_id: field('user_id'),
    private_key: field('private_key'),
  };
  const runs = { off: [], on: [] };
  for (let round = 0; round < rounds; round++) {
    for (const mode of ['off', 'on']) {
      log(`round ${round + 1}: metrics ${mode}`);
      runs[mode].push(await measure(mode === 'on'));
    }
  }
  const median = (values) => {
    const sorted = [...values].sort((a, b) => a - b);
    const mid = Math.floor(sorted.length / 2);
    return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  };
  const rows = [];
  for (const name of ['healthz', 'fetch']) {
    const of = (mode, field) => median(runs[mode].map((r) => r[name][field]));
    rows.push({
      request: name,
      'req/s off': Math.round(of('off', 'rps')),
      'req/s on': Math.round(of('on', 'rps')),
      'CPU us/req off': Math.round(of('off', 'cpuUsPerRequest')),
      'CPU us/req on': Math.round(of('on', 'cpuUsPerRequest')),
      'p99 ms off': of('off', 'p99'),
      'p99 ms on': of('on', 'p99'),
    });
  }
  console.table(rows);
  console.log(JSON.stringify({ connections, duration, rounds, runs }));
} finally {
  await killAll();
  rmSync(dataDir, { recursive: true, force: true });
}
