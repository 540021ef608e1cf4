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
 */
import { randomBytes, type KeyObject } from 'node:crypto';
import { OpenError } from './aead.js';
import {
  KEY_BYTES,
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

interface WorkspaceKeys {
  current: number;
  keys: Map<number, KeyObject>;
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
    const wrapped = wrapDataKey(master.key, workspaceId, version, dek);
    this.cache.set(workspaceId, { current: version, keys: new Map([[version, toKeyObject(dek)]]) });
    dek.fill(0);
    return { workspaceId, version, kekId: master.id, wrapped };
  }

  /**
   * A fresh data key to add to an existing workspace as `version`, wrapped by the primary
   * master key. Not cached: it counts only once the store holds it (see `forget`).
   */
  newDataKeyVersion(workspaceId: string, version: number): WrappedDataKey {
    const dek = randomBytes(KEY_BYTES);
    const master = this.masters.primary;
    const wrapped = wrapDataKey(master.key, workspaceId, version, dek);
    dek.fill(0);
    return { workspaceId, version, kekId: master.id, wrapped };
  }

  /** Forgets cached keys (all, or one workspace's), e.g. after a rotation elsewhere. */
  forget(workspaceId?: string): void {
    if (workspaceId === undefined) this.cache.clear();
    else this.cache.delete(workspaceId);
  }

  /**
   * Seals under the workspace's newest data key, as the source says now (or under
   * `dekVersion` when given: re-encryption picks its target once).
   */
  async seal(binding: ValueBinding, value: string, dekVersion?: number): Promise<Buffer> {
    const version = dekVersion ?? (await this.source.latestKeyVersion?.(binding.workspaceId));
    let keys = await this.load(binding.workspaceId);
    if (version !== undefined && !keys.keys.has(version)) {
      // Added since we cached (a rotation, maybe on another node): reload once.
      this.cache.delete(binding.workspaceId);
      keys = await this.load(binding.workspaceId);
    }
    const use = version ?? keys.current;
    const dek = keys.keys.get(use);
    if (!dek) throw new Error(`data key version ${use} of the workspace is missing`);
    return sealValue(dek, use, binding, value);
  }

  /** Opens a sealed value; throws `OpenError` when it was altered or moved. */
  async open(binding: ValueBinding, sealed: Buffer): Promise<string> {
    let version: number;
    try {
      version = sealedDataKeyVersion(sealed);
    } catch {
      throw new OpenError(); // shorter than its header, or an unknown format: altered
    }
    let keys = await this.load(binding.workspaceId);
    if (!keys.keys.has(version)) {
      // A data key newer than our cache (rotated on another node): reload once.
      this.cache.delete(binding.workspaceId);
      keys = await this.load(binding.workspaceId);
    }
    const dek = keys.keys.get(version);
    // A data key version the workspace never had: the header was altered.
    if (!dek) throw new OpenError();
    return openValue(dek, binding, sealed);
  }

  private async load(workspaceId: string): Promise<WorkspaceKeys> {
    const cached = this.cache.get(workspaceId);
    if (cached) return cached;
    const rows = await this.source.workspaceKeys(workspaceId);
    if (rows.length === 0) throw new Error('the workspace has no data key');
    const keys = new Map<number, KeyObject>();
    let current = 0;
    for (const row of rows) {
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
      let raw: Buffer;
      try {
        raw = unwrapDataKey(master.key, workspaceId, row.version, row.wrapped);
      } catch {
        throw new KeyMismatchError(
          `the workspace's data key version ${row.version} does not open with master key ${master.id}: it was altered, or belongs to another workspace`,
        );
      }
      keys.set(row.version, toKeyObject(raw));
      raw.fill(0);
      current = Math.max(current, row.version);
    }
    const entry = { current, keys };
    this.cache.set(workspaceId, entry);
    return entry;
  }
}
