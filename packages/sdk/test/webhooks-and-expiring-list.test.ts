/**
 * `ductape.webhooks` and `secrets.list({ expiring_within })` against a scripted HTTP peer on
 * 127.0.0.1: the requests they send and what they return, as the wire contract states them.
 * (The server's side is proven by its own suites.)
 */
import assert from 'node:assert/strict';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import Ductape, {
  DuctapeError,
  type CreatedWebhook,
  type Webhook,
  type WebhookDelivery,
} from '../src/index.js';

let server: Server;
let url: string;
let answer: (method: string, path: string, res: ServerResponse) => void;
const seen: { method: string; path: string; auth: string | undefined; body: string }[] = [];

const json = (res: ServerResponse, status: number, body: unknown): void => {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
};

const WEBHOOK: Webhook = {
  id: '6b0a15a869b9506474f5848f',
  workspace_id: '6b0a15a869b9506474f58400',
  url: 'https://hooks.example.com/ductape',
  events: ['secret.expiring', 'secret.expired'],
  app: null,
  env: 'prd',
  description: null,
  created_by: 'user:6b0a15a82c575888fb96c01d',
  created_at: '2026-12-05T19:00:00.000Z',
};

before(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', path: req.url ?? '', auth: req.headers.authorization, body });
      answer(req.method ?? '', req.url ?? '', res);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => new Promise<void>((r) => server.close(() => r())));

const client = (): Ductape => new Ductape({ token: 'dst_test', url });

describe('ductape.webhooks', () => {
  it('creates with a POST of the input and returns the signing secret once', async () => {
    seen.length = 0;
    const created: CreatedWebhook = { ...WEBHOOK, secret: 'whsec_' + 'A'.repeat(43) };
    answer = (_m, _p, res) => json(res, 201, created);
    const input = { url: WEBHOOK.url, events: WEBHOOK.events, env: 'prd' };
    assert.deepEqual(await client().webhooks.create(input), created);
    assert.equal(seen[0]?.method, 'POST');
    assert.equal(seen[0]?.path, '/v1/webhooks');
    assert.equal(seen[0]?.auth, 'Bearer dst_test');
    assert.deepEqual(JSON.parse(seen[0]?.body ?? ''), input);
  });

  it('lists, deletes (true) and reads deliveries with an optional limit, encoding the id', async () => {
    seen.length = 0;
    const delivery: WebhookDelivery = {
      id: 'd1',
      webhook_id: WEBHOOK.id,
      event_id: 'e1',
      type: 'secret.expiring',
      key: 'STRIPE_API_KEY',
      status: 'failed',
      attempts: 3,
      last_status: 503,
      last_error: 'HTTP 503',
      created_at: '2026-12-05T19:00:00.000Z',
      next_attempt_at: '2026-12-05T19:01:00.000Z',
      delivered_at: null,
    };
    answer = (method, path, res) => {
      if (method === 'GET' && path === '/v1/webhooks') return json(res, 200, { webhooks: [WEBHOOK] });
      if (method === 'DELETE') return json(res, 200, { deleted: true });
      return json(res, 200, { deliveries: [delivery] });
    };
    const ductape = client();
    assert.deepEqual(await ductape.webhooks.list(), [WEBHOOK]);
    assert.equal(await ductape.webhooks.delete('a/b?c'), true);
    assert.deepEqual(await ductape.webhooks.deliveries(WEBHOOK.id), [delivery]);
    await ductape.webhooks.deliveries(WEBHOOK.id, { limit: 5 });
    assert.deepEqual(
      seen.map((s) => `${s.method} ${s.path}`),
      [
        'GET /v1/webhooks',
        'DELETE /v1/webhooks/a%2Fb%3Fc',
        `GET /v1/webhooks/${WEBHOOK.id}/deliveries`,
        `GET /v1/webhooks/${WEBHOOK.id}/deliveries?limit=5`,
      ],
    );
  });

  it('throws a DuctapeError with the status when the webhook does not exist', async () => {
    answer = (_m, _p, res) => json(res, 404, { code: 'NOT_FOUND', message: "Webhook 'x' not found" });
    const error = await client()
      .webhooks.delete('x')
      .catch((e: unknown) => e);
    assert.ok(error instanceof DuctapeError);
    assert.equal(error.status, 404);
  });
});

describe('secrets.list({ expiring_within })', () => {
  it('asks for ?expiring_within=<seconds>, and nothing without it (as before)', async () => {
    seen.length = 0;
    answer = (_m, _p, res) => json(res, 200, { secrets: [] });
    const ductape = client();
    await ductape.secrets.list({ expiring_within: 7 * 86_400 });
    await ductape.secrets.list();
    await ductape.secrets.list({});
    await ductape.secrets.fetchAll();
    assert.deepEqual(
      seen.map((s) => s.path),
      ['/v1/secrets?expiring_within=604800', '/v1/secrets', '/v1/secrets', '/v1/secrets'],
    );
  });

  it("passes the server's refusal of a bad value on as a DuctapeError", async () => {
    answer = (_m, _p, res) =>
      json(res, 400, {
        code: 'VALIDATION_ERROR',
        message: 'query.expiring_within: ...',
        field: 'expiring_within',
      });
    const error = await client()
      .secrets.list({ expiring_within: -1 })
      .catch((e: unknown) => e);
    assert.ok(error instanceof DuctapeError);
    assert.equal(error.response?.data.field, 'expiring_within');
  });
});
