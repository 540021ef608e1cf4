/**
 * Runs JavaScript the way a user of the SDK would: plain `node` in the repository root,
 * importing '@ductape/sdk' from node_modules. Used to run the product document's examples
 * verbatim (only credentials and url are ours).
 */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import type { Credentials } from '../helpers/harness.js';
import { SERVER_PACKAGE } from '../helpers/harness.js';

export const REPO_ROOT = resolve(SERVER_PACKAGE, '..', '..');

export interface NodeResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `node ...args` with cwd = the repository root and a minimal environment. */
export function runNode(args: string[], env: Record<string, string> = {}): Promise<NodeResult> {
  return new Promise((done, reject) => {
    const child = spawn(process.execPath, args, {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => done({ code, stdout, stderr }));
  });
}

const MARK = '@@captured ';

export interface ExampleRun {
  /** What the example printed with console.log, line by line (captures removed). */
  lines: string[];
  /** What the example printed with console.error. */
  stderr: string;
  /** The example's variables named in `capture`, as JSON. */
  captured: Record<string, unknown>;
}

/**
 * The document's "Prerequisites" snippet with real credentials and url, then `example`
 * exactly as written, then a line that prints the variables named in `capture`.
 */
export async function runExample(
  credentials: Credentials,
  url: string,
  example: string,
  capture: string[] = [],
): Promise<ExampleRun> {
  const program = [
    "import Ductape from '@ductape/sdk';",
    'const ductape = new Ductape({',
    `workspace_id: ${JSON.stringify(credentials.workspace_id)},`,
    `user_id: ${JSON.stringify(credentials.user_id)},`,
    `private_key: ${JSON.stringify(credentials.private_key)},`,
    `url: ${JSON.stringify(url)}`,
    '});',
    'await ductape.init();',
    example,
    `console.log(${JSON.stringify(MARK)} + JSON.stringify({ ${capture.join(', ')} }));`,
  ].join('\n');
  const result = await runNode(['--input-type=module', '-e', program]);
  if (result.code !== 0) {
    throw new Error(`example exited with ${result.code}:\n${result.stderr}\n--- program ---\n${program}`);
  }
  const all = result.stdout.split('\n').filter((l) => l !== '');
  const mark = all.find((l) => l.startsWith(MARK));
  if (mark === undefined) throw new Error(`example printed no capture line:\n${result.stdout}`);
  return {
    lines: all.filter((l) => !l.startsWith(MARK)),
    stderr: result.stderr,
    captured: JSON.parse(mark.slice(MARK.length)) as Record<string, unknown>,
  };
}
