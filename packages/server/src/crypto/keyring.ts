/**
 * The keyring: unwraps workspace data keys on first use and keeps them in memory, so a
 * fetch costs one AES-GCM open and no key derivation. Holds no I/O of its own: the store
 * hands it wrapped keys through `WrappedKeySource`.
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

export interface WrappedDataKey {
  workspaceId: string;
  version: number;
  kekId: string;
  wrapped: Buffer;
}

export interface WrappedKeySource {
  /** Every data key version of a workspace (wrapped), any order. */
  workspaceKeys(workspaceId: string): Promise<WrappedDataKey[]>;
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

  constructor(
    private readonly master: MasterKey,
    private readonly source: WrappedKeySource,
  ) {}

  get masterKeyId(): string {
    return this.master.id;
  }

  /** A fresh data key for a new workspace, wrapped; nothing is stored here. */
  newWorkspaceKey(workspaceId: string, version = 1): WrappedDataKey {
    const dek = randomBytes(KEY_BYTES);
    const wrapped = wrapDataKey(this.master.key, workspaceId, version, dek);
    this.cache.set(workspaceId, { current: version, keys: new Map([[version, toKeyObject(dek)]]) });
    dek.fill(0);
    return { workspaceId, version, kekId: this.master.id, wrapped };
  }

  /** Forgets cached keys (all, or one workspace's), e.g. after a rotation elsewhere. */
  forget(workspaceId?: string): void {
    if (workspaceId === undefined) this.cache.clear();
    else this.cache.delete(workspaceId);
  }

  async seal(binding: ValueBinding, value: string): Promise<Buffer> {
    const keys = await this.load(binding.workspaceId);
    const dek = keys.keys.get(keys.current) as KeyObject;
    return sealValue(dek, keys.current, binding, value);
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
      if (row.kekId !== this.master.id) {
        throw new KeyMismatchError(
          `the workspace's data key was wrapped by master key ${row.kekId}, but this server has master key ${this.master.id}`,
        );
      }
      let raw: Buffer;
      try {
        raw = unwrapDataKey(this.master.key, workspaceId, row.version, row.wrapped);
      } catch {
        throw new KeyMismatchError(
          `the workspace's data key version ${row.version} does not open with master key ${this.master.id}: it was altered, or belongs to another workspace`,
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
