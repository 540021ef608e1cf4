/**
 * `ductape secrets list --expiring <duration>` end to end: the built CLI against a real
 * server. Only the secrets not expired that expire within the duration, soonest first, with
 * the time left; a duration it cannot read is a usage error (exit 2) before any request.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Secret } from '@ductape/sdk';
import { startTestServer, type TestServer } from '../helpers/harness.js';
import { cliSession, expectCode, type Cli, type CliSession } from '../helpers/cli-session.js';

const HOUR = 3600;
const DAY = 86_400;

let server: TestServer;
let session: CliSession;
let owner: Cli;

describe('ductape secrets list --expiring', () => {
  before(async () => {
    server = await startTestServer();
    session = cliSession(server);
    owner = session.as(server.owner);
    const sdk = server.client(server.owner);
    const now = Math.floor(Date.now() / 1000);
    await sdk.secrets.create({ key: 'Z_TWO_HOURS', value: 'v-z', expires_at: now + 2 * HOUR + 60 });
    await sdk.secrets.create({ key: 'A_THREE_DAYS', value: 'v-a', expires_at: now + 3 * DAY + 60 });
    await sdk.secrets.create({ key: 'M_THIRTY_DAYS', value: 'v-m', expires_at: now + 30 * DAY });
    await sdk.secrets.create({ key: 'N_NEVER', value: 'v-n' });
    await sdk.secrets.create({ key: 'X_EXPIRED', value: 'v-x', expires_at: now - 60 });
  });

  after(async () => {
    session.cleanup();
    await server.stop();
  });

  it('lists the soon-expiring secrets soonest first, with the time left, and never a value', async () => {
    const result = await owner(['secrets', 'list', '--expiring', '7d']);
    expectCode(result, 0);
    const lines = result.stdout.trimEnd().split('\n');
    assert.match(lines[0] ?? '', /^KEY\s+EXPIRES\s+IN\s+STATUS\s+SCOPE\s+ENVS$/);
    assert.deepEqual(
      lines.slice(1).map((l) => l.split(/\s+/)[0]),
      ['Z_TWO_HOURS', 'A_THREE_DAYS'],
    );
    assert.match(lines[1] ?? '', /\s2h( 1m)?\s+active\s/);
    assert.match(lines[2] ?? '', /\s3d( 0h)?\s+active\s/);
    assert.doesNotMatch(result.stdout, /v-[zamnx]/);
  });

  it('takes the units s, m, h, d and w, and prints the SDK objects with --json', async () => {
    for (const [duration, keys] of [
      ['3600s', []],
      ['90m', []],
      ['3h', ['Z_TWO_HOURS']],
      ['5w', ['Z_TWO_HOURS', 'A_THREE_DAYS', 'M_THIRTY_DAYS']],
    ] as const) {
      const result = await owner(['secrets', 'ls', '--expiring', duration, '--json']);
      expectCode(result, 0);
      const list = JSON.parse(result.stdout) as Secret[];
      assert.deepEqual(
        list.map((s) => s.key),
        keys,
        duration,
      );
    }
    const none = await owner(['secrets', 'list', '--expiring', '1h']);
    expectCode(none, 0);
    assert.equal(none.stdout, 'No secrets expire within 1h.\n');
  });

  it('leaves the plain list as it was: every secret by key, the expired one included', async () => {
    const result = await owner(['secrets', 'list', '--json']);
    expectCode(result, 0);
    assert.deepEqual(
      (JSON.parse(result.stdout) as Secret[]).map((s) => s.key),
      ['A_THREE_DAYS', 'M_THIRTY_DAYS', 'N_NEVER', 'X_EXPIRED', 'Z_TWO_HOURS'],
    );
  });

  it('refuses a duration it cannot read with exit code 2, naming --expiring, before any request', async () => {
    // No credentials and no server: a usage error must not wait for either.
    const offline = session.as({ token: 'dst_000000000000000000000000_unused' });
    for (const bad of ['7', '7x', 'd', '0d', '-1d', '1.5d', 'week', '', '3651d', '99999999w']) {
      const result = await offline(['secrets', 'list', '--expiring', bad], {
        env: { DUCTAPE_URL: 'http://127.0.0.1:9' },
      });
      expectCode(result, 2);
      assert.match(result.stderr, /--expiring: '.*' (is not a duration like|is longer than 3650 days)/, bad);
      assert.equal(result.stdout, '');
    }
    const missing = await owner(['secrets', 'list', '--expiring']);
    expectCode(missing, 2);
    assert.match(missing.stderr, /--expiring <duration>' argument missing/);
  });

  it('documents --expiring in its --help', async () => {
    const result = await owner(['secrets', 'list', '--help']);
    expectCode(result, 0);
    assert.match(result.stdout, /--expiring <duration>/);
    assert.match(result.stdout, /ductape secrets list --expiring 7d/);
  });
});
