#!/usr/bin/env node
/**
 * `ductape-server`: the server and its operator commands. These act on the store directly,
 * with the server's environment (DUCTAPE_DATA_DIR, DUCTAPE_MASTER_KEY, DATABASE_URL...), like
 * a database's admin tool. People and programs use `ductape` (package @ductape/cli) instead,
 * which talks to a running server through the API.
 *
 * This is the one place where operator errors become exit codes: 0 success, 1 a failed
 * operation, 2 bad usage or configuration.
 */
import { Command, CommanderError } from 'commander';
import { ConfigError } from '../config.js';
import { AppError } from '../errors.js';
import { CliError, ExitWith } from './output.js';

type Register = (program: Command) => void;

/** Every command group, in --help order; each module loads only when its group is needed. */
const GROUPS: (() => Promise<Register>)[] = [
  () => import('./commands/workspace.js').then((m) => m.registerWorkspaceCommands),
  () => import('./commands/users.js').then((m) => m.registerUserCommands),
  () => import('./commands/migrate.js').then((m) => m.registerMigrateCommand),
  () => import('./commands/audit.js').then((m) => m.registerAuditCommands),
  () => import('./commands/keys.js').then((m) => m.registerKeysCommands),
  () => import('./commands/integrity.js').then((m) => m.registerIntegrityCommands),
];

async function buildProgram(): Promise<Command> {
  const program = new Command('ductape-server')
    .description(
      'The Ductape server and its operator commands (they act on the store directly, with the ' +
        "server's environment). People and programs use `ductape` instead.",
    )
    .version('0.1.0')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();

  program
    .command('serve')
    .description('Start the server (PORT, HOST, DUCTAPE_DATA_DIR, DUCTAPE_MASTER_KEY from the environment)')
    .action(async () => {
      const { runServerProcess } = await import('../main.js');
      await runServerProcess();
    });

  for (const register of await Promise.all(GROUPS.map((load) => load()))) register(program);
  return program;
}

function exitCodeOf(error: unknown): { code: number; message?: string } {
  if (error instanceof CommanderError) return { code: error.exitCode === 0 ? 0 : 2 };
  if (error instanceof ExitWith) return { code: error.exitCode };
  if (error instanceof CliError) return { code: error.exitCode, message: error.message };
  if (error instanceof ConfigError) return { code: 2, message: `bad configuration: ${error.message}` };
  if (error instanceof AppError) return { code: 1, message: error.message };
  const named = error as { message?: string };
  return { code: 1, message: named?.message ?? String(error) };
}

export async function run(argv: string[]): Promise<number> {
  try {
    await (await buildProgram()).parseAsync(argv);
    return 0;
  } catch (error) {
    const { code, message } = exitCodeOf(error);
    if (message) process.stderr.write(`ductape-server: ${message}\n`);
    return code;
  }
}

// `ductape-server audit export | head` closes the pipe early: the reader's choice, not a crash.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

void run(process.argv).then((code) => {
  if (code !== 0) process.exitCode = code;
});
