/**
 * The keyring: unwraps workspace data keys on first use and keeps them in memory, so a
 * fetch costs one AES-GCM open and no key derivation. Holds no I/O of its own: the store
 * hands it wrapped keys through `WrappedKeySource`.
 *
 * Rotation: each wrapped key names the master key that wrapped it, and is unwrapped by that
 * one (primary or unwrap-only); a key it lacks makes it re-read the key files once before
 * failing. A value names its data key version, and an unknown version makes it reload the
 * workspace's keys. A seal asks the source for the newest version first (when it can), so
 * a data key added on another node is used for the very next write.
 *
 * Each data key version also gives the MAC key of secret rows (row-mac.ts), derived when the
 * data key is unwrapped and cached with it; row MACs are made under the newest version too.
 */
import { randomBytes, type KeyObject } from 'node:crypto';
import { OpenError } from './aead.js';
import {
  DEK_FORMAT_LEGACY,
  DEK_FORMAT_ROW_MACS,
  KEY_BYTES,
  dataKeyFormat,
  openValue,
  sealValue,
  sealedDataKeyVersion,
  toKeyObject,
  unwrapDataKey,
  wrapDataKey,
  type ValueBinding,
} from './envelope.js';
import type { MasterKey } from './key-provider.js';
import { asMasterKeys, missingMasterKeyMessage, type MasterKeys } from './master-keys.js';
import {
  RowMacError,
  rowMac,
  rowMacDataKeyVersion,
  rowMacKey,
  rowMacMatches,
  type RowFields,
} from './row-mac.js';

export interface WrappedDataKey {
  workspaceId: string;
  version: number;
  kekId: string;
  wrapped: Buffer;
}

export interface WrappedKeySource {
  /** Every data key version of a workspace (wrapped), any order. */
  workspaceKeys(workspaceId: string): Promise<WrappedDataKey[]>;
  /** The newest data key version of a workspace (an indexed lookup, asked on every seal). */
  latestKeyVersion?(workspaceId: string): Promise<number | undefined>;
}

export class KeyMismatchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KeyMismatchError';
  }
}

interface DataKey {
  /** Seals and opens values. */
  dek: KeyObject;
  /** Makes and checks row MACs. */
  rowKey: KeyObject;
}

interface WorkspaceKeys {
  current: number;
  keys: Map<number, DataKey>;
  /** Whether any data key of the workspace says its rows all carry a MAC (envelope.ts). */
  rowMacs: boolean;
}

function dataKey(raw: Buffer, workspaceId: string, version: number): DataKey {
  return { dek: toKeyObject(raw), rowKey: rowMacKey(raw, workspaceId, version) };
}

export class Keyring {
  private readonly cache = new Map<string, WorkspaceKeys>();
  private readonly masters: MasterKeys;

  constructor(
    master: MasterKey | MasterKeys,
    private readonly source: WrappedKeySource,
  ) {
    this.masters = asMasterKeys(master);
  }

  /** The id of the primary master key: the one new wraps use. */
  get masterKeyId(): string {
    return this.masters.primary.id;
  }

  /** A fresh data key for a new workspace, wrapped; nothing is stored here. */
  newWorkspaceKey(workspaceId: string, version = 1): WrappedDataKey {
    const dek = randomBytes(KEY_BYTES);
    const master = this.masters.primary;
    const wrapped = wrapDataKey(master.key, workspaceId, version, dek, DEK_FORMAT_ROW_MACS);
    this.cache.set(workspaceId, {
      current: version,
      keys: new Map([[version, dataKey(dek, workspaceId, version)]]),
      rowMacs: true,
    });
    dek.fill(0);
    return { workspaceId, version, kekId: master.id, wrapped };
  }

  /**
   * A fresh data key to add to an existing workspace as `version`, wrapped by the primary
   * master key. Not cached: it counts only once the store holds it (see `forget`). `rowMacs`
   * is the workspace's state (`hasRowMacs`): a new version never converts a workspace.
   */
  newDataKeyVersion(workspaceId: string, version: number, rowMacs = true): WrappedDataKey {
    const dek = randomBytes(KEY_BYTES);
    const master = this.masters.primary;
    const format = rowMacs ? DEK_FORMAT_ROW_MACS : DEK_FORMAT_LEGACY;
    const wrapped = wrapDataKey(master.key, workspaceId, version, dek, format);
    dek.fill(0);
    return { workspaceId, version, kekId: master.id, wrapped };
  }

  /** Forgets cached keys (all, or one workspace's), e.g. after a rotation elsewhere. */
  forget(workspaceId?: string): void {
    if (workspaceId === undefined) this.cache.clear();
    else this.cache.delete(workspaceId);
  }

  /**
   * The workspace's data key `dekVersion`, or its newest as the source says now (reloaded
   * once when the cache does not have it yet: added since, maybe on another node).
   */
  private async keyFor(workspaceId: string, dekVersion?: number): Promise<[number, DataKey]> {
    const version = dekVersion ?? (await this.source.latestKeyVersion?.(workspaceId));
    let keys = await this.load(workspaceId);
    if (version !== undefined && !keys.keys.has(version)) {
      this.cache.delete(workspaceId);
      keys = await this.load(workspaceId);
    }
    const use = version ?? keys.current;
    const key = keys.keys.get(use);
    if (!key) throw new Error(`data key version ${use} of the workspace is missing`);
    return [use, key];
  }

  /**
   * Seals under the workspace's newest data key, as the source says now (or under
   * `dekVersion` when given: re-encryption picks its target once).
   */
  async seal(binding: ValueBinding, value: string, dekVersion?: number): Promise<Buffer> {
    const [use, key] = await this.keyFor(binding.workspaceId, dekVersion);
    return sealValue(key.dek, use, binding, value);
  }

  /** Opens a sealed value; throws `OpenError` when it was altered or moved. */
  async open(binding: ValueBinding, sealed: Buffer): Promise<string> {
    let version: number;
    try {
      version = sealedDataKeyVersion(sealed);
    } catch {
      throw new OpenError(); // shorter than its header, or an unknown format: altered
    }
    const key = await this.known(binding.workspaceId, version);
    // A data key version the workspace never had: the header was altered.
    if (!key) throw new OpenError();
    return openValue(key.dek, binding, sealed);
  }

  /** The MAC of a secret row as it is about to be written, under the newest data key. */
  async rowMac(row: RowFields, dekVersion?: number): Promise<Buffer> {
    const [use, key] = await this.keyFor(row.workspaceId, dekVersion);
    return rowMac(key.rowKey, use, row);
  }

  /**
   * Checks a secret row's MAC; throws `RowMacError` when it has none (whatever the
   * workspace: see services/secrets/secret-integrity.ts for why) or it does not match the row.
   */
  async verifyRow(row: RowFields & { mac: Buffer | null }): Promise<void> {
    const version = rowMacDataKeyVersion(row.mac);
    if (version === undefined || row.mac === null) throw new RowMacError();
    const key = await this.known(row.workspaceId, version);
    if (!key || !rowMacMatches(key.rowKey, row.mac, row)) throw new RowMacError();
  }

  /** Whether the workspace's rows all carry a MAC, as its (authenticated) data keys say. */
  async hasRowMacs(workspaceId: string): Promise<boolean> {
    return (await this.load(workspaceId)).rowMacs;
  }

  /**
   * Every data key version of the workspace wrapped anew as "rows carry MACs", each by the
   * master key that wraps it now, with that key's id (for a conditional re-wrap). Nothing is
   * stored or cached here.
   */
  async withRowMacs(workspaceId: string): Promise<WrappedDataKey[]> {
    const out: WrappedDataKey[] = [];
    for (const row of await this.source.workspaceKeys(workspaceId)) {
      const master = this.masterOf(workspaceId, row);
      const raw = this.unwrap(master, workspaceId, row);
      out.push({
        workspaceId,
        version: row.version,
        kekId: master.id,
        wrapped: wrapDataKey(master.key, workspaceId, row.version, raw, DEK_FORMAT_ROW_MACS),
      });
      raw.fill(0);
    }
    return out;
  }

  /** A data key version of the workspace, reloading once when the cache lacks it. */
  private async known(workspaceId: string, version: number): Promise<DataKey | undefined> {
    let keys = await this.load(workspaceId);
    if (!keys.keys.has(version)) {
      // A data key newer than our cache (rotated on another node): reload once.
      this.cache.delete(workspaceId);
      keys = await this.load(workspaceId);
    }
    return keys.keys.get(version);
  }

  private masterOf(workspaceId: string, row: WrappedDataKey): MasterKey {
    const master = this.masters.findOrRefresh(row.kekId);
    if (!master) {
      throw new KeyMismatchError(
        missingMasterKeyMessage(
          `data key version ${row.version} of workspace ${workspaceId}`,
          row.kekId,
          this.masters.ids(),
        ),
      );
    }
    return master;
  }

  private unwrap(master: MasterKey, workspaceId: string, row: WrappedDataKey): Buffer {
    try {
      return unwrapDataKey(master.key, workspaceId, row.version, row.wrapped);
    } catch {
      throw new KeyMismatchError(
        `the workspace's data key version ${row.version} does not open with master key ${master.id}: it was altered, or belongs to another workspace`,
      );
    }
  }

  private async load(workspaceId: string): Promise<WorkspaceKeys> {
    const cached = this.cache.get(workspaceId);
    if (cached) return cached;
    const rows = await this.source.workspaceKeys(workspaceId);
    if (rows.length === 0) throw new Error('the workspace has no data key');
    const keys = new Map<number, DataKey>();
    let current = 0;
    let rowMacs = false;
    for (const row of rows) {
      const raw = this.unwrap(this.masterOf(workspaceId, row), workspaceId, row);
      keys.set(row.version, dataKey(raw, workspaceId, row.version));
      raw.fill(0);
      current = Math.max(current, row.version);
      // The format byte is authenticated: it is trusted now that the key opened.
      if (dataKeyFormat(row.wrapped) === DEK_FORMAT_ROW_MACS) rowMacs = true;
    }
    const entry = { current, keys, rowMacs };
    this.cache.set(workspaceId, entry);
    return entry;
  }
}
