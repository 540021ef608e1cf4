/**
 * Child processes of the benchmark: the server under test, the bare baseline, the load
 * generator and the seeder. Every child is registered so `killAll()` can end it, even when
 * the run fails half-way; every wait is bounded.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { clearInterval, clearTimeout, setInterval, setTimeout } from 'node:timers';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath, URL } from 'node:url';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
const children = new Set();

/**
 * The Node.js flags `npm start` gives the server (package.json's `start` script is
 * `node [flags...] packages/server/dist/main.js`), so the server under test runs as users run it.
 */
export const START_FLAGS = (() => {
  const start = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).scripts.start;
  const words = start.trim().split(/\s+/);
  if (words[0] !== 'node' || !words.at(-1).endsWith('main.js')) {
    throw new Error(`package.json's start script is not 'node [flags] .../main.js': ${start}`);
  }
  return words.slice(1, -1);
})();

/**
 * The server's environment as `npm start` gets it on a fresh machine: this one's, without
 * anything that picks another setting (DUCTAPE_*, DATABASE_URL, PORT, HOST, NODE_ENV, LOG_*).
 */
export function defaultServerEnv() {
  const env = { ...process.env };
  for (const name of Object.keys(env)) {
    if (
      name.startsWith('DUCTAPE_') ||
      name.startsWith('LOG_') ||
      ['DATABASE_URL', 'PORT', 'HOST', 'NODE_ENV'].includes(name)
    ) {
      delete env[name];
    }
  }
  return env;
}

/** Spawns a child and keeps track of it until it exits. */
export function track(child) {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** Ends every child still running: SIGTERM, then SIGKILL after `graceMs`. */
export async function killAll(graceMs = 5000) {
  const running = [...children];
  for (const child of running) child.kill('SIGTERM');
  const deadline = Date.now() + graceMs;
  while (children.size > 0 && Date.now() < deadline) await sleep(50);
  for (const child of children) child.kill('SIGKILL');
}

/** A port that was free a moment ago on 127.0.0.1. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

/**
 * Runs a node script to completion and returns its stdout; rejects with its stderr on a
 * non-zero exit, or when it outlives `timeoutMs`.
 */
export function runNode(args, { env = process.env, timeoutMs, echoStderr = false, onStdout }) {
  return new Promise((resolve, reject) => {
    const child = track(spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] }));
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      onStdout?.(stdout);
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
      if (echoStderr) process.stderr.write(chunk);
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${args[0]} took longer than ${Math.round(timeoutMs / 1000)} s; killed`));
    }, timeoutMs);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(stdout);
      else reject(new Error(`${args[0]} exited with ${code ?? signal}: ${stderr.trim().slice(-2000)}`));
    });
  });
}

/** The last line of a child's stdout, parsed as JSON. */
function lastJson(stdout) {
  const lines = stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]);
}

/**
 * Runs one load scenario (warm-up + measured run) in its own process: see cannon.mjs.
 * `onMeasuring` is called once, when the warm-up is over and the measured run starts.
 */
export async function runLoad(spec, { onMeasuring } = {}) {
  const timeoutMs = (spec.warmup + spec.duration + 60) * 1000;
  let told = false;
  const onStdout = (stdout) => {
    if (!told && stdout.includes('measuring\n')) {
      told = true;
      onMeasuring?.();
    }
  };
  return lastJson(await runNode(['bench/cannon.mjs', JSON.stringify(spec)], { timeoutMs, onStdout }));
}

/** Seeds workspaces with the store opened directly (see seed.mjs); the server must not run yet. */
export async function runSeed(env, workspaces) {
  const timeoutMs = 30 * 60 * 1000;
  const stdout = await runNode(['bench/seed.mjs', JSON.stringify({ workspaces })], {
    env,
    timeoutMs,
    echoStderr: true,
  });
  return lastJson(stdout);
}

/** Polls `url` until it answers 200; fails when the process exits or `timeoutMs` passes. */
async function waitReady(child, url, timeoutMs, stderr) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the server exited with ${child.exitCode}: ${stderr()}`);
    try {
      const response = await globalThis.fetch(url);
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  throw new Error(`the server did not answer ${url} within ${timeoutMs / 1000} s: ${stderr()}`);
}

/**
 * Starts a server process (`node [nodeFlags] <script>` with `env`) on a free port of 127.0.0.1 and waits
 * until `readyPath` answers. Returns its pid, URL and a `stop()` that ends it gracefully.
 */
export async function startProcess(
  script,
  { env, readyPath, nodeFlags = [], logFile, profileName, launcher = [], readyTimeoutMs = 60_000 },
) {
  const port = await freePort();
  // BENCH_PROFILE=<dir>: the server writes a V8 CPU profile there when it stops.
  const profile = process.env.BENCH_PROFILE
    ? [
        '--cpu-prof',
        `--cpu-prof-dir=${process.env.BENCH_PROFILE}`,
        ...(profileName ? [`--cpu-prof-name=${profileName}`] : []),
      ]
    : [];
  // The server's log lines go to a file, as under a service manager; not to /dev/null, which
  // would hide the cost of writing them.
  const out = logFile ? openSync(logFile, 'a') : 'ignore';
  // `launcher`: a command the server runs under (valgrind, for instructions.mjs).
  const [command, ...args] = [...launcher, process.execPath, ...nodeFlags, ...profile, script];
  const child = track(
    spawn(command, args, {
      cwd: ROOT,
      env: { ...env, PORT: String(port), HOST: '127.0.0.1' },
      stdio: ['ignore', out, 'pipe'],
    }),
  );
  if (typeof out === 'number') closeSync(out);
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr = (stderr + chunk).slice(-4000)));
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitReady(child, `${url}${readyPath}`, readyTimeoutMs, () => stderr.trim());
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  return {
    pid: child.pid,
    url,
    logFile,
    stderr: () => stderr,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const killed = await Promise.race([exited.then(() => false), sleep(10_000).then(() => true)]);
      if (killed) child.kill('SIGKILL');
    },
  };
}

function rssMb(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = /^VmRSS:\s+(\d+) kB/m.exec(status);
    return match ? Number(match[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** User + system CPU time of a process so far, in ms (Linux clock ticks are 1/100 s). */
function cpuMs(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the ")" that closes the command name; utime and stime are the 12th and 13th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return undefined;
  }
}

/**
 * Watches a server process during one scenario: its resident memory every `everyMs` (the
 * peak is reported) and the CPU time it spent from `measuring()` (the end of the warm-up)
 * to `stop()`. CPU per request holds up better than req/s when other work shares the machine.
 */
export function watchProcess(pid, everyMs = 100) {
  let peak = rssMb(pid) ?? 0;
  let cpuAtStart;
  const timer = setInterval(() => {
    peak = Math.max(peak, rssMb(pid) ?? 0);
  }, everyMs);
  return {
    measuring() {
      cpuAtStart = cpuMs(pid);
    },
    stop() {
      clearInterval(timer);
      peak = Math.max(peak, rssMb(pid) ?? 0);
      const cpuEnd = cpuMs(pid);
      return {
        peakRssMb: Math.round(peak * 10) / 10,
        cpuMs: cpuAtStart === undefined || cpuEnd === undefined ? undefined : cpuEnd - cpuAtStart,
      };
    },
  };
}
