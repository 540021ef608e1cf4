/**
 * The Store contract, run against every backend: what the services rely on.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { openPostgresStore } from '../src/store/backends/postgres/postgres-store.js';
import { POSTGRES_MIGRATIONS } from '../src/store/migrations/postgres.js';
import { SQLITE_MIGRATIONS } from '../src/store/migrations/sqlite.js';
import { DuplicateKeyError, SchemaTooNewError, type SecretRow, type Store } from '../src/store/types.js';
import { describeEachBackend, freshPgSchema, PG_SKIP_REASON, PG_URL } from './helpers/backends.js';
import { openTestStore, type TestStore } from './helpers/stores.js';

// The newest migration's number (numbers are assigned per change, so they need not be contiguous).
const LATEST = SQLITE_MIGRATIONS.at(-1)?.version;
// Both backends are always at the same schema version.
assert.deepEqual(
  POSTGRES_MIGRATIONS.map((m) => m.version),
  SQLITE_MIGRATIONS.map((m) => m.version),
);

type OmitActor<F> = F extends (w: infer W, k: infer K, c: infer C, actor: string) => infer R
  ? (w: W, k: K, c: C) => R
  : never;

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
    mac: null,
    ...overrides,
  };
}

describeEachBackend('store', (backend) => {
  let t: TestStore;
  let store: Store;
  const modify: OmitActor<Store['modifySecret']> = (workspaceId, key, compute) =>
    store.modifySecret(workspaceId, key, compute, 'tester');

  before(async () => {
    t = await openTestStore(backend);
    store = t.store;
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
  after(() => t.cleanup());

  it('stores workspaces, their data keys and users', async () => {
    assert.deepEqual(await store.getWorkspace('ws1'), { id: 'ws1', name: 'ws1', createdAt: 1 });
    assert.deepEqual(await store.keys.workspaceKeys('ws1'), [
      { workspaceId: 'ws1', version: 1, kekId: 'kek', wrapped: Buffer.from([9]) },
    ]);
    const owner = await store.getUser('owner-ws1');
    assert.equal(owner?.role, 'owner');
    assert.deepEqual(owner?.keyHash, Buffer.alloc(32));
    assert.equal(await store.getUser('nobody'), undefined);
  });

  it('keeps keys unique per workspace, not across workspaces', async () => {
    await store.insertSecret(secret(), 'tester');
    await assert.rejects(store.insertSecret(secret({ id: 'b'.repeat(24) }), 'tester'), DuplicateKeyError);
    await store.insertSecret(secret({ id: 'c'.repeat(24), workspaceId: 'ws2' }), 'tester');
    assert.equal((await store.listSecrets('ws1')).length, 1);
    assert.equal((await store.listSecrets('ws2')).length, 1);
  });

  it('gives exactly one winner when many inserts of one key race', async () => {
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) =>
        store.insertSecret(secret({ id: i.toString(16).padStart(24, 'e'), key: 'RACED' }), 'tester'),
      ),
    );
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
    for (const r of results) {
      if (r.status === 'rejected') assert.ok(r.reason instanceof DuplicateKeyError, String(r.reason));
    }
    assert.ok(await store.deleteSecret('ws1', 'RACED'));
  });

  it('scopes every lookup by workspace', async () => {
    assert.equal((await store.getSecret('ws2', 'KEY'))?.id, 'c'.repeat(24));
    assert.equal(await store.getSecret('ws3', 'KEY'), undefined);
    assert.equal(await store.deleteSecret('ws3', 'KEY'), false);
  });

  it('keys are case-sensitive and listed in byte order', async () => {
    for (const [i, key] of ['b', 'B', 'a', 'A', '_', '1', 'a.b', 'a-b'].entries()) {
      await store.insertSecret(secret({ id: `f${i}`.padStart(24, '0'), workspaceId: 'ws2', key }), 'tester');
    }
    assert.deepEqual(
      (await store.listSecrets('ws2')).map((s) => s.key),
      ['1', 'A', 'B', 'KEY', '_', 'a', 'a-b', 'a.b', 'b'],
    );
  });

  it('modifies a row: returns what it wrote, writes nothing for null or a throw', async () => {
    const written = await modify('ws1', 'KEY', async (current) => ({
      updatedAt: 5,
      version: current.version + 1,
      sealed: Buffer.from([4]),
    }));
    assert.equal(written?.version, 2);
    assert.equal(written && 'sealed' in written, false);
    assert.equal(await modify('ws1', 'NOPE', async () => ({ updatedAt: 1 })), undefined);
    assert.equal((await modify('ws1', 'KEY', async () => null))?.updatedAt, 5);
    await assert.rejects(
      modify('ws1', 'KEY', async () => {
        throw new Error('refused');
      }),
      /refused/,
    );
    const row = await store.getSecret('ws1', 'KEY');
    assert.equal(row?.version, 2);
    assert.equal(row?.updatedAt, 5);
    assert.deepEqual(row?.sealed, Buffer.from([4]));
    assert.equal(
      await modify('ws3', 'KEY', async () => ({ updatedAt: 7, description: 'other ws' })),
      undefined,
    );
  });

  it('loses no write when many read-modify-writes of one row race', async () => {
    await store.insertSecret(secret({ id: 'd'.repeat(24), key: 'COUNTER', version: 1 }), 'tester');
    const writers = 25;
    await Promise.all(
      Array.from({ length: writers }, (_, i) =>
        modify('ws1', 'COUNTER', async (current) => {
          // Yield to the other writers between the read and the write.
          await new Promise((resolve) => setTimeout(resolve, i % 3));
          return { updatedAt: current.updatedAt + 1, version: current.version + 1, description: `w${i}` };
        }),
      ),
    );
    const row = await store.getSecretMeta('ws1', 'COUNTER');
    assert.equal(row?.version, 1 + writers);
    assert.equal(row?.updatedAt, 1 + writers);
    assert.ok(await store.deleteSecret('ws1', 'COUNTER'));
  });

  it('lists metadata without the sealed value', async () => {
    const [meta] = await store.listSecrets('ws1');
    assert.ok(meta);
    assert.equal('sealed' in meta, false);
  });

  it('keeps the first server key when two starts race to create it', async () => {
    const [first, second] = await Promise.all([
      store.keys.putServerKeyOnce({ name: 'k', kekId: 'a', wrapped: Buffer.from([1]) }),
      store.keys.putServerKeyOnce({ name: 'k', kekId: 'b', wrapped: Buffer.from([2]) }),
    ]);
    assert.equal(first.kekId, second.kekId);
    assert.deepEqual(await store.keys.getServerKey('k'), first);
    assert.equal(first.version, 1);
    assert.equal(first.retiredAt, null);
  });

  it('lists workspace ids in pages, and the chains sealed with an older audit key', async () => {
    const ids = await store.workspaceIds(undefined, 1000);
    assert.deepEqual(ids, [...ids].sort());
    assert.ok(ids.length >= 2, 'the suite made workspaces');
    const [first, ...rest] = ids;
    assert.deepEqual(await store.workspaceIds(undefined, 1), [first]);
    assert.deepEqual(await store.workspaceIds(first, 1000), rest);
    assert.deepEqual(await store.auditChainsBelowKey(1), []);
  });

  it('reopens an existing database without re-applying migrations', async () => {
    const again = await t.reopen();
    assert.equal((await again.listSecrets('ws1')).length, 1);
    const rows = (await t.sql('SELECT version FROM schema_migrations')) as { version: number }[];
    assert.deepEqual(
      rows.map((r) => r.version),
      SQLITE_MIGRATIONS.map((m) => m.version),
    );
  });

  it('refuses to open a schema newer than it knows, and says so', async () => {
    await t.sql("INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'future', 0)");
    await assert.rejects(t.reopen(), (error: unknown) => {
      assert.ok(error instanceof SchemaTooNewError);
      assert.match(error.message, new RegExp(`version 999, newer than this server knows \\(${LATEST}\\)`));
      return true;
    });
    await t.sql('DELETE FROM schema_migrations WHERE version = 999');
  });

  it('answers ping', async () => {
    await store.ping();
  });
});

// SQLite has one server process per data dir, so only PostgreSQL has nodes that can race.
describe('migrations [postgres]', { skip: PG_SKIP_REASON }, () => {
  it('several nodes starting at once on an empty database migrate it exactly once', async () => {
    const schema = await freshPgSchema();
    try {
      const stores = await Promise.all(
        Array.from({ length: 6 }, () =>
          openPostgresStore({ url: PG_URL, schema: schema.schema, poolSize: 2 }),
        ),
      );
      const listed = await Promise.all(stores.map((s) => s.listSecrets('none')));
      assert.deepEqual(listed, Array(6).fill([]));
      assert.equal(stores.filter((s) => s.migration.from === 0).length, 1, 'exactly one node migrated');
      for (const s of stores) await s.close();
    } finally {
      await schema.drop();
    }
  });
});
