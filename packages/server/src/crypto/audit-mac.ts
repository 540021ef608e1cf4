/**
 * The MACs of the audit log's hash chains. Pure: no I/O.
 *
 *   entry_mac = HMAC-SHA256(K, "ductape/audit/v1" 0 || prev_mac || canonical(entry))
 *   head_mac  = HMAC-SHA256(K, "ductape/audit-head/v1" 0 || workspace_id 0 seq 0 || mac)
 *
 * K is a random server key kept in the database wrapped by the master key (like the token
 * signing key), so whoever holds the database alone can neither forge nor re-chain entries,
 * and a master key rotation re-wraps K instead of breaking every old MAC. The canonical
 * form is a JSON array of every field in a fixed order, the workspace and seq included, so
 * an entry cannot be edited, renumbered or moved to another chain unnoticed.
 */
import { createHmac, type KeyObject } from 'node:crypto';
import type { AuditRecord, AuditSealer } from '../store/types.js';

/** The name of the audit MAC key among the server keys. */
export const AUDIT_KEY_NAME = 'audit-mac';

const GENESIS = Buffer.alloc(32);

function canonical(e: Omit<AuditRecord, 'prevMac' | 'mac'>): string {
  return JSON.stringify([
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
  ]);
}

export function auditSealer(key: KeyObject): AuditSealer {
  return {
    genesis: GENESIS,
    entryMac: (prevMac, entry) =>
      createHmac('sha256', key)
        .update('ductape/audit/v1\0')
        .update(prevMac)
        .update(canonical(entry), 'utf8')
        .digest(),
    headMac: (workspaceId, seq, mac) =>
      createHmac('sha256', key)
        .update(`ductape/audit-head/v1\0${workspaceId}\0${seq}\0`, 'utf8')
        .update(mac)
        .digest(),
  };
}
