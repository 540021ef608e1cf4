import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SQLITE_FILE, SqliteStore } from '../src/store/backends/sqlite/index.js';
import { DuplicateKeyError, type SecretRow } from '../src/store/types.js';
import { tempDir } from './helpers/harness.js';

const dir = tempDir();
let store: SqliteStore;

function secret(overrides: Partial<SecretRow> = {}): SecretRow {
  return {
    id: 'a'.repeat(24),
    workspaceId: 'ws1',
    key: 'KEY',
    description: null,
    tokenType: null,
    scope: [],
    envs: ['prd'],
    expiresAt: null,
    revokedAt: null,
    version: 1,
    createdAt: 1,
    updatedAt: 1,
    sealed: Buffer.from([1, 2, 3]),
    ...overrides,
  };
}

before(async () => {
  store = new SqliteStore(dir);
  for (const ws of ['ws1', 'ws2']) {
    await store.createWorkspace(
      { id: ws, name: ws, createdAt: 1 },
      { workspaceId: ws, version: 1, kekId: 'kek', wrapped: Buffer.from([9]) },
      {
        id: `owner-${ws}`,
        workspaceId: ws,
        role: 'owner',
        keyHash: Buffer.alloc(32),
        keyGeneration: 1,
        createdAt: 1,
        removedAt: null,
      },
    );
  }
});
after(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('SQLite store', () => {
  it('keeps keys unique per workspace, not across workspaces', async () => {
    await store.insertSecret(secret());
    await assert.rejects(store.insertSecret(secret({ id: 'b'.repeat(24) })), DuplicateKeyError);
    await store.insertSecret(secret({ id: 'c'.repeat(24), workspaceId: 'ws2' }));
    assert.equal((await store.listSecrets('ws1')).length, 1);
    assert.equal((await store.listSecrets('ws2')).length, 1);
  });

  it('scopes every lookup by workspace', async () => {
    assert.equal((await store.getSecret('ws2', 'KEY'))?.id, 'c'.repeat(24));
    assert.equal(await store.getSecret('ws3', 'KEY'), undefined);
    assert.equal(await store.deleteSecret('ws3', 'KEY'), false);
  });

  it('applies an update only at the expected version', async () => {
    const id = 'a'.repeat(24);
    assert.equal(await store.updateSecret('ws1', id, 2, { updatedAt: 5, description: 'x' }), false);
    assert.equal(
      await store.updateSecret('ws1', id, 1, { updatedAt: 5, version: 2, sealed: Buffer.from([4]) }),
      true,
    );
    assert.equal(await store.updateSecret('ws1', id, 1, { updatedAt: 6, description: 'late' }), false);
    const row = await store.getSecret('ws1', 'KEY');
    assert.equal(row?.version, 2);
    assert.equal(row?.description, null);
    assert.deepEqual(row?.sealed, Buffer.from([4]));
    assert.equal(await store.updateSecret('ws2', id, 2, { updatedAt: 7, description: 'other ws' }), false);
  });

  it('lists metadata without the sealed value', async () => {
    const [meta] = await store.listSecrets('ws1');
    assert.ok(meta);
    assert.equal('sealed' in meta, false);
    assert.deepEqual(meta.envs, ['prd']);
  });

  it('keeps the first server key when two starts race to create it', async () => {
    const first = await store.putServerKeyOnce({ name: 'k', kekId: 'a', wrapped: Buffer.from([1]) });
    const second = await store.putServerKeyOnce({ name: 'k', kekId: 'b', wrapped: Buffer.from([2]) });
    assert.equal(first.kekId, 'a');
    assert.equal(second.kekId, 'a');
  });

  it('refuses to open a schema newer than it knows', async () => {
    const other = tempDir();
    try {
      new SqliteStore(other).close().catch(() => undefined);
      const db = new Database(join(other, SQLITE_FILE));
      db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, ?, 0)').run(
        'future',
      );
      db.close();
      assert.throws(() => new SqliteStore(other), /newer than this server knows/);
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  });

  it('reopens an existing database without re-applying migrations', async () => {
    const again = new SqliteStore(dir);
    assert.equal((await again.listSecrets('ws1')).length, 1);
    await again.close();
  });
});
