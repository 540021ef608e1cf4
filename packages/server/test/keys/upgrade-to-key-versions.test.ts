/**
 * A database made before server keys had versions (schema 4: one signing key and one audit
 * key per name, wrapped in format 1, audit entries without a key version) upgrades in place,
 * once per backend: the same signing key keeps signing (tokens issued before the upgrade, which
 * name no key version, still work), the old chain verifies, and a rotation then goes on from it.
 * The old database is built by hand, as the previous version wrote it.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { keyId, toKeyObject, wrapDataKey } from '../../src/crypto/envelope.js';
import { migrateWith } from '../../src/store/backends/postgres/migrate.js';
import { migrateSqlite } from '../../src/store/backends/sqlite/migrate.js';
import { POSTGRES_MIGRATIONS } from '../../src/store/migrations/postgres.js';
import { SQLITE_MIGRATIONS } from '../../src/store/migrations/sqlite.js';
import {
  auditEntryMacV1,
  auditHeadMacV1,
  forgeAccessToken,
  tokenClaims,
  wrapLegacyServerKey,
  type AuditRow,
} from '../helpers/attacker.js';
import { describeEachBackend, newMasterKey, PG_URL } from '../helpers/backends.js';
import { runOperator, startTestServer, storeEnv, type TestServer } from '../helpers/harness.js';
import { accessToken, rawRequest } from '../helpers/http.js';
import { dbQuery } from './rotation-tools.js';

const WS = 'a'.repeat(24);
const OWNER = 'b'.repeat(24);
const PRIVATE_KEY = `dtk_${randomBytes(32).toString('base64url')}`;

/** Runs `statements` on a database migrated to schema 4 only. */
async function atSchema4(env: Record<string, string>, statements: [string, unknown[]][]): Promise<void> {
  if (!env.DATABASE_URL) {
    const { default: Database } = await import('better-sqlite3');
    const db = new Database(join(env.DUCTAPE_DATA_DIR as string, 'ductape.sqlite'));
    try {
      migrateSqlite(db, SQLITE_MIGRATIONS.slice(0, 4));
      for (const [text, values] of statements) db.prepare(text.replace(/\$\d+/g, '?')).run(...values);
    } finally {
      db.close();
    }
    return;
  }
  const schema = env.DUCTAPE_PG_SCHEMA as string;
  const client = new pg.Client({ connectionString: PG_URL, options: `-c search_path=${schema}` });
  await client.connect();
  try {
    await migrateWith(client, schema, POSTGRES_MIGRATIONS.slice(0, 4));
    for (const [text, values] of statements) await client.query(text, values);
  } finally {
    await client.end();
  }
}

describeEachBackend('a database from before server key versions upgrades in place', (backend) => {
  const master = newMasterKey();
  const signing = randomBytes(32);
  const auditKey = randomBytes(32);
  let env: Record<string, string>;
  let cleanup: () => Promise<void>;
  let server: TestServer | undefined;

  before(async () => {
    ({ env, cleanup } = await storeEnv(backend, {
      DUCTAPE_MASTER_KEY: master,
      DUCTAPE_ACCESS_TOKEN_TTL: '60',
    }));
    const at = Date.now() - 60_000;
    const entry: AuditRow = {
      workspace_id: WS,
      seq: 1,
      at,
      actor_type: 'operator',
      actor_id: 'root',
      actor_role: null,
      action: 'workspace.create',
      secret_key: null,
      version: null,
      outcome: 'success',
      code: null,
      request_id: null,
      client_ip: null,
      user_agent: null,
      detail: JSON.stringify({ owner_id: OWNER }),
      prev_mac: Buffer.alloc(32),
      mac: Buffer.alloc(0),
    };
    entry.mac = auditEntryMacV1(auditKey, Buffer.alloc(32), entry);
    const kek = toKeyObject(Buffer.from(master, 'base64'));
    const kekId = keyId(Buffer.from(master, 'base64'));
    const columns = Object.keys(entry);
    await atSchema4(env, [
      [
        'INSERT INTO server_keys (name, kek_id, wrapped) VALUES ($1, $2, $3)',
        ['access-token-signing', kekId, wrapLegacyServerKey(master, 'access-token-signing', signing)],
      ],
      [
        'INSERT INTO server_keys (name, kek_id, wrapped) VALUES ($1, $2, $3)',
        ['audit-mac', kekId, wrapLegacyServerKey(master, 'audit-mac', auditKey)],
      ],
      ['INSERT INTO workspaces (id, name, created_at) VALUES ($1, $2, $3)', [WS, 'old', at]],
      [
        'INSERT INTO workspace_keys (workspace_id, version, kek_id, wrapped, created_at) VALUES ($1, 1, $2, $3, $4)',
        [WS, kekId, wrapDataKey(kek, WS, 1, randomBytes(32)), at],
      ],
      [
        'INSERT INTO users (id, workspace_id, role, key_hash, key_generation, created_at) VALUES ($1, $2, $3, $4, 1, $5)',
        [OWNER, WS, 'owner', createHash('sha256').update(PRIVATE_KEY).digest(), at],
      ],
      [
        `INSERT INTO audit_log (${columns.join(', ')}) VALUES (${columns.map((_, i) => `$${i + 1}`).join(', ')})`,
        columns.map((c) => entry[c]),
      ],
      [
        'INSERT INTO audit_heads (workspace_id, seq, mac, head_mac) VALUES ($1, 1, $2, $3)',
        [WS, entry.mac, auditHeadMacV1(auditKey, WS, 1, Buffer.from(entry.mac))],
      ],
    ]);
  });
  after(async () => {
    await server?.server.close();
    await cleanup();
  });

  test('the old keys go on; old tokens work; the old chain verifies; a rotation goes on from them', async () => {
    server = await startTestServer(env, backend);
    const owner = { workspace_id: WS, user_id: OWNER, private_key: PRIVATE_KEY };
    const now = Math.floor(Date.now() / 1000);
    // A token the old version issued: no key version in it.
    const old = forgeAccessToken(signing, { w: WS, u: OWNER, g: 1, iat: now, exp: now + 60 });
    assert.equal((await rawRequest(server.url, 'GET', '/v1/me', { token: old })).status, 200);
    assert.equal(tokenClaims(await accessToken(server.url, owner)).k, 1);
    const rows = await dbQuery<{ name: string; version: number; wrapped: Buffer }>(
      env,
      'SELECT name, version, wrapped FROM server_keys ORDER BY name',
    );
    assert.deepEqual(
      rows.map((r) => [r.name, Number(r.version), Buffer.from(r.wrapped)[0]]),
      [
        ['access-token-signing', 1, 1],
        ['audit-mac', 1, 1],
      ],
      'the rows are kept as they were',
    );
    await server.client(owner).secrets.create({ key: 'AFTER', value: 'after-upgrade' });
    const verify = async (): Promise<void> => {
      const result = await runOperator(['audit', 'verify', '--workspace', WS], { env, cwd: tmpdir() });
      assert.equal(result.code, 0, result.stdout + result.stderr);
    };
    await verify();

    const rotated = await runOperator(['keys', 'rotate-server', '--json'], { env, cwd: tmpdir() });
    assert.equal(rotated.code, 0, rotated.stderr);
    await verify();
    assert.equal(tokenClaims(await accessToken(server.url, owner)).k, 2);
    assert.equal((await server.client(owner).secrets.fetch('AFTER')).value, 'after-upgrade');
  });
});
