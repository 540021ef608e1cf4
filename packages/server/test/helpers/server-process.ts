/**
 * Real server processes (`node packages/server/dist/main.js`, built by `npm test`) for the
 * multi-node and outage suites: spawn one on a free port, wait until it answers /healthz,
 * and stop it with SIGTERM.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { tmpdir } from 'node:os';
import { MAIN_ENTRY } from './harness.js';
import { freePort, sleep } from './http.js';

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ServerProcess {
  child: ChildProcess;
  url: string;
  /** stdout and stderr so far. */
  output(): string;
  exited: Promise<Exit>;
  /** SIGTERM, then the exit. */
  stop(): Promise<Exit>;
}

const running = new Set<ChildProcess>();

/** Spawns a server without waiting for it (for starts that are meant to fail). */
export function spawnServer(
  env: Record<string, string>,
  port: number,
  nodeArgs: readonly string[] = [],
): ServerProcess {
  const child = spawn(process.execPath, [...nodeArgs, MAIN_ENTRY], {
    // Every start names its data dir or its master key, so the working directory is never written to.
    cwd: tmpdir(),
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      HOST: '127.0.0.1',
      PORT: String(port),
      // A start meant to fail may bring its own (bad) PORT.
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  let output = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => (output += d));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (output += d));
  const exited = new Promise<Exit>((done) =>
    child.on('exit', (code, signal) => {
      running.delete(child);
      done({ code, signal });
    }),
  );
  return {
    child,
    url: `http://127.0.0.1:${port}`,
    output: () => output,
    exited,
    stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

/** Spawns a server on a free port and resolves once it answers /healthz. */
export async function startServerProcess(
  env: Record<string, string>,
  nodeArgs: readonly string[] = [],
): Promise<ServerProcess> {
  const server = spawnServer(env, await freePort(), nodeArgs);
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (server.child.exitCode !== null) {
      throw new Error(`the server exited with ${server.child.exitCode}:\n${server.output()}`);
    }
    try {
      if ((await fetch(`${server.url}/healthz`)).status === 200) return server;
    } catch {
      // not listening yet
    }
    await sleep(50);
  }
  throw new Error(`the server did not answer /healthz in time:\n${server.output()}`);
}

/** Last resort for an after() hook: kills whatever a failed test left running. */
export function killAllServers(): void {
  for (const child of running) child.kill('SIGKILL');
}
