/**
 * The user and service token rows that authentication reads on every request, cached in
 * memory so a request need not ask the store for them, and never trusted past a change:
 *
 * - a change made through this process's store (role, removal, key rotation, revoke) drops
 *   its entry before the change is acknowledged;
 * - the store tells of everyone else's changes (Store.watchPrincipals): on PostgreSQL a
 *   LISTEN connection per node hears every node's NOTIFY; on SQLite another process's commit
 *   (an operator command) is noticed by the next authentication and empties the cache;
 * - while the store cannot vouch for that (a PostgreSQL listener that is not connected), the
 *   cache is bypassed: every authentication asks the store, as without a cache;
 * - a row read from the store is kept only when no change was announced while it was being
 *   read, so a read that raced a change never caches the old row;
 * - as defence in depth, an entry is used for `maxAgeMs` at most, and at most `maxEntries`
 *   rows are kept (least recently used dropped first).
 *
 * Only rows that exist are cached: an unknown id always goes to the store.
 */
import type {
  PrincipalFeed,
  PrincipalKind,
  PrincipalStore,
  ServiceTokenRow,
  UserRow,
} from '../../store/identity-store.js';
import type { PrincipalCacheMetrics } from '../../metrics/events.js';

export interface PrincipalCacheOptions {
  /** How long an entry may be used, in milliseconds (default 5000). */
  maxAgeMs?: number;
  /** Rows kept at most, users and tokens each (default 10000). */
  maxEntries?: number;
  /** Milliseconds, for the entries' age. */
  now?: () => number;
  /** Counts hits, misses and bypasses (when metrics are on). */
  metrics?: PrincipalCacheMetrics;
}

export const DEFAULT_PRINCIPAL_MAX_AGE_MS = 5000;
export const DEFAULT_PRINCIPAL_MAX_ENTRIES = 10_000;

interface Entry<T> {
  row: T;
  /** When the read that produced it started. */
  readAt: number;
}

/** What authentication reads: the store's own lookups, or the cache in front of them. */
export type PrincipalSource = Pick<PrincipalStore, 'getUser' | 'getServiceToken'>;

export class PrincipalCache implements PrincipalSource {
  private readonly users = new Map<string, Entry<UserRow>>();
  private readonly tokens = new Map<string, Entry<ServiceTokenRow>>();
  /** Moves on every change announced and every reset: reads that saw it move cache nothing. */
  private generation = 0;
  private readonly feed: PrincipalFeed;
  private readonly maxAgeMs: number;
  private readonly maxEntries: number;
  private readonly now: () => number;
  private readonly metrics: PrincipalCacheMetrics | undefined;

  constructor(
    private readonly store: PrincipalStore,
    options: PrincipalCacheOptions = {},
  ) {
    this.maxAgeMs = options.maxAgeMs ?? DEFAULT_PRINCIPAL_MAX_AGE_MS;
    this.maxEntries = Math.max(1, options.maxEntries ?? DEFAULT_PRINCIPAL_MAX_ENTRIES);
    this.now = options.now ?? Date.now;
    this.metrics = options.metrics;
    this.feed = store.watchPrincipals({
      changed: (kind, id) => this.forget(kind, id),
      reset: () => this.clear(),
    });
  }

  getUser(id: string): Promise<UserRow | undefined> {
    return this.read('user', this.users, id, () => this.store.getUser(id));
  }

  getServiceToken(id: string): Promise<ServiceTokenRow | undefined> {
    return this.read('token', this.tokens, id, () => this.store.getServiceToken(id));
  }

  /** Entries held now (users + tokens), for tests. */
  get size(): number {
    return this.users.size + this.tokens.size;
  }

  /** Stops listening; the store's own close stops it too. */
  close(): Promise<void> {
    this.clear();
    return this.feed.stop();
  }

  private async read<T>(
    kind: PrincipalKind,
    entries: Map<string, Entry<T>>,
    id: string,
    load: () => Promise<T | undefined>,
  ): Promise<T | undefined> {
    if (!this.feed.fresh()) {
      this.metrics?.principalLookup(kind, 'bypass');
      return load();
    }
    const now = this.now();
    const entry = entries.get(id);
    if (entry !== undefined) {
      entries.delete(id);
      if (now - entry.readAt < this.maxAgeMs && now >= entry.readAt) {
        entries.set(id, entry); // most recently used last
        this.metrics?.principalLookup(kind, 'hit');
        return entry.row;
      }
    }
    this.metrics?.principalLookup(kind, 'miss');
    const generation = this.generation;
    const row = await load();
    if (row !== undefined && generation === this.generation) {
      entries.set(id, { row, readAt: now });
      if (entries.size > this.maxEntries) {
        const oldest = entries.keys().next();
        if (!oldest.done) entries.delete(oldest.value);
      }
    }
    return row;
  }

  private forget(kind: PrincipalKind, id: string): void {
    this.generation++;
    (kind === 'user' ? this.users : this.tokens).delete(id);
  }

  private clear(): void {
    this.generation++;
    this.users.clear();
    this.tokens.clear();
  }
}
