/**
 * `npm run bench:instructions`: instructions per request, counted by valgrind's callgrind,
 * for the bare node:http server and for the real server (as `npm start` runs it, on a fresh
 * SQLite store of 10,000 secrets) at LOG_LEVEL=warn and at the default, info.
 *
 * Timings on a shared VM drift by more than the cost of an access line; an instruction count
 * does not depend on what else the machine is doing. It leaves out the kernel (the socket
 * system calls, which are most of a bare request's cost) and the time spent waiting, so it
 * compares the server's own work between two versions or two settings: here, the cost of the
 * access line (info against warn). It is not a throughput figure.
 *
 * Each server runs under `valgrind --tool=callgrind` with counting off; requests warm it up
 * (V8 compiles the hot paths), then counting is switched on for a fixed number of requests
 * (`callgrind_control -i on`), off again, and the counts dumped, one file per thread. Requests
 * go one at a time over one keep-alive connection, so every round does the same work (each
 * fetch's audit entry is a batch of its own). The requests are served on the main thread: its
 * count is steadier than every thread's (healthz and me rounds within 1-6 % once warm, a
 * fetch's up to 13 %: V8's JIT state moves it), while V8's helper threads (concurrent marking,
 * compiling) do their work in bursts that land in one round or another. The lowest main-thread
 * round is compared (a major GC, a late compile or a deoptimisation only adds to a round); the medians and every thread's counts are printed and kept too.
 *
 * Settings (environment): INSTR_REQUESTS (2000 a round), INSTR_ROUNDS (4), INSTR_WARMUP
 * (10000 requests), BENCH_ONLY (scenario ids: healthz, me, metadata, fetch), INSTR_KEEP=1 (keep
 * the dumps, for callgrind_annotate). Needs valgrind (Debian: apt-get install valgrind). Build
 * first: `npm run build`. About 5 minutes for healthz and fetch, 10 for all four.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request as httpRequest } from 'node:http';
import os from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { signIn } from './api.mjs';
import { keyName } from './keys.mjs';
import { defaultServerEnv, killAll, ROOT, runSeed, START_FLAGS, startProcess } from './processes.mjs';
import { baseScenarios } from './scenarios.mjs';
import { ONLY, setting } from './settings.mjs';

const REQUESTS = setting('INSTR_REQUESTS', 2000, 100, 100_000);
const ROUNDS = setting('INSTR_ROUNDS', 4, 1, 20);
const WARMUP = setting('INSTR_WARMUP', 10_000, 0, 100_000);
const IDS = ['healthz', 'me', 'metadata', 'fetch'];
const SCENARIOS = baseScenarios().filter((s) => IDS.includes(s.id) && (!ONLY || ONLY.includes(s.id)));
const SEEDED = 10_000;
const log = (message) => process.stderr.write(`[instructions] ${message}\n`);

try {
  execFileSync('valgrind', ['--version'], { stdio: 'ignore' });
} catch {
  console.error('valgrind is not installed (Debian: apt-get install valgrind); nothing measured.');
  process.exit(2);
}

const work = mkdtempSync(join(os.tmpdir(), 'ductape-instructions-'));

/** `valgrind` counting nothing until told, its dumps in `dir`. */
function callgrind(dir) {
  return [
    'valgrind',
    '--tool=callgrind',
    '--instr-atstart=no',
    // V8 writes and rewrites machine code in memory (its JIT).
    '--smc-check=all-non-file',
    `--callgrind-out-file=${join(dir, 'callgrind.out')}`,
    `--vgdb-prefix=${join(dir, 'vgdb')}`,
    // A count per thread: the requests are served on the main thread.
    '--separate-threads=yes',
  ];
}

/** Sends `count` requests one after another on one keep-alive connection; fails on a non-2xx. */
async function send(url, count, { path, keyed, token }) {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const { hostname, port } = new URL(url);
  try {
    for (let i = 0; i < count; i++) {
      // Keys in a fixed order spread over the store: every run reads the same rows.
      const p = keyed ? path.replace('{key}', keyName('S', (i * 7919) % SEEDED)) : path;
      await new Promise((resolve, reject) => {
        const headers = token ? { authorization: `Bearer ${token}` } : {};
        const req = httpRequest({ hostname, port, path: p, agent, headers }, (response) => {
          response.resume();
          response.once('end', () =>
            response.statusCode >= 200 && response.statusCode < 300
              ? resolve()
              : reject(new Error(`${p} answered ${response.statusCode}`)),
          );
        });
        req.once('error', reject);
        req.end();
      });
    }
  } finally {
    agent.destroy();
  }
}

/**
 * The instructions of the dump callgrind writes after `--dump`, one file per thread
 * (`callgrind.out.<dump>-<thread>`, the main thread being 01): the main thread's and all
 * threads' (V8's compiler and garbage collector helpers too). Waits up to 60 s.
 */
async function dumpTotals(dir, before) {
  const totalOf = (file) => {
    const match = /^totals:\s+(\d+)/m.exec(readFileSync(join(dir, file), 'utf8'));
    return match ? Number(match[1]) : undefined;
  };
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const fresh = readdirSync(dir).filter((f) => f.startsWith('callgrind.out.') && !before.has(f));
    const main = fresh.find((f) => f.endsWith('-01'));
    if (main !== undefined && totalOf(main) !== undefined) {
      // The threads' files are written one after another: let the others land.
      await sleep(1000);
      const files = readdirSync(dir).filter((f) => f.startsWith('callgrind.out.') && !before.has(f));
      return { main: totalOf(main), all: files.reduce((sum, f) => sum + (totalOf(f) ?? 0), 0) };
    }
    await sleep(200);
  }
  throw new Error(`callgrind wrote no dump in ${dir} within 60 s`);
}

/** Warm-up, then ROUNDS counted runs of REQUESTS requests: instructions per request, each round. */
async function count(server, dir, load) {
  await send(server.url, WARMUP, load);
  const pid = String(guestPid(server.pid));
  // vgdb finds the server's pipes by its user and host names: HOST is the server's (processes.mjs).
  const env = { ...process.env, HOST: '127.0.0.1' };
  const control = (...args) =>
    execFileSync('callgrind_control', [`--vgdb-prefix=${join(dir, 'vgdb')}`, ...args, pid], {
      env,
      stdio: 'pipe',
    });
  const perRequest = [];
  for (let round = 0; round < ROUNDS; round++) {
    const before = new Set(readdirSync(dir));
    control('--zero');
    control('--instr=on');
    await send(server.url, REQUESTS, load);
    control('--instr=off');
    control('--dump');
    const { main, all } = await dumpTotals(dir, before);
    perRequest.push({ main: main / REQUESTS, all: all / REQUESTS });
  }
  return perRequest;
}

/**
 * The process valgrind runs the server in: Debian's `valgrind` is a shell script that starts
 * `valgrind.bin` as its child, so the spawned pid is not the one to control.
 */
function guestPid(pid) {
  let current = pid;
  for (;;) {
    let children = '';
    try {
      children = readFileSync(`/proc/${current}/task/${current}/children`, 'utf8').trim();
    } catch {
      return current;
    }
    if (children === '') return current;
    current = Number(children.split(' ')[0]);
  }
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
};

async function under(label, script, options, run) {
  const dir = mkdtempSync(join(work, `${label}-`));
  log(`${label}: starting under callgrind`);
  const server = await startProcess(script, {
    ...options,
    launcher: callgrind(dir),
    readyTimeoutMs: 300_000,
  });
  const guest = guestPid(server.pid);
  try {
    return await run(server, dir);
  } finally {
    // The wrapper script does not pass signals on: the server itself is told to stop.
    if (guest !== server.pid) process.kill(guest, 'SIGTERM');
    await server.stop();
  }
}

async function main() {
  const results = { at: new Date().toISOString(), requests: REQUESTS, rounds: ROUNDS, warmup: WARMUP };
  results.machine = { cpu: os.cpus()[0]?.model, cores: os.cpus().length, node: process.version };

  results.bare = await under(
    'bare',
    'bench/bare-server.mjs',
    { env: process.env, readyPath: '/' },
    (s, dir) => count(s, dir, { path: '/' }),
  );

  const env = {
    ...defaultServerEnv(),
    DUCTAPE_MASTER_KEY: randomBytes(32).toString('base64'),
    DUCTAPE_DATA_DIR: mkdtempSync(join(work, 'data-')),
  };
  log('seeding 10,000 secrets');
  const [seed] = await runSeed(env, [{ name: 'main', prefix: 'S', count: SEEDED }]);
  results.levels = {};
  for (const level of ['warn', 'info']) {
    // Each server on its own copy of the seeded store: the second must not find the first's
    // audit entries (a bigger log is other work).
    const dataDir = join(work, `data-${level}`);
    cpSync(env.DUCTAPE_DATA_DIR, dataDir, { recursive: true });
    results.levels[level] = await under(
      level,
      'packages/server/dist/main.js',
      {
        env: { ...env, DUCTAPE_DATA_DIR: dataDir, ...(level === 'warn' ? { LOG_LEVEL: 'warn' } : {}) },
        readyPath: '/readyz',
        nodeFlags: START_FLAGS,
        logFile: join(work, `${level}.log`),
      },
      async (server, dir) => {
        const byScenario = {};
        for (const scenario of SCENARIOS) {
          log(`${level}: ${scenario.label}`);
          const token = scenario.anonymous ? undefined : await signIn(server.url, seed);
          await scenario.check(server.url, token, seed);
          const { path } = scenario.request({ count: SEEDED });
          byScenario[scenario.id] = await count(server, dir, { path, keyed: path.includes('{key}'), token });
        }
        return byScenario;
      },
    );
  }
  writeFileSync(join(ROOT, 'bench/instructions.json'), `${JSON.stringify(results, null, 2)}\n`);
  print(results);
}

/**
 * Per request: the main thread's lowest round (other work, a major GC or a late compile, only
 * ever adds to a round) and median, and every thread's median.
 */
function summary(rounds) {
  const main = rounds.map((r) => r.main);
  return { low: Math.min(...main), median: median(main), all: median(rounds.map((r) => r.all)) };
}

function print(results) {
  const k = (n) => `${(n / 1000).toFixed(1)}k`;
  console.log(
    `\nInstructions per request (callgrind), ${results.at}: ${results.machine.cpu}, Node ${results.machine.node}`,
  );
  console.log(
    `${results.requests} requests a round, one at a time, ${results.rounds} rounds after ${results.warmup} of warm-up.`,
  );
  console.log('main: the main thread, lowest round / median; all: every thread, median.\n');
  const bare = summary(results.bare);
  const rows = [
    [
      'scenario',
      'main at warn',
      'main at info',
      'info - warn',
      'share',
      'all, warn / info',
      'main rounds at info',
    ],
    [
      'bare node:http',
      `${k(bare.low)} / ${k(bare.median)}`,
      '',
      '',
      '',
      k(bare.all),
      results.bare.map((r) => k(r.main)).join(' '),
    ],
  ];
  for (const scenario of SCENARIOS) {
    const warn = summary(results.levels.warn[scenario.id]);
    const info = summary(results.levels.info[scenario.id]);
    rows.push([
      scenario.label,
      `${k(warn.low)} / ${k(warn.median)}`,
      `${k(info.low)} / ${k(info.median)}`,
      k(info.low - warn.low),
      `${(((info.low - warn.low) / info.low) * 100).toFixed(1)} %`,
      `${k(warn.all)} / ${k(info.all)}`,
      results.levels.info[scenario.id].map((r) => k(r.main)).join(' '),
    ]);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  for (const row of rows) console.log(row.map((cell, i) => cell.padEnd(widths[i])).join('  '));
  console.log('\nWrote bench/instructions.json');
}

try {
  await main();
} finally {
  await killAll();
  // INSTR_KEEP=1: the dumps stay, for callgrind_annotate.
  if (process.env.INSTR_KEEP === '1') log(`the dumps are in ${work}`);
  else rmSync(work, { recursive: true, force: true });
}
