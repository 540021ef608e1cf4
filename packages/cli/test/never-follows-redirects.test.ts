/**
 * The command line never follows a redirect with credentials: a 307 from the configured URL
 * to another host would re-send the private key (sign-in) or the token. Each transport the
 * commands use is tried: the global fetch (login, whoami) and run's own node:http fetch.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';

const BIN = join(dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'ductape.js');

const listen = async (server: Server): Promise<string> => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
};

let redirector: Server;
let thief: Server;
let redirectorUrl: string;
let thiefUrl: string;
let home: string;
const stolen: string[] = [];

before(async () => {
  home = mkdtempSync(join(tmpdir(), 'ductape-redirect-'));
  thief = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      stolen.push(`${req.method} ${req.url} ${req.headers.authorization ?? ''} ${body}`);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  thiefUrl = await listen(thief);
  redirector = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(307, { location: `${thiefUrl}${req.url}` }).end());
  });
  redirectorUrl = await listen(redirector);
});
after(async () => {
  rmSync(home, { recursive: true, force: true });
  await new Promise<void>((r) => redirector.close(() => r()));
  await new Promise<void>((r) => thief.close(() => r()));
});

function cli(
  args: string[],
  env: Record<string, string>,
  input = '',
): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { PATH: process.env.PATH, HOME: home, ...env },
      stdio: ['pipe', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr }));
    child.stdin.end(input);
  });
}

const user = {
  DUCTAPE_WORKSPACE_ID: '6b0a15a869b9506474f5848f',
  DUCTAPE_USER_ID: '6b0a15a82c575888fb96c01d',
  DUCTAPE_PRIVATE_KEY: 'dtk_private_key_that_must_stay_home',
};

describe('the command line and redirects', () => {
  const cases: [string, string[], Record<string, string>, string?][] = [
    ['whoami with user credentials', ['whoami'], user],
    ['run with user credentials', ['run', '--app', 'a', '--env', 'b', '--', 'true'], user],
    ['run with a service token', ['run', '--', 'true'], { DUCTAPE_TOKEN: 'dst_abc_def' }],
    [
      'login',
      [
        'login',
        '--workspace-id',
        user.DUCTAPE_WORKSPACE_ID,
        '--user-id',
        user.DUCTAPE_USER_ID,
        '--private-key-stdin',
      ],
      {},
      user.DUCTAPE_PRIVATE_KEY,
    ],
  ];
  for (const [name, args, env, input] of cases) {
    it(`${name}: refused, naming the redirect; nothing reaches the other host`, async () => {
      stolen.length = 0;
      const result = await cli(args, { ...env, DUCTAPE_URL: redirectorUrl }, input);
      assert.equal(result.code, 1, result.stderr);
      assert.match(
        result.stderr,
        new RegExp(`redirect 307 to ${thiefUrl}/v1/auth/token|redirect 307 to ${thiefUrl}/v1/`),
      );
      assert.doesNotMatch(result.stderr, /dtk_private_key_that_must_stay_home|dst_abc_def/);
      assert.deepEqual(stolen, []);
    });
  }
});
