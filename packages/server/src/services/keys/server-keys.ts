/**
 * Server keys: random keys the server itself uses (the access-token signing key, the audit
 * MAC key, any other), stored in `server_keys` wrapped by the master key and bound to their
 * name, version and retirement (crypto/envelope.ts). Any of them is opened here, by the
 * master key whose id its row records.
 *
 * A rotation (server-key-rotation.service.ts) adds the next version of a key and retires
 * older ones. A process holds a key's versions in a `ServerKeySet`, which reads them again:
 * - when what it holds is older than KEY_REFRESH_MS and a caller asks (`fresh`), so a new
 *   version or a retirement made by another node or an operator command is seen everywhere
 *   within about that time, without a restart. In the background: no request ever waits on
 *   it, so a database that stops answering does not hold requests twice as long;
 * - when a caller needs what was committed before it asked (`reload`): it waits for a read
 *   that started after it asked, so such a version is always found. Reads prompted by what a
 *   client sent (an unknown version in a token) are `spaced`: at most one per RELOAD_GAP_MS,
 *   shared by every caller waiting, however many unknown versions are presented.
 */
import { randomBytes, type KeyObject } from 'node:crypto';
import { toKeyObject, unwrapServerKey, wrapServerKey } from '../../crypto/envelope.js';
import { KeyMismatchError } from '../../crypto/keyring.js';
import type { MasterKey } from '../../crypto/key-provider.js';
import { asMasterKeys, missingMasterKeyMessage, type MasterKeys } from '../../crypto/master-keys.js';
import type { KeyStore } from '../../store/keys.js';
import type { ServerKeyRow, Store } from '../../store/types.js';

/** How old the server keys a process holds may grow before it reads them again. */
export const KEY_REFRESH_MS = 5000;
/** Reads prompted by unknown versions start at least this far apart. */
const RELOAD_GAP_MS = 1000;
const KEY_BYTES = 32;

/** The raw bytes of a server key row, opened by the master key it names; clear failures otherwise. */
export function openServerKey(masters: MasterKeys, row: ServerKeyRow): Buffer {
  const what = `its server key '${row.name}'${row.version === 1 ? '' : ` (version ${row.version})`}`;
  const kek = masters.findOrRefresh(row.kekId);
  if (!kek) throw new KeyMismatchError(missingMasterKeyMessage(what, row.kekId, masters.ids()));
  try {
    return unwrapServerKey(kek.key, row, row.wrapped);
  } catch {
    throw new KeyMismatchError(
      `the master key does not open this database's keys (id ${kek.id} matches but the data is damaged: ${what})`,
    );
  }
}

/** A new random version of a server key, wrapped by `kek`. */
export function newServerKeyRow(kek: MasterKey, name: string, version: number): ServerKeyRow {
  const raw = randomBytes(KEY_BYTES);
  try {
    const binding = { name, version, retiredAt: null };
    return { ...binding, kekId: kek.id, wrapped: wrapServerKey(kek.key, binding, raw) };
  } finally {
    raw.fill(0);
  }
}

/**
 * The raw bytes of the newest version of server key `name`, created (wrapped by the primary
 * master key) the very first time: for keys that are not rotated. A row wrapped by a master
 * key this server lacks is refused with a message naming both key ids and what to do.
 */
export async function loadServerKey(
  store: Pick<Store, 'getServerKey' | 'putServerKeyOnce'>,
  master: MasterKey | MasterKeys,
  name: string,
): Promise<Buffer> {
  const keys = asMasterKeys(master);
  const row =
    (await store.getServerKey(name)) ??
    (await store.putServerKeyOnce(newServerKeyRow(keys.primary, name, 1)));
  return openServerKey(keys, row);
}

/** One version of a server key, as a process holds it. */
export interface HeldServerKey {
  version: number;
  key: KeyObject;
  /** Unix ms from which this version is retired; null while it is in use. */
  retiredAt: number | null;
}

interface Held extends HeldServerKey {
  kekId: string;
  wrapped: Buffer;
}

export type ServerKeySource = Pick<KeyStore, 'serverKeyVersions' | 'addServerKeyVersion'>;

/** Every version of one server key, unwrapped, kept fresh (see the note at the top). */
export class ServerKeySet {
  private held = new Map<number, Held>();
  /** When the last completed read started. */
  private loadedAt = -Infinity;
  private lastStart = -Infinity;
  /** Reads started, and the number of the last one completed (one at a time, in order). */
  private started = 0;
  private completed = 0;
  private inflight: Promise<void> | undefined;

  private constructor(
    private readonly source: ServerKeySource,
    private readonly masters: MasterKeys,
    readonly name: string,
    private readonly clock: () => number,
  ) {}

  /** The versions of key `name`, creating version 1 (wrapped by the primary master key) when there is none. */
  static async open(
    source: ServerKeySource,
    masters: MasterKey | MasterKeys,
    name: string,
    clock: () => number = Date.now,
  ): Promise<ServerKeySet> {
    const set = new ServerKeySet(source, asMasterKeys(masters), name, clock);
    await set.reload();
    if (set.held.size === 0) {
      await set.add(1); // false: another process made it meanwhile
      await set.reload();
    }
    if (set.held.size === 0) throw new Error(`server key '${name}' could not be created`);
    return set;
  }

  get(version: number): HeldServerKey | undefined {
    return this.held.get(version);
  }

  /** The highest version held. */
  newest(): HeldServerKey {
    let newest: Held | undefined;
    for (const key of this.held.values()) if (!newest || key.version > newest.version) newest = key;
    if (!newest) throw new Error(`server key '${this.name}' has no version`);
    return newest;
  }

  /** The newest version not retired at `now`; undefined when every version is. */
  current(now = this.clock()): HeldServerKey | undefined {
    let current: Held | undefined;
    for (const key of this.held.values()) {
      const usable = key.retiredAt === null || key.retiredAt > now;
      if (usable && (!current || key.version > current.version)) current = key;
    }
    return current;
  }

  /** Takes in a version read by a store (an audit head names it): unwrapped here, at once. */
  adopt(row: ServerKeyRow): void {
    if (row.name !== this.name) throw new Error(`not a version of server key '${this.name}'`);
    this.keep(row);
  }

  /** Adds version `version`, random, wrapped by the primary master key; false when it exists already. */
  async add(version: number): Promise<boolean> {
    return this.source.addServerKeyVersion(newServerKeyRow(this.masters.primary, this.name, version));
  }

  /**
   * Starts a read of the versions when those held are older than KEY_REFRESH_MS, and returns
   * at once. A failed read keeps what is held (the next caller starts another, at most one
   * per RELOAD_GAP_MS).
   */
  fresh(): void {
    if (this.inflight || this.loadedAt >= this.clock() - KEY_REFRESH_MS) return;
    this.inflight = this.load(true);
    // The store is failing: whatever the caller does next will say so.
    this.inflight.catch(() => undefined);
  }

  /**
   * Resolves once a read of the versions that started after this call has completed.
   * `spaced`: the read starts no sooner than RELOAD_GAP_MS after the one before.
   */
  async reload(options: { spaced?: boolean } = {}): Promise<void> {
    const wanted = this.started + 1;
    // A read under way started before this call: the one after it is wanted.
    while (this.completed < wanted) {
      this.inflight ??= this.load(options.spaced === true);
      await this.inflight;
    }
  }

  private load(spaced: boolean): Promise<void> {
    return (async () => {
      const wait = spaced ? this.lastStart + RELOAD_GAP_MS - this.clock() : 0;
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      const number = ++this.started;
      const startedAt = (this.lastStart = this.clock());
      const rows = await this.source.serverKeyVersions(this.name);
      const next = new Map<number, Held>();
      for (const row of rows) next.set(row.version, this.unchanged(row) ?? this.unwrap(row));
      this.held = next;
      this.loadedAt = startedAt;
      this.completed = number;
    })().finally(() => (this.inflight = undefined));
  }

  private unchanged(row: ServerKeyRow): Held | undefined {
    const held = this.held.get(row.version);
    return held && held.kekId === row.kekId && held.wrapped.equals(row.wrapped) ? held : undefined;
  }

  private keep(row: ServerKeyRow): void {
    this.held.set(row.version, this.unchanged(row) ?? this.unwrap(row));
  }

  private unwrap(row: ServerKeyRow): Held {
    const raw = openServerKey(this.masters, row);
    try {
      // The key object copies the bytes, so the buffer can be wiped.
      const key = toKeyObject(raw);
      return { key, version: row.version, retiredAt: row.retiredAt, kekId: row.kekId, wrapped: row.wrapped };
    } finally {
      raw.fill(0);
    }
  }
}
