// How long `ductape run` takes before (and after) the command it starts, compared with
// starting that command directly. Starts a real server (built dist, temporary data dir, free
// port), makes a workspace with the operator command and 20 secrets, then times
// `ductape run --app A --env E -- true` against bare `true`, with user credentials and with a
// service token in DUCTAPE_TOKEN. Prints the figures; asserts nothing.
//
//   npm run build && npm run bench:run            (RUNS=50 for more samples)
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { get } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import Ductape from '../packages/sdk/dist/esm/index.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const MAIN = join(ROOT, 'packages/server/dist/main.js');
const CLI = join(ROOT, 'packages/cli/bin/ductape.js');
const OPERATOR = join(ROOT, 'packages/server/bin/ductape-server.js');
const RUNS = Math.max(20, Number(process.env.RUNS) || 30);
const APP = 'bench_app';
const ENV = 'prd';

function freePort() {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

async function waitForHealth(url, server) {
  for (let i = 0; i < 200; i += 1) {
    if (server.exitCode !== null) throw new Error(`the server exited with ${server.exitCode}`);
    const status = await new Promise((resolve) => {
      get(`${url}/readyz`, (res) => resolve(res.resume().statusCode)).on('error', () => resolve(0));
    });
    if (status === 200) return;
    await sleep(50);
  }
  throw new Error(`the server at ${url} did not become ready`);
}

/** Wall time of one run of `command`, in milliseconds; throws when it fails. */
function timed(command, args, env) {
  const start = process.hrtime.bigint();
  const result = spawnSync(command, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (result.status !== 0) {
    throw new Error(`${command} ${args.join(' ')} exited ${result.status}: ${result.stderr}`);
  }
  return ms;
}

const quantile = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
const fmt = (ms) => `${ms.toFixed(1).padStart(6)} ms`;

/** Runs `run` and bare `true` in turn; the overhead of each pair is their difference. */
function measure(label, env) {
  const runArgs = [CLI, 'run', ...(env.DUCTAPE_TOKEN ? [] : ['--app', APP, '--env', ENV]), '--', 'true'];
  for (let i = 0; i < 3; i += 1) timed(process.execPath, runArgs, env); // warm the server and the disk cache
  const overheads = [];
  const runs = [];
  for (let i = 0; i < RUNS; i += 1) {
    const bare = timed('true', [], env);
    const run = timed(process.execPath, runArgs, env);
    runs.push(run);
    overheads.push(run - bare);
  }
  overheads.sort((a, b) => a - b);
  runs.sort((a, b) => a - b);
  console.log(
    `${label.padEnd(34)} overhead median ${fmt(quantile(overheads, 0.5))}   p90 ${fmt(quantile(overheads, 0.9))}` +
      `   (run median ${fmt(quantile(runs, 0.5))})`,
  );
}

function nodeBaseline(env) {
  const times = [];
  for (let i = 0; i < RUNS; i += 1) times.push(timed(process.execPath, ['-e', '0'], env));
  times.sort((a, b) => a - b);
  console.log(
    `${'for reference: node -e 0'.padEnd(34)} wall     median ${fmt(quantile(times, 0.5))}   p90 ${fmt(quantile(times, 0.9))}`,
  );
}

const dataDir = mkdtempSync(join(tmpdir(), 'ductape-bench-'));
const port = await freePort();
const url = `http://127.0.0.1:${port}`;
const serverEnv = {
  ...process.env,
  DUCTAPE_DATA_DIR: dataDir,
  PORT: String(port),
  HOST: '127.0.0.1',
  LOG_LEVEL: 'warn',
};
const server = spawn(process.execPath, [MAIN], { env: serverEnv, stdio: ['ignore', 'ignore', 'inherit'] });
try {
  await waitForHealth(url, server);
  const made = spawnSync(process.execPath, [OPERATOR, 'workspace', 'create', '--name', 'bench', '--json'], {
    env: serverEnv,
    encoding: 'utf8',
  });
  if (made.status !== 0) throw new Error(`workspace create failed: ${made.stderr}`);
  const owner = JSON.parse(made.stdout);

  const sdk = new Ductape({ ...owner, url });
  for (let i = 0; i < 20; i += 1) {
    await sdk.secrets.create({
      key: `BENCH_SECRET_${i}`,
      value: `value-${i}-${'x'.repeat(40)}`,
      scope: [APP],
      envs: [ENV],
    });
  }
  const { token } = await sdk.tokens.create({ app: APP, env: ENV, ttl_seconds: 3600 });

  const base = { PATH: process.env.PATH, HOME: dataDir, DUCTAPE_URL: url };
  console.log(`ductape run overhead: ${RUNS} runs each, 20 secrets in scope, server at ${url}\n`);
  nodeBaseline(base);
  measure('user credentials (sign-in + export)', {
    ...base,
    DUCTAPE_WORKSPACE_ID: owner.workspace_id,
    DUCTAPE_USER_ID: owner.user_id,
    DUCTAPE_PRIVATE_KEY: owner.private_key,
  });
  measure('service token (DUCTAPE_TOKEN)', { ...base, DUCTAPE_TOKEN: token });
  console.log(
    '\noverhead = wall time of `ductape run ... -- true` minus that of `true`; target: under 150 ms',
  );
} finally {
  server.kill('SIGTERM');
  await new Promise((resolve) => (server.exitCode !== null ? resolve() : server.once('exit', resolve)));
  rmSync(dataDir, { recursive: true, force: true });
}
