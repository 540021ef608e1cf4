/**
 * `ductape-server keys`: master key, server key and data key rotation (operator commands: they
 * act on the store directly, with the server's environment, while the servers keep serving).
 * Key material is never printed: only key ids, which are public fingerprints. The work is in
 * keys-actions.ts and keys-server.ts, loaded only when one of these commands runs.
 */
import { InvalidArgumentError, type Command } from 'commander';
import type { WorkspaceChoice } from './keys-actions.js';
import type { RotateMasterOptions } from './keys-master.js';
import type { ServerKeyOptions } from './keys-server.js';
import { CliError } from '../output.js';

const actions = () => import('./keys-actions.js');

/** Exactly one of --workspace ID and --all. */
function oneWorkspaceChoice(options: WorkspaceChoice): void {
  if ((options.workspace === undefined) === (options.all !== true)) {
    throw new CliError('give either --workspace <id> or --all (every workspace), not both nor neither', 2);
  }
}

const RETIRE_NOW =
  'refuse tokens signed by the older signing keys at once, not after the token lifetime ' +
  '(every session ends; clients sign in again, the SDK by itself)';

function count(name: string, max: number) {
  return (raw: string): number => {
    if (!/^\d+$/.test(raw) || Number(raw) < 1 || Number(raw) > max) {
      throw new InvalidArgumentError(`${name} must be a whole number from 1 to ${max}`);
    }
    return Number(raw);
  };
}

export function registerKeysCommands(program: Command): void {
  const keys = program
    .command('keys')
    .description(
      'Rotate the master key, the server keys and workspace data keys (operator: acts on the store directly, online)',
    );

  keys
    .command('rotate-master')
    .description(
      'Re-wrap every workspace data key and server key under a new master key, while servers keep serving; ' +
        'the token signing key and the audit key also get a new version, wrapped by the new master key alone ' +
        '(as `keys rotate-server`). Resumable: run it again after an interruption. See docs/key-rotation.md',
    )
    .option(
      '--new-key-file <file>',
      'file holding the new master key (base64 of 32 bytes); or DUCTAPE_NEW_MASTER_KEY',
    )
    .option('--batch-size <n>', 'keys read per query', count('--batch-size', 10_000), 100)
    .option('--limit <n>', 're-wrap at most n keys, then stop (run again to go on)', count('--limit', 1e9))
    .option(
      '--no-server-keys',
      'keep the versions of the token signing key and the audit key (only re-wrap them)',
    )
    .option('--retire-now', RETIRE_NOW)
    .option('--json', 'print the result as JSON')
    .action(async (options: RotateMasterOptions) => (await actions()).rotateMasterCommand(options));

  keys
    .command('rotate-server')
    .description(
      'Give the access-token signing key and the audit key a new version, on every node without a restart. ' +
        'Tokens of the older signing keys are refused once the token lifetime (DUCTAPE_ACCESS_TOKEN_TTL) has ' +
        'passed; every audit chain goes on under the new audit key, and the older one is retired (takes ~7 s)',
    )
    .option('--retire-now', RETIRE_NOW)
    .option('--json', 'print the result as JSON')
    .action(async (options: ServerKeyOptions) =>
      (await import('./keys-server.js')).rotateServerCommand(options),
    );

  keys
    .command('rotate-workspace')
    .description(
      'Add a new data key version to a workspace: every node seals new writes with it at once; old values still open. ' +
        'With --reencrypt, also re-encrypt every stored value (history included) under it, online',
    )
    .option('--workspace <id>', 'the workspace id')
    .option('--all', 'every workspace, one after the other')
    .option('--reencrypt', 're-encrypt every value under the new data key')
    .option('--batch-size <n>', 'values per batch (one transaction each)', count('--batch-size', 10_000), 100)
    .option(
      '--limit <n>',
      're-encrypt at most n values, then stop (go on with `keys reencrypt`)',
      count('--limit', 1e9),
    )
    .option('--json', 'print the result as JSON')
    .action(async (options: WorkspaceChoice & { reencrypt?: boolean }) => {
      oneWorkspaceChoice(options);
      await (await actions()).rotateWorkspaceCommand(options);
    });

  keys
    .command('reencrypt')
    .description(
      "Re-encrypt a workspace's values still under an older data key version with the newest one, online; " +
        'resumes an interrupted `rotate-workspace --reencrypt`',
    )
    .option('--workspace <id>', 'the workspace id')
    .option('--all', 'every workspace, one after the other')
    .option('--batch-size <n>', 'values per batch (one transaction each)', count('--batch-size', 10_000), 100)
    .option(
      '--limit <n>',
      're-encrypt at most n values, then stop (run again to go on)',
      count('--limit', 1e9),
    )
    .option('--json', 'print the result as JSON')
    .action(async (options: WorkspaceChoice) => {
      oneWorkspaceChoice(options);
      await (await actions()).reencryptCommand(options);
    });

  keys
    .command('status')
    .description(
      'Show which master keys wrap the stored keys (check before retiring an old one), the versions of the ' +
        'server keys and, with --workspace, which data key versions its values use',
    )
    .option('--workspace <id>', 'also show this workspace’s data key versions')
    .option('--json', 'print the status as JSON')
    .action(async (options: { workspace?: string; json?: boolean }) =>
      (await actions()).statusCommand(options),
    );
}
