/**
 * What every `ductape keys` command opens: the configuration, this process's master keys
 * (primary and unwrap-only), the store, and a keyring over them. No token signing key and
 * no services: these commands act on keys only.
 */
import { loadConfig, type Config } from '../../config.js';
import { Keyring } from '../../crypto/keyring.js';
import { loadMasterKeys, type LoadedMasterKeys } from '../../crypto/master-key-files.js';
import type { Store } from '../../store/types.js';
import { CliError, info } from '../output.js';

export interface KeysContext {
  config: Config;
  masters: LoadedMasterKeys;
  store: Store;
  keyring: Keyring;
}

export async function withKeys<T>(work: (context: KeysContext) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const masters = loadMasterKeys(config);
  if (masters.generatedFile) {
    info(`warning: generated a new master key in ${masters.generatedFile} (there was none); back it up`);
  }
  const { openStore } = await import('../../runtime.js');
  const store = await openStore(config);
  try {
    return await work({ config, masters, store, keyring: new Keyring(masters.keys, store.keys) });
  } finally {
    await store.close();
  }
}

/** The workspace, or a failure naming the id that was sent. */
export async function requireWorkspace(store: Store, id: string): Promise<void> {
  if (!(await store.getWorkspace(id))) throw new CliError(`workspace '${id}' does not exist`, 1);
}
