/**
 * `ductape-server keys`: master key and data key rotation (operator commands: they act on the store
 * directly, with the server's environment, while the servers keep serving). Key material is
 * never printed: only key ids, which are public fingerprints. The work is in keys-actions.ts,
 * loaded only when one of these commands runs.
 */
import { InvalidArgumentError, type Command } from 'commander';
import type { ReencryptCliOptions } from './keys-actions.js';
import type { RotateMasterOptions } from './keys-master.js';

const actions = () => import('./keys-actions.js');

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
    .description('Rotate master keys and workspace data keys (operator: acts on the store directly, online)');

  keys
    .command('rotate-master')
    .description(
      'Re-wrap every workspace data key and server key under a new master key, while servers keep serving. ' +
        'Resumable: run it again after an interruption. See "Key rotation" in the README for the rollout',
    )
    .option(
      '--new-key-file <file>',
      'file holding the new master key (base64 of 32 bytes); or DUCTAPE_NEW_MASTER_KEY',
    )
    .option('--batch-size <n>', 'keys read per query', count('--batch-size', 10_000), 100)
    .option('--limit <n>', 're-wrap at most n keys, then stop (run again to go on)', count('--limit', 1e9))
    .option('--json', 'print the result as JSON')
    .action(async (options: RotateMasterOptions) => (await actions()).rotateMasterCommand(options));

  keys
    .command('rotate-workspace')
    .description(
      'Add a new data key version to a workspace: every node seals new writes with it at once; old values still open. ' +
        'With --reencrypt, also re-encrypt every stored value (history included) under it, online',
    )
    .requiredOption('--workspace <id>', 'the workspace id')
    .option('--reencrypt', 're-encrypt every value under the new data key')
    .option('--batch-size <n>', 'values per batch (one transaction each)', count('--batch-size', 10_000), 100)
    .option(
      '--limit <n>',
      're-encrypt at most n values, then stop (go on with `keys reencrypt`)',
      count('--limit', 1e9),
    )
    .option('--json', 'print the result as JSON')
    .action(async (options: ReencryptCliOptions & { reencrypt?: boolean }) =>
      (await actions()).rotateWorkspaceCommand(options),
    );

  keys
    .command('reencrypt')
    .description(
      "Re-encrypt a workspace's values still under an older data key version with the newest one, online; " +
        'resumes an interrupted `rotate-workspace --reencrypt`',
    )
    .requiredOption('--workspace <id>', 'the workspace id')
    .option('--batch-size <n>', 'values per batch (one transaction each)', count('--batch-size', 10_000), 100)
    .option(
      '--limit <n>',
      're-encrypt at most n values, then stop (run again to go on)',
      count('--limit', 1e9),
    )
    .option('--json', 'print the result as JSON')
    .action(async (options: ReencryptCliOptions) => (await actions()).reencryptCommand(options));

  keys
    .command('status')
    .description(
      'Show which master keys wrap the stored keys (check before retiring an old one) and, with --workspace, ' +
        'which data key versions its values use',
    )
    .option('--workspace <id>', 'also show this workspace’s data key versions')
    .option('--json', 'print the status as JSON')
    .action(async (options: { workspace?: string; json?: boolean }) =>
      (await actions()).statusCommand(options),
    );
}
