/**
 * The fallback file of `ductape run --fallback`: what it holds, what opens it, what a change to
 * any byte does, how it sits on disk, and which failures of the server let it be used. The
 * end-to-end suite (server/test/cli-run-fallback) drives the same code through the built CLI.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { DuctapeError } from '@ductape/sdk';
import { readFallbackFile, writeFallbackFile } from '../src/fallback/file.js';
import {
  FallbackOpenError,
  openFallback,
  sealFallback,
  type Credential,
  type FallbackScope,
  type OpenFailure,
} from '../src/fallback/format.js';
import { formatAge, parseMaxAge, unreachableReason } from '../src/fallback/policy.js';
import { loadFallback } from '../src/fallback/run-fallback.js';
import { AWKWARD_VALUES } from './helpers/awkward-values.js';

const TOKEN: Credential = { kind: 'token', secret: 'dst_0123456789abcdef01234567_' + 'k'.repeat(43) };
const USER: Credential = { kind: 'user', secret: 'dpk_' + 'u'.repeat(43) };
const SCOPE: FallbackScope = { app: 'web', env: 'dev', only: null, name_transform: null };
const URL = 'http://127.0.0.1:8080';
const VARIABLES = AWKWARD_VALUES.map((value, i) => ({ name: `V${i}`, value }));

const folders: string[] = [];
function folder(): string {
  const dir = mkdtempSync(join(tmpdir(), 'ductape-fallback-'));
  folders.push(dir);
  return dir;
}
after(() => {
  for (const dir of folders) rmSync(dir, { recursive: true, force: true });
});

function seal(credential: Credential = TOKEN, now = new Date()): string {
  return sealFallback({ variables: VARIABLES, url: URL, scope: SCOPE, credential, now });
}

function failureOf(text: string, credential: Credential = TOKEN): OpenFailure | 'opened' {
  try {
    openFallback(text, credential);
    return 'opened';
  } catch (error) {
    assert.ok(error instanceof FallbackOpenError, String(error));
    return error.failure;
  }
}

describe('the fallback file format', () => {
  it('gives back exactly the variables it sealed, and shows none of their values', () => {
    const text = seal();
    const opened = openFallback(text, TOKEN);
    assert.deepEqual(opened.variables, VARIABLES);
    assert.equal(opened.header.url, URL);
    assert.deepEqual(opened.header.scope, SCOPE);
    for (const { value } of VARIABLES) {
      if (value.length >= 4) assert.ok(!text.includes(value), `the value ${JSON.stringify(value)} shows`);
    }
    assert.ok(!text.includes(TOKEN.secret), 'the token shows');
  });

  it('is written afresh every time: a new salt and iv, so no two files share a key', () => {
    const [a, b] = [JSON.parse(seal().split('\n')[0]!), JSON.parse(seal().split('\n')[0]!)] as {
      salt: string;
      iv: string;
      credential: { fingerprint: string };
    }[];
    assert.notEqual(a!.salt, b!.salt);
    assert.notEqual(a!.iv, b!.iv);
    assert.notEqual(a!.credential.fingerprint, b!.credential.fingerprint, 'fingerprints link no files');
  });

  it('is refused as written for other credentials, before any decrypt, for another token or user', () => {
    const text = seal();
    assert.equal(failureOf(text, { kind: 'token', secret: TOKEN.secret + 'x' }), 'other-credentials');
    assert.equal(failureOf(text, USER), 'other-credentials');
    assert.equal(failureOf(text, { kind: 'user', secret: TOKEN.secret }), 'other-credentials');
    assert.equal(failureOf(seal(USER), USER), 'opened');
  });

  it('fails its integrity check when any byte of the header or the ciphertext changes', () => {
    const text = seal();
    const newline = text.indexOf('\n');
    // Every position of the header, and a spread of the body: nothing may open.
    const positions = [
      ...Array(newline).keys(),
      ...Array.from({ length: 40 }, (_, i) => newline + 1 + i * 7),
    ];
    for (const at of positions) {
      const original = text[at]!;
      const replacement = original === 'A' ? 'B' : original === '0' ? '1' : 'A';
      const changed = text.slice(0, at) + replacement + text.slice(at + 1);
      assert.notEqual(failureOf(changed), 'opened', `a change at byte ${at} went unnoticed`);
    }
    const later = text.replace(
      /"created_at":"[^"]+"/,
      `"created_at":"${new Date(Date.now() + 1e9).toISOString()}"`,
    );
    assert.equal(failureOf(later), 'integrity', 'a younger date cannot be written in');
    const otherServer = text.replace(URL, 'http://127.0.0.1:8081');
    assert.equal(failureOf(otherServer), 'integrity');
    const body = text.slice(newline + 1, -1);
    const flipped = body.slice(0, 10) + (body[10] === 'a' ? 'b' : 'a') + body.slice(11);
    assert.equal(failureOf(text.slice(0, newline + 1) + flipped + '\n'), 'integrity');
    assert.equal(failureOf(text.slice(0, newline + 1) + body.slice(0, 20) + '\n'), 'integrity', 'truncated');
  });

  it('names what is wrong with a file that is not one, or of another version', () => {
    assert.equal(failureOf(''), 'damaged');
    assert.equal(failureOf('KEY=value\n'), 'damaged');
    assert.equal(failureOf('{}\nAAAA\n'), 'damaged');
    const text = seal();
    assert.equal(failureOf(text.replace('"version":1', '"version":2')), 'version');
    assert.equal(failureOf(text + 'more\n'), 'damaged');
  });
});

describe('the fallback file on disk', () => {
  it('is written with mode 0600 whatever the umask, replaced whole, and leaves no temporary file', () => {
    const dir = folder();
    const path = join(dir, 'run.fallback');
    const umask = process.umask(0);
    try {
      writeFallbackFile(path, 'first\n');
      assert.equal(statSync(path).mode & 0o777, 0o600);
      writeFallbackFile(path, 'second\n');
    } finally {
      process.umask(umask);
    }
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.equal(readFallbackFile(path), 'second\n');
    assert.deepEqual(readdirSync(dir), ['run.fallback']);
  });

  it('replaces a file others could read with one they cannot', () => {
    const path = join(folder(), 'f');
    writeFileSync(path, 'old', { mode: 0o644 });
    chmodSync(path, 0o644);
    writeFallbackFile(path, 'new\n');
    assert.equal(statSync(path).mode & 0o777, 0o600);
  });

  it('is not read when others may read or change it, when it is a FIFO or a folder, and says when it is missing', () => {
    const dir = folder();
    const open = join(dir, 'open');
    writeFileSync(open, seal());
    chmodSync(open, 0o640);
    assert.throws(() => readFallbackFile(open), /may be read or changed by other users \(mode 0640\)/);
    chmodSync(open, 0o602);
    assert.throws(() => readFallbackFile(open), /mode 0602/);

    const fifo = join(dir, 'fifo');
    assert.equal(spawnSync('mkfifo', ['-m', '600', fifo]).status, 0, 'mkfifo');
    // Must answer at once: opening a FIFO for reading would otherwise wait for a writer.
    assert.throws(() => readFallbackFile(fifo), /is not a regular file/);

    const sub = join(dir, 'sub');
    mkdirSync(sub, { mode: 0o700 });
    assert.throws(() => readFallbackFile(sub), /is not a regular file/);

    assert.throws(
      () => readFallbackFile(join(dir, 'none')),
      (error: Error & { missing?: boolean }) =>
        error.missing === true && /does not exist yet/.test(error.message),
    );
  });
});

describe('using a fallback file', () => {
  function saved(now: Date, credential: Credential = TOKEN, scope: FallbackScope = SCOPE): string {
    const path = join(folder(), 'run.fallback');
    writeFallbackFile(path, sealFallback({ variables: VARIABLES, url: URL, scope, credential, now }));
    return path;
  }
  const context = (path: string) => ({ path, url: URL, scope: SCOPE, credential: TOKEN });
  const DAY = 86_400_000;

  it('uses a file younger than the limit, and refuses an older one naming its age', () => {
    const fresh = saved(new Date(Date.now() - 2 * 3_600_000));
    assert.deepEqual(loadFallback(context(fresh), DAY, 'server down'), VARIABLES);
    const old = saved(new Date(Date.now() - DAY - 3_600_000));
    assert.throws(
      () => loadFallback(context(old), DAY, 'server down'),
      /^CliError: server down, and the fallback file .* is 25 h old, older than --fallback-max-age \(24 h\); nothing was started$/,
    );
    assert.throws(() => loadFallback(context(fresh), 3_600_000, 'server down'), /is 2 h old/);
  });

  it('refuses a file dated in the future, a file for another server, and one for another scope', () => {
    const future = saved(new Date(Date.now() + 3_600_000));
    assert.throws(
      () => loadFallback(context(future), DAY, 'down'),
      /is dated 59 min in the future|is dated 1 h in the future/,
    );
    const path = saved(new Date());
    assert.throws(
      () => loadFallback({ ...context(path), url: 'http://127.0.0.1:9999' }, DAY, 'down'),
      /was written for the server at http:\/\/127\.0\.0\.1:8080, not http:\/\/127\.0\.0\.1:9999/,
    );
    assert.throws(
      () => loadFallback({ ...context(path), scope: { ...SCOPE, env: 'prd' } }, DAY, 'down'),
      /was written for --app web --env dev, not for --app web --env prd/,
    );
    assert.throws(
      () => loadFallback({ ...context(path), scope: { ...SCOPE, only: ['A'] } }, DAY, 'down'),
      /not for --app web --env dev --only A/,
    );
  });
});

describe('when the server counts as unreachable', () => {
  // Only the status decides: the code is the same on every answer here.
  const answered = (status: number): DuctapeError =>
    new DuctapeError('message', 'INTERNAL_ERROR', {
      status,
      data: { code: 'INTERNAL_ERROR', message: 'message' },
    });

  it('on a network error or a 5xx, and on no answer the server gave below 500', () => {
    assert.match(
      unreachableReason(new DuctapeError('Could not reach', 'NETWORK_ERROR')) ?? '',
      /Could not reach/,
    );
    assert.match(unreachableReason(answered(500)) ?? '', /answered 500/);
    assert.match(unreachableReason(answered(503)) ?? '', /answered 503/);
    for (const status of [400, 401, 403, 404, 409, 410, 413, 429]) {
      assert.equal(unreachableReason(answered(status)), undefined, String(status));
    }
    assert.equal(unreachableReason(new DuctapeError('redirect', 'REDIRECT_REFUSED')), undefined);
    assert.equal(unreachableReason(new Error('anything else')), undefined);
  });
});

describe('durations and ages', () => {
  it('reads --fallback-max-age like --expires-in, and words ages for people', () => {
    assert.equal(parseMaxAge('24h'), 86_400_000);
    assert.equal(parseMaxAge('90m'), 5_400_000);
    assert.throws(() => parseMaxAge('0h'), /--fallback-max-age: '0h' is not a duration/);
    assert.throws(() => parseMaxAge('24'), /is not a duration/);
    assert.equal(formatAge(42_000), '42 s');
    assert.equal(formatAge(12 * 60_000 + 5_000), '12 min');
    assert.equal(formatAge(3 * 3_600_000 + 5 * 60_000), '3 h 5 min');
    assert.equal(formatAge(2 * 3_600_000), '2 h');
    assert.equal(formatAge(52 * 3_600_000), '2 d 4 h');
  });
});
