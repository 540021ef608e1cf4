/**
 * The `ductape` command line, for people and programs: it talks to a Ductape server only
 * through @ductape/sdk. This is the one place where errors become exit codes: 0 success, 1 a
 * failed operation (the server's message is printed), 2 bad usage or configuration.
 */
import { Command, CommanderError } from 'commander';
import { CliError, ExitWith } from './output.js';
import { VERSION } from './version.js';

type Register = (program: Command) => void;

/** Every command group, in --help order; each module loads only when its group is needed. */
const GROUPS: (() => Promise<Register>)[] = [
  () => import('./commands/login.js').then((m) => m.registerLoginCommands),
  () => import('./commands/secrets.js').then((m) => m.registerSecretsCommands),
  () => import('./commands/run.js').then((m) => m.registerRunCommand),
  () => import('./commands/usage.js').then((m) => m.registerUsageCommands),
  () => import('./commands/tokens.js').then((m) => m.registerTokenCommands),
  () => import('./commands/audit.js').then((m) => m.registerAuditCommands),
  () => import('./commands/webhooks.js').then((m) => m.registerWebhookCommands),
];

/**
 * `ductape run` starts before every process a deployment runs, so it loads only its own
 * module: the other commands' modules would add a fifth to its start-up time.
 */
async function buildProgram(argv: readonly string[]): Promise<Command> {
  const program = new Command('ductape')
    .description(
      'Ductape: a self-hostable secrets manager. This command talks to a server through its API; ' +
        'operators create workspaces and users with `ductape-server` (package @ductape/server).',
    )
    .version(VERSION)
    .showHelpAfterError('(run with --help for usage)')
    // So `run` can pass everything after its command through; groups with their own options
    // (secrets, token) turn this off again so those options may follow their subcommands.
    .enablePositionalOptions()
    .exitOverride();

  if (argv[2] === 'run') {
    (await import('./commands/run.js')).registerRunCommand(program);
    return program;
  }
  for (const register of await Promise.all(GROUPS.map((load) => load()))) register(program);
  const { registerServerCommandHints } = await import('./commands/server-commands.js');
  registerServerCommandHints(program, argv.slice(2));
  return program;
}

function exitCodeOf(error: unknown): { code: number; message?: string } {
  if (error instanceof CommanderError) return { code: error.exitCode === 0 ? 0 : 2 };
  if (error instanceof ExitWith) return { code: error.exitCode };
  if (error instanceof CliError) return { code: error.exitCode, message: error.message };
  const named = error as { message?: string };
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
