/**
 * `ductape-server integrity check`: an operator command (it acts on the store directly, with the
 * server's environment) that finds every secret row altered behind the server's back: a
 * row whose MAC is missing or does not match its key, scope, environments, expiry, status
 * or version, and every current or recorded value that no longer opens. Values are
 * decrypted to check them and dropped: nothing secret is printed. Exits 1 when it finds any.
 */
import type { Command } from 'commander';
import { withRuntime } from '../with-runtime.js';
import { CliError, ExitWith, printJson, printTable } from '../output.js';

export function registerIntegrityCommands(program: Command): void {
  const integrity = program
    .command('integrity')
    .description(
      'Check stored secrets against their MACs and ciphertexts (operator: acts on the store directly)',
    );

  integrity
    .command('check')
    .description(
      "List every secret whose row was changed behind the server's back (key, scope, envs, expiry, " +
        'status or version: its MAC fails) or whose value or a recorded version no longer opens; exits 1 when any is found',
    )
    .option('--workspace <id>', 'only this workspace (default: every workspace)')
    .option('--json', 'print the result as JSON')
    .action(async (options: { workspace?: string; json?: boolean }) => {
      const { checkSecrets } = await import('../../services/secrets/secret-integrity.js');
      const result = await withRuntime(async (rt) => {
        if (options.workspace !== undefined && !(await rt.store.getWorkspace(options.workspace))) {
          throw new CliError(`workspace '${options.workspace}' does not exist`, 1);
        }
        return checkSecrets(
          rt.store,
          rt.keyring,
          options.workspace === undefined ? {} : { workspaceId: options.workspace },
        );
      });
      if (options.json === true) {
        printJson({
          intact: result.findings.length === 0,
          secrets: result.rows,
          recorded_versions: result.recordedVersions,
          findings: result.findings.map((f) => ({
            workspace_id: f.workspaceId,
            key: f.key,
            secret_id: f.secretId,
            version: f.version,
            problem: f.problem,
          })),
        });
      } else {
        process.stdout.write(
          `Checked ${result.rows} secrets and ${result.recordedVersions} recorded versions.\n`,
        );
        if (result.findings.length === 0) process.stdout.write('Every one passed its integrity checks.\n');
        else {
          printTable(
            ['WORKSPACE', 'KEY', 'SECRET ID', 'VERSION', 'PROBLEM'],
            result.findings.map((f) => [
              f.workspaceId,
              f.key ?? '-',
              f.secretId ?? '-',
              f.version === null ? '-' : String(f.version),
              f.problem,
            ]),
          );
        }
      }
      if (result.findings.length > 0) throw new ExitWith(1);
    });
}
