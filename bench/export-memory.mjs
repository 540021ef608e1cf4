/**
 * The memory an export costs the server: issue #13's attack, measured.
 *
 *   node bench/export-memory.mjs [--values 2100] [--value-bytes 65536] [--concurrency 3]
 *                                [--pg] [--env NAME=VALUE ...] [--json]
 *
 * Starts a real server (npm start's flags, a fresh store), fills one workspace with
 * `--values` values of `--value-bytes` bytes through the API, then asks for one export, and
 * then `--concurrency` exports at once, while it samples the server's resident memory (VmRSS,
 * every 20 ms) and times `/healthz` meanwhile. `--env` passes settings to the server (e.g.
 * `--env DUCTAPE_EXPORT_MAX_BYTES=268435456` to allow the big export). Prints what it saw:
 * figures, not a verdict. Build first: `npm run build`.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { Buffer } from 'node:buffer';
import { performance } from 'node:perf_hooks';
import { clearInterval, setInterval } from 'node:timers';
import { parseArgs } from 'node:util';
import { call, signIn } from './api.mjs';
import { killAll, ROOT, START_FLAGS, startProcess } from './processes.mjs';

const SERVER = 'packages/server/dist/main.js';
const OPERATOR = 'packages/server/bin/ductape-server.js';
const log = (message) => process.stderr.write(`[export-memory] ${message}\n`);

function options() {
  const { values } = parseArgs({
    options: {
      values: { type: 'string', default: '2100' },
      'value-bytes': { type: 'string', default: String(64 * 1024) },
      concurrency: { type: 'string', default: '3' },
      pg: { type: 'boolean', default: false },
      env: { type: 'string', multiple: true, default: [] },
      json: { type: 'boolean', default: false },
    },
  });
  const number = (name, raw, min, max) => {
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max)
      throw new Error(`--${name} must be from ${min} to ${max}`);
    return n;
  };
  const extra = {};
  for (const pair of values.env) {
    const at = pair.indexOf('=');
    if (at < 1) throw new Error(`--env takes NAME=VALUE, got '${pair}'`);
    extra[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return {
    values: number('values', values.values, 1, 1_000_000),
    valueBytes: number('value-bytes', values['value-bytes'], 1, 64 * 1024),
    concurrency: number('concurrency', values.concurrency, 1, 64),
    pg: values.pg,
    extra,
    json: values.json,
  };
}

function rssMb(pid) {
  try {
    const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Samples a process's RSS until stopped; returns the peak in MB. */
function sampleRss(pid) {
  let peak = rssMb(pid) ?? 0;
  const timer = setInterval(() => (peak = Math.max(peak, rssMb(pid) ?? 0)), 20);
  return () => {
    clearInterval(timer);
    return Math.round(Math.max(peak, rssMb(pid) ?? 0));
  };
}

/** Times /healthz every 100 ms until stopped; returns the slowest answer in ms. */
function sampleHealth(url) {
  let slowest = 0;
  let failed = 0;
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const started = performance.now();
      try {
        await globalThis.fetch(`${url}/healthz`).then((r) => r.arrayBuffer());
        slowest = Math.max(slowest, performance.now() - started);
      } catch {
        failed += 1;
      }
      await new Promise((resolve) => globalThis.setTimeout(resolve, 100));
    }
  })();
  return async () => {
    stopped = true;
    await loop;
    return { slowestMs: Math.round(slowest), failed };
  };
}

function serverEnv(dataDir, settings) {
  const env = { ...process.env };
  for (const name of Object.keys(env)) {
    if (/^(DUCTAPE_|DATABASE_URL$|PORT$|HOST$)/.test(name)) delete env[name];
  }
  Object.assign(env, {
    NODE_ENV: 'production',
    LOG_LEVEL: 'warn',
    DUCTAPE_MASTER_KEY: randomBytes(32).toString('base64'),
    DUCTAPE_DATA_DIR: dataDir,
    // Creating the workspace through the API is not the point: let the seeding run flat out.
    DUCTAPE_MAX_CONNECTIONS: '4096',
  });
  if (settings.pg) {
    Object.assign(env, {
      DATABASE_URL: process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
      DUCTAPE_PG_SCHEMA: `ductape_exportmem_${randomBytes(6).toString('hex')}`,
    });
  }
  return Object.assign(env, settings.extra);
}

async function dropSchema(env) {
  if (!env.DATABASE_URL) return;
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: env.DATABASE_URL, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${env.DUCTAPE_PG_SCHEMA}" CASCADE`);
  } finally {
    await client.end();
  }
}

function createWorkspace(env) {
  const result = spawnSync(
    process.execPath,
    [OPERATOR, 'workspace', 'create', '--name', 'export-memory', '--json'],
    {
      cwd: ROOT,
      env,
      encoding: 'utf8',
      timeout: 120_000,
    },
  );
  if (result.status !== 0) throw new Error(`ductape workspace create failed: ${result.stderr}`);
  return JSON.parse(result.stdout);
}

/** Creates the values through the API, a few requests at a time. */
async function fill(url, token, settings) {
  let next = 0;
  const filler = 'x'.repeat(settings.valueBytes);
  const worker = async () => {
    while (next < settings.values) {
      const i = next++;
      const key = `BIG_${String(i).padStart(6, '0')}`;
      const value = `${i}:${filler}`.slice(0, settings.valueBytes);
      const { status, json } = await call(url, 'POST', '/v1/secrets', { token, body: { key, value } });
      if (status !== 201) throw new Error(`creating ${key} answered ${status}: ${JSON.stringify(json)}`);
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
}

/** One export: its status, the size of its answer, and how long it took. */
async function exportOnce(url, token) {
  const started = performance.now();
  const response = await globalThis.fetch(`${url}/v1/export`, {
    headers: { authorization: `Bearer ${token}` },
    signal: globalThis.AbortSignal.timeout(300_000),
  });
  const body = Buffer.from(await response.arrayBuffer());
  let code;
  if (response.status !== 200) code = JSON.parse(body.toString('utf8')).code;
  return { status: response.status, code, bytes: body.length, ms: Math.round(performance.now() - started) };
}

async function scenario(server, token, count) {
  const peak = sampleRss(server.pid);
  const health = sampleHealth(server.url);
  const answers = await Promise.all(
    Array.from({ length: count }, () =>
      exportOnce(server.url, token).catch((error) => ({
        status: 0,
        code: String(error.cause?.code ?? error),
        bytes: 0,
        ms: 0,
      })),
    ),
  );
  const { slowestMs, failed } = await health();
  return { exports: count, peakRssMb: peak(), slowestHealthzMs: slowestMs, healthzFailed: failed, answers };
}

async function main() {
  const settings = options();
  const dataDir = mkdtempSync(join(os.tmpdir(), 'ductape-export-memory-'));
  const env = serverEnv(dataDir, settings);
  try {
    const owner = createWorkspace(env);
    const server = await startProcess(SERVER, { env, readyPath: '/readyz', nodeFlags: START_FLAGS });
    const token = await signIn(server.url, owner);
    log(
      `filling ${settings.values} values of ${settings.valueBytes} bytes (${settings.pg ? 'postgres' : 'sqlite'})`,
    );
    await fill(server.url, token, settings);
    // Let the seeding's garbage go before the idle figure.
    await new Promise((resolve) => globalThis.setTimeout(resolve, 2000));
    const idleRssMb = Math.round(rssMb(server.pid) ?? 0);
    log(`idle RSS ${idleRssMb} MB; one export`);
    const one = await scenario(server, token, 1);
    log(`${settings.concurrency} exports at once`);
    const many = await scenario(server, token, settings.concurrency);
    const serverLog = server.stderr().trim().slice(-1500);
    await server.stop();
    if (serverLog) log(`server stderr: ${serverLog}`);
    const result = {
      backend: settings.pg ? 'postgres' : 'sqlite',
      values: settings.values,
      valueBytes: settings.valueBytes,
      serverEnv: settings.extra,
      idleRssMb,
      one,
      many,
    };
    if (settings.json) process.stdout.write(`${JSON.stringify(result)}\n`);
    else {
      const line = (s) =>
        `${s.exports} export(s): peak RSS ${s.peakRssMb} MB, slowest /healthz ${s.slowestHealthzMs} ms` +
        (s.healthzFailed > 0 ? ` (${s.healthzFailed} failed)` : '') +
        ', answers ' +
        s.answers
          .map(
            (a) => `${a.status}${a.code ? ` ${a.code}` : ''} ${(a.bytes / 1e6).toFixed(1)} MB in ${a.ms} ms`,
          )
          .join('; ');
      process.stdout.write(
        `${result.backend}, ${settings.values} values x ${settings.valueBytes} bytes; idle RSS ${idleRssMb} MB\n` +
          `${line(one)}\n${line(many)}\n`,
      );
    }
  } finally {
    await killAll();
    rmSync(dataDir, { recursive: true, force: true });
    await dropSchema(env).catch(() => undefined);
  }
}

main().catch(async (error) => {
  process.stderr.write(`export-memory failed: ${error?.stack ?? error}\n`);
  await killAll();
  process.exitCode = 1;
});
