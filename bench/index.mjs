/**
 * `npm run bench`: the real server (`node [flags] packages/server/dist/main.js`, exactly as `npm start` runs
 * it) on a fresh store, seeded, then driven over loopback by autocannon from another
 * process, next to a bare node:http server measured with the same load settings.
 *
 * Settings (environment):
 *   BENCH_DURATION     seconds measured per scenario (10)
 *   BENCH_WARMUP       seconds of warm-up before each (3)
 *   BENCH_CONNECTIONS  connections of the throughput scenarios (50)
 *   BENCH_BIG          secrets of the "fetch at size" store (1000000)
 *   BENCH_BIG_PG       the same on PostgreSQL (BENCH_BIG)
 *   BENCH_STRICT=1     exit 1 when a target is missed
 *   DATABASE_URL       also run everything against PostgreSQL, in a fresh schema dropped afterwards
 *
 * Prints a table and writes bench/results.json. Build first: `npm run build`.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { signIn } from './api.mjs';
import { breakdown, formatProfiles } from './profile.mjs';
import { measureRunOverhead } from './cli-overhead.mjs';
import {
  defaultServerEnv,
  killAll,
  ROOT,
  runLoad,
  runSeed,
  START_FLAGS,
  startProcess,
  watchProcess,
} from './processes.mjs';
import { baseScenarios, bigScenario } from './scenarios.mjs';
import { allTargets, formatTable } from './targets.mjs';
import { ONLY, setting } from './settings.mjs';

const SETTINGS = {
  duration: setting('BENCH_DURATION', 10, 1, 600),
  warmup: setting('BENCH_WARMUP', 3, 0, 60),
  connections: setting('BENCH_CONNECTIONS', 50, 1, 1000),
  big: setting('BENCH_BIG', 1_000_000, 1000, 10_000_000),
};
SETTINGS.bigPg = setting('BENCH_BIG_PG', SETTINGS.big, 1000, 10_000_000);

const wanted = (id) => !ONLY || ONLY.includes(id);

const SERVER = 'packages/server/dist/main.js';
const PROFILE = process.env.BENCH_PROFILE?.trim() || undefined;
if (PROFILE) mkdirSync(PROFILE, { recursive: true });

/** Busy samples of one scenario's server by part of the request path (see profile.mjs). */
function profileOf(file) {
  try {
    return breakdown(JSON.parse(readFileSync(file, 'utf8')));
  } catch (error) {
    log(`could not read the profile ${file}: ${error.message}`);
    return undefined;
  }
}
const DATABASE_URL = process.env.DATABASE_URL?.trim() || undefined;
const log = (message) => process.stderr.write(`[bench] ${message}\n`);

// Cleanup, whatever happens: temp dirs and PostgreSQL schemas created by this run.
const tempDirs = [];
const schemas = [];

function tempDir(label) {
  const dir = mkdtempSync(join(os.tmpdir(), `ductape-bench-${label}-`));
  tempDirs.push(dir);
  return dir;
}

function removeDir(dir) {
  rmSync(dir, { recursive: true, force: true });
  tempDirs.splice(tempDirs.indexOf(dir), 1);
}

async function dropSchema(schema) {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: DATABASE_URL, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end();
  }
  schemas.splice(schemas.indexOf(schema), 1);
}

async function cleanup() {
  await killAll();
  for (const dir of [...tempDirs]) removeDir(dir);
  for (const schema of [...schemas]) {
    await dropSchema(schema).catch((error) => log(`could not drop schema ${schema}: ${error.message}`));
  }
}

/**
 * The server's environment: the defaults `npm start` runs with (log level info, one access line
 * per request), a fresh store, nothing inherited that picks another setting.
 */
function serverEnv(backend, masterKey) {
  const env = defaultServerEnv();
  Object.assign(env, {
    DUCTAPE_MASTER_KEY: masterKey,
    DUCTAPE_DATA_DIR: tempDir(backend),
    // All the load comes from one address: lift the per-address token-exchange limit
    // (a sign-in defence, not a throughput cap) so the token-exchange scenario measures the work.
    DUCTAPE_TOKEN_EXCHANGES_PER_IP: '1000000',
    DUCTAPE_TOKEN_EXCHANGES_WINDOW_SECONDS: '1',
  });
  if (process.env.DUCTAPE_PG_POOL_SIZE) env.DUCTAPE_PG_POOL_SIZE = process.env.DUCTAPE_PG_POOL_SIZE;
  if (backend === 'postgres') {
    const schema = `ductape_bench_${randomBytes(6).toString('hex')}`;
    schemas.push(schema);
    Object.assign(env, { DATABASE_URL, DUCTAPE_PG_SCHEMA: schema });
  }
  return env;
}

async function releaseStore(env) {
  removeDir(env.DUCTAPE_DATA_DIR);
  if (env.DUCTAPE_PG_SCHEMA) await dropSchema(env.DUCTAPE_PG_SCHEMA);
}

/**
 * Drives `target` (a started process) with one load spec while watching it: the result of
 * the measured run plus the process's peak RSS, its CPU time per request, and the machine's
 * load average before and after (other work on the machine skews every figure).
 */
async function drive(target, spec) {
  const loadBefore = os.loadavg()[0];
  let logBytesBefore = 0;
  const watch = watchProcess(target.pid);
  let result;
  try {
    result = await runLoad(
      { url: target.url, duration: SETTINGS.duration, warmup: SETTINGS.warmup, ...spec },
      {
        onMeasuring: () => {
          watch.measuring();
          logBytesBefore = logBytes(target);
        },
      },
    );
  } finally {
    const { peakRssMb, cpuMs } = watch.stop();
    result = { ...result, peakRssMb, serverCpuMs: cpuMs };
  }
  result.serverCpuUsPerRequest =
    result.serverCpuMs === undefined
      ? undefined
      : Math.round((result.serverCpuMs * 10_000) / result.requests) / 10;
  result.loadAverage = { before: round2(loadBefore), after: round2(os.loadavg()[0]) };
  if (target.logFile) {
    // Bytes of log written per request over the measured run (one access line each is expected).
    result.logBytesPerRequest = Math.round(
      (logBytes(target) - logBytesBefore) / Math.max(1, result.requests),
    );
  }
  return result;
}

function logBytes(target) {
  if (!target.logFile) return 0;
  try {
    return statSync(target.logFile).size;
  } catch {
    return 0;
  }
}

const round2 = (n) => Math.round(n * 100) / 100;
const round1 = (n) => Math.round(n * 10) / 10;

/** One scenario: a fresh token, one checked request, then warm-up + measured load. */
async function measure(server, scenario, seed, times = {}) {
  if (!times.duration) log(`${scenario.label}: ${SETTINGS.warmup} s warm-up + ${SETTINGS.duration} s`);
  const token = await signIn(server.url, seed);
  await scenario.check(server.url, token, seed);
  const request = scenario.request({ creds: seed, count: seed.count });
  const headers = { ...request.headers };
  if (!scenario.anonymous) headers.authorization = `Bearer ${token}`;
  return drive(server, { ...scenario.load(SETTINGS), ...request, headers, ...times });
}

async function measureBare() {
  const bare = await startProcess('bench/bare-server.mjs', { env: process.env, readyPath: '/' });
  try {
    log(`bare node:http: ${SETTINGS.warmup} s warm-up + ${SETTINGS.duration} s`);
    const result = await drive(bare, { connections: SETTINGS.connections, method: 'GET', path: '/' });
    return result;
  } finally {
    await bare.stop();
  }
}

/** Rounds of the logging measurement, and each leg's warm-up and measured seconds. */
const LOGGING_ROUNDS = 8;
const LOGGING_LEG = { warmup: 1, duration: 3 };

/**
 * The cost of the access log: healthz and fetch served by two servers running side by side on
 * the same store, one at LOG_LEVEL=warn (no line per request) and one at the default (info).
 * This VM's speed drifts by 15-40 % from one minute to the next, more than the cost measured,
 * so the two sides are compared in pairs of short legs run back to back (4 s each, the order
 * alternating), and the cost is the median of the rounds' differences in server CPU per
 * request, as a share of the median CPU at info. Every leg is kept in results.json.
 */
async function measureLogging(env, out, seeds) {
  const scenarios = baseScenarios().filter((s) => ['healthz', 'fetch'].includes(s.id) && out.scenarios[s.id]);
  if (scenarios.length === 0) return undefined;
  const servers = {};
  const logging = {};
  try {
    for (const level of ['warn', 'info']) {
      servers[level] = await startProcess(SERVER, {
        env: level === 'warn' ? { ...env, LOG_LEVEL: 'warn' } : env,
        readyPath: '/readyz',
        nodeFlags: START_FLAGS,
        logFile: join(env.DUCTAPE_DATA_DIR, `logging-${level}.log`),
      });
    }
    for (const scenario of scenarios) {
      log(
        `logging cost, ${scenario.label}: ${LOGGING_ROUNDS} rounds of warn and info, ${LOGGING_LEG.duration} s each`,
      );
      const rounds = [];
      for (let round = 0; round < LOGGING_ROUNDS; round++) {
        const order = round % 2 === 0 ? ['warn', 'info'] : ['info', 'warn'];
        const legs = {};
        for (const level of order) {
          const r = await measure(servers[level], scenario, seeds[scenario.seed], LOGGING_LEG);
          legs[level] = { cpuUsPerRequest: r.serverCpuUsPerRequest, rps: Math.round(r.rps) };
        }
        rounds.push(legs);
      }
      const median = (xs) => {
        const sorted = [...xs].sort((a, b) => a - b);
        const mid = Math.floor(sorted.length / 2);
        return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
      };
      const info = median(rounds.map((r) => r.info.cpuUsPerRequest));
      const warn = median(rounds.map((r) => r.warn.cpuUsPerRequest));
      const extra = median(rounds.map((r) => r.info.cpuUsPerRequest - r.warn.cpuUsPerRequest));
      logging[scenario.id] = {
        infoCpuUsPerRequest: round1(info),
        warnCpuUsPerRequest: round1(warn),
        extraCpuUsPerRequest: round1(extra),
        infoRps: median(rounds.map((r) => r.info.rps)),
        warnRps: median(rounds.map((r) => r.warn.rps)),
        cost: extra / info,
        rounds,
      };
    }
  } finally {
    for (const server of Object.values(servers)) await server.stop();
  }
  return logging;
}

async function runBackend(backend, results) {
  const masterKey = randomBytes(32).toString('base64');
  const out = { seeding: [], scenarios: {} };
  results.backends[backend] = out;

  // The everyday store: 100, 10,000 and 1,000 secrets in three workspaces.
  let env = serverEnv(backend, masterKey);
  log(`${backend}: seeding`);
  const seeded = await runSeed(env, [
    { name: 'list', prefix: 'L', count: 100 },
    { name: 'main', prefix: 'S', count: 10_000 },
    { name: 'writes', prefix: 'U', count: 1000 },
  ]);
  out.seeding.push(...seeded.map(({ name, count, seconds }) => ({ name, count, seconds })));
  const seeds = Object.fromEntries(seeded.map((s) => [s.name, s]));
  const logFile = join(env.DUCTAPE_DATA_DIR, 'server.log');
  const start = (profileName) =>
    startProcess(SERVER, { env, readyPath: '/readyz', nodeFlags: START_FLAGS, logFile, profileName });
  let server = PROFILE ? undefined : await start();
  try {
    for (const scenario of baseScenarios().filter((s) => wanted(s.id))) {
      try {
        if (PROFILE) {
          // One server per scenario, so each profile holds one route's work.
          const name = `${backend}-${scenario.id}.cpuprofile`;
          server = await start(name);
          const result = await measure(server, scenario, seeds[scenario.seed]);
          await server.stop();
          server = undefined;
          result.profile = profileOf(join(PROFILE, name));
          out.scenarios[scenario.id] = result;
          continue;
        }
        out.scenarios[scenario.id] = await measure(server, scenario, seeds[scenario.seed]);
      } catch (error) {
        // One broken scenario is reported; the others still run.
        log(`${scenario.label} failed: ${error.message}`);
        results.failures.push({ backend, scenario: scenario.id, error: error.message });
      }
    }
    if (backend === 'sqlite' && wanted('run')) {
      log('ductape run overhead');
      server ??= await start();
      results.cli = await measureRunOverhead({ url: server.url, creds: seeds.main });
    }
  } finally {
    await server?.stop();
  }
  if (backend === 'sqlite' && wanted('logging')) out.logging = await measureLogging(env, out, seeds);
  try {
    if (wanted('fetchBig')) await measureFetchBig(backend, masterKey, out, { env, seeds });
  } finally {
    await releaseStore(env);
  }
}

/** Rounds of the paired fetch (10k) and fetch (1M) legs, and each leg's seconds. */
const SIZE_ROUNDS = 4;
const SIZE_LEG = { warmup: 1, duration: 4 };

/**
 * Fetch at size: a fresh store holding one big workspace, measured as the other scenarios
 * are (the table's row). The slowdown against 10,000 secrets comes from paired legs, as the
 * logging cost does: a server on the 10,000-secret store and one on the big store run side by
 * side and are driven in turn, the order alternating, and the slowdown is the median of the
 * rounds' req/s ratios. Measured minutes apart, the two drifted by up to 30 % on this VM.
 */
async function measureFetchBig(backend, masterKey, out, main) {
  const big = backend === 'postgres' ? SETTINGS.bigPg : SETTINGS.big;
  const env = serverEnv(backend, masterKey);
  const servers = [];
  try {
    log(`${backend}: seeding ${big} secrets`);
    const [bigSeed] = await runSeed(env, [{ name: 'big', prefix: 'B', count: big }]);
    out.seeding.push({ name: bigSeed.name, count: bigSeed.count, seconds: bigSeed.seconds });
    const bigServer = await startProcess(SERVER, { env, readyPath: '/readyz', nodeFlags: START_FLAGS });
    servers.push(bigServer);
    const label = `fetch (${big >= 1_000_000 ? `${big / 1_000_000}M` : `${big / 1000}k`})`;
    out.scenarios.fetchBig = await measure(bigServer, bigScenario(label), bigSeed);
    out.scenarios.fetchBig.label = label;

    const mainServer = await startProcess(SERVER, {
      env: main.env,
      readyPath: '/readyz',
      nodeFlags: START_FLAGS,
    });
    servers.push(mainServer);
    const small = baseScenarios().find((s) => s.id === 'fetch');
    const sides = {
      small: () => measure(mainServer, small, main.seeds[small.seed], SIZE_LEG),
      big: () => measure(bigServer, bigScenario(label), bigSeed, SIZE_LEG),
    };
    log(`fetch (10k) against ${label}: ${SIZE_ROUNDS} rounds, ${SIZE_LEG.duration} s each`);
    const rounds = [];
    for (let round = 0; round < SIZE_ROUNDS; round++) {
      const order = round % 2 === 0 ? ['small', 'big'] : ['big', 'small'];
      const legs = {};
      for (const side of order) {
        const r = await sides[side]();
        legs[side] = {
          rps: Math.round(r.rps),
          cpuUsPerRequest: r.serverCpuUsPerRequest,
          peakRssMb: r.peakRssMb,
        };
      }
      rounds.push(legs);
    }
    const slowdowns = rounds.map((r) => r.small.rps / r.big.rps).sort((a, b) => a - b);
    const mid = Math.floor(slowdowns.length / 2);
    out.fetchBigPaired = {
      slowdown: slowdowns.length % 2 ? slowdowns[mid] : (slowdowns[mid - 1] + slowdowns[mid]) / 2,
      peakRssMb: Math.max(...rounds.map((r) => r.big.peakRssMb ?? 0)),
      rounds,
    };
  } finally {
    for (const server of servers) await server.stop();
    await releaseStore(env);
  }
}

/**
 * Every scenario's req/s over the bare server's, the mean of its runs at the start and the
 * end: the machine's speed drifts over a run, and the mean of the two is steadier than either.
 */
function addRatios(results) {
  const bareRuns = [results.bare.start, results.bare.end].filter(Boolean);
  results.bare.rps = bareRuns.reduce((sum, r) => sum + r.rps, 0) / bareRuns.length;
  for (const r of bareRuns) r.ratio = r.rps / results.bare.rps;
  for (const b of Object.values(results.backends)) {
    for (const r of Object.values(b.scenarios)) r.ratio = r.rps / results.bare.rps;
  }
}

/** A warning when other work kept the machine busy: every figure is then pessimistic. */
function busyNote(results) {
  const all = [
    results.bare.start,
    results.bare.end,
    ...Object.values(results.backends).flatMap((b) => Object.values(b.scenarios)),
  ];
  const peak = Math.max(
    ...all.filter(Boolean).map((r) => Math.max(r.loadAverage.before, r.loadAverage.after)),
  );
  results.machine.peakLoadAverage = peak;
  return peak > results.machine.cores
    ? `WARNING: the machine was busy (1-minute load average up to ${peak} on ${results.machine.cores} cores): ` +
        "req/s and latencies are pessimistic; CPU us/req (the server's own CPU time per request) holds up better.\n"
    : '';
}

function labelsOf(results) {
  const labels = {};
  for (const [backend, b] of Object.entries(results.backends)) {
    labels[backend] = Object.fromEntries(baseScenarios().map((s) => [s.id, s.label]));
    labels[backend].fetchBig = b.scenarios.fetchBig?.label;
  }
  return labels;
}

async function main() {
  if (!existsSync(join(ROOT, SERVER))) throw new Error(`${SERVER} is missing: run 'npm run build' first`);
  const cpus = os.cpus();
  const results = {
    date: new Date().toISOString(),
    machine: {
      cpu: cpus[0]?.model ?? 'unknown',
      cores: cpus.length,
      memoryGb: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
      node: process.version,
      platform: `${os.platform()} ${os.release()}`,
    },
    settings: {
      durationSeconds: SETTINGS.duration,
      warmupSeconds: SETTINGS.warmup,
      connections: SETTINGS.connections,
      listConnections: 1,
      bigCount: { sqlite: SETTINGS.big, postgres: DATABASE_URL ? SETTINGS.bigPg : undefined },
      pgPoolSize: DATABASE_URL ? Number(process.env.DUCTAPE_PG_POOL_SIZE ?? 10) : undefined,
      server:
        `node ${[...START_FLAGS, SERVER].join(' ')}, default environment (log level info, stdout to a file); ` +
        'token exchanges per address lifted so that scenario is not refused',
    },
    bare: {},
    backends: {},
    cli: undefined,
    failures: [],
  };
  const stop = () => {
    log('interrupted: stopping children');
    void cleanup().finally(() => process.exit(130));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    results.bare.start = await measureBare();
    await runBackend('sqlite', results);
    if (DATABASE_URL) await runBackend('postgres', results);
    results.bare.end = await measureBare();
  } finally {
    await cleanup();
  }
  addRatios(results);
  results.targets = allTargets(results);
  const note = busyNote(results);
  writeFileSync(join(ROOT, 'bench/results.json'), `${JSON.stringify(results, null, 2)}\n`);
  const m = results.machine;
  process.stdout.write(
    `\nDuctape benchmark, ${results.date}: ${m.cpu}, ${m.cores} cores, ${m.memoryGb} GB, Node ${m.node}\n` +
      `${SETTINGS.duration} s per scenario after ${SETTINGS.warmup} s warm-up; ` +
      `${SETTINGS.connections} connections (list (10k): 1); x bare = req/s over ${Math.round(results.bare.rps)} req/s, ` +
      'the mean of the two bare runs\n' +
      `${note}\n`,
  );
  process.stdout.write(`${formatTable(results, labelsOf(results))}\n\nWrote bench/results.json\n`);
  if (PROFILE)
    process.stdout.write(
      `\nCPU us per request by part (profiles in ${PROFILE}):\n${formatProfiles(results)}\n`,
    );
  for (const f of results.failures) process.stdout.write(`\nFAILED ${f.backend} ${f.scenario}: ${f.error}\n`);
  const missed = results.targets.filter((t) => !t.met);
  if (missed.length > 0) {
    process.stdout.write(`\nMissed ${missed.length} of ${results.targets.length} targets.\n`);
    if (process.env.BENCH_STRICT === '1') process.exitCode = 1;
  } else if (results.failures.length === 0) {
    process.stdout.write(`\nAll ${results.targets.length} targets met.\n`);
  }
}

main().catch(async (error) => {
  log(`failed: ${error?.stack ?? error}`);
  await cleanup();
  process.exitCode = 1;
});
