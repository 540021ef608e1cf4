/**
 * What an attacker with a copy of the data dir sees: every byte of every file (database,
 * WAL, shared memory, key file), searched for each value in every encoding a careless
 * store might use. Then the data must still open after a restart.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { PG_SKIP_REASON, PG_URL } from '../helpers/backends.js';
import { startTestServer, tempDir, type Credentials, type TestServer } from '../helpers/harness.js';
import { accessToken, rawRequest } from '../helpers/http.js';

const tag = (): string => randomBytes(8).toString('hex');

/** The forms a value could take on disk if it were stored carelessly. */
function encodings(text: string): Record<string, Buffer> {
  const utf8 = Buffer.from(text, 'utf8');
  return {
    utf8,
    utf16le: Buffer.from(text, 'utf16le'),
    base64: Buffer.from(utf8.toString('base64')),
    base64url: Buffer.from(utf8.toString('base64url')),
    hex: Buffer.from(utf8.toString('hex')),
    HEX: Buffer.from(utf8.toString('hex').toUpperCase()),
  };
}

/** Needles for a value: the whole value, and for long ones also pieces of it. */
function needles(name: string, value: string): [string, Buffer][] {
  const out: [string, Buffer][] = Object.entries(encodings(value)).map(([enc, b]) => [
    `${name} as ${enc}`,
    b,
  ]);
  if (value.length > 256) {
    for (let at = 0; at + 48 <= value.length; at += Math.floor(value.length / 16)) {
      const piece = value.slice(at, at + 48);
      out.push([`${name}[${at}..] as utf8`, Buffer.from(piece, 'utf8')]);
      out.push([`${name}[${at}..] as utf16le`, Buffer.from(piece, 'utf16le')]);
    }
  }
  return out;
}

/** Every file of the data dir, read whole. */
function snapshot(dir: string): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  for (const name of readdirSync(dir)) files.set(name, readFileSync(join(dir, name)));
  return files;
}

function assertAbsent(files: Map<string, Buffer>, found: [string, Buffer][]): void {
  const leaks: string[] = [];
  for (const [file, content] of files) {
    for (const [what, needle] of found) if (content.includes(needle)) leaks.push(`${what} in ${file}`);
  }
  assert.deepEqual(leaks, [], 'found in clear at rest');
}

function assertPresent(files: Map<string, Buffer>, what: string, needle: Buffer): void {
  const where = [...files].filter(([, content]) => content.includes(needle)).map(([name]) => name);
  assert.ok(where.length > 0, `${what} should be stored (the scan must see real data)`);
}

function privateKeyNeedles(who: string, c: Credentials): [string, Buffer][] {
  const raw = Buffer.from(c.private_key.replace(/^dtk_/, ''), 'base64url');
  return [
    ...Object.entries(encodings(c.private_key)).map(([e, b]): [string, Buffer] => [`${who} key as ${e}`, b]),
    [`${who} raw key bytes`, raw],
    [`${who} raw key as hex`, Buffer.from(raw.toString('hex'))],
  ];
}

const live: Record<string, string> = {
  AT_REST_ASCII: `sk_live_ascii_${tag()}`,
  AT_REST_UTF8: `Grüße, 秘密の値 🔑 ${tag()} — ñ`,
  AT_REST_64K: randomBytes(49152).toString('base64'),
  AT_REST_ROTATED: `rotated_new_${tag()}`,
  AT_REST_META: `metadata_only_${tag()}`,
};
const gone: Record<string, string> = {
  'AT_REST_ROTATED (old value)': `rotated_old_${tag()}`,
  'AT_REST_DELETED (deleted)': `deleted_${tag()}`,
};

/** Webhook signing secrets made by `populate`: never at rest in clear either. */
const signingSecrets: string[] = [];

const signingSecretNeedles = (): [string, Buffer][] =>
  signingSecrets.flatMap((secret) => {
    const raw = Buffer.from(secret.replace(/^whsec_/, ''), 'base64url');
    return [
      ...Object.entries(encodings(secret)).map(([e, b]): [string, Buffer] => [`signing secret as ${e}`, b]),
      ...Object.entries(encodings(secret.replace(/^whsec_/, ''))).map(([e, b]): [string, Buffer] => [
        `signing secret body as ${e}`,
        b,
      ]),
      ['signing secret raw bytes', raw],
    ];
  });

/**
 * Registers a webhook (its changes then leave outbox rows too), writes the values (through
 * two users), rotates and deletes some; returns the developer.
 */
async function populate(server: TestServer): Promise<Credentials> {
  const hook = await rawRequest(server.url, 'POST', '/v1/webhooks', {
    token: await accessToken(server.url, server.owner),
    body: {
      url: 'http://127.0.0.1:9/at-rest',
      events: ['secret.created', 'secret.updated', 'secret.deleted'],
    },
  });
  assert.equal(hook.status, 201, hook.text);
  signingSecrets.push((hook.json as { secret: string }).secret);
  const sdk = server.client(server.owner);
  const developer = await server.newUser('developer');
  const dev = server.client(developer);
  for (const [key, value] of Object.entries(live)) {
    if (key !== 'AT_REST_ROTATED') await dev.secrets.create({ key, value, description: `about ${key}` });
  }
  await sdk.secrets.create({
    key: 'AT_REST_ROTATED',
    value: gone['AT_REST_ROTATED (old value)'] as string,
  });
  await dev.secrets.update('AT_REST_ROTATED', { value: live.AT_REST_ROTATED as string });
  await dev.secrets.update('AT_REST_META', { description: 'metadata changed', envs: ['prd'] });
  await sdk.secrets.create({ key: 'AT_REST_DELETED', value: gone['AT_REST_DELETED (deleted)'] as string });
  await sdk.secrets.delete('AT_REST_DELETED');
  for (const [key, value] of Object.entries(live)) {
    assert.equal((await dev.secrets.fetch(key)).value, value, `${key} before the scan`);
  }
  return developer;
}

const allValues = (): [string, Buffer][] =>
  [...Object.entries(live), ...Object.entries(gone)].flatMap(([name, value]) => needles(name, value));

describe('secrets at rest', () => {
  const dataDir = tempDir('ductape-at-rest-');
  let server: TestServer;
  let developer: Credentials;
  before(async () => {
    assert.equal(Buffer.byteLength(live.AT_REST_64K as string), 65536);
    server = await startTestServer({ DUCTAPE_DATA_DIR: dataDir });
    developer = await populate(server);
  });
  after(async () => {
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('no value is in clear in any file while the server runs (database, WAL, shm)', () => {
    const files = snapshot(dataDir);
    assert.deepEqual([...files.keys()].sort(), [
      'ductape.sqlite',
      'ductape.sqlite-shm',
      'ductape.sqlite-wal',
      'master.key',
    ]);
    assertPresent(files, 'the key name AT_REST_UTF8', Buffer.from('AT_REST_UTF8'));
    assertAbsent(files, [...allValues(), ...signingSecretNeedles()]);
  });

  it('no value and no private key is in clear once the server has stopped', async () => {
    await server.stop();
    const files = snapshot(dataDir);
    assert.ok(files.has('ductape.sqlite') && files.has('master.key'));
    assertPresent(files, 'the key name AT_REST_64K', Buffer.from('AT_REST_64K'));
    assertPresent(files, 'a description', Buffer.from('metadata changed'));
    assertAbsent(files, [...allValues(), ...signingSecretNeedles()]);
    assertAbsent(files, [
      ...privateKeyNeedles('owner', server.owner),
      ...privateKeyNeedles('developer', developer),
    ]);
    // Only a hash of each private key is kept.
    for (const c of [server.owner, developer]) {
      assertPresent(files, 'a private key hash', createHash('sha256').update(c.private_key).digest());
    }
  });

  it('after a restart on the same data dir, every value still opens', async () => {
    server = await startTestServer({ DUCTAPE_DATA_DIR: dataDir });
    const again = server.client(developer);
    for (const [key, value] of Object.entries(live)) {
      assert.equal((await again.secrets.fetch(key)).value, value, `${key} after restart`);
    }
    const rotated = await again.secrets.fetch('AT_REST_ROTATED');
    assert.equal(rotated.version, 2);
    const meta = await again.secrets.fetch('AT_REST_META');
    assert.deepEqual([meta.description, meta.envs, meta.version], ['metadata changed', ['prd'], 2]);
    assert.equal(await again.secrets.exists('AT_REST_DELETED'), false);
  });
});

describe('secrets at rest [postgres]', { skip: PG_SKIP_REASON }, () => {
  let server: TestServer;

  /** Every row of every table of the server's schema, as PostgreSQL renders it (bytea as hex). */
  async function dumpTables(): Promise<Map<string, Buffer>> {
    const client = new pg.Client({ connectionString: PG_URL });
    await client.connect();
    try {
      const schema = server.env.DUCTAPE_PG_SCHEMA as string;
      const tables = await client.query<{ table_name: string }>(
        'SELECT table_name FROM information_schema.tables WHERE table_schema = $1',
        [schema],
      );
      const dump = new Map<string, Buffer>();
      for (const { table_name } of tables.rows) {
        const rows = await client.query<{ row: string }>(
          `SELECT row_to_json(t)::text AS row FROM "${schema}"."${table_name}" t`,
        );
        dump.set(table_name, Buffer.from(rows.rows.map((r) => r.row).join('\n')));
      }
      return dump;
    } finally {
      await client.end();
    }
  }

  before(async () => {
    server = await startTestServer({}, 'postgres');
  });
  after(() => server.stop());

  it('no value and no private key is stored in clear in any table', async () => {
    const developer = await populate(server);
    const tables = await dumpTables();
    assert.deepEqual([...tables.keys()].sort(), [
      'audit_heads',
      'audit_log',
      'schema_migrations',
      'secret_versions',
      'secrets',
      'server_keys',
      'service_tokens',
      'users',
      'webhook_deliveries',
      'webhook_events',
      'webhook_expiry_marks',
      'webhooks',
      'workspace_keys',
      'workspace_usage',
      'workspaces',
    ]);
    assertPresent(tables, 'an outbox event', Buffer.from('secret.updated'));
    assertPresent(tables, 'the key name AT_REST_UTF8', Buffer.from('AT_REST_UTF8'));
    assertPresent(tables, 'a description', Buffer.from('metadata changed'));
    // The audit log names the secrets it speaks of (so the scan below covers it too).
    assertPresent(tables, 'an audit entry', Buffer.from('secret.read'));
    assertAbsent(tables, [...allValues(), ...signingSecretNeedles()]);
    assertAbsent(tables, [
      ...privateKeyNeedles('owner', server.owner),
      ...privateKeyNeedles('developer', developer),
    ]);
    for (const c of [server.owner, developer]) {
      const hash = createHash('sha256').update(c.private_key).digest('hex');
      assertPresent(tables, 'a private key hash', Buffer.from(hash));
    }
  });
});
