/**
 * Master key rotation: re-wraps every workspace data key (all versions) and every server key
 * under a target master key, online. Values are untouched: a data key is the same key after
 * re-wrapping, so every sealed value still opens, on every node, with any cached key.
 *
 * Resumable and safe to run concurrently: rows are picked by `kek_id <> target`, and each
 * re-wrap is one conditional update ("only if still wrapped by the key I read it under"), so
 * an interrupted run leaves rows fully old or fully new and a second run picks up the rest.
 */
import { OpenError } from '../../crypto/aead.js';
import {
  dataKeyFormat,
  unwrapDataKey,
  unwrapServerKey,
  wrapDataKey,
  wrapServerKey,
} from '../../crypto/envelope.js';
import { KeyMismatchError } from '../../crypto/keyring.js';
import type { MasterKey } from '../../crypto/key-provider.js';
import type { MasterKeys } from '../../crypto/master-keys.js';
import type { KeyStore, WorkspaceKeyCursor } from '../../store/keys.js';

export interface RewrapOptions {
  /** Rows read per query. */
  batchSize: number;
  /** Re-wrap at most this many keys, then stop (the rest is left for another run). */
  limit?: number;
  /** Told after every key: how many were handled, of how many found at the start. */
  onProgress?: (done: number, total: number) => void;
}

export interface RewrapResult {
  /** Keys not under the target when the run started. */
  total: number;
  workspaceKeys: number;
  serverKeys: number;
  /** Keys another run or node changed between our read and our write (left as they were). */
  changedMeanwhile: number;
  /** Keys still not under the target when the run ended. */
  remaining: number;
  /** The master key ids that wrapped something when the run started, the target's excluded. */
  replacedKeyIds: string[];
}

const PASSES = 3;

function missing(what: string, kekId: string): KeyMismatchError {
  return new KeyMismatchError(
    `${what} is wrapped by master key ${kekId}, which this command does not have: give it in ` +
      'DUCTAPE_MASTER_KEY_PREVIOUS (comma-separated) and run the command again',
  );
}

function damaged(what: string, kekId: string): Error {
  return new Error(`${what} does not open under master key ${kekId} (id matches): the stored key is damaged`);
}

export async function rewrapUnder(
  store: KeyStore,
  masters: MasterKeys,
  target: MasterKey,
  options: RewrapOptions,
): Promise<RewrapResult> {
  const usage = await store.masterKeyUsage();
  const others = usage.filter((u) => u.kekId !== target.id);
  const total = others.reduce((n, u) => n + u.workspaceKeys + u.serverKeys, 0);
  const result: RewrapResult = {
    total,
    workspaceKeys: 0,
    serverKeys: 0,
    changedMeanwhile: 0,
    remaining: total,
    replacedKeyIds: others.map((u) => u.kekId),
  };
  let done = 0;
  const room = (): number => (options.limit === undefined ? Infinity : options.limit - done);
  const counted = (written: boolean, kind: 'workspaceKeys' | 'serverKeys'): void => {
    if (written) result[kind] += 1;
    else result.changedMeanwhile += 1;
    done += 1;
    options.onProgress?.(Math.min(done, total), total);
  };

  for (let pass = 0; pass < PASSES && room() > 0; pass++) {
    let cursor: WorkspaceKeyCursor | undefined;
    for (;;) {
      const size = Math.min(options.batchSize, room());
      if (size <= 0) break;
      const batch = await store.workspaceKeysNotWrappedBy(target.id, cursor, size);
      if (batch.length === 0) break;
      for (const row of batch) {
        cursor = { workspaceId: row.workspaceId, version: row.version };
        const what = `data key version ${row.version} of workspace ${row.workspaceId}`;
        const from = masters.findOrRefresh(row.kekId);
        if (!from) throw missing(what, row.kekId);
        let raw: Buffer;
        try {
          raw = unwrapDataKey(from.key, row.workspaceId, row.version, row.wrapped);
        } catch (error) {
          if (error instanceof OpenError) throw damaged(what, row.kekId);
          throw error;
        }
        // Same format: a workspace whose rows carry MACs keeps saying so (and one without stays so).
        const format = dataKeyFormat(row.wrapped);
        const wrapped = wrapDataKey(target.key, row.workspaceId, row.version, raw, format);
        raw.fill(0);
        counted(
          await store.rewrapWorkspaceKey({ ...row, kekId: target.id, wrapped }, row.kekId),
          'workspaceKeys',
        );
      }
    }
    for (const row of await store.serverKeys()) {
      if (row.kekId === target.id) continue;
      if (room() <= 0) break;
      const what = `server key '${row.name}' (version ${row.version})`;
      const from = masters.findOrRefresh(row.kekId);
      if (!from) throw missing(what, row.kekId);
      let raw: Buffer;
      try {
        raw = unwrapServerKey(from.key, row, row.wrapped);
      } catch (error) {
        if (error instanceof OpenError) throw damaged(what, row.kekId);
        throw error;
      }
      // The same version and retirement, bound again under the target.
      const wrapped = wrapServerKey(target.key, row, raw);
      raw.fill(0);
      counted(await store.rewrapServerKey({ ...row, kekId: target.id, wrapped }, row.kekId), 'serverKeys');
    }
    // Another pass only for rows written under an old key while this one ran.
    result.remaining = (await store.masterKeyUsage())
      .filter((u) => u.kekId !== target.id)
      .reduce((n, u) => n + u.workspaceKeys + u.serverKeys, 0);
    if (result.remaining === 0) break;
  }
  return result;
}
