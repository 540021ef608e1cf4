/**
 * `ductape run -- true` against bare `true`: what the command line adds to a process start.
 *
 * When bench/run-overhead.mjs exists (the dedicated script behind `npm run bench:run`), it is
 * run as is and its figures are taken from its output. Otherwise, when the `run` command
 * exists, it is measured here against the benchmark's own server: `runs` alternating starts
 * of each after a few discarded ones, and the overhead is the difference of the medians.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, runNode } from './processes.mjs';

const CLI = 'packages/cli/bin/ductape.js';
const SCRIPT = 'bench/run-overhead.mjs';

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

const round = (ms) => Math.round(ms * 10) / 10;

function timed(command, args, env) {
  const started = process.hrtime.bigint();
  const result = spawnSync(command, args, {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
    timeout: 30_000,
  });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  return { ms, status: result.status, stderr: result.stderr?.toString() ?? '' };
}

/**
 * The figures of run-overhead.mjs, from its lines
 *   "<mode>  overhead median  85.2 ms   p90  90.1 ms   (run median 130.0 ms)".
 * The headline overhead is the slowest mode's median; a JSON line is taken as is.
 */
function parseScriptOutput(stdout) {
  const modes = [];
  for (const line of stdout.split('\n')) {
    try {
      const json = JSON.parse(line);
      if (json && typeof json === 'object') return { figures: json, overheadMs: json.overheadMs };
    } catch {
      // a text line
    }
    const m =
      /^(.*?)\s+overhead median\s+(-?[\d.]+) ms\s+p90\s+(-?[\d.]+) ms\s+\(run median\s+([\d.]+) ms\)/.exec(
        line.trim(),
      );
    if (m) {
      modes.push({
        mode: m[1].trim(),
        medianMs: Number(m[2]),
        p90Ms: Number(m[3]),
        runMedianMs: Number(m[4]),
      });
    }
  }
  if (modes.length === 0) return {};
  return { modes, overheadMs: Math.max(...modes.map((m) => m.medianMs)) };
}

/** The environment of the other script: it starts its own SQLite server, so nothing that picks another store. */
function scriptEnv() {
  const env = { ...process.env };
  for (const name of Object.keys(env)) {
    if (name.startsWith('DUCTAPE_') || name === 'DATABASE_URL' || name === 'PORT' || name === 'HOST') {
      delete env[name];
    }
  }
  return env;
}

/** `url` is a running ductape server (used only without run-overhead.mjs); `creds` a seeded user of it. */
export async function measureRunOverhead({ url, creds, runs = 20 }) {
  if (existsSync(join(ROOT, SCRIPT))) {
    try {
      const stdout = await runNode([SCRIPT], { env: scriptEnv(), timeoutMs: 10 * 60 * 1000 });
      return { available: true, source: SCRIPT, ...parseScriptOutput(stdout), output: stdout.trim() };
    } catch (error) {
      return { available: true, source: SCRIPT, error: error.message };
    }
  }
  const home = mkdtempSync(join(tmpdir(), 'ductape-bench-home-'));
  try {
    const env = {
      PATH: process.env.PATH,
      HOME: home,
      DUCTAPE_URL: url,
      DUCTAPE_WORKSPACE_ID: creds.workspace_id,
      DUCTAPE_USER_ID: creds.user_id,
      DUCTAPE_PRIVATE_KEY: creds.private_key,
    };
    if (timed(process.execPath, [CLI, 'run', '--help'], env).status !== 0) {
      return { available: false, reason: "the 'run' command does not exist yet" };
    }
    // The app/env flags when the command takes them, else the bare form.
    const forms = [
      ['run', '--app', 'a', '--env', 'e', '--', 'true'],
      ['run', '--', 'true'],
    ];
    const args = forms.find((form) => timed(process.execPath, [CLI, ...form], env).status === 0);
    if (!args) {
      const tried = timed(process.execPath, [CLI, ...forms[0]], env);
      return { available: true, error: `ductape ${forms[0].join(' ')} failed: ${tried.stderr.trim()}` };
    }
    for (let i = 0; i < 3; i++) {
      timed('true', [], env);
      timed(process.execPath, [CLI, ...args], env);
    }
    const bare = [];
    const cli = [];
    for (let i = 0; i < runs; i++) {
      bare.push(timed('true', [], env).ms);
      cli.push(timed(process.execPath, [CLI, ...args], env).ms);
    }
    return {
      available: true,
      source: 'bench/cli-overhead.mjs',
      command: `ductape ${args.join(' ')}`,
      runs,
      trueMedianMs: round(median(bare)),
      runMedianMs: round(median(cli)),
      runMaxMs: round(Math.max(...cli)),
      overheadMs: round(median(cli) - median(bare)),
    };
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}
