/**
 * What the command-line suites for run, export/import, resolve/validate and tokens share:
 * running the built CLI as a given user or token against a test server, with a HOME of its
 * own, and values that break naive quoting.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { CLI_ENTRY, runCli, tempDir, type CliResult, type Credentials, type TestServer } from './harness.js';

export { AWKWARD_VALUES } from '../../../cli/test/helpers/awkward-values.js';

export const envOf = (c: Credentials): Record<string, string> => ({
  DUCTAPE_WORKSPACE_ID: c.workspace_id,
  DUCTAPE_USER_ID: c.user_id,
  DUCTAPE_PRIVATE_KEY: c.private_key,
});

export type Cli = (
  args: string[],
  options?: { env?: Record<string, string>; input?: string; cwd?: string },
) => Promise<CliResult>;

export interface CliSession {
  /** Runs the CLI with these credentials (or a service token) against the server. */
  as(who: Credentials | { token: string }): Cli;
  /** A fresh temporary folder, removed by `cleanup`. */
  folder(): string;
  cleanup(): void;
}

export function cliSession(server: TestServer): CliSession {
  const folders: string[] = [];
  const folder = (): string => {
    const dir = tempDir('ductape-cli-');
    folders.push(dir);
    return dir;
  };
  const home = folder();
  return {
    as(who) {
      const credentials = 'token' in who ? { DUCTAPE_TOKEN: who.token } : envOf(who);
      return (args, options = {}) =>
        runCli(args, {
          env: { HOME: home, DUCTAPE_URL: server.url, ...credentials, ...options.env },
          input: options.input,
          cwd: options.cwd,
        });
    },
    folder,
    cleanup() {
      for (const dir of folders) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Asserts an exit code, showing stderr when it differs. */
export function expectCode(result: CliResult, code: number): void {
  assert.equal(result.code, code, `exit ${result.code}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`);
}

export const hasPythonPty = spawnSync('python3', ['-c', 'import pty'], { stdio: 'ignore' }).status === 0;

const PTY_RUN = `
import json, os, pty, sys
spec = json.loads(sys.stdin.read())
pid, fd = pty.fork()
if pid == 0:
    os.execve(spec["argv"][0], spec["argv"], spec["env"])
out = b""
while True:
    try: chunk = os.read(fd, 65536)
    except OSError: break
    if not chunk: break
    out += chunk
_, status = os.waitpid(pid, 0)
print(json.dumps({"output": out.decode("utf-8", "replace"), "code": os.waitstatus_to_exitcode(status)}))
`;

/**
 * Runs `ductape` (or, with `entry`, `ductape-server`) in a pseudo-terminal (stdin, stdout and
 * stderr all a TTY); needs python3.
 */
export function cliInTerminal(
  args: string[],
  env: Record<string, string>,
  entry: string = CLI_ENTRY,
): Promise<{ output: string; code: number }> {
  const spec = {
    argv: [process.execPath, entry, ...args],
    env: { PATH: process.env.PATH ?? '', TERM: 'dumb', ...env },
  };
  return new Promise((resolve, reject) => {
    const python = spawn('python3', ['-c', PTY_RUN], { stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    python.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    python.on('error', reject);
    python.on('close', () => resolve(JSON.parse(out) as { output: string; code: number }));
    python.stdin.end(JSON.stringify(spec));
  });
}
