/**
 * The audit log's rows, shared by the SQL backends: columns, mapping, the filter query, and
 * the chaining of new entries onto a head. Only the placeholders differ between backends.
 */
import type { AuditAppend, AuditEvent, AuditFilter, AuditHead, AuditRecord } from './types.js';

export const AUDIT_COLUMNS =
  'workspace_id, seq, at, actor_type, actor_id, actor_role, action, secret_key, version, outcome, code, request_id, client_ip, user_agent, detail, prev_mac, mac';

export interface AuditRow {
  workspace_id: string;
  seq: number;
  at: number;
  actor_type: string;
  actor_id: string | null;
  actor_role: string | null;
  action: string;
  secret_key: string | null;
  version: number | null;
  outcome: string;
  code: string | null;
  request_id: string | null;
  client_ip: string | null;
  user_agent: string | null;
  detail: string | null;
  prev_mac: Buffer;
  mac: Buffer;
}

export function toAuditRecord(r: AuditRow): AuditRecord {
  return {
    workspaceId: r.workspace_id,
    seq: r.seq,
    at: r.at,
    actorType: r.actor_type as AuditEvent['actorType'],
    actorId: r.actor_id,
    actorRole: r.actor_role,
    action: r.action,
    secretKey: r.secret_key,
    version: r.version,
    outcome: r.outcome as AuditEvent['outcome'],
    code: r.code,
    requestId: r.request_id,
    clientIp: r.client_ip,
    userAgent: r.user_agent,
    detail: r.detail,
    prevMac: r.prev_mac,
    mac: r.mac,
  };
}

/** The values of `AUDIT_COLUMNS`, in order. */
export function auditValues(r: AuditRecord): unknown[] {
  return [
    r.workspaceId,
    r.seq,
    r.at,
    r.actorType,
    r.actorId,
    r.actorRole,
    r.action,
    r.secretKey,
    r.version,
    r.outcome,
    r.code,
    r.requestId,
    r.clientIp,
    r.userAgent,
    r.detail,
    r.prevMac,
    r.mac,
  ];
}

/**
 * Numbers and MACs `append`'s events after `head` (none: a new chain). Pure: the backend
 * reads the head and writes the result inside one transaction.
 */
export function chainEvents(
  append: AuditAppend,
  head: Pick<AuditHead, 'seq' | 'mac'> | undefined,
): { records: AuditRecord[]; head: AuditHead } {
  const { workspaceId, sealer } = append;
  let seq = head?.seq ?? 0;
  let prevMac = head?.mac ?? sealer.genesis;
  const records: AuditRecord[] = [];
  for (const event of append.events) {
    seq += 1;
    const entry = { ...event, workspaceId, seq };
    const mac = sealer.entryMac(prevMac, entry);
    records.push({ ...entry, prevMac, mac });
    prevMac = mac;
  }
  return {
    records,
    head: { workspaceId, seq, mac: prevMac, headMac: sealer.headMac(workspaceId, seq, prevMac) },
  };
}

/** `SELECT` of one chain's entries matching `filter`; `p(n)` spells the n-th placeholder (1-based). */
export function auditQuery(
  workspaceId: string,
  filter: AuditFilter,
  p: (n: number) => string,
): { sql: string; values: unknown[] } {
  const values: unknown[] = [workspaceId];
  const where = [`workspace_id = ${p(1)}`];
  const add = (condition: (placeholder: string) => string, value: unknown): void => {
    values.push(value);
    where.push(condition(p(values.length)));
  };
  if (filter.since !== undefined) add((x) => `at >= ${x}`, filter.since);
  if (filter.until !== undefined) add((x) => `at < ${x}`, filter.until);
  if (filter.key !== undefined) add((x) => `secret_key = ${x}`, filter.key);
  if (filter.actor !== undefined) add((x) => `actor_id = ${x}`, filter.actor);
  if (filter.action !== undefined) add((x) => `action = ${x}`, filter.action);
  if (filter.beforeSeq !== undefined) add((x) => `seq < ${x}`, filter.beforeSeq);
  if (filter.afterSeq !== undefined) add((x) => `seq > ${x}`, filter.afterSeq);
  values.push(filter.limit);
  const order = filter.order === 'asc' ? 'ASC' : 'DESC';
  return {
    sql: `SELECT ${AUDIT_COLUMNS} FROM audit_log WHERE ${where.join(' AND ')} ORDER BY seq ${order} LIMIT ${p(values.length)}`,
    values,
  };
}
