/**
 * The master key files of the data dir during a rotation, and the configuration of extra
 * master keys: what a server starts with, what it finds when it re-reads, and the swap that
 * ends a rotation.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ConfigError, loadConfig, loadNewMasterKey } from '../../src/config.js';
import { keyId } from '../../src/crypto/envelope.js';
import {
  loadMasterKeys,
  NEXT_KEY_FILE,
  PREVIOUS_KEY_FILE,
  promoteNextKey,
  readDataDirKeys,
  writeKeyFileAtomic,
} from '../../src/crypto/master-key-files.js';
import { tempDir } from '../helpers/harness.js';

const dirs: string[] = [];
const freshDir = (): string => {
  const dir = tempDir('ductape-keyfiles-');
  dirs.push(dir);
  return dir;
};
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const idOf = (file: string): string => keyId(Buffer.from(readFileSync(file, 'utf8').trim(), 'base64'));

describe('master key files', () => {
  it('a first start generates master.key; rotation files are read as unwrap-only keys', () => {
    const dir = freshDir();
    const first = loadMasterKeys({ masterKey: undefined, dataDir: dir });
    assert.equal(first.source, 'file');
    assert.equal(first.generatedFile, join(dir, 'master.key'));
    assert.equal(statSync(join(dir, 'master.key')).mode & 0o777, 0o600);
    const next = randomBytes(32);
    writeKeyFileAtomic(join(dir, NEXT_KEY_FILE), next, { exclusive: true });
    const again = loadMasterKeys({ masterKey: undefined, dataDir: dir });
    assert.equal(again.generatedFile, undefined);
    assert.equal(again.keys.primary.id, first.keys.primary.id);
    assert.ok(again.keys.find(keyId(next)), 'master.key.next is held for unwrapping');
  });

  it('an exclusive write never replaces a key file another writer made', () => {
    const dir = freshDir();
    const file = join(dir, NEXT_KEY_FILE);
    writeKeyFileAtomic(file, randomBytes(32), { exclusive: true });
    const id = idOf(file);
    assert.throws(() => writeKeyFileAtomic(file, randomBytes(32), { exclusive: true }), { code: 'EEXIST' });
    assert.equal(idOf(file), id);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.deepEqual(readdirSync(dir), [NEXT_KEY_FILE], 'no temporary file left behind');
  });

  it('the swap keeps the old key as master.key.previous and can run again after a crash', () => {
    const dir = freshDir();
    const loaded = loadMasterKeys({ masterKey: undefined, dataDir: dir });
    const oldId = loaded.keys.primary.id;
    const next = randomBytes(32);
    writeKeyFileAtomic(join(dir, NEXT_KEY_FILE), next);
    promoteNextKey(dir);
    assert.equal(idOf(join(dir, 'master.key')), keyId(next));
    assert.equal(idOf(join(dir, PREVIOUS_KEY_FILE)), oldId);
    assert.equal(existsSync(join(dir, NEXT_KEY_FILE)), false);
    promoteNextKey(dir); // nothing left to do
    assert.equal(idOf(join(dir, 'master.key')), keyId(next));
    const read = readDataDirKeys(dir);
    assert.equal(read.primary.id, keyId(next));
    assert.deepEqual(
      read.unwrapOnly.map((k) => k.id),
      [oldId],
    );
  });

  it('a running server re-reading the files finds the new key and makes it its primary', () => {
    const dir = freshDir();
    const seen: [string, string[]][] = [];
    const loaded = loadMasterKeys({ masterKey: undefined, dataDir: dir }, (p, added) =>
      seen.push([p, added]),
    );
    const oldId = loaded.keys.primary.id;
    const next = randomBytes(32);
    writeKeyFileAtomic(join(dir, NEXT_KEY_FILE), next);
    assert.ok(loaded.keys.findOrRefresh(keyId(next)));
    assert.equal(loaded.keys.primary.id, oldId, 'still the primary until the swap');
    promoteNextKey(dir);
    loaded.keys.refresh();
    assert.equal(loaded.keys.primary.id, keyId(next));
    assert.ok(loaded.keys.find(oldId));
    assert.deepEqual(seen, [
      [oldId, [keyId(next)]],
      [keyId(next), []],
    ]);
  });

  it('a damaged key file is refused with its name, never its content', () => {
    const dir = freshDir();
    loadMasterKeys({ masterKey: undefined, dataDir: dir });
    writeFileSync(join(dir, PREVIOUS_KEY_FILE), 'c2hvcnQ=\n', { mode: 0o600 });
    assert.throws(
      () => readDataDirKeys(dir),
      (error: Error) => {
        assert.match(error.message, /master\.key\.previous does not hold a base64 key of 32 bytes/);
        assert.equal(error.message.includes('c2hvcnQ'), false);
        return true;
      },
    );
  });

  it('with DUCTAPE_MASTER_KEY the files are ignored and DUCTAPE_MASTER_KEY_PREVIOUS adds unwrap-only keys', () => {
    const dir = freshDir();
    const [primary, old1, old2] = [randomBytes(32), randomBytes(32), randomBytes(32)];
    writeKeyFileAtomic(join(dir, NEXT_KEY_FILE), randomBytes(32));
    const config = loadConfig({
      DUCTAPE_DATA_DIR: dir,
      DUCTAPE_MASTER_KEY: primary.toString('base64'),
      DUCTAPE_MASTER_KEY_PREVIOUS: ` ${old1.toString('base64')} , ${old2.toString('base64')}`,
    });
    const loaded = loadMasterKeys(config);
    assert.equal(loaded.source, 'environment');
    assert.deepEqual(loaded.keys.ids(), [keyId(primary), keyId(old1), keyId(old2)]);
    assert.equal(existsSync(join(dir, 'master.key')), false);
    assert.equal(loaded.keys.refresh(), false);
  });
});

describe('configuration of extra master keys', () => {
  const good = randomBytes(32).toString('base64');

  it('DUCTAPE_MASTER_KEY_PREVIOUS is empty by default', () => {
    assert.deepEqual(loadConfig({}).previousMasterKeys, []);
  });

  for (const [variable, value, position] of [
    ['DUCTAPE_MASTER_KEY_PREVIOUS', `${good},c2hvcnQ=`, 'entry 2 of 2'],
    ['DUCTAPE_MASTER_KEY_PREVIOUS', 'not base64!', 'entry 1 of 1'],
    ['DUCTAPE_MASTER_KEY_PREVIOUS', `${good},,${good}`, 'entry 2 of 3'],
  ] as const) {
    it(`refuses ${variable}=${value.slice(0, 12)}... naming the variable and the entry, never the key`, () => {
      assert.throws(
        () => loadConfig({ [variable]: value }),
        (error: unknown) => {
          assert.ok(error instanceof ConfigError);
          assert.equal(error.variable, variable);
          assert.match(error.message, new RegExp(`^${variable}: ${position} must be the base64 encoding`));
          assert.equal(error.message.includes(good), false);
          return true;
        },
      );
    });
  }

  it('DUCTAPE_NEW_MASTER_KEY is read by the rotation command only, and must be one key', () => {
    assert.equal(loadNewMasterKey({}), undefined);
    assert.equal(loadNewMasterKey({ DUCTAPE_NEW_MASTER_KEY: ` ${good} ` }), good);
    assert.throws(() => loadNewMasterKey({ DUCTAPE_NEW_MASTER_KEY: `${good},${good}` }), /must hold one key/);
    assert.throws(
      () => loadNewMasterKey({ DUCTAPE_NEW_MASTER_KEY: 'short' }),
      /DUCTAPE_NEW_MASTER_KEY: entry 1/,
    );
  });
});
