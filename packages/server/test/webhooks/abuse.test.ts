/**
 * Attempts to misuse webhooks, both stores: URLs that would leak or reach elsewhere,
 * redirects, callers without the role, another workspace's ids, and looking for the signing
 * secret or a value where they must never be (the database, the list, the audit log, payloads).
 */
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { describeEachBackend } from '../helpers/backends.js';
import { startTestServer, type TestServer } from '../helpers/harness.js';
import { accessToken, assertErrorBody, rawRequest } from '../helpers/http.js';
import { openRawDb } from '../helpers/raw-db.js';
import { startReceiver, until, type Receiver } from './receiver.js';

describeEachBackend('webhook abuse', (backend) => {
  let server: TestServer;
  let receiver: Receiver;
  let elsewhere: Receiver;
  let token: string;
  const call = (method: string, path: string, body?: unknown, as = token) =>
    rawRequest(server.url, method, path, { token: as, ...(body === undefined ? {} : { body }) });

  before(async () => {
    server = await startTestServer(
      { DUCTAPE_WEBHOOK_RETRY_BASE: '100ms', DUCTAPE_WEBHOOK_MAX_PER_WORKSPACE: '3' },
      backend,
    );
    receiver = await startReceiver();
    elsewhere = await startReceiver();
    token = await accessToken(server.url, server.owner);
  });
  after(async () => {
    await server.stop();
    await receiver.close();
    await elsewhere.close();
  });

  it('refuses URLs that are not https to a remote host, carry credentials or a fragment, naming url', async () => {
    for (const url of [
      'http://example.com/hook',
      'http://10.0.0.1/hook',
      'https://user:pass@example.com/hook',
      'https://token@example.com/hook',
      'https://example.com/hook#part',
      'ftp://example.com/hook',
      'javascript:alert(1)',
      'not a url',
      `https://example.com/${'a'.repeat(2100)}`,
    ]) {
      const answer = await call('POST', '/v1/webhooks', { url, events: ['secret.created'] });
      const body = assertErrorBody(answer, 400, 'VALIDATION_ERROR');
      assert.equal(body.field, 'url', url);
      assert.ok(!answer.text.includes('pass@'), 'the refusal does not echo credentials');
    }
    for (const events of [[], ['secret.created', 'secret.created'], ['secret.read'], 'secret.created']) {
      const answer = await call('POST', '/v1/webhooks', { url: receiver.url, events });
      assert.equal(assertErrorBody(answer, 400, 'VALIDATION_ERROR').field?.startsWith('events'), true);
    }
    const badApp = await call('POST', '/v1/webhooks', {
      url: receiver.url,
      events: ['secret.created'],
      app: 'Bad App',
    });
    assert.equal(assertErrorBody(badApp, 400).field, 'app');
    const http = await call('POST', '/v1/webhooks', {
      url: 'http://localhost:9/x',
      events: ['secret.created'],
    });
    assert.equal(http.status, 201, 'http to loopback is allowed');
    await call('DELETE', `/v1/webhooks/${(http.json as { id: string }).id}`);
  });

  it('a non-admin cannot create or list; another workspace gets 404', async () => {
    const developer = await accessToken(server.url, await server.newUser('developer'));
    assertErrorBody(
      await call('POST', '/v1/webhooks', { url: receiver.url, events: ['secret.created'] }, developer),
      403,
      'FORBIDDEN',
    );
    assertErrorBody(await call('GET', '/v1/webhooks', undefined, developer), 403, 'FORBIDDEN');
    const created = await call('POST', '/v1/webhooks', { url: receiver.url, events: ['secret.created'] });
    const id = (created.json as { id: string }).id;
    const stranger = await accessToken(server.url, await server.newWorkspace());
    assertErrorBody(
      await call('DELETE', `/v1/webhooks/${id}`, undefined, stranger),
      404,
      'WEBHOOK_NOT_FOUND',
    );
    assertErrorBody(
      await call('GET', `/v1/webhooks/${id}/deliveries`, undefined, stranger),
      404,
      'WEBHOOK_NOT_FOUND',
    );
    assert.deepEqual((await call('GET', '/v1/webhooks', undefined, stranger)).json, { webhooks: [] });
    assert.equal((await call('DELETE', `/v1/webhooks/${id}`)).status, 200);
  });

  it('the signing secret is in no list, no audit entry, no database row; no value in any payload', async () => {
    receiver.received.length = 0;
    const created = await call('POST', '/v1/webhooks', {
      url: receiver.url,
      events: ['secret.created', 'secret.updated'],
    });
    const { id, secret } = created.json as { id: string; secret: string };
    receiver.secret = secret;
    const value = 'sk_live_the_value_itself_98765';
    await call('POST', '/v1/secrets', { key: 'ABUSED', value });
    await call('PATCH', '/v1/secrets/ABUSED', { value: `${value}-2` });
    await until(() => receiver.received.length >= 2, 10_000, 'two deliveries');
    const list = await call('GET', '/v1/webhooks');
    assert.ok(list.text.includes(id) && !list.text.includes(secret) && !list.text.includes('whsec_'));
    const audit = await call('GET', '/v1/audit?limit=1000');
    assert.ok(audit.text.includes('webhook.create'));
    assert.ok(!audit.text.includes(secret));
    for (const r of receiver.received) {
      assert.ok(r.signatureValid);
      assert.ok(!r.body.includes(value));
    }
    const db = await openRawDb(backend, server.env);
    try {
      const needles = [Buffer.from(secret), Buffer.from(secret.slice(6)), Buffer.from(value)];
      for (const table of ['webhooks', 'webhook_events', 'webhook_deliveries', 'audit_log']) {
        for (const row of await db.query<Record<string, unknown>>(`SELECT * FROM ${table}`)) {
          for (const cell of Object.values(row)) {
            const bytes = Buffer.isBuffer(cell) ? cell : Buffer.from(String(cell));
            for (const needle of needles)
              assert.equal(bytes.includes(needle), false, `${table} holds a secret in clear`);
          }
        }
      }
    } finally {
      await db.close();
    }
    await call('DELETE', `/v1/webhooks/${id}`);
  });

  it('a workspace holds at most DUCTAPE_WEBHOOK_MAX_PER_WORKSPACE webhooks; bad limits are refused', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const created = await call('POST', '/v1/webhooks', { url: receiver.url, events: ['secret.deleted'] });
      assert.equal(created.status, 201, created.text);
      ids.push((created.json as { id: string }).id);
      await new Promise((r) => setTimeout(r, 5));
    }
    const listed = (await call('GET', '/v1/webhooks')).json as { webhooks: { id: string }[] };
    assert.deepEqual(
      listed.webhooks.map((w) => w.id),
      [...ids].reverse(),
      'newest first',
    );
    assertErrorBody(
      await call('POST', '/v1/webhooks', { url: receiver.url, events: ['secret.deleted'] }),
      409,
      'WEBHOOK_LIMIT',
    );
    for (const limit of ['0', '501', 'x', '1.5']) {
      const answer = await call('GET', `/v1/webhooks/${ids[0]}/deliveries?limit=${limit}`);
      assert.equal(assertErrorBody(answer, 400, 'VALIDATION_ERROR').field, 'limit');
    }
    assert.equal(assertErrorBody(await call('DELETE', '/v1/webhooks/not-an-id'), 400).field, 'id');
    for (const id of ids) assert.equal((await call('DELETE', `/v1/webhooks/${id}`)).status, 200);
  });

  it('a redirect is not followed: the delivery fails, the other receiver never hears of it', async () => {
    receiver.received.length = 0;
    elsewhere.received.length = 0;
    receiver.answer = { redirect: elsewhere.url };
    const created = await call('POST', '/v1/webhooks', { url: receiver.url, events: ['secret.created'] });
    const { id } = created.json as { id: string };
    await call('POST', '/v1/secrets', { key: 'REDIRECTED', value: 'x' });
    await until(() => receiver.received.length >= 2, 10_000, 'two attempts');
    const log = await call('GET', `/v1/webhooks/${id}/deliveries`);
    const [delivery] = (log.json as { deliveries: Record<string, unknown>[] }).deliveries;
    assert.equal(delivery?.status, 'pending');
    assert.equal(delivery?.last_status, 302);
    assert.match(String(delivery?.last_error), /redirect not followed/);
    assert.equal(elsewhere.received.length, 0);
    // Deleting the webhook stops its deliveries: none is left to attempt.
    assert.equal((await call('DELETE', `/v1/webhooks/${id}`)).status, 200);
    const db = await openRawDb(backend, server.env);
    try {
      const left = await db.query<{ n: number | string }>(
        'SELECT count(*) AS n FROM webhook_deliveries WHERE webhook_id = ?',
        [id],
      );
      assert.equal(Number(left[0]?.n), 0);
    } finally {
      await db.close();
    }
    const before = receiver.received.length;
    await new Promise((r) => setTimeout(r, 1000));
    assert.ok(
      receiver.received.length <= before + 1,
      'no attempt after the delete (one may have been in flight)',
    );
    receiver.answer = 200;
  });
});
