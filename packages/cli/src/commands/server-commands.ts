/**
 * The operator commands (workspace and user creation, migrations, key rotation, audit
 * verification, serving) act on the store directly, so they belong to the server package's
 * `ductape-server`, not to this client. Typed here by habit, they answer with the one line a
 * person needs: the same command under its right name. Exit code 2, as for any usage error.
 */
import type { Command } from 'commander';
import { CliError } from '../output.js';

/** Top-level commands that only `ductape-server` has. */
const SERVER_COMMANDS = ['serve', 'migrate', 'workspace', 'user', 'keys'] as const;
/** `audit` subcommands that only `ductape-server` has (`audit list` exists in both). */
const SERVER_AUDIT_COMMANDS = ['verify', 'export'] as const;

/** An argument as a person would retype it in a POSIX shell. */
function shellWord(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", `'\\''`)}'`;
}

function refuse(argv: readonly string[]): never {
  const words = argv.map(shellWord).join(' ');
  throw new CliError(
    `'${argv.slice(0, 2).join(' ')}' is an operator command of the server: run \`npx ductape-server ${words}\` ` +
      "with the server's environment",
    2,
  );
}

function stub(parent: Command, name: string, argv: () => readonly string[]): void {
  parent
    .command(name, { hidden: true })
    .helpOption(false)
    .allowUnknownOption()
    .allowExcessArguments()
    .argument('[args...]')
    .action(() => refuse(argv()));
}

/** Registers the hints; `argv` is the command line after `ductape`. */
export function registerServerCommandHints(program: Command, argv: readonly string[]): void {
  for (const name of SERVER_COMMANDS) stub(program, name, () => argv);
  const audit = program.commands.find((c) => c.name() === 'audit');
  if (audit) for (const name of SERVER_AUDIT_COMMANDS) stub(audit, name, () => argv);
}
