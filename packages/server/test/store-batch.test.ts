/**
 * Changes that arrive together are committed together (PostgreSQL: write-batch.ts; SQLite:
 * the write queue), yet each keeps its own outcome: a refusal, a duplicate or a database
 * error fails that change alone, its neighbours commit, and the audit chain holds exactly one
 * entry per change that happened, in a chain that verifies. Run on both backends, and on two
 * store instances of one database (two nodes) racing.
 */
import assert from 'node:assert/strict';
import { createSecretKey, randomBytes } from 'node:crypto';
import { after, before, it } from 'node:test';
import { auditSealer, type AuditKeyring } from '../src/crypto/audit-mac.js';
import { verifyChain } from '../src/services/audit/audit-verify.js';
import { DuplicateKeyError, type AuditAppend, type SecretRow, type Store } from '../src/store/types.js';
import { describeEachBackend } from './helpers/backends.js';
import { openTestStore, type TestStore } from './helpers/stores.js';

const WS = 'w'.repeat(24);
let ids = 0;
const newId = (): string => (++ids).toString(16).padStart(24, '0');

function secret(key: string): SecretRow {
  return {
    id: newId(),
    workspaceId: WS,
    key,
    description: `about ${key}`,
    tokenType: 'api',
    scope: ['app-a', 'app "b"'],
    envs: ['dev', 'prd'],
    expiresAt: null,
    revokedAt: null,
    version: 1,
    createdAt: 1000,
    updatedAt: 1000,
    sealed: randomBytes(40),
    mac: null,
  };
}

describeEachBackend('changes committed together', (backend) => {
  let t: TestStore;
  let store: Store;
  let sealer: AuditKeyring;
  const entry = (action: string, key: string): AuditAppend => ({
    workspaceId: WS,
    sealer,
    events: [
      {
        at: Date.now(),
        actorType: 'user',
        actorId: 'u'.repeat(24),
        actorRole: 'owner',
        action,
        secretKey: key,
        version: null,
        outcome: 'success',
        code: null,
        requestId: null,
        clientIp: null,
        userAgent: null,
        detail: null,
      },
    ],
  });
  /** The (action, key) of every entry of the chain, oldest first; asserts it verifies. */
  const chain = async (): Promise<string[]> => {
    const report = await verifyChain(store, sealer, WS);
    assert.equal(report.problem, undefined, JSON.stringify(report.problem));
    const entries = await store.listAudit(WS, { order: 'asc', limit: 10_000 });
    return entries.map((e) => `${e.action} ${e.secretKey}`);
  };

  before(async () => {
    t = await openTestStore(backend);
    store = t.store;
    sealer = auditSealer(createSecretKey(randomBytes(32)));
    await store.createWorkspace(
      { id: WS, name: 'batch', createdAt: 1 },
      { workspaceId: WS, version: 1, kekId: 'kek', wrapped: Buffer.from([9]) },
      {
        id: 'u'.repeat(24),
        workspaceId: WS,
        role: 'owner',
        keyHash: Buffer.alloc(32),
        keyGeneration: 1,
        createdAt: 1,
        removedAt: null,
      },
    );
  });
  after(() => t.cleanup());

  it('gives each of many concurrent changes its own outcome, and one entry per change made', async () => {
    for (const key of ['OLD1', 'OLD2', 'OLD3', 'OLD4']) await store.insertSecret(secret(key), 'seed');
    const before = (await chain()).length;
    const updated = randomBytes(40);
    const results = await Promise.allSettled([
      store.insertSecret(secret('NEW1'), 'a', entry('secret.create', 'NEW1')),
      store.insertSecret(secret('OLD1'), 'a', entry('secret.create', 'OLD1')), // duplicate
      store.modifySecret(
        WS,
        'OLD2',
        async (current) => ({ version: current.version + 1, sealed: updated, updatedAt: 2000 }),
        'a',
        (written) => entry('secret.update', written.key),
      ),
      store.modifySecret(
        WS,
        'OLD3',
        async () => {
          throw new Error('refused by compute');
        },
        'a',
        (written) => entry('secret.update', written.key),
      ),
      store.modifySecret(WS, 'MISSING', async () => ({ updatedAt: 3 }), 'a'),
      store.deleteSecret(WS, 'OLD4', entry('secret.delete', 'OLD4')),
      store.deleteSecret(WS, 'MISSING', entry('secret.delete', 'MISSING')),
      store.insertSecret(secret('NEW2'), 'a', entry('secret.create', 'NEW2')),
      // The same key twice, at once: either order is right, and the result must say which.
      store.insertSecret(secret('NEW3'), 'a', entry('secret.create', 'NEW3')),
      store.modifySecret(
        WS,
        'NEW3',
        async (current) => ({ description: 'second', version: current.version + 1, updatedAt: 2000 }),
        'a',
        (written) => entry('secret.update', written.key),
      ),
    ]);
    const outcome = results.map((r) =>
      r.status === 'fulfilled'
        ? typeof r.value === 'object' && r.value !== null
          ? `ok v${(r.value as { version: number }).version}`
          : `ok ${String(r.value)}`
        : r.reason instanceof DuplicateKeyError
          ? 'duplicate'
          : `error ${(r.reason as Error).message}`,
    );
    // The update of NEW3 ran after its create (v2) or before it (no such key yet).
    const secondWent = outcome[9] === 'ok v2';
    if (!secondWent) assert.equal(outcome[9], 'ok undefined');
    assert.deepEqual(outcome.slice(0, 9), [
      'ok undefined',
      'duplicate',
      'ok v2',
      'error refused by compute',
      'ok undefined',
      'ok true',
      'ok false',
      'ok undefined',
      'ok undefined',
    ]);
    assert.equal((await store.getSecret(WS, 'OLD1'))?.description, 'about OLD1');
    assert.deepEqual((await store.getSecret(WS, 'OLD2'))?.sealed, updated);
    assert.equal((await store.getSecret(WS, 'OLD3'))?.version, 1);
    assert.equal(await store.getSecret(WS, 'OLD4'), undefined);
    const third = await store.getSecretMeta(WS, 'NEW3');
    assert.equal(third?.description, secondWent ? 'second' : 'about NEW3');
    assert.deepEqual(third?.scope, ['app-a', 'app "b"']);
    assert.deepEqual(third?.envs, ['dev', 'prd']);
    assert.deepEqual(
      (await store.listVersions(WS, 'OLD2'))?.map((v) => `${v.version} ${v.createdBy}`),
      ['2 a', '1 seed'],
    );
    const made = (await chain()).slice(before).sort();
    assert.deepEqual(made, [
      'secret.create NEW1',
      'secret.create NEW2',
      'secret.create NEW3',
      'secret.delete OLD4',
      ...(secondWent ? ['secret.update NEW3'] : []),
      'secret.update OLD2',
    ]);
  });

  it('fails only the change the database refuses; its neighbours commit', async () => {
    if (backend === 'postgres') {
      await t.sql(`CREATE FUNCTION poison() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN IF NEW.key = 'POISON' THEN RAISE EXCEPTION 'poisoned key'; END IF; RETURN NEW; END $$`);
      await t.sql(
        'CREATE TRIGGER poison BEFORE INSERT OR UPDATE ON secrets FOR EACH ROW EXECUTE FUNCTION poison()',
      );
    } else {
      await t.sql(`CREATE TRIGGER poison BEFORE INSERT ON secrets WHEN NEW.key = 'POISON'
        BEGIN SELECT RAISE(ABORT, 'poisoned key'); END`);
    }
    try {
      const before = (await chain()).length;
      const keys = ['P1', 'P2', 'POISON', 'P3', 'P4'];
      const results = await Promise.allSettled(
        keys.map((key) => store.insertSecret(secret(key), 'a', entry('secret.create', key))),
      );
      assert.deepEqual(
        results.map((r) => r.status),
        ['fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'fulfilled'],
      );
      assert.match(String((results[2] as PromiseRejectedResult).reason), /poisoned key/);
      assert.equal(await store.getSecret(WS, 'POISON'), undefined);
      for (const key of ['P1', 'P2', 'P3', 'P4']) assert.equal((await store.getSecret(WS, key))?.key, key);
      assert.deepEqual((await chain()).slice(before).sort(), [
        'secret.create P1',
        'secret.create P2',
        'secret.create P3',
        'secret.create P4',
      ]);
    } finally {
      await t.sql('DROP TRIGGER poison' + (backend === 'postgres' ? ' ON secrets' : ''));
    }
  });

  it('two nodes creating the same keys at once: one winner per key, one chain', async () => {
    const other = await t.reopen();
    const before = (await chain()).length;
    const keys = Array.from({ length: 30 }, (_, i) => `RACE_${i}`);
    const attempts = [store, other].flatMap((node, n) =>
      keys.map((key) =>
        node
          .insertSecret({ ...secret(key), description: `node ${n}` }, `node${n}`, entry('secret.create', key))
          .then(
            () => 'won',
            (error: unknown) => (error instanceof DuplicateKeyError ? 'lost' : `error ${String(error)}`),
          ),
      ),
    );
    const results = await Promise.all(attempts);
    for (const [i, key] of keys.entries()) {
      assert.deepEqual([results[i], results[i + keys.length]].sort(), ['lost', 'won'], key);
      const row = await store.getSecretMeta(WS, key);
      const winner = results[i] === 'won' ? 'node 0' : 'node 1';
      assert.equal(row?.description, winner, key);
      assert.deepEqual(
        (await store.listVersions(WS, key))?.map((v) => v.createdBy),
        [winner === 'node 0' ? 'node0' : 'node1'],
      );
    }
    const made = (await chain()).slice(before);
    assert.equal(made.length, keys.length);
    assert.deepEqual(new Set(made), new Set(keys.map((key) => `secret.create ${key}`)));
  });
});
