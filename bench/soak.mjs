/**
 * `npm run soak`: the real server (`node [flags] packages/server/dist/main.js`, exactly as `npm start` runs
 * it) on a fresh store, driven by another process (soak-load.mjs) at a steady rate with a mix
 * of reads and writes, while its resident memory is sampled from /proc.
 *
 *   node bench/soak.mjs [--duration 60] [--rate 100] [--warmup 10] [--max-rss-growth 40] [--json]
 *
 *   --duration        seconds of load (warm-up included)
 *   --rate            requests started per second, whatever the answers do
 *   --warmup          seconds before the "start" RSS is taken (default: a sixth of the duration, at most 10)
 *   --max-rss-growth  MB the server's RSS may grow from the end of the warm-up to the end
 *   --json            also print the result as one JSON line, last
 *   DATABASE_URL      run on PostgreSQL, in a fresh schema dropped afterwards
 *
 * Exits 1 when any request failed (a non-2xx answer or a socket error), when the server
 * died, or when its RSS grew past the limit. Build first: `npm run build`.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { clearInterval, setInterval } from 'node:timers';
import { parseArgs } from 'node:util';
import { killAll, ROOT, runNode, runSeed, START_FLAGS, startProcess } from './processes.mjs';

const SERVER = 'packages/server/dist/main.js';
const OPERATOR = 'packages/server/bin/ductape-server.js';
const SEEDED = 1000;
const log = (message) => process.stderr.write(`[soak] ${message}\n`);

function options() {
  const { values } = parseArgs({
    options: {
      duration: { type: 'string', default: '60' },
      rate: { type: 'string', default: '100' },
      warmup: { type: 'string' },
      'max-rss-growth': { type: 'string', default: '40' },
      json: { type: 'boolean', default: false },
    },
  });
  const number = (name, raw, min, max) => {
    const n = Number(raw);
    if (!Number.isFinite(n) || n < min || n > max)
      throw new Error(`--${name} must be a number from ${min} to ${max}`);
    return n;
  };
  const duration = number('duration', values.duration, 1, 86_400);
  return {
    duration,
    rate: number('rate', values.rate, 1, 100_000),
    warmup: number('warmup', values.warmup ?? Math.round(Math.min(10, duration / 6) * 10) / 10, 0, duration),
    maxRssGrowthMb: number('max-rss-growth', values['max-rss-growth'], 0, 100_000),
    json: values.json,
  };
}

/** VmRSS of a process in MB, or undefined once it is gone. */
function rssMb(pid) {
  try {
    const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Math.round((Number(match[1]) / 1024) * 10) / 10 : undefined;
  } catch {
    return undefined;
  }
}

/** The server's environment: production settings and a fresh store, nothing inherited that picks another. */
function serverEnv(dataDir, databaseUrl) {
  const env = { ...process.env };
  for (const name of Object.keys(env)) {
    if (/^(DUCTAPE_|DATABASE_URL$|PORT$|HOST$)/.test(name)) delete env[name];
  }
  Object.assign(env, {
    NODE_ENV: 'production',
    LOG_LEVEL: 'warn',
    DUCTAPE_MASTER_KEY: randomBytes(32).toString('base64'),
    DUCTAPE_DATA_DIR: dataDir,
  });
  if (databaseUrl) {
    Object.assign(env, {
      DATABASE_URL: databaseUrl,
      DUCTAPE_PG_SCHEMA: `ductape_soak_${randomBytes(6).toString('hex')}`,
    });
  }
  return env;
}

async function dropSchema(env) {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: env.DATABASE_URL, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${env.DUCTAPE_PG_SCHEMA}" CASCADE`);
  } finally {
    await client.end();
  }
}

/** The user the load runs as: an admin added with the operator command, as an operator would. */
function operatorUser(env, workspaceId) {
  const result = spawnSync(
    process.execPath,
    [OPERATOR, 'user', 'create', '--workspace', workspaceId, '--role', 'admin', '--json'],
    {
      cwd: ROOT,
      env,
      encoding: 'utf8',
      timeout: 60_000,
    },
  );
  if (result.status !== 0) throw new Error(`ductape user create failed: ${result.stderr}`);
  return { workspace_id: workspaceId, ...JSON.parse(result.stdout) };
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? undefined : sorted[Math.floor(sorted.length / 2)];
};

/**
 * RSS at the start and at the end of the measured load: the medians of the samples in its
 * first and last sixth (1 to 10 s each), so one garbage collection either side does not
 * decide the growth.
 */
function windows(samples, warmAt) {
  const last = samples.at(-1)?.[0] ?? warmAt;
  const span = Math.min(10_000, Math.max(1000, (last - warmAt) / 6));
  const within = (from, to) => samples.filter(([t]) => t >= from && t <= to).map(([, mb]) => mb);
  return { start: median(within(warmAt, warmAt + span)), end: median(within(last - span, last)) };
}

async function soak(settings, env) {
  log(`seeding ${SEEDED} secrets`);
  const [seed] = await runSeed(env, [{ name: 'soak', prefix: 'S', count: SEEDED }]);
  const creds = operatorUser(env, seed.workspace_id);
  const server = await startProcess(SERVER, { env, readyPath: '/readyz', nodeFlags: START_FLAGS });
  const rss = { idle: rssMb(server.pid), start: undefined, end: undefined, peak: 0 };
  /** [ms since the load started, MB], every 250 ms. */
  const samples = [];
  let warmAt;
  const started = Date.now();
  const sample = () => {
    const now = rssMb(server.pid);
    if (now !== undefined) {
      rss.peak = Math.max(rss.peak, now);
      samples.push([Date.now() - started, now]);
    }
    return now;
  };
  const sampler = setInterval(sample, 250);
  const progress = setInterval(
    () =>
      log(`${Math.round((Date.now() - started) / 1000)} s: server RSS ${sample()} MB (peak ${rss.peak} MB)`),
    10_000,
  );
  let load;
  try {
    log(
      `${settings.duration} s at ${settings.rate} req/s (${settings.warmup} s of it warm-up) against ${server.url}`,
    );
    const stdout = await runNode(
      [
        'bench/soak-load.mjs',
        JSON.stringify({
          url: server.url,
          creds,
          rate: settings.rate,
          duration: settings.duration,
          warmup: settings.warmup,
          prefix: 'S',
          count: SEEDED,
        }),
      ],
      {
        timeoutMs: (settings.duration + 60) * 1000,
        echoStderr: true,
        onStdout: (out) => {
          if (warmAt === undefined && out.includes('warm\n')) warmAt = Date.now() - started;
        },
      },
    );
    load = JSON.parse(stdout.trim().split('\n').at(-1));
    sample();
    Object.assign(rss, windows(samples, warmAt ?? 0));
    const health = await globalThis.fetch(`${server.url}/healthz`).catch(() => undefined);
    load.serverUpAtEnd = health?.status === 200;
  } finally {
    clearInterval(sampler);
    clearInterval(progress);
    await server.stop();
  }
  return { load, rss };
}

function report(settings, backend, { load, rss }) {
  const growth = Math.round((rss.end - rss.start) * 10) / 10;
  const failures = [];
  if (load.errors > 0) failures.push(`${load.errors} requests failed`);
  if (!load.serverUpAtEnd) failures.push('the server did not answer /healthz at the end');
  if (growth > settings.maxRssGrowthMb)
    failures.push(`RSS grew ${growth} MB (limit ${settings.maxRssGrowthMb} MB)`);
  const statuses = Object.entries(load.byStatus)
    .map(([status, n]) => `${status}: ${n}`)
    .join(', ');
  const socket = Object.entries(load.socketErrors)
    .map(([code, n]) => `${code}: ${n}`)
    .join(', ');
  const ops = Object.entries(load.byOp)
    .map(
      ([op, o]) =>
        `  ${op.padEnd(8)} ${String(o.count).padStart(7)}  errors ${o.errors}  p50 ${o.p50} ms  p99 ${o.p99} ms`,
    )
    .join('\n');
  process.stdout.write(
    [
      `Soak (${backend}): ${load.seconds} s at ${settings.rate} req/s, ${os.cpus().length} cores, Node ${process.version}, load average ${os.loadavg()[0].toFixed(2)}`,
      `requests  ${load.sent} sent (${load.achievedRate}/s), ${load.answered} answered; max ${load.maxInFlight} in flight, sender at most ${load.maxLagMs} ms late`,
      `errors    ${load.errors}${load.errors ? ` (answers ${statuses}${socket ? `; socket ${socket}` : ''})` : ''}`,
      `latency   p50 ${load.latencyMs.p50} ms, p90 ${load.latencyMs.p90} ms, p99 ${load.latencyMs.p99} ms, max ${load.latencyMs.max} ms`,
      ops,
      `server    RSS idle ${rss.idle} MB; start ${rss.start} MB, end ${rss.end} MB (medians of the first and last sixth after the warm-up, 10 s at most); peak ${rss.peak} MB`,
      `          grew ${growth} MB (limit ${settings.maxRssGrowthMb} MB)`,
      failures.length ? `FAILED: ${failures.join('; ')}` : 'OK',
      '',
    ].join('\n'),
  );
  if (settings.json) {
    process.stdout.write(
      `${JSON.stringify({ backend, settings, ...load, rss: { ...rss, growth }, failures })}\n`,
    );
  }
  return failures.length === 0;
}

async function main() {
  const settings = options();
  if (!existsSync(join(ROOT, SERVER))) throw new Error(`${SERVER} is missing: run 'npm run build' first`);
  const databaseUrl = process.env.DATABASE_URL?.trim() || undefined;
  const dataDir = mkdtempSync(join(os.tmpdir(), 'ductape-soak-'));
  const env = serverEnv(dataDir, databaseUrl);
  const cleanup = async () => {
    await killAll();
    rmSync(dataDir, { recursive: true, force: true });
    if (databaseUrl)
      await dropSchema(env).catch((error) => log(`could not drop the schema: ${error.message}`));
  };
  const stop = () => {
    log('interrupted: stopping');
    void cleanup().finally(() => process.exit(130));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  let ok;
  try {
    ok = report(settings, databaseUrl ? 'postgres' : 'sqlite', await soak(settings, env));
  } finally {
    await cleanup();
  }
  process.exitCode = ok ? 0 : 1;
}

main().catch((error) => {
  process.stderr.write(`soak failed: ${error?.stack ?? error}\n`);
  process.exitCode = 1;
});
