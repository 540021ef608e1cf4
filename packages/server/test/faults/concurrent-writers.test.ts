/**
 * Concurrent writers over a real port: one key can be created once, and concurrent
 * updates never lose a version nor mix a value with another's version.
 */
import type Ductape from '@ductape/sdk';
import type { Secret } from '@ductape/sdk';
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { startTestServer, type TestServer } from '../helpers/harness.js';
import { describeEachBackend } from '../helpers/backends.js';

/** The HTTP status of a rejected SDK call. */
const statusOf = (reason: unknown): number | undefined =>
  (reason as { response?: { status?: number } }).response?.status;

describeEachBackend('concurrent writers', (backend) => {
  let server: TestServer;
  let clients: Ductape[];

  before(async () => {
    server = await startTestServer({}, backend);
    // Several users, each with its own connection pool and token, like separate services.
    clients = [server.client(server.owner)];
    for (let i = 0; i < 4; i++) clients.push(server.client(await server.newUser('developer')));
    await Promise.all(clients.map((c) => c.init()));
  });
  after(() => server.stop());

  const client = (i: number): Ductape => clients[i % clients.length] as Ductape;

  it('50 concurrent creates of one key: exactly one 201 and 49 409s, one row listed', async () => {
    const values = Array.from({ length: 50 }, (_, i) => `racing-value-${i}`);
    const results = await Promise.allSettled(
      values.map((value, i) => client(i).secrets.create({ key: 'RACED_KEY', value })),
    );
    const won = results.flatMap((r, i) => (r.status === 'fulfilled' ? [{ secret: r.value, i }] : []));
    const lost = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
    assert.equal(won.length, 1, `expected one winner, got ${won.length}`);
    assert.equal(lost.length, 49);
    for (const reason of lost) {
      assert.equal(statusOf(reason), 409, String(reason));
      assert.equal((reason as { code?: string }).code, 'SECRET_EXISTS');
    }

    const listed = (await client(0).secrets.list()).filter((s) => s.key === 'RACED_KEY');
    assert.equal(listed.length, 1);
    const winner = won[0] as { secret: Secret; i: number };
    assert.equal(listed[0]?._id, winner.secret._id);
    const fetched = await client(1).secrets.fetch('RACED_KEY');
    assert.equal(fetched.value, values[winner.i], 'the stored value is the winner’s');
    assert.equal(fetched.version, 1);
  });

  it('concurrent creates of different keys all succeed', async () => {
    const keys = Array.from({ length: 40 }, (_, i) => `PARALLEL_${i}`);
    await Promise.all(keys.map((key, i) => client(i).secrets.create({ key, value: `v-${key}` })));
    const listed = new Set((await client(0).secrets.list()).map((s) => s.key));
    for (const key of keys) assert.ok(listed.has(key), key);
    const values = await Promise.all(keys.map((key, i) => client(i + 1).secrets.fetch(key)));
    values.forEach((s, i) => assert.equal(s.value, `v-${keys[i]}`));
  });

  it('concurrent updates: no lost version, and the final value is the one with the last version', async () => {
    await client(0).secrets.create({ key: 'CONTENDED', value: 'initial' });
    const valueUpdates = Array.from({ length: 30 }, (_, i) => `updated-value-${i}`);
    const metadataUpdates = Array.from({ length: 10 }, (_, i) => `description ${i}`);
    const calls: Promise<Secret>[] = [];
    // Interleave value and metadata-only updates from every client.
    for (let i = 0; i < valueUpdates.length; i++) {
      calls.push(client(i).secrets.update('CONTENDED', { value: valueUpdates[i] as string }));
      if (i < metadataUpdates.length) {
        calls.push(client(i + 2).secrets.update('CONTENDED', { description: metadataUpdates[i] as string }));
      }
    }
    const settled = await Promise.allSettled(calls);
    const failures = settled.filter((r) => r.status === 'rejected');
    assert.deepEqual(
      failures.map((f) => String((f as PromiseRejectedResult).reason)),
      [],
      'every update must succeed',
    );
    const answers = settled.map((r) => (r as PromiseFulfilledResult<Secret>).value);

    // Every update, metadata-only ones too, answered with its own version: 2..41, each once.
    const versionOf = new Map<number, string | undefined>();
    let v = 0;
    for (let i = 0; i < valueUpdates.length; i++) {
      const valueAnswer = answers[v] as Secret;
      assert.equal(versionOf.has(valueAnswer.version), false, `version ${valueAnswer.version} given twice`);
      versionOf.set(valueAnswer.version, valueUpdates[i] as string);
      if (i < metadataUpdates.length) {
        const metaAnswer = answers[v + 1] as Secret;
        assert.equal(versionOf.has(metaAnswer.version), false, `version ${metaAnswer.version} given twice`);
        versionOf.set(metaAnswer.version, undefined);
      }
      v += i < metadataUpdates.length ? 2 : 1;
    }
    const total = valueUpdates.length + metadataUpdates.length;
    assert.deepEqual(
      [...versionOf.keys()].sort((a, b) => a - b),
      Array.from({ length: total }, (_, i) => i + 2),
    );

    // The final value is the one of the value update with the highest version: none lost.
    const final = await client(0).secrets.fetch('CONTENDED');
    assert.equal(final.version, 1 + total);
    const lastValueVersion = Math.max(
      ...[...versionOf].filter(([, value]) => value !== undefined).map(([n]) => n),
    );
    assert.equal(final.value, versionOf.get(lastValueVersion), 'the value is the last one written');
    assert.ok(metadataUpdates.includes(final.description as string));
  });

  it('concurrent revoke, restore and update of one secret leave it consistent', async () => {
    await client(0).secrets.create({ key: 'FLIPPING', value: 'flip-0' });
    const calls: Promise<unknown>[] = [];
    for (let i = 0; i < 20; i++) {
      calls.push(i % 2 === 0 ? client(0).secrets.revoke('FLIPPING') : client(0).secrets.restore('FLIPPING'));
      calls.push(client(i + 1).secrets.update('FLIPPING', { value: `flip-${i + 1}` }));
    }
    const settled = await Promise.allSettled(calls);
    assert.deepEqual(
      settled.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason)),
      [],
    );
    await client(0).secrets.restore('FLIPPING');
    const final = await client(0).secrets.fetch('FLIPPING');
    assert.equal(final.version, 21);
    assert.match(final.value, /^flip-([1-9]|1\d|20)$/);
    assert.equal(final.status, 'active');
  });
});
