/**
 * The server's own keys (token signing, audit MAC): random, created on the very first start,
 * and stored wrapped by the master key. Loading one is also where a wrong master key is
 * caught: it cannot unwrap what the right one wrapped.
 */
import { randomBytes, type KeyObject } from 'node:crypto';
import { toKeyObject, unwrapServerKey, wrapServerKey } from '../crypto/envelope.js';
import { KeyMismatchError } from '../crypto/keyring.js';
import type { MasterKey } from '../crypto/key-provider.js';
import type { Store } from '../store/types.js';

export async function loadServerKey(
  store: Pick<Store, 'getServerKey' | 'putServerKeyOnce'>,
  master: MasterKey,
  name: string,
): Promise<KeyObject> {
  let row = await store.getServerKey(name);
  if (!row) {
    const raw = randomBytes(32);
    row = await store.putServerKeyOnce({
      name,
      kekId: master.id,
      wrapped: wrapServerKey(master.key, name, raw),
    });
    raw.fill(0);
  }
  if (row.kekId !== master.id) {
    throw new KeyMismatchError(
      `the master key does not match this database: its data was sealed by master key ${row.kekId}, ` +
        `this server was given master key ${master.id}. Set DUCTAPE_MASTER_KEY (or the data dir's master.key) to the key this database was created with.`,
    );
  }
  try {
    return toKeyObject(unwrapServerKey(master.key, name, row.wrapped));
  } catch {
    throw new KeyMismatchError(
      "the master key does not open this database's keys (id matches but the data is damaged)",
    );
  }
}
