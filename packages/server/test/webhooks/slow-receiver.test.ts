/**
 * A receiver that hangs holds one of a node's delivery slots, never all of them: another
 * webhook's event still arrives at once, even with a queue of hanging deliveries ahead of it.
 */
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { describeEachBackend } from '../helpers/backends.js';
import { startTestServer, type TestServer } from '../helpers/harness.js';
import { accessToken, rawRequest } from '../helpers/http.js';
import { startReceiver, until, type Receiver } from './receiver.js';

describeEachBackend('a slow receiver delays only its own deliveries', (backend) => {
  let server: TestServer;
  let slow: Receiver;
  let fast: Receiver;
  let token: string;
  const call = (method: string, path: string, body?: unknown) =>
    rawRequest(server.url, method, path, { token, ...(body === undefined ? {} : { body }) });

  before(async () => {
    // A long timeout: a hanging receiver holds its attempt for 20 s.
    server = await startTestServer(
      { DUCTAPE_WEBHOOK_TIMEOUT: '20s', DUCTAPE_WEBHOOK_RETRY_BASE: '200ms' },
      backend,
    );
    slow = await startReceiver();
    fast = await startReceiver();
    token = await accessToken(server.url, server.owner);
  });
  after(async () => {
    await server.stop();
    await slow.close();
    await fast.close();
  });

  it("twenty hanging deliveries ahead do not hold back another webhook's event", async () => {
    slow.answer = 'hang';
    await call('POST', '/v1/webhooks', { url: slow.url, events: ['secret.created'] });
    for (let i = 0; i < 20; i++) {
      assert.equal((await call('POST', '/v1/secrets', { key: `SLOW_${i}`, value: 'x' })).status, 201);
    }
    await until(() => slow.received.length >= 1, 5_000, 'the slow receiver being called');
    const created = await call('POST', '/v1/webhooks', { url: fast.url, events: ['secret.updated'] });
    fast.secret = (created.json as { secret: string }).secret;
    const started = Date.now();
    assert.equal((await call('PATCH', '/v1/secrets/SLOW_0', { description: 'changed' })).status, 200);
    await until(() => fast.received.length >= 1, 10_000, 'the fast receiver');
    assert.ok(Date.now() - started < 3000, `the other webhook's event took ${Date.now() - started} ms`);
    assert.equal(fast.received[0]?.signatureValid, true);
    // The hanging receiver got one attempt at a time from this node.
    assert.equal(slow.received.length, 1);
  });
});
