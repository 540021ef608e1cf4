/**
 * `ductape-server audit verify|list|export`: operator commands that read the audit log straight from
 * the store (same environment as the server), so an auditor needs no account.
 */
import type { Command } from 'commander';
import type { Runtime } from '../../main.js';
import type { AuditFilter, AuditRecord } from '../../store/types.js';
import { withRuntime } from '../with-runtime.js';
import { CliError, ExitWith, printTable } from '../output.js';

interface FilterOptions {
  workspace?: string;
  since?: string;
  until?: string;
  key?: string;
  actor?: string;
  action?: string;
}

function timeOption(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const at = Date.parse(text);
  if (Number.isNaN(at)) throw new CliError(`${name} must be a time (ISO 8601), e.g. 2026-11-28T09:00:00Z`, 2);
  return at;
}

function filterOf(options: FilterOptions): Omit<AuditFilter, 'order' | 'limit'> {
  return {
    since: timeOption('--since', options.since),
    until: timeOption('--until', options.until),
    key: options.key,
    actor: options.actor,
    action: options.action,
  };
}

/** The chains to act on: the one asked for (which must exist), or every one. */
async function chainsOf(rt: Runtime, workspace: string | undefined): Promise<string[]> {
  const chains = await rt.store.auditChains();
  if (workspace === undefined) return chains;
  if (!chains.includes(workspace) && !(await rt.store.getWorkspace(workspace))) {
    throw new CliError(`workspace '${workspace}' does not exist and has no audit log`, 1);
  }
  return [workspace];
}

/**
 * What `audit verify` walks: every workspace, each of which must have a chain from its
 * creation (a chain deleted whole is a finding, not an absence), and every other chain found
 * (the `system` chain, chains of workspaces that are gone).
 */
async function chainsToVerify(
  rt: Runtime,
  workspace: string | undefined,
): Promise<{ id: string; workspace: boolean }[]> {
  if (workspace !== undefined) {
    const exists = (await rt.store.getWorkspace(workspace)) !== undefined;
    if (!exists && !(await rt.store.auditChains()).includes(workspace)) {
      throw new CliError(`workspace '${workspace}' does not exist and has no audit log`, 1);
    }
    return [{ id: workspace, workspace: exists }];
  }
  const workspaces = new Set<string>();
  for (let after: string | undefined; ;) {
    const page = await rt.store.workspaceIds(after, 1000);
    for (const id of page) workspaces.add(id);
    if (page.length < 1000) break;
    after = page[page.length - 1];
  }
  const ids = new Set([...workspaces, ...(await rt.store.auditChains())]);
  return [...ids].sort().map((id) => ({ id, workspace: workspaces.has(id) }));
}

/** One entry as a JSON line: the wire fields plus the chain's MACs, for anchoring elsewhere. */
async function exportLine(record: AuditRecord): Promise<string> {
  const { presentAuditEntry } = await import('../../http/present.js');
  return JSON.stringify({
    ...presentAuditEntry(record),
    mac_key: record.macKey,
    prev_mac: record.prevMac.toString('hex'),
    mac: record.mac.toString('hex'),
  });
}

/** Writes to stdout and waits while its buffer is full, so a long export never piles up in memory. */
function writeOut(text: string): Promise<void> {
  return new Promise((resolve) => {
    if (process.stdout.write(text)) resolve();
    else process.stdout.once('drain', resolve);
  });
}

export function registerAuditCommands(program: Command): void {
  const audit = program
    .command('audit')
    .description('Read and verify the audit log (operator: acts on the store directly)');

  audit
    .command('verify')
    .description(
      "Walk each workspace's hash chain and report the first altered, removed or reordered entry, or a " +
        'workspace whose chain is missing; each entry is checked with the audit key version it names. ' +
        'Exits 1 when a chain is broken',
    )
    .option('--workspace <id>', 'only this workspace (default: every workspace and every chain)')
    .option('--json', 'print one report per chain as JSON')
    .action(async (options: { workspace?: string; json?: boolean }) => {
      const { verifyChain } = await import('../../services/audit/audit-verify.js');
      const reports = await withRuntime(async (rt) => {
        const out = [];
        for (const chain of await chainsToVerify(rt, options.workspace)) {
          out.push(await verifyChain(rt.store, rt.audit.sealer, chain.id, { workspace: chain.workspace }));
        }
        return out;
      });
      const broken = reports.filter((r) => r.problem);
      if (options.json === true) {
        process.stdout.write(
          JSON.stringify(
            reports.map((r) => ({
              workspace_id: r.workspaceId,
              entries: r.entries,
              intact: !r.problem,
              head_seq: r.head?.seq ?? 0,
              head_mac: r.head?.mac.toString('hex') ?? null,
              head_mac_key: r.head?.macKey ?? null,
              problem: r.problem ?? null,
            })),
            null,
            2,
          ) + '\n',
        );
      } else {
        if (reports.length === 0) process.stdout.write('No audit log yet.\n');
        for (const r of reports) {
          const head = r.head ? `head #${r.head.seq} ${r.head.mac.toString('hex').slice(0, 16)}` : 'no head';
          const verdict = r.problem
            ? `BROKEN: ${r.problem.message}`
            : `intact, ${r.entries} entries (${head})`;
          process.stdout.write(`${r.workspaceId}  ${verdict}\n`);
        }
      }
      if (broken.length > 0) throw new ExitWith(1);
    });

  audit
    .command('list')
    .description("A workspace's audit entries, newest first")
    .requiredOption('--workspace <id>', 'the workspace id (or "system" for sign-ins to unknown workspaces)')
    .option('--since <time>', 'entries at or after this time (ISO 8601)')
    .option('--until <time>', 'entries before this time (ISO 8601)')
    .option('--key <key>', 'only entries about this secret')
    .option('--actor <id>', 'only entries by this user or token id')
    .option('--action <action>', 'only entries of this action (e.g. secret.read)')
    .option('--limit <n>', 'at most this many entries', '100')
    .action(async (options: FilterOptions & { workspace: string; limit: string }) => {
      const limit = Number(options.limit);
      if (!Number.isInteger(limit) || limit < 1)
        throw new CliError('--limit must be a whole number from 1', 2);
      const records = await withRuntime(async (rt) => {
        await chainsOf(rt, options.workspace);
        return rt.store.listAudit(options.workspace, { ...filterOf(options), order: 'desc', limit });
      });
      printTable(
        ['SEQ', 'AT', 'ACTOR', 'ACTION', 'KEY', 'VERSION', 'OUTCOME'],
        records.map((r) => [
          String(r.seq),
          new Date(r.at).toISOString(),
          `${r.actorType}:${r.actorId ?? '-'}`,
          r.action,
          r.secretKey ?? '-',
          r.version === null ? '-' : String(r.version),
          r.code ? `${r.outcome} ${r.code}` : r.outcome,
        ]),
      );
    });

  audit
    .command('export')
    .description(
      'Every matching entry as JSON lines, oldest first, with each chain link (mac_key, prev_mac, mac)',
    )
    .option('--workspace <id>', 'only this workspace (default: every chain)')
    .option('--since <time>', 'entries at or after this time (ISO 8601)')
    .option('--until <time>', 'entries before this time (ISO 8601)')
    .option('--key <key>', 'only entries about this secret')
    .option('--actor <id>', 'only entries by this user or token id')
    .option('--action <action>', 'only entries of this action')
    .action(async (options: FilterOptions) => {
      const filter = filterOf(options);
      await withRuntime(async (rt) => {
        for (const chain of await chainsOf(rt, options.workspace)) {
          let afterSeq = 0;
          for (;;) {
            const page = await rt.store.listAudit(chain, { ...filter, afterSeq, order: 'asc', limit: 1000 });
            const lines = await Promise.all(page.map(exportLine));
            if (lines.length > 0) await writeOut(lines.join('\n') + '\n');
            const last = page[page.length - 1];
            if (!last || page.length < 1000) break;
            afterSeq = last.seq;
          }
        }
      });
    });
}
