/**
 * `ductape run --app A --env E -- command args...`: one `GET /v1/export`, then the command
 * with those secrets as environment variables (they override variables of the same name),
 * its signals forwarded and its exit code passed on (child.ts).
 *
 * Start-up cost matters here (it is paid before every process a deployment starts), so this
 * module and what it imports stay lean: the SDK, commander and Node built-ins, never the
 * store, the web server or zod.
 */
import { Option, type Command } from 'commander';
import { runChild } from '../child.js';
import { connect, CREDENTIALS_HELP } from '../connect.js';
import { NAME_TRANSFORM_HELP, NAME_TRANSFORMS, nameVariables, type NameTransform } from '../env-names.js';
import { addScopeOptions, fetchExport, type ScopeOptions } from '../export-scope.js';
import { httpFetch } from '../http-fetch.js';
import { ALLOW_NAME_HELP, collectName, refuseCodeLoading } from '../loader-variables.js';
import { ExitWith, info } from '../output.js';

/** Left out of the command's environment (unless a secret of that name is exported). */
const CREDENTIAL_VARIABLES = [
  'DUCTAPE_TOKEN',
  'DUCTAPE_WORKSPACE_ID',
  'DUCTAPE_USER_ID',
  'DUCTAPE_PRIVATE_KEY',
];

interface RunOptions extends ScopeOptions {
  url?: string;
  nameTransform?: NameTransform;
  allowName?: string[];
}

async function run(command: string, args: string[], options: RunOptions): Promise<void> {
  const answer = await fetchExport(connect(options.url, { fetch: httpFetch }), options);
  const named = nameVariables(answer.secrets, {
    transform: options.nameTransform,
    warn: (message) => info(`warning: ${message}`),
  });
  refuseCodeLoading(
    named.map((s) => s.name),
    options.allowName,
  );
  const inherited: NodeJS.ProcessEnv = { ...process.env };
  // The command gets the app's secrets, not the credentials that fetched them.
  for (const name of CREDENTIAL_VARIABLES) delete inherited[name];
  // Spread (not assignment) defines own properties: a secret named __proto__ stays a variable.
  const env = { ...inherited, ...Object.fromEntries(named.map((s) => [s.name, s.value])) };
  throw new ExitWith(await runChild(command, args, env));
}

export function registerRunCommand(program: Command): void {
  addScopeOptions(
    program
      .command('run')
      .description(
        'Run a command with the secrets an app may use in an environment as its environment variables',
      )
      .argument('<command>', 'the command to run (looked up in PATH)')
      .argument('[args...]', 'its arguments; put -- before the command so its options stay its own')
      // Everything after the command belongs to it, even words that look like our options.
      .passThroughOptions()
      .option('--url <url>', 'the server URL (see below)'),
  )
    .addOption(new Option('--name-transform <how>', NAME_TRANSFORM_HELP).choices(NAME_TRANSFORMS))
    .option('--allow-name <name>', ALLOW_NAME_HELP, collectName)
    .addHelpText(
      'after',
      `
Secrets whose names change how programs load code (LD_*, DYLD_*, NODE_OPTIONS, PATH,
BASH_ENV, PYTHON*, GIT_*... the list is in docs/security.md) are refused, and nothing is
started, unless each is named with --allow-name.

The secrets override variables of the same name that are already set. The credentials
(DUCTAPE_TOKEN, DUCTAPE_WORKSPACE_ID, DUCTAPE_USER_ID, DUCTAPE_PRIVATE_KEY) are not passed
on to the command. Keys that are not variable names (a.b, x-y, 1st) are skipped with a
warning unless --name-transform renames them; revoked and expired secrets are left out with
a warning.

Signals: SIGTERM, SIGUSR1 and SIGUSR2 are passed on to the command; so are SIGINT, SIGQUIT
and SIGHUP, except in a terminal, where Ctrl-C and the like already reach it directly.
Exit code: the command's own; 128+N when a signal N ended it; 127 when it is not found;
1 or 2 when ductape itself failed before starting it (nothing is started then).

Examples:
  ductape run --app web --env dev -- npm start
  DUCTAPE_TOKEN=dst_... ductape run -- node server.js
  ductape run --app web --env prd --only DATABASE_URL -- ./migrate.sh
${CREDENTIALS_HELP}`,
    )
    .action(run);
}
