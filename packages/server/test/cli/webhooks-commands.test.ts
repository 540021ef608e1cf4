/**
 * `ductape webhooks create|list|delete|deliveries` end to end: the built CLI against a real
 * server, and a real receiver on 127.0.0.1 that checks each call with the SDK's
 * verifyWebhook and the signing secret the CLI printed.
 *
 * Written against the wire contract (packages/sdk/src/types/webhooks.ts) while the server's
 * webhook routes were built on another branch: where the server does not have them yet
 * (`POST /v1/webhooks` answers 404), the suites that need them are SKIPPED with a loud line.
 * Once both branches are merged they run; a skip then is a bug. The usage errors run always.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import {
  verifyWebhook,
  type CreatedWebhook,
  type Webhook,
  type WebhookDelivery,
  type WebhookPayload,
} from '@ductape/sdk';
import { startTestServer, type TestServer } from '../helpers/harness.js';
import { accessToken, rawRequest, sleep } from '../helpers/http.js';
import { cliSession, expectCode, type Cli, type CliSession } from '../helpers/cli-session.js';

const server: TestServer = await startTestServer();
const session: CliSession = cliSession(server);
const owner: Cli = session.as(server.owner);

const probe = await rawRequest(server.url, 'POST', '/v1/webhooks', {
  token: await accessToken(server.url, server.owner),
  body: {},
});
const NO_ROUTES =
  probe.status === 404
    ? 'the server has no webhook routes yet (POST /v1/webhooks answers 404): these run once the ' +
      'webhooks-server branch is merged'
    : undefined;
if (NO_ROUTES !== undefined)
  process.stderr.write(`\n*** SKIPPING the webhooks CLI suites: ${NO_ROUTES} ***\n\n`);

after(async () => {
  session.cleanup();
  await server.stop();
});

/** Every call the receiver got: the raw body and headers, and whether it verified. */
interface Call {
  body: string;
  headers: Record<string, string | string[] | undefined>;
  event?: WebhookPayload;
  error?: string;
}

describe('ductape webhooks: usage errors (exit 2, before any request)', () => {
  const offline = (args: string[]) => owner(args, { env: { DUCTAPE_URL: 'http://127.0.0.1:9' } });
  for (const [args, message] of [
    [['webhooks', 'create', '--event', 'secret.created'], /required option '--url <url>'/],
    [['webhooks', 'create', '--url', 'https://h.example.com'], /required option '--event <type\.\.\.>'/],
    [
      ['webhooks', 'create', '--url', 'https://h.example.com', '--event', 'secret.read'],
      /'secret.read' is not an event/,
    ],
    [
      ['webhooks', 'create', '--url', 'https://h.example.com', '--event', 'secret.created,nope'],
      /'nope' is not an event/,
    ],
    [['webhooks', 'deliveries', 'abc', '--limit', '0'], /must be a whole number from 1 to 500/],
    [['webhooks', 'deliveries', 'abc', '--limit', '501'], /must be a whole number from 1 to 500/],
    [['webhooks', 'delete'], /missing required argument 'id'/],
    [['webhooks', 'list', '--url', 'http://127.0.0.1:8080'], /unknown option '--url'/],
  ] as const) {
    it(`${args.join(' ')}`, async () => {
      const result = await offline([...args]);
      expectCode(result, 2);
      assert.match(result.stderr, message);
    });
  }

  it('lists the subcommands and the --server-url option in --help', async () => {
    const result = await owner(['webhooks', '--help']);
    expectCode(result, 0);
    for (const word of ['create', 'list', 'delete', 'deliveries', '--server-url']) {
      assert.ok(result.stdout.includes(word), word);
    }
    const top = await owner(['--help']);
    assert.match(top.stdout, /webhooks\|webhook/);
  });
});

describe('ductape webhooks against the server', { skip: NO_ROUTES }, () => {
  let receiver: Server;
  let hookUrl: string;
  let secret = '';
  const calls: Call[] = [];

  before(async () => {
    receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        const call: Call = { body: body.toString('utf8'), headers: req.headers };
        calls.push(call);
        verifyWebhook({ payload: body, header: req.headers['ductape-signature'], secret }).then(
          (event) => {
            call.event = event;
            res.writeHead(204).end();
          },
          (error: Error) => {
            call.error = error.message;
            res.writeHead(400).end();
          },
        );
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
  });
  after(() => new Promise<void>((r) => receiver.close(() => r())));

  let created: CreatedWebhook;

  it('creates a webhook and prints it with its signing secret, as JSON with --json', async () => {
    const result = await owner([
      'webhooks',
      'create',
      '--url',
      hookUrl,
      '--event',
      'secret.created',
      'secret.updated',
      '--description',
      'cli test',
      '--json',
    ]);
    expectCode(result, 0);
    created = JSON.parse(result.stdout) as CreatedWebhook;
    assert.equal(created.url, hookUrl);
    assert.deepEqual(created.events, ['secret.created', 'secret.updated']);
    assert.equal(created.description, 'cli test');
    assert.match(created.secret, /^whsec_[A-Za-z0-9_-]{43}$/);
    secret = created.secret;
  });

  it('prints the secret once in text, saying it will not be shown again', async () => {
    const result = await owner([
      'webhooks',
      'create',
      '--url',
      hookUrl,
      '--event',
      'secret.expiring,secret.expired',
      '--env',
      'prd',
    ]);
    expectCode(result, 0);
    const secrets = result.stdout.match(/whsec_[A-Za-z0-9_-]{43}/g) ?? [];
    assert.equal(secrets.length, 1, result.stdout);
    assert.match(result.stdout, /shown only this once/);
    assert.match(result.stdout, /env prd/);
  });

  it('lists webhooks without any signing secret, as a table and as JSON', async () => {
    const text = await owner(['webhooks', 'list']);
    expectCode(text, 0);
    assert.ok(text.stdout.includes(created.id));
    assert.doesNotMatch(text.stdout, /whsec_/);
    const json = await owner(['webhooks', 'ls', '--json']);
    expectCode(json, 0);
    const list = JSON.parse(json.stdout) as Webhook[];
    assert.ok(list.some((w) => w.id === created.id));
    assert.doesNotMatch(json.stdout, /whsec_/);
  });

  it('delivers a signed event the receiver verifies, and shows it in the delivery log', async () => {
    await server.client(server.owner).secrets.create({ key: 'HOOKED_KEY', value: 'hooked-value-123' });
    const deadline = Date.now() + 30_000;
    while (!calls.some((c) => c.event?.data.key === 'HOOKED_KEY') && Date.now() < deadline) await sleep(100);
    const call = calls.find((c) => c.event?.data.key === 'HOOKED_KEY');
    assert.ok(call, `no verified call: ${JSON.stringify(calls.map((c) => c.error ?? c.event?.type))}`);
    assert.equal(call.event?.type, 'secret.created');
    assert.equal(call.headers['ductape-event'], 'secret.created');
    assert.equal(call.headers['ductape-delivery'], call.event?.id);
    assert.ok(!call.body.includes('hooked-value-123'), 'a value in the payload');

    let log: WebhookDelivery[] = [];
    while (Date.now() < deadline) {
      const result = await owner(['webhooks', 'deliveries', created.id, '--json']);
      expectCode(result, 0);
      log = JSON.parse(result.stdout) as WebhookDelivery[];
      if (log.some((d) => d.id === call.event?.id && d.status === 'delivered')) break;
      await sleep(200);
    }
    assert.ok(
      log.some((d) => d.id === call.event?.id && d.status === 'delivered'),
      JSON.stringify(log),
    );
    const text = await owner(['webhooks', 'deliveries', created.id, '--limit', '5']);
    expectCode(text, 0);
    assert.ok(text.stdout.includes(call.event?.id ?? '?'));
    assert.doesNotMatch(text.stdout, /hooked-value-123|whsec_/);
  });

  it('takes the server URL from --server-url, before or after the subcommand', async () => {
    const wrongEnv = { env: { DUCTAPE_URL: 'http://127.0.0.1:9' } };
    expectCode(await owner(['webhooks', 'list', '--server-url', server.url], wrongEnv), 0);
    expectCode(await owner(['webhooks', '--server-url', server.url, 'list'], wrongEnv), 0);
  });

  it('refuses what the server refuses, with its message (exit 1): a developer, a URL with credentials', async () => {
    const developer = session.as(await server.newUser('developer'));
    const denied = await developer(['webhooks', 'create', '--url', hookUrl, '--event', 'secret.created']);
    expectCode(denied, 1);
    assert.match(denied.stderr, /^ductape: /);
    const withPassword = await owner([
      'webhooks',
      'create',
      '--url',
      'https://user:pass@hooks.example.com/x',
      '--event',
      'secret.created',
    ]);
    expectCode(withPassword, 1);
    assert.match(withPassword.stderr, /url/i);
  });

  it('deletes a webhook; deleting it again is a not-found (exit 1)', async () => {
    const result = await owner(['webhooks', 'delete', created.id]);
    expectCode(result, 0);
    assert.match(result.stdout, new RegExp(`Deleted webhook ${created.id}`));
    const list = JSON.parse((await owner(['webhooks', 'list', '--json'])).stdout) as Webhook[];
    assert.ok(!list.some((w) => w.id === created.id));
    const again = await owner(['webhooks', 'rm', created.id]);
    expectCode(again, 1);
  });
});
