/**
 * The master keys one server holds: a primary key, which every new wrap uses, and any number
 * of unwrap-only keys (older keys during a rotation). Wrapped rows record the id of the key
 * that wrapped them (`kek_id`), so the right key is picked by id, never by trial.
 *
 * Invariants: the primary is always among the keys found by id; a key once held is never
 * forgotten by `refresh` (forgetting could only turn a working read into a failure).
 * Pure apart from the injected `reread`, which re-reads the key files of the data dir.
 */
import type { MasterKey } from './key-provider.js';

export interface MasterKeyRead {
  primary: MasterKey;
  unwrapOnly: readonly MasterKey[];
}

export class MasterKeys {
  private current: MasterKey;
  private readonly byId = new Map<string, MasterKey>();

  /**
   * @param reread where the keys came from, read again (the data dir's key files); absent
   *   when they came from the environment, which cannot change under a running process.
   * @param onChange told when `refresh` found keys it did not have (ids only).
   */
  constructor(
    primary: MasterKey,
    unwrapOnly: readonly MasterKey[] = [],
    private readonly reread?: () => MasterKeyRead,
    private readonly onChange?: (primaryId: string, addedIds: string[]) => void,
  ) {
    this.current = primary;
    for (const key of [primary, ...unwrapOnly]) this.byId.set(key.id, key);
  }

  /** The key new wraps use. */
  get primary(): MasterKey {
    return this.current;
  }

  /** Holds `key` too, unwrap-only (the target of a rotation, given to the command that runs it). */
  hold(key: MasterKey): void {
    if (!this.byId.has(key.id)) this.byId.set(key.id, key);
  }

  /** The key with this id, when this server holds it. */
  find(id: string): MasterKey | undefined {
    return this.byId.get(id);
  }

  /** Every id held, the primary first. */
  ids(): string[] {
    return [this.current.id, ...[...this.byId.keys()].filter((id) => id !== this.current.id)];
  }

  /**
   * Reads the key source again (only the data dir's files can change): the file's key becomes
   * the primary, and every key read is added. True when a key that was not held appeared.
   */
  refresh(): boolean {
    if (!this.reread) return false;
    const read = this.reread();
    const added: string[] = [];
    for (const key of [read.primary, ...read.unwrapOnly]) {
      if (!this.byId.has(key.id)) {
        this.byId.set(key.id, key);
        added.push(key.id);
      }
    }
    const moved = read.primary.id !== this.current.id;
    this.current = read.primary;
    if (added.length > 0 || moved) this.onChange?.(this.current.id, added);
    return added.length > 0;
  }

  /** Finds the key with this id, re-reading the key source once when it is not held. */
  findOrRefresh(id: string): MasterKey | undefined {
    return this.find(id) ?? (this.refresh() ? this.find(id) : undefined);
  }
}

/** One key set from a single key (tests, and callers that never rotate). */
export function asMasterKeys(keys: MasterKey | MasterKeys): MasterKeys {
  return keys instanceof MasterKeys ? keys : new MasterKeys(keys);
}

/**
 * The message for a row wrapped by a master key this server does not hold: both ids, and
 * what to do. Ids are public fingerprints; no key material is ever part of it.
 */
export function missingMasterKeyMessage(what: string, wrappedBy: string, held: readonly string[]): string {
  const [primary, ...others] = held;
  const extra = others.length > 0 ? ` (and unwrap-only ${others.join(', ')})` : '';
  return (
    `the master key does not match this database: ${what} is wrapped by master key ${wrappedBy}, ` +
    `but this server has master key ${primary ?? 'none'}${extra}. ` +
    'If the master key was rotated (ductape-server keys rotate-master), give this server the new key: ' +
    "set DUCTAPE_MASTER_KEY to it (or put it in the data dir's master.key) and restart; during a rotation " +
    'the old key may be given too, in DUCTAPE_MASTER_KEY_PREVIOUS. Otherwise set DUCTAPE_MASTER_KEY to the ' +
    'key this database was created with.'
  );
}
