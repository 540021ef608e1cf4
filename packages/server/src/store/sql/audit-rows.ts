/**
 * The audit log in SQL, shared by the backends: columns, mapping, the statements and query
 * builders (only the placeholders differ), and the chaining of new entries onto a head.
 */
import type {
  AuditAppend,
  AuditEvent,
  AuditFilter,
  AuditHead,
  AuditRecord,
  AuditSealer,
} from '../audit-store.js';
import type { ServerKeyRow } from '../key-store.js';

export const AUDIT_COLUMNS =
  'workspace_id, seq, at, actor_type, actor_id, actor_role, action, secret_key, version, outcome, code, request_id, client_ip, user_agent, detail, mac_key, prev_mac, mac';

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
  mac_key: number;
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
    macKey: Number(r.mac_key),
    prevMac: r.prev_mac,
    mac: r.mac,
  };
}

export const AUDIT_COLUMN_COUNT = AUDIT_COLUMNS.split(',').length;

export const AUDIT_SQL = {
  head: 'SELECT seq, mac, mac_key, head_mac FROM audit_heads WHERE workspace_id = ?',
  chains: 'SELECT workspace_id FROM audit_heads UNION SELECT DISTINCT workspace_id FROM audit_log ORDER BY 1',
  chainsBelowKey: 'SELECT workspace_id FROM audit_heads WHERE seq > 0 AND mac_key < ? ORDER BY workspace_id',
} as const;

export interface AuditHeadRecord {
  seq: number;
  mac: Buffer;
  mac_key: number;
  head_mac: Buffer;
}

export function toAuditHead(workspaceId: string, r: AuditHeadRecord): AuditHead {
  return { workspaceId, seq: r.seq, mac: r.mac, macKey: Number(r.mac_key), headMac: r.head_mac };
}

/**
 * `INSERT` of `records`, their values pushed onto `values`; `p(n)` spells the n-th
 * placeholder of the whole statement (1-based).
 */
export function insertEntries(records: AuditRecord[], values: unknown[], p: (n: number) => string): string {
  const first = values.length;
  for (const record of records) values.push(...auditValues(record));
  return insertEntriesSql(records.length, (n) => p(first + n));
}

/** `INSERT` of `rows` entries (`AUDIT_COLUMNS` each, in order); `p(n)` as for `insertEntries`. */
export function insertEntriesSql(rows: number, p: (n: number) => string): string {
  const tuples = Array.from(
    { length: rows },
    (_, row) =>
      `(${Array.from({ length: AUDIT_COLUMN_COUNT }, (_, i) => p(row * AUDIT_COLUMN_COUNT + i + 1)).join(', ')})`,
  );
  return `INSERT INTO audit_log (${AUDIT_COLUMNS}) VALUES ${tuples.join(', ')}`;
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
    r.macKey,
    r.prevMac,
    r.mac,
  ];
}

/** A record's MAC until it is computed. */
const NO_MAC = Buffer.alloc(0);

/**
 * Numbers and MACs `append`'s events after `head` (none: a new chain). Pure: the backend
 * reads the head and writes the result inside one transaction.
 */
export function chainEvents(
  append: AuditAppend,
  head: Pick<AuditHead, 'seq' | 'mac' | 'macKey'> | undefined,
): { records: AuditRecord[]; head: AuditHead } {
  const { workspaceId, sealer } = append;
  const macKey = sealer.writeKey(head?.macKey);
  let seq = head?.seq ?? 0;
  let prevMac = head?.mac ?? sealer.genesis;
  const records: AuditRecord[] = [];
  for (const event of append.events) {
    seq += 1;
    // One literal of a fixed shape: spreading the event into a new object costs V8 a
    // property definition at a time.
    const record: AuditRecord = {
      workspaceId,
      seq,
      at: event.at,
      actorType: event.actorType,
      actorId: event.actorId,
      actorRole: event.actorRole,
      action: event.action,
      secretKey: event.secretKey,
      version: event.version,
      outcome: event.outcome,
      code: event.code,
      requestId: event.requestId,
      clientIp: event.clientIp,
      userAgent: event.userAgent,
      detail: event.detail,
      macKey,
      prevMac,
      mac: NO_MAC,
    };
    record.mac = sealer.entryMac(prevMac, record);
    records.push(record);
    prevMac = record.mac;
  }
  const end = { workspaceId, seq, mac: prevMac, macKey };
  return { records, head: { workspaceId, seq, mac: prevMac, macKey, headMac: sealer.headMac(end) } };
}

/**
 * The audit key version the store must read for `sealer` before chaining after `head`:
 * the head's, when this process does not hold it yet (another process rotated the key).
 */
export function missingHeadKey(
  sealer: AuditSealer,
  head: Pick<AuditHead, 'macKey'> | undefined,
): number | undefined {
  return head && !sealer.has(head.macKey) ? head.macKey : undefined;
}

/** Hands the row a store read for `missingHeadKey` to the sealer. */
export function adoptHeadKey(sealer: AuditSealer, version: number, row: ServerKeyRow | undefined): void {
  if (!row) {
    throw new Error(
      `a chain's head names audit key version ${version}, which this database does not hold: the head was altered`,
    );
  }
  sealer.adopt(row);
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
