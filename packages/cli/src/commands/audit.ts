/**
 * `ductape audit list`: the workspace's audit log through the API, for admins and owners (the
 * server records each read of the log too). Operators who hold the store use
 * `ductape-server audit verify|list|export` instead, which need no account.
 */
import { InvalidArgumentError, Option, type Command } from 'commander';
import { AUDIT_ACTIONS, type AuditEntry, type AuditQuery } from '@ductape/sdk';
import { connectFor, CREDENTIALS_HELP } from '../connect.js';
import { info, printJson, printTable } from '../output.js';
import { printable } from './secrets-view.js';

interface ListOptions {
  since?: string;
  until?: string;
  key?: string;
  actor?: string;
  action?: AuditQuery['action'];
  limit?: number;
  cursor?: string;
  json?: boolean;
}

function pageSize(raw: string): number {
  if (!/^\d{1,4}$/.test(raw) || Number(raw) < 1 || Number(raw) > 1000) {
    throw new InvalidArgumentError('must be a whole number from 1 to 1000');
  }
  return Number(raw);
}

function isoTime(raw: string): string {
  if (Number.isNaN(Date.parse(raw)))
    throw new InvalidArgumentError('must be a time (ISO 8601), e.g. 2026-11-28T09:00:00Z');
  return raw;
}

const actorText = (e: AuditEntry): string => `${e.actor.type}:${e.actor.id ?? '-'}`;

export function registerAuditCommands(program: Command): void {
  const audit = program
    .command('audit')
    .description("Read the workspace's audit log (admins and owners)")
    .option('--url <url>', 'the server URL (see below)')
    .enablePositionalOptions(false)
    .configureHelp({ showGlobalOptions: true });

  audit
    .command('list')
    .description('One page of audit entries, newest first; --cursor fetches the next, older page')
    .option('--since <time>', 'entries at or after this time (ISO 8601)', isoTime)
    .option('--until <time>', 'entries before this time (ISO 8601)', isoTime)
    .option('--key <key>', 'only entries about this secret')
    .option('--actor <id>', 'only entries by this user or token id')
    .addOption(new Option('--action <action>', 'only entries of this action').choices(AUDIT_ACTIONS))
    .option('--limit <n>', 'at most this many entries (1-1000)', pageSize, 100)
    .option('--cursor <cursor>', 'the next_cursor of the previous page')
    .option('--json', 'print {entries, next_cursor} as JSON')
    .addHelpText(
      'after',
      `
Examples:
  ductape audit list --key STRIPE_API_KEY --action secret.read
  ductape audit list --since 2026-11-01T00:00:00Z --limit 1000 --json
${CREDENTIALS_HELP}`,
    )
    .action(async (options: ListOptions, command: Command) => {
      const { json, ...query } = options;
      const page = await connectFor(command).client.audit.list(query);
      if (json === true) {
        printJson(page);
        return;
      }
      if (page.entries.length === 0) process.stdout.write('No audit entries match.\n');
      else
        printTable(
          ['SEQ', 'AT', 'ACTOR', 'ACTION', 'KEY', 'VERSION', 'OUTCOME'],
          page.entries.map((e) => [
            String(e.seq),
            e.at,
            actorText(e),
            e.action,
            e.key === null ? '-' : printable(e.key),
            e.version === null ? '-' : String(e.version),
            e.code === null ? e.outcome : `${e.outcome} ${e.code}`,
          ]),
        );
      if (page.next_cursor !== null)
        info(`more: ductape audit list --cursor ${page.next_cursor} (same filters)`);
    });
}
