#!/usr/bin/env node
/**
 * The `ductape` command line. This is the one place where errors become exit codes:
 * 0 success, 1 a failed operation (the server's message is printed), 2 bad usage or
 * configuration.
 */
import { Command, CommanderError } from 'commander';
import { ConfigError } from '../config.js';
import { AppError } from '../errors.js';
import { registerLoginCommands } from './commands/login.js';
import { registerSecretsCommands } from './commands/secrets.js';
import { registerOperatorCommands } from './operator.js';
import { CliError } from './output.js';

function buildProgram(): Command {
  const program = new Command('ductape')
    .description('Ductape: a self-hostable secrets manager')
    .version('0.1.0')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();

  program
    .command('serve')
    .description('Start the server (PORT, HOST, DUCTAPE_DATA_DIR, DUCTAPE_MASTER_KEY from the environment)')
    .action(async () => {
      const { runServerProcess } = await import('../serve.js');
      await runServerProcess();
    });

  registerLoginCommands(program);
  registerSecretsCommands(program);
  registerOperatorCommands(program);
  return program;
}

function exitCodeOf(error: unknown): { code: number; message?: string } {
  if (error instanceof CommanderError) return { code: error.exitCode === 0 ? 0 : 2 };
  if (error instanceof CliError) return { code: error.exitCode, message: error.message };
  if (error instanceof ConfigError) return { code: 2, message: `bad configuration: ${error.message}` };
  if (error instanceof AppError) return { code: error.status < 500 ? 1 : 1, message: error.message };
  const named = error as { name?: string; message?: string };
  if (named?.name === 'DuctapeError') return { code: 1, message: named.message };
  return { code: 1, message: named?.message ?? String(error) };
}

export async function run(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    return 0;
  } catch (error) {
    const { code, message } = exitCodeOf(error);
    if (message) process.stderr.write(`ductape: ${message}\n`);
    return code;
  }
}

void run(process.argv).then((code) => {
  if (code !== 0) process.exitCode = code;
});
