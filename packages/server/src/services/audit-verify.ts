/**
 * Walks an audit chain from its first entry to its head and reports the first entry that was
 * altered, removed or moved. Reads in pages, so a long chain never sits in memory.
 */
import { timingSafeEqual } from 'node:crypto';
import type { AuditHead, AuditRecord, AuditSealer, Store } from '../store/types.js';

export interface ChainReport {
  workspaceId: string;
  /** Entries checked (up to the first problem). */
  entries: number;
  head: AuditHead | undefined;
  /** The first problem found; absent when the chain is intact. */
  problem?: { seq: number; message: string };
}

const PAGE = 1000;

const same = (a: Buffer, b: Buffer): boolean => a.length === b.length && timingSafeEqual(a, b);

export async function verifyChain(
  store: Pick<Store, 'listAudit' | 'auditHead'>,
  sealer: AuditSealer,
  workspaceId: string,
): Promise<ChainReport> {
  const head = await store.auditHead(workspaceId);
  let expected = 1;
  let prevMac = sealer.genesis;
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
      const { prevMac: storedPrev, mac, ...fields } = entry;
      if (!same(sealer.entryMac(storedPrev, fields), mac)) {
        return report(entry.seq, `entry #${entry.seq} was altered: its MAC does not match its contents`);
      }
      if (entry.seq !== expected) {
        const gap = entry.seq - expected === 1 ? `#${expected} is` : `#${expected}-#${entry.seq - 1} are`;
        return report(
          expected,
          `entry ${gap} missing: the chain jumps from #${expected - 1} to #${entry.seq}`,
        );
      }
      if (!same(storedPrev, prevMac)) {
        return report(
          entry.seq,
          `entry #${entry.seq} does not follow entry #${entry.seq - 1}: an entry was replaced, removed or reordered`,
        );
      }
      prevMac = mac;
      last = entry;
      expected += 1;
    }
    if (page.length < PAGE) break;
  }

  const lastSeq = last?.seq ?? 0;
  if (!head) {
    return lastSeq === 0
      ? { workspaceId, entries: 0, head }
      : report(lastSeq, `the chain's head record is missing (the chain has ${lastSeq} entries)`);
  }
  if (!same(sealer.headMac(workspaceId, head.seq, head.mac), head.headMac)) {
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
  if (!same(head.mac, prevMac)) {
    return report(head.seq, `the head record does not match entry #${head.seq}`);
  }
  return { workspaceId, entries: lastSeq, head };
}
