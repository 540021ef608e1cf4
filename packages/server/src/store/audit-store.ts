/**
 * The audit log: `AuditStore`.
 *
 * Invariants every backend keeps:
 * - an audit entry given with a change is written in the change's own transaction: a
 *   change whose entry cannot be written does not happen;
 * - each workspace's entries form one chain, numbered from 1 without gaps, appended under a
 *   lock (or SQLite's single writer) so concurrent writers on any number of nodes never fork
 *   it; the head is MACed on its own, so a cut-off tail is noticed.
 */
import type { ServerKeyRow } from './key-store.js';

/** One audit event, before it is numbered and chained. Never holds a value or credential. */
export interface AuditEvent {
  /** unix milliseconds */
  at: number;
  actorType: 'user' | 'token' | 'operator' | 'anonymous';
  actorId: string | null;
  actorRole: string | null;
  action: string;
  secretKey: string | null;
  version: number | null;
  outcome: 'success' | 'refused' | 'failed';
  code: string | null;
  requestId: string | null;
  clientIp: string | null;
  userAgent: string | null;
  /** JSON text of small extra facts, as MACed. */
  detail: string | null;
}

/** An audit entry as stored: numbered within its workspace's chain and MACed. */
export interface AuditRecord extends AuditEvent {
  workspaceId: string;
  seq: number;
  /** The version of the audit key whose MAC this is (see crypto/audit-mac.ts). */
  macKey: number;
  /** The MAC of the entry before (the chain's genesis value for the first). */
  prevMac: Buffer;
  mac: Buffer;
}

/** The last entry of a chain, MACed on its own, so a cut-off tail is noticed. */
export interface AuditHead {
  workspaceId: string;
  seq: number;
  mac: Buffer;
  /** The version of the audit key whose MAC `headMac` is. */
  macKey: number;
  headMac: Buffer;
}

/**
 * Computes the MACs of a chain; the store calls it inside the transaction that appends. The
 * audit key has versions (a rotation adds one): each entry and head names the version that
 * MACs it, and a chain never goes back to an older version than its head's.
 */
export interface AuditSealer {
  /** The `prevMac` of a chain's first entry. */
  readonly genesis: Buffer;
  /** The server key whose versions MAC the chains. */
  readonly keyName: string;
  /** Whether this sealer holds version `version` of the audit key. */
  has(version: number): boolean;
  /**
   * Takes in a version of the audit key (`keyName`) that the store read because a chain's head
   * names it and the sealer lacks it (made by a newer process, before this one reloaded keys).
   */
  adopt(row: ServerKeyRow): void;
  /** The key version of entries appended after a head sealed with `headKey` (none: a new chain). */
  writeKey(headKey: number | undefined): number;
  /** The MAC of `entry` under the key version it names; throws for a version not held. */
  entryMac(prevMac: Buffer, entry: Omit<AuditRecord, 'prevMac' | 'mac'>): Buffer;
  /** The head's MAC under the key version it names; throws for a version not held. */
  headMac(head: Omit<AuditHead, 'headMac'>): Buffer;
}

/** Events to append to one workspace's chain. */
export interface AuditAppend {
  workspaceId: string;
  events: AuditEvent[];
  sealer: AuditSealer;
}

/** Which entries of a chain to read. Times are unix milliseconds. */
export interface AuditFilter {
  since?: number;
  until?: number;
  key?: string;
  actor?: string;
  action?: string;
  /** Only entries with seq below (newest-first paging) or above (oldest-first) this. */
  beforeSeq?: number;
  afterSeq?: number;
  order: 'asc' | 'desc';
  limit: number;
}

export interface AuditStore {
  /** Appends events to a workspace's audit chain, in one transaction of their own. */
  appendAudit(append: AuditAppend): Promise<void>;
  /** Entries of one chain, filtered, in seq order (`filter.order`). */
  listAudit(workspaceId: string, filter: AuditFilter): Promise<AuditRecord[]>;
  auditHead(workspaceId: string): Promise<AuditHead | undefined>;
  /** Every chain that has entries or a head, sorted. */
  auditChains(): Promise<string[]>;
  /** Chains whose head is sealed with an audit key version below `macKey`, sorted. */
  auditChainsBelowKey(macKey: number): Promise<string[]>;
}
