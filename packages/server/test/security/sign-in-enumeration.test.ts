/**
 * No user enumeration at sign-in: a wrong user id and a wrong key for a real user get the
 * same bytes back and take the same path (a hash is verified either way).
 *
 * Timing is measured, not asserted tightly: the medians of ~200 interleaved attempts each
 * are reported (t.diagnostic) and only required to be within 2x of each other, so a busy CI
 * machine cannot make this flaky. The real check is that both paths do the same work.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, it } from 'node:test';
import { describeEachBackend } from '../helpers/backends.js';
import { startTestServer, type TestServer } from '../helpers/harness.js';
import { rawRequest } from '../helpers/http.js';

const ATTEMPTS = 200;
const median = (xs: number[]): number => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
};

describeEachBackend('sign-in enumeration', (backend) => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer(
      {
        DUCTAPE_SIGNIN_FAILURES_PER_IP: '1000000',
        DUCTAPE_SIGNIN_FAILURES_PER_USER: '1000000',
        DUCTAPE_TOKEN_EXCHANGES_PER_IP: '1000000',
      },
      backend,
    );
  });
  after(() => server.stop());

  it('a wrong user id and a wrong key get identical answers in similar time', async (t) => {
    const wrongKey = { ...server.owner, private_key: 'dtk_' + 'x'.repeat(43) };
    const wrongUser = { ...server.owner, user_id: randomUUID() };
    const attempt = async (body: object): Promise<{ ms: number; text: string; status: number }> => {
      const started = process.hrtime.bigint();
      const response = await rawRequest(server.url, 'POST', '/v1/auth/token', { body });
      return {
        ms: Number(process.hrtime.bigint() - started) / 1e6,
        text: response.text,
        status: response.status,
      };
    };
    const times = { key: [] as number[], user: [] as number[] };
    for (let i = 0; i < ATTEMPTS; i++) {
      // Interleaved, so drift in the machine's load affects both alike.
      const a = await attempt(wrongKey);
      const b = await attempt(wrongUser);
      assert.equal(a.status, 401);
      assert.equal(a.text, b.text, 'the two bodies differ');
      times.key.push(a.ms);
      times.user.push(b.ms);
    }
    const [key, user] = [median(times.key), median(times.user)];
    t.diagnostic(
      `${backend}: median of ${ATTEMPTS} attempts: wrong key ${key.toFixed(3)} ms, wrong user id ${user.toFixed(3)} ms`,
    );
    assert.ok(Math.max(key, user) / Math.min(key, user) < 2, `medians ${key} vs ${user} ms`);
  });

  it('a removed user and a wrong workspace are answered alike too', async () => {
    const body = (
      await rawRequest(server.url, 'POST', '/v1/auth/token', {
        body: { ...server.owner, private_key: 'dtk_nope' },
      })
    ).text;
    const removed = await server.newUser('viewer');
    await server.server.runtime.members.removeUser(
      { kind: 'user', workspaceId: server.owner.workspace_id, userId: server.owner.user_id, role: 'owner' },
      removed.user_id,
    );
    for (const credentials of [removed, { ...server.owner, workspace_id: randomUUID() }]) {
      const response = await rawRequest(server.url, 'POST', '/v1/auth/token', { body: credentials });
      assert.equal(response.status, 401);
      assert.equal(response.text, body);
    }
  });
});
