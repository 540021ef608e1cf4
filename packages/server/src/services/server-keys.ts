/**
 * Server keys: random keys the server itself uses (the access-token signing key, and any
 * other), stored in `server_keys` wrapped by the master key and bound to their name. Any of
 * them is opened here, by the master key whose id its row records.
 */
import { randomBytes } from 'node:crypto';
import { unwrapServerKey, wrapServerKey } from '../crypto/envelope.js';
import { KeyMismatchError } from '../crypto/keyring.js';
import type { MasterKey } from '../crypto/key-provider.js';
import { asMasterKeys, missingMasterKeyMessage, type MasterKeys } from '../crypto/master-keys.js';
import type { Store } from '../store/types.js';

/**
 * The raw bytes of the server key `name`, created (wrapped by the primary master key) the
 * very first time. A row wrapped by a master key this server lacks is refused with a
 * message naming both key ids and what to do: that is how a wrong or retired key shows.
 */
export async function loadServerKey(
  store: Pick<Store, 'getServerKey' | 'putServerKeyOnce'>,
  master: MasterKey | MasterKeys,
  name: string,
  bytes = 32,
): Promise<Buffer> {
  const keys = asMasterKeys(master);
  let row = await store.getServerKey(name);
  if (!row) {
    const raw = randomBytes(bytes);
    const primary = keys.primary;
    row = await store.putServerKeyOnce({
      name,
      kekId: primary.id,
      wrapped: wrapServerKey(primary.key, name, raw),
    });
    raw.fill(0);
  }
  const kek = keys.findOrRefresh(row.kekId);
  if (!kek) {
    throw new KeyMismatchError(missingMasterKeyMessage(`its server key '${name}'`, row.kekId, keys.ids()));
  }
  try {
    return unwrapServerKey(kek.key, name, row.wrapped);
  } catch {
    throw new KeyMismatchError(
      `the master key does not open this database's keys (id ${kek.id} matches but the data is damaged)`,
    );
  }
}
