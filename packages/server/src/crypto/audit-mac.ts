/**
 * The MACs of the audit log's hash chains. Pure: no I/O.
 *
 * The audit key K is a random server key kept in the database wrapped by the master key, so
 * whoever holds the database alone can neither forge nor re-chain entries, and a master key
 * rotation re-wraps K instead of breaking every old MAC. K has versions: a server key rotation
 * adds one, and every entry and head names the version v that MACs it (`mac_key`).
 *
 *   v = 1:  entry_mac = HMAC-SHA256(K1, "ductape/audit/v1" 0 || prev_mac || canonical(entry))
 *           head_mac  = HMAC-SHA256(K1, "ductape/audit-head/v1" 0 || workspace_id 0 seq 0 || mac)
 *   v >= 2: entry_mac = HMAC-SHA256(Kv, "ductape/audit/v2" 0 || prev_mac || canonical2(entry))
 *           head_mac  = HMAC-SHA256(Kv, "ductape/audit-head/v2" 0 || workspace_id 0 seq 0 v 0 || mac)
 *
 * The canonical form is a JSON array of every field in a fixed order, the workspace and seq
 * included (canonical2 starts with v), so an entry cannot be edited, renumbered, moved to
 * another chain or relabelled with another key unnoticed. Version 1 is the format written
 * before keys had versions, so older chains verify unchanged.
 *
 * Writing: entries after a head use the newest version this process holds, never one older
 * than the head's (a head sealed by a newer process is adopted, see AuditSealer), so versions
 * only go up along a chain. What verification makes of that is in services/audit/audit-verify.ts.
 */
import { createHmac, type KeyObject } from 'node:crypto';
import type { AuditHead, AuditRecord, AuditSealer, ServerKeyRow } from '../store/types.js';

/** The name of the audit MAC key among the server keys. */
export const AUDIT_KEY_NAME = 'audit-mac';

const GENESIS = Buffer.alloc(32);

/** One version of the audit key, as a process holds it. */
export interface AuditKeyVersion {
  version: number;
  key: KeyObject;
  /** Unix ms from which no chain may end with a head of this version; null while it is in use. */
  retiredAt: number | null;
}

/** Where a sealer finds the audit key's versions (services/keys/server-keys.ts, `ServerKeySet`). */
export interface AuditKeySource {
  get(version: number): AuditKeyVersion | undefined;
  /** The highest version held. */
  newest(): AuditKeyVersion;
  /** Unwraps a version read by a store (see AuditSealer.adopt). */
  adopt(row: ServerKeyRow): void;
}

type EntryFields = Omit<AuditRecord, 'prevMac' | 'mac'>;

function fields(e: EntryFields): unknown[] {
  return [
    e.workspaceId,
    e.seq,
    e.at,
    e.actorType,
    e.actorId,
    e.actorRole,
    e.action,
    e.secretKey,
    e.version,
    e.outcome,
    e.code,
    e.requestId,
    e.clientIp,
    e.userAgent,
    e.detail,
  ];
}

export function entryMac(key: KeyObject, prevMac: Buffer, entry: EntryFields): Buffer {
  const v1 = entry.macKey === 1;
  return createHmac('sha256', key)
    .update(v1 ? 'ductape/audit/v1\0' : 'ductape/audit/v2\0')
    .update(prevMac)
    .update(JSON.stringify(v1 ? fields(entry) : [entry.macKey, ...fields(entry)]), 'utf8')
    .digest();
}

export function headMac(key: KeyObject, head: Omit<AuditHead, 'headMac'>): Buffer {
  const prefix =
    head.macKey === 1
      ? `ductape/audit-head/v1\0${head.workspaceId}\0${head.seq}\0`
      : `ductape/audit-head/v2\0${head.workspaceId}\0${head.seq}\0${head.macKey}\0`;
  return createHmac('sha256', key).update(prefix, 'utf8').update(head.mac).digest();
}

/** The sealer of every chain, over the versions of the audit key a process holds. */
export class AuditKeyring implements AuditSealer {
  readonly genesis = GENESIS;
  readonly keyName = AUDIT_KEY_NAME;

  constructor(private readonly source: AuditKeySource) {}

  has(version: number): boolean {
    return this.source.get(version) !== undefined;
  }

  /** When version `version` retires (null: in use); undefined when it is not held. */
  retiredAt(version: number): number | null | undefined {
    return this.source.get(version)?.retiredAt;
  }

  adopt(row: ServerKeyRow): void {
    this.source.adopt(row);
  }

  writeKey(headKey: number | undefined): number {
    return Math.max(headKey ?? 0, this.source.newest().version);
  }

  entryMac(prevMac: Buffer, entry: EntryFields): Buffer {
    return entryMac(this.key(entry.macKey), prevMac, entry);
  }

  headMac(head: Omit<AuditHead, 'headMac'>): Buffer {
    return headMac(this.key(head.macKey), head);
  }

  private key(version: number): KeyObject {
    const held = this.source.get(version);
    if (!held) throw new Error(`audit key version ${version} is not held by this process`);
    return held.key;
  }
}

/** A sealer over one key as version 1 (stores' tests, and callers that never rotate). */
export function auditSealer(key: KeyObject): AuditKeyring {
  const only: AuditKeyVersion = { version: 1, key, retiredAt: null };
  return new AuditKeyring({
    get: (version) => (version === 1 ? only : undefined),
    newest: () => only,
    adopt: () => {
      throw new Error('this sealer holds one audit key only');
    },
  });
}
