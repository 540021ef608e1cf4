/**
 * Workspace data key rotation: a new data key version, used by every node for its next
 * write (a seal asks the store for the newest version), and optionally the re-encryption of
 * every stored value (current values and recorded versions) under it, online.
 *
 * Old data key versions are kept, never deleted: a request that read a ciphertext just
 * before its re-encryption must still open it, and so must a restored backup. They stay
 * wrapped by the master key and cost a few dozen bytes each.
 *
 * Re-encryption writes a value only if its sealed bytes are still those it read, so a
 * concurrent user update always wins (and was sealed under the newest key anyway). Rows are
 * taken in (secret id, version) order, in batches, each batch one transaction; a run that
 * stops (interrupted, or `limit`) is resumed by running again: it takes the values still
 * under an older version.
 */
import { OpenError } from '../../crypto/aead.js';
import type { Keyring } from '../../crypto/keyring.js';
import type { KeyStore, SealedCursor, SealedTable, SealedValue } from '../../store/keys.js';

export class NoDataKeyError extends Error {
  constructor(workspaceId: string) {
    super(`workspace '${workspaceId}' has no data key (does it exist?)`);
    this.name = 'NoDataKeyError';
  }
}

/** Adds the next data key version of a workspace (wrapped by the primary master key). */
export async function addDataKeyVersion(
  store: Pick<KeyStore, 'latestKeyVersion' | 'addWorkspaceKey'>,
  keyring: Pick<Keyring, 'newDataKeyVersion' | 'hasRowMacs' | 'forget'>,
  workspaceId: string,
  now = Date.now(),
): Promise<number> {
  // Two rotations racing for the same version: the loser takes the next one.
  for (let attempt = 0; attempt < 10; attempt++) {
    const latest = await store.latestKeyVersion(workspaceId);
    if (latest === undefined) throw new NoDataKeyError(workspaceId);
    // A new version says what the others say: a rotation never converts a workspace (integrity.ts does).
    const key = keyring.newDataKeyVersion(workspaceId, latest + 1, await keyring.hasRowMacs(workspaceId));
    if (await store.addWorkspaceKey(key, now)) {
      keyring.forget(workspaceId);
      return key.version;
    }
  }
  throw new Error(`workspace '${workspaceId}': data key versions kept being added concurrently; try again`);
}

export interface ReencryptOptions {
  /** Values read and written per batch (one transaction). */
  batchSize: number;
  /** Handle at most this many values, then stop (run again to go on). */
  limit?: number;
  onProgress?: (done: number, total: number) => void;
}

export interface ReencryptResult {
  /** The data key version everything was re-sealed under: the newest when the run started. */
  dekVersion: number;
  /** Values under an older version when the run started. */
  total: number;
  resealed: number;
  /** Values a user changed between our read and our write (the user's write stands). */
  changedMeanwhile: number;
  /** Values that failed their integrity check: left untouched, named here. */
  unreadable: string[];
  /** Values still under an older version when the run ended. */
  remaining: number;
}

const TABLES: readonly SealedTable[] = ['secrets', 'secret_versions'];
const PASSES = 3;

export async function reencryptWorkspace(
  store: Pick<KeyStore, 'latestKeyVersion' | 'countSealedBelow' | 'sealedBelow' | 'resealIfUnchanged'>,
  keyring: Pick<Keyring, 'open' | 'seal'>,
  workspaceId: string,
  options: ReencryptOptions,
): Promise<ReencryptResult> {
  const dekVersion = await store.latestKeyVersion(workspaceId);
  if (dekVersion === undefined) throw new NoDataKeyError(workspaceId);
  const total = await store.countSealedBelow(workspaceId, dekVersion);
  const unreadable = new Set<string>();
  const result = { dekVersion, total, resealed: 0, changedMeanwhile: 0, remaining: total };
  let done = 0;
  const room = (): number => (options.limit === undefined ? Infinity : options.limit - done);

  for (let pass = 0; pass < PASSES && room() > 0; pass++) {
    const before = result.resealed;
    for (const table of TABLES) {
      let cursor: SealedCursor | undefined;
      for (;;) {
        const size = Math.min(options.batchSize, room());
        if (size <= 0) break;
        const rows = await store.sealedBelow(workspaceId, table, dekVersion, cursor, size);
        if (rows.length === 0) break;
        const items: { value: SealedValue; resealed: Buffer }[] = [];
        for (const row of rows) {
          cursor = { secretId: row.secretId, version: row.version };
          const binding = { workspaceId, secretId: row.secretId, version: row.version };
          try {
            const value = await keyring.open(binding, row.sealed);
            items.push({ value: row, resealed: await keyring.seal(binding, value, dekVersion) });
          } catch (error) {
            if (!(error instanceof OpenError)) throw error;
            unreadable.add(
              `${table === 'secrets' ? 'secret' : 'recorded version of secret'} ${row.secretId} (version ${row.version})`,
            );
          }
        }
        const written = await store.resealIfUnchanged(items);
        result.resealed += written;
        result.changedMeanwhile += items.length - written;
        done += rows.length;
        options.onProgress?.(Math.min(done, total), total);
      }
    }
    result.remaining = await store.countSealedBelow(workspaceId, dekVersion);
    // Another pass only for values written under an older version while this one ran.
    if (result.remaining <= unreadable.size || result.resealed === before) break;
  }
  return { ...result, unreadable: [...unreadable] };
}
