/**
 * Which master keys a restore or a store move will have, found without creating one (a
 * server's first start generates master.key; a restore must never do that): from
 * DUCTAPE_MASTER_KEY and DUCTAPE_MASTER_KEY_PREVIOUS, or else the data dir's key files.
 * Only ids (public fingerprints) leave this module, and the base64 of the primary key, which
 * the checks at the end pass on to their child process as the server's environment would.
 */
import { join } from 'node:path';
import type { Config } from '../../config.js';
import { MASTER_KEY_FILE, masterKeyFromBase64 } from '../../crypto/key-provider.js';
import { PREVIOUS_KEY_FILE, readKeyFile } from '../../crypto/master-key-files.js';
import { CliError } from '../output.js';

export interface HeldKeys {
  ids: string[];
  /** DUCTAPE_MASTER_KEY for a process that must use the same keys; undefined when from files. */
  environment: { DUCTAPE_MASTER_KEY: string } | undefined;
  /** The base64 of the data dir's master.key, when the keys come from there. */
  fileKey: string | undefined;
}

export function heldMasterKeys(config: Config, dataDir = config.dataDir): HeldKeys {
  if (config.masterKey !== undefined) {
    const ids = [config.masterKey, ...config.previousMasterKeys].map((k) => masterKeyFromBase64(k).id);
    return { ids, environment: { DUCTAPE_MASTER_KEY: config.masterKey }, fileKey: undefined };
  }
  const primary = readKeyFile(join(dataDir, MASTER_KEY_FILE));
  if (!primary) {
    throw new CliError(
      `no master key: set DUCTAPE_MASTER_KEY, or put the master.key the data was written with into ${dataDir}`,
      2,
    );
  }
  const previous = readKeyFile(join(dataDir, PREVIOUS_KEY_FILE));
  const raw = primary.key.export();
  try {
    return {
      ids: [primary.id, ...(previous ? [previous.id] : [])],
      environment: undefined,
      fileKey: raw.toString('base64'),
    };
  } finally {
    raw.fill(0);
  }
}

/** Refuses data whose keys are wrapped by a master key that is not held. */
export function requireMasterKeys(needed: readonly string[], held: HeldKeys, what: string): void {
  const missing = needed.filter((id) => !held.ids.includes(id));
  if (missing.length > 0) {
    throw new CliError(
      `${what} is wrapped by master key ${missing.join(', ')}, but the master key given is ${held.ids.join(', ')}: ` +
        'set DUCTAPE_MASTER_KEY (or the data dir master.key) to the key the data was written with',
      1,
    );
  }
}
