#!/usr/bin/env node
/**
 * The `ductape` command line. This is the one place where errors become exit codes:
 * 0 success, 1 a failed operation (the server's message is printed), 2 bad usage or
 * configuration.
 */
import { Command, CommanderError } from 'commander';
import { ConfigError } from '../config.js';
import { AppError } from '../errors.js';
import { CliError, ExitWith } from './output.js';

type Register = (program: Command) => void;

/** Every command group, in --help order; each module loads only when its group is needed. */
const GROUPS: (() => Promise<Register>)[] = [
  () => import('./commands/login.js').then((m) => m.registerLoginCommands),
  () => import('./commands/secrets.js').then((m) => m.registerSecretsCommands),
  () => import('./commands/run.js').then((m) => m.registerRunCommand),
  () => import('./commands/usage.js').then((m) => m.registerUsageCommands),
  () => import('./commands/tokens.js').then((m) => m.registerTokenCommands),
  () => import('./operator.js').then((m) => m.registerOperatorCommands),
  () => import('./commands/audit.js').then((m) => m.registerAuditCommands),
  () => import('./commands/keys.js').then((m) => m.registerKeysCommands),
  () => import('./commands/integrity.js').then((m) => m.registerIntegrityCommands),
];

/**
 * `ductape run` starts before every process a deployment runs, so it loads only its own
 * module: the other commands' modules would add a fifth to its start-up time.
 */
async function buildProgram(argv: readonly string[]): Promise<Command> {
  const program = new Command('ductape')
    .description('Ductape: a self-hostable secrets manager')
    .version('0.1.0')
    .showHelpAfterError('(run with --help for usage)')
    // So `run` can pass everything after its command through; groups with their own options
    // (secrets, token) turn this off again so those options may follow their subcommands.
    .enablePositionalOptions()
    .exitOverride();

  program
    .command('serve')
    .description('Start the server (PORT, HOST, DUCTAPE_DATA_DIR, DUCTAPE_MASTER_KEY from the environment)')
    .action(async () => {
      const { runServerProcess } = await import('../serve.js');
      await runServerProcess();
    });

  const registers =
    argv[2] === 'run'
      ? [(await import('./commands/run.js')).registerRunCommand]
      : await Promise.all(GROUPS.map((load) => load()));
  for (const register of registers) register(program);
  return program;
}

function exitCodeOf(error: unknown): { code: number; message?: string } {
  if (error instanceof CommanderError) return { code: error.exitCode === 0 ? 0 : 2 };
  if (error instanceof ExitWith) return { code: error.exitCode };
  if (error instanceof CliError) return { code: error.exitCode, message: error.message };
  if (error instanceof ConfigError) return { code: 2, message: `bad configuration: ${error.message}` };
  if (error instanceof AppError) return { code: error.status < 500 ? 1 : 1, message: error.message };
  const named = error as { name?: string; message?: string };
  if (named?.name === 'DuctapeError') return { code: 1, message: named.message };
  return { code: 1, message: named?.message ?? String(error) };
}

export async function run(argv: string[]): Promise<number> {
  try {
    await (await buildProgram(argv)).parseAsync(argv);
    return 0;
  } catch (error) {
    const { code, message } = exitCodeOf(error);
    if (message) process.stderr.write(`ductape: ${message}\n`);
    return code;
  }
}

// `ductape ... | head` closes the pipe early: that is the reader's choice, not a crash.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

void run(process.argv).then((code) => {
  if (code !== 0) process.exitCode = code;
});
