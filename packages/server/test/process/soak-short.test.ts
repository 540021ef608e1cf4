/**
 * The soak (bench/soak.mjs) for a few seconds, as CI can afford: the built server under a
 * steady mix of reads and writes must answer every request with a 2xx and still be up at
 * the end. The full run (`npm run soak`, 60 s) is in bench/README.md.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { it } from 'node:test';
import { SERVER_PACKAGE } from '../helpers/harness.js';

const ROOT = resolve(SERVER_PACKAGE, '..', '..');

interface SoakResult {
  sent: number;
  answered: number;
  errors: number;
  byStatus: Record<string, number>;
  byOp: Record<string, { count: number; errors: number }>;
  serverUpAtEnd: boolean;
  rss: { start: number; end: number; peak: number };
  failures: string[];
}

function runSoak(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'bench', 'soak.mjs'), ...args], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      done({ code, stdout, stderr });
    });
  });
}

it('a 3 s soak at 40 req/s: every request answered with a 2xx, the server up at the end', async () => {
  // Three seconds say nothing about leaks: the RSS limit is the full run's business.
  const { code, stdout, stderr } = await runSoak([
    '--duration',
    '3',
    '--rate',
    '40',
    '--max-rss-growth',
    '500',
    '--json',
  ]);
  assert.equal(code, 0, `${stdout}\n${stderr}`);
  const result = JSON.parse(stdout.trim().split('\n').at(-1) as string) as SoakResult;
  assert.equal(result.errors, 0, stdout);
  assert.deepEqual(result.failures, []);
  assert.ok(result.sent >= 110 && result.sent <= 130, `sent ${result.sent}`);
  assert.equal(result.answered, result.sent);
  const ok = Object.entries(result.byStatus).reduce(
    (n, [status, count]) => n + (Number(status) < 300 ? count : 0),
    0,
  );
  assert.equal(ok, result.sent, 'every answer is a 2xx');
  for (const op of ['fetch', 'update', 'create', 'resolve']) assert.ok((result.byOp[op]?.count ?? 0) > 0, op);
  assert.equal(result.serverUpAtEnd, true);
  assert.ok(result.rss.start > 0 && result.rss.end > 0 && result.rss.peak >= result.rss.end);
});
