/**
 * Walks an audit chain from its first entry to its head and reports the first entry that was
 * altered, removed or moved. Reads in pages, so a long chain never sits in memory.
 *
 * Each entry and the head are checked with the audit key version they name. Versions only go
 * up along a chain, and a rotation retires the older version once every chain has moved on
 * (server-key-rotation.service.ts). So an attacker who holds a retired key (an old master key
 * and an old copy of the database) and rewrites history with it is caught either way:
 * - the rewritten end of the chain is sealed with the retired key: a head of a retired key;
 * - or an honest node appends after it with the current key: the chain then moves from the
 *   retired key to the current one at an entry whose time (MACed by the current key, which
 *   the attacker lacks) is after the retirement, when no honest writer still moves a chain.
 *
 * A workspace's chain must exist and start with its creation (`workspace.create` at #1): a
 * chain deleted whole, and one started again by the next request after that, are both caught.
 */
import { timingSafeEqual } from 'node:crypto';
import type { AuditKeyring } from '../../crypto/audit-mac.js';
import type { AuditHead, AuditRecord, Store } from '../../store/types.js';

export interface ChainReport {
  workspaceId: string;
  /** Entries checked (up to the first problem). */
  entries: number;
  head: AuditHead | undefined;
  /** The first problem found; absent when the chain is intact. */
  problem?: { seq: number; message: string };
}

export interface VerifyOptions {
  /** The chain is a workspace's: it must exist and begin with the workspace's creation. */
  workspace?: boolean;
  /** Unix ms, for the retirement of audit keys. */
  now?: number;
}

const PAGE = 1000;

const same = (a: Buffer, b: Buffer): boolean => a.length === b.length && timingSafeEqual(a, b);
const iso = (ms: number): string => new Date(ms).toISOString();

type Keys = Pick<AuditKeyring, 'genesis' | 'has' | 'retiredAt' | 'entryMac' | 'headMac'>;

/** The first problem of one entry, given the entry before it; undefined when it is sound. */
function entryProblem(keys: Keys, entry: AuditRecord, before: AuditRecord | undefined): string | undefined {
  const { prevMac, mac, ...fields } = entry;
  if (!keys.has(entry.macKey)) {
    return `entry #${entry.seq} names audit key ${entry.macKey}, which this database does not hold: it was altered`;
  }
  if (!same(keys.entryMac(prevMac, fields), mac)) {
    return `entry #${entry.seq} was altered: its MAC does not match its contents`;
  }
  if (!before || before.macKey === entry.macKey) return undefined;
  if (entry.macKey < before.macKey) {
    return (
      `entry #${entry.seq} is sealed with audit key ${entry.macKey}, after entries of key ${before.macKey}: ` +
      'it was written with a retired key'
    );
  }
  const retired = keys.retiredAt(before.macKey);
  if (retired !== null && retired !== undefined && entry.at >= retired) {
    return (
      `the chain moves from audit key ${before.macKey} to ${entry.macKey} at #${entry.seq}, after key ` +
      `${before.macKey} was retired (${iso(retired)}): the entries before it were rewritten with the retired key`
    );
  }
  return undefined;
}

export async function verifyChain(
  store: Pick<Store, 'listAudit' | 'auditHead'>,
  keys: Keys,
  workspaceId: string,
  options: VerifyOptions = {},
): Promise<ChainReport> {
  const now = options.now ?? Date.now();
  const head = await store.auditHead(workspaceId);
  let expected = 1;
  let prevMac: Buffer = keys.genesis;
  let last: AuditRecord | undefined;
  const report = (seq: number, message: string): ChainReport => ({
    workspaceId,
    entries: expected - 1,
    head,
    problem: { seq, message },
  });

  for (;;) {
    const page = await store.listAudit(workspaceId, { afterSeq: expected - 1, order: 'asc', limit: PAGE });
    for (const entry of page) {
      const problem = entryProblem(keys, entry, last);
      if (problem) return report(entry.seq, problem);
      if (entry.seq !== expected) {
        const gap = entry.seq - expected === 1 ? `#${expected} is` : `#${expected}-#${entry.seq - 1} are`;
        return report(
          expected,
          `entry ${gap} missing: the chain jumps from #${expected - 1} to #${entry.seq}`,
        );
      }
      if (!same(entry.prevMac, prevMac)) {
        return report(
          entry.seq,
          `entry #${entry.seq} does not follow entry #${entry.seq - 1}: an entry was replaced, removed or reordered`,
        );
      }
      if (options.workspace && entry.seq === 1 && entry.action !== 'workspace.create') {
        return report(
          1,
          `entry #1 is '${entry.action}', not the workspace's creation: the chain was deleted and started again`,
        );
      }
      prevMac = entry.mac;
      last = entry;
      expected += 1;
    }
    if (page.length < PAGE) break;
  }

  const lastSeq = last?.seq ?? 0;
  if (!head) {
    if (lastSeq > 0) {
      return report(lastSeq, `the chain's head record is missing (the chain has ${lastSeq} entries)`);
    }
    return options.workspace
      ? report(
          1,
          "the workspace has no audit entries: its chain was deleted (each begins with the workspace's creation)",
        )
      : { workspaceId, entries: 0, head };
  }
  if (!keys.has(head.macKey) || !same(keys.headMac(head), head.headMac)) {
    return report(head.seq, 'the head record was altered: its MAC does not match');
  }
  if (head.seq > lastSeq) {
    const cut = head.seq - lastSeq === 1 ? `#${head.seq} was` : `#${lastSeq + 1}-#${head.seq} were`;
    return report(lastSeq + 1, `entry ${cut} removed from the end of the chain`);
  }
  if (head.seq < lastSeq) {
    return report(
      head.seq,
      `the head record points at #${head.seq} but the chain goes on to #${lastSeq}: it was rolled back`,
    );
  }
  if (!same(head.mac, prevMac) || head.macKey !== last?.macKey) {
    return report(head.seq, `the head record does not match entry #${head.seq}`);
  }
  const retired = keys.retiredAt(head.macKey);
  if (retired !== null && retired !== undefined && retired <= now) {
    return report(
      head.seq,
      `the chain ends sealed with audit key ${head.macKey}, retired since ${iso(retired)}: it was rewritten ` +
        'with the retired key, or a node kept the old key after the rotation',
    );
  }
  return { workspaceId, entries: lastSeq, head };
}
