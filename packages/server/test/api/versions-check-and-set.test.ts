/**
 * Check-and-set over a real port: `update(key, patch, { if_version })` only writes when the
 * secret is still at that version, so of two (or ten) people editing from the same read,
 * exactly one wins and the others get 409 VERSION_CONFLICT, never a silent loss.
 */
import type Ductape from '@ductape/sdk';
import { DuctapeError } from '@ductape/sdk';
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { describeEachBackend } from '../helpers/backends.js';
import { startTestServer, type Credentials, type TestServer } from '../helpers/harness.js';
import { accessToken, assertErrorBody, rawRequest } from '../helpers/http.js';
import { expectError, tag } from '../helpers/usage.js';

const conflict = (key: string, current: number, expected: number) => ({
  status: 409,
  code: 'VERSION_CONFLICT',
  message: new RegExp(`'${key}' is at version ${current}, not ${expected}\\b`),
  field: 'if_version',
});

describeEachBackend('check-and-set updates', (backend) => {
  let server: TestServer;
  let owner: Ductape;
  const writers: { credentials: Credentials; client: Ductape }[] = [];

  before(async () => {
    server = await startTestServer({}, backend);
    owner = server.client(server.owner);
    for (let i = 0; i < 10; i++) {
      const credentials = await server.newUser('developer');
      const client = server.client(credentials);
      await client.whoami(); // signed in before any race starts
      writers.push({ credentials, client });
    }
  });
  after(() => server.stop());

  /** Writer i, as a non-optional value. */
  const writer = (i: number): { credentials: Credentials; client: Ductape } =>
    writers[i] as { credentials: Credentials; client: Ductape };

  it('writes with the current version; refuses a stale or future one and changes nothing', async () => {
    const key = `CAS_${tag()}`;
    await owner.secrets.create({ key, value: 'cas-1', description: 'before' });
    const read = await owner.secrets.fetch(key);
    const written = await owner.secrets.update(key, { value: 'cas-2' }, { if_version: read.version });
    assert.equal(written.version, read.version + 1);
    assert.equal((await owner.secrets.fetch(key)).value, 'cas-2');

    await expectError(
      owner.secrets.update(key, { value: 'stale', description: 'stale' }, { if_version: 1 }),
      { ...conflict(key, 2, 1), absent: ['stale', 'cas-2'] },
    );
    await expectError(owner.secrets.update(key, { value: 'future' }, { if_version: 5 }), conflict(key, 2, 5));
    // Metadata-only changes are checked too.
    await expectError(
      owner.secrets.update(key, { description: 'stale' }, { if_version: 1 }),
      conflict(key, 2, 1),
    );
    const after = await owner.secrets.fetch(key);
    assert.equal(after.value, 'cas-2');
    assert.equal(after.version, 2);
    assert.equal(after.description, 'before');
    assert.equal((await owner.secrets.versions(key)).length, 2, 'no version was recorded');

    const described = await owner.secrets.update(key, { description: 'after' }, { if_version: 2 });
    assert.equal(
      described.version,
      3,
      'a metadata change is a new version, so a stale edit of either kind conflicts',
    );
    assert.equal(described.description, 'after');
    assert.equal((await owner.secrets.fetch(key)).value, 'cas-2', 'the value is carried over');
    await expectError(owner.secrets.update(key, { scope: ['web'] }, { if_version: 2 }), conflict(key, 3, 2));
  });

  it('a rollback moves the version on, so an edit from before it conflicts', async () => {
    const key = `CAS_ROLLBACK_${tag()}`;
    await owner.secrets.create({ key, value: 'r-1' });
    await owner.secrets.update(key, { value: 'r-2' });
    const read = await owner.secrets.fetch(key);
    await writer(0).client.secrets.rollback(key, 1);
    await expectError(
      owner.secrets.update(key, { value: 'r-3' }, { if_version: read.version }),
      conflict(key, 3, 2),
    );
    assert.equal((await owner.secrets.fetch(key)).value, 'r-1');
  });

  it('refuses an if_version that is not a version number, naming it; and an unknown key is 404', async () => {
    const key = `CAS_BAD_${tag()}`;
    await owner.secrets.create({ key, value: 'bad-1' });
    const token = await accessToken(server.url, server.owner);
    for (const query of ['0', 'abc', '-2', '1.5', '']) {
      const answer = await rawRequest(server.url, 'PATCH', `/v1/secrets/${key}?if_version=${query}`, {
        token,
        body: { value: 'bad-2' },
      });
      assert.equal(assertErrorBody(answer, 400, 'VALIDATION_ERROR').field, 'if_version', query);
    }
    const answer = await rawRequest(server.url, 'PATCH', `/v1/secrets/${key}?if_version=1`, {
      token,
      body: { value: 'good-2' },
    });
    assert.equal(answer.status, 200, answer.text);
    assert.equal((answer.json as { version: number }).version, 2, 'the response carries the new version');
    await expectError(owner.secrets.update(`CAS_NONE_${tag()}`, { value: 'x' }, { if_version: 1 }), {
      status: 404,
      code: 'SECRET_NOT_FOUND',
    });
  });

  /** `count` writers update from the same read at once; returns who won and the outcomes. */
  async function race(key: string, count: number): Promise<{ winner: number; values: string[] }> {
    const read = await owner.secrets.fetch(key);
    const values = Array.from({ length: count }, (_, i) => `race-${i}-${tag()}`);
    const outcomes = await Promise.allSettled(
      values.map((value, i) => writer(i).client.secrets.update(key, { value }, { if_version: read.version })),
    );
    const won = outcomes.flatMap((o, i) => (o.status === 'fulfilled' ? [i] : []));
    assert.equal(won.length, 1, `exactly one writer wins, not ${won.length}`);
    const winner = won[0] as number;
    for (const [i, outcome] of outcomes.entries()) {
      if (outcome.status === 'fulfilled') {
        assert.equal(outcome.value.version, read.version + 1);
        continue;
      }
      const error = outcome.reason as DuctapeError;
      assert.ok(error instanceof DuctapeError, String(error));
      assert.equal(error.status, 409, `writer ${i}: ${error.message}`);
      assert.equal(error.code, 'VERSION_CONFLICT');
    }
    const now = await owner.secrets.fetch(key);
    assert.equal(now.value, values[winner], "the value is the winner's");
    assert.equal(now.version, read.version + 1);
    const history = await owner.secrets.versions(key);
    assert.equal(history.length, read.version + 1, 'exactly one version was recorded');
    assert.equal(history[0]?.actor, writer(winner).credentials.user_id);
    return { winner, values };
  }

  it('of two check-and-set updates from the same read, exactly one wins', async () => {
    const key = `RACE_TWO_${tag()}`;
    await owner.secrets.create({ key, value: 'race-start' });
    for (let round = 0; round < 5; round++) await race(key, 2);
    assert.equal((await owner.secrets.fetch(key)).version, 6);
  });

  it('of ten check-and-set updates from the same read, exactly one wins', async () => {
    const key = `RACE_TEN_${tag()}`;
    await owner.secrets.create({ key, value: 'race-start' });
    const { winner, values } = await race(key, 10);
    assert.equal((await owner.secrets.fetch(key, { version: 2 })).value, values[winner]);
    await race(key, 10);
  });

  it('unconditional concurrent updates all land, each as its own version', async () => {
    const key = `RACE_ALL_${tag()}`;
    await owner.secrets.create({ key, value: 'all-start' });
    const values = writers.map((_, i) => `all-${i}-${tag()}`);
    const written = await Promise.all(
      values.map((value, i) => writer(i).client.secrets.update(key, { value })),
    );
    assert.deepEqual(
      written.map((w) => w.version).sort((a, b) => a - b),
      Array.from({ length: 10 }, (_, i) => i + 2),
      'every writer got a distinct version',
    );
    const byVersion = new Map(written.map((w, i) => [w.version, values[i]]));
    for (const [version, value] of byVersion) {
      assert.equal((await owner.secrets.fetch(key, { version })).value, value, `version ${version}`);
    }
    const history = await owner.secrets.versions(key);
    assert.equal(history.length, 11);
    assert.equal((await owner.secrets.fetch(key)).value, byVersion.get(11));
  });
});
