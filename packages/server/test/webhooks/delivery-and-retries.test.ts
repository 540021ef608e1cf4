/**
 * Webhooks end to end on a real server and a real receiver, both stores: an event arrives
 * once, signed, after the receiver was down for the first attempts; expiry events; the
 * delivery log; a receiver that never answers does not slow the API.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { describeEachBackend } from '../helpers/backends.js';
import { startTestServer, type TestServer } from '../helpers/harness.js';
import { accessToken, rawRequest } from '../helpers/http.js';
import { startReceiver, until, type Receiver } from './receiver.js';

const FAST = {
  DUCTAPE_WEBHOOK_RETRY_BASE: '150ms',
  DUCTAPE_WEBHOOK_SCAN_INTERVAL: '200ms',
  DUCTAPE_WEBHOOK_TIMEOUT: '1s',
};

describeEachBackend('webhook delivery', (backend) => {
  let server: TestServer;
  let receiver: Receiver;
  let token: string;
  const call = (method: string, path: string, body?: unknown) =>
    rawRequest(server.url, method, path, { token, ...(body === undefined ? {} : { body }) });

  before(async () => {
    server = await startTestServer(FAST, backend);
    receiver = await startReceiver();
    token = await accessToken(server.url, server.owner);
  });
  after(async () => {
    await server.stop();
    await receiver.close();
  });

  it('retries while the receiver fails, then delivers once with a valid signature', async () => {
    const created = await call('POST', '/v1/webhooks', {
      url: receiver.url,
      events: ['secret.created', 'secret.updated'],
    });
    assert.equal(created.status, 201, created.text);
    const hook = created.json as { id: string; secret: string };
    assert.match(hook.secret, /^whsec_[A-Za-z0-9_-]{43}$/);
    receiver.secret = hook.secret;
    receiver.answer = 503;
    const value = 'sk_live_never_in_a_payload_1234';
    assert.equal((await call('POST', '/v1/secrets', { key: 'RETRIED', value })).status, 201);
    await until(() => receiver.received.length >= 2, 10_000, 'two failed attempts');
    // Connection refused for a while, then up and answering 200.
    await receiver.down();
    await new Promise((r) => setTimeout(r, 400));
    receiver.answer = 200;
    await receiver.up();
    await until(() => receiver.received.some((r) => r.answered === 200), 15_000, 'the delivery');
    await new Promise((r) => setTimeout(r, 800));
    const ids = new Set(receiver.received.map((r) => r.json.id));
    assert.equal(ids.size, 1, 'one delivery id across every attempt');
    const last = receiver.received.at(-1)!;
    assert.equal(last.signatureValid, true);
    assert.equal(last.headers['content-type'], 'application/json');
    assert.equal(last.headers['user-agent'], 'ductape-webhooks');
    assert.equal(last.headers['ductape-event'], 'secret.created');
    assert.equal(last.headers['ductape-delivery'], last.json.id);
    assert.equal(last.json.type, 'secret.created');
    assert.equal(last.json.workspace_id, server.owner.workspace_id);
    assert.deepEqual(last.json.data, {
      key: 'RETRIED',
      version: 1,
      actor: { type: 'user', id: server.owner.user_id },
      expires_at: null,
    });
    for (const r of receiver.received) assert.ok(!r.body.includes(value), 'never a value in a payload');
    const log = await call('GET', `/v1/webhooks/${hook.id}/deliveries`);
    assert.equal(log.status, 200, log.text);
    const [delivery] = (log.json as { deliveries: Record<string, unknown>[] }).deliveries;
    assert.equal(delivery?.status, 'delivered');
    assert.equal(delivery?.id, last.json.id);
    assert.ok((delivery?.attempts as number) >= 3);
    assert.equal(delivery?.last_status, 200);
    assert.equal(delivery?.next_attempt_at, null);
    // Answered 2xx once, and never sent again after that.
    assert.equal(receiver.received.filter((r) => r.answered === 200).length, 1);
    assert.equal(last.answered, 200);
    assert.ok(receiver.received.filter((r) => r.answered === 503).length >= 2);
    assert.equal(await call('DELETE', `/v1/webhooks/${hook.id}`).then((r) => r.status), 200);
  });

  it('an update, a revoke, a restore, a rollback and a delete each make their event', async () => {
    receiver.received.length = 0;
    receiver.answer = 200;
    const created = await call('POST', '/v1/webhooks', {
      url: receiver.url,
      events: ['secret.updated', 'secret.revoked', 'secret.restored', 'secret.deleted'],
    });
    receiver.secret = (created.json as { secret: string }).secret;
    assert.equal((await call('POST', '/v1/secrets', { key: 'LIFE', value: 'v1' })).status, 201);
    assert.equal((await call('PATCH', '/v1/secrets/LIFE', { value: 'v2' })).status, 200);
    assert.equal((await call('POST', '/v1/secrets/LIFE/revoke')).status, 200);
    assert.equal((await call('POST', '/v1/secrets/LIFE/restore')).status, 200);
    assert.equal((await call('POST', '/v1/secrets/LIFE/rollback', { version: 1 })).status, 200);
    assert.equal((await call('DELETE', '/v1/secrets/LIFE')).status, 200);
    await until(() => receiver.received.length >= 5, 10_000, 'five events');
    const types = receiver.received.map(
      (r) => `${String(r.json.type)}@${String((r.json.data as { version: number }).version)}`,
    );
    assert.deepEqual(
      types.sort(),
      [
        'secret.deleted@3',
        'secret.restored@2',
        'secret.revoked@2',
        'secret.updated@2',
        'secret.updated@3',
      ].sort(),
    );
    assert.ok(receiver.received.every((r) => r.signatureValid));
    await call('DELETE', `/v1/webhooks/${(created.json as { id: string }).id}`);
  });

  it('a secret expiring in a few seconds gives secret.expiring, then secret.expired', async () => {
    receiver.received.length = 0;
    const now = Math.floor(Date.now() / 1000);
    const expiresAt = now + 3;
    // Expired before the workspace had a webhook: old news, not announced.
    assert.equal(
      (await call('POST', '/v1/secrets', { key: 'LONG_GONE', value: 'x', expires_at: now - 3600 })).status,
      201,
    );
    // Revoked (before the webhook, so no scan sees it unrevoked): no expiry events.
    assert.equal(
      (await call('POST', '/v1/secrets', { key: 'REVOKED_SOON', value: 'x', expires_at: expiresAt })).status,
      201,
    );
    assert.equal((await call('POST', '/v1/secrets/REVOKED_SOON/revoke')).status, 200);
    const created = await call('POST', '/v1/webhooks', {
      url: receiver.url,
      events: ['secret.expiring', 'secret.expired'],
    });
    receiver.secret = (created.json as { secret: string }).secret;
    assert.equal(
      (await call('POST', '/v1/secrets', { key: 'SOON', value: 'x', expires_at: expiresAt })).status,
      201,
    );
    await until(() => receiver.received.length >= 2, 15_000, 'the expiry events');
    await new Promise((r) => setTimeout(r, 1000));
    assert.deepEqual(
      receiver.received.map((r) => `${String(r.json.type)} ${(r.json.data as { key: string }).key}`),
      ['secret.expiring SOON', 'secret.expired SOON'],
      'once each, for SOON only (only the 1-day notice: the 7-day one is past)',
    );
    const data = receiver.received.map((r) => r.json.data as Record<string, unknown>);
    assert.deepEqual(data[1], {
      key: 'SOON',
      version: 1,
      actor: { type: 'system', id: null },
      expires_at: expiresAt,
    });
    assert.ok(receiver.received.every((r) => r.signatureValid));
    await call('DELETE', `/v1/webhooks/${(created.json as { id: string }).id}`);
  });

  it('a receiver that never answers does not slow the API down', async () => {
    receiver.received.length = 0;
    receiver.answer = 'hang';
    const created = await call('POST', '/v1/webhooks', { url: receiver.url, events: ['secret.created'] });
    assert.equal(created.status, 201);
    const started = Date.now();
    for (let i = 0; i < 20; i++) {
      const t = Date.now();
      assert.equal((await call('POST', '/v1/secrets', { key: `HANG_${i}`, value: 'x' })).status, 201);
      assert.equal((await call('GET', '/v1/secrets')).status, 200);
      assert.ok(Date.now() - t < 1000, `request pair ${i} took ${Date.now() - t} ms`);
    }
    assert.ok(receiver.received.length >= 1, 'the receiver was being called meanwhile');
    assert.ok(Date.now() - started < 10_000);
    await call('DELETE', `/v1/webhooks/${(created.json as { id: string }).id}`);
    receiver.answer = 200;
  });
});

describe('webhook configuration', () => {
  it('refuses a bad DUCTAPE_WEBHOOK_RETRY_BASE naming the variable', async () => {
    await assert.rejects(
      startTestServer({ DUCTAPE_WEBHOOK_RETRY_BASE: 'soon' }),
      /DUCTAPE_WEBHOOK_RETRY_BASE/,
    );
  });
});
