/**
 * `ductape run --app A --env E -- command args...`: one `GET /v1/export`, then the command
 * with those secrets as environment variables (they override variables of the same name),
 * its signals forwarded and its exit code passed on (child.ts). With --fallback FILE, what it
 * injects is also saved, sealed, in FILE, and used when the server cannot answer
 * (fallback/run-fallback.ts).
 *
 * Start-up cost matters here (it is paid before every process a deployment starts), so this
 * module and what it imports stay lean: the SDK, commander and Node built-ins, never the
 * store, the web server or zod.
 */
import { Option, type Command } from 'commander';
import { runChild } from '../child.js';
import { connect, CREDENTIALS_HELP, type Connection } from '../connect.js';
import { NAME_TRANSFORM_HELP, NAME_TRANSFORMS, nameVariables, type NameTransform } from '../env-names.js';
import {
  addScopeOptions,
  exportScope,
  fetchExport,
  type ExportScope,
  type ScopeOptions,
} from '../export-scope.js';
import type { Fallback } from '../fallback/run-fallback.js';
import { httpFetch } from '../http-fetch.js';
import { ALLOW_NAME_HELP, collectName, refuseCodeLoading } from '../loader-variables.js';
import { CliError, ExitWith, info } from '../output.js';

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
  timeout?: string;
  fallback?: string;
  fallbackMaxAge?: string;
  fallbackOnly?: boolean;
}

interface Variable {
  name: string;
  value: string;
}

/** --timeout, in seconds (decimals allowed), as milliseconds. */
function parseTimeout(text: string): number {
  const seconds = /^[0-9]{1,4}(\.[0-9]{1,3})?$/.test(text) ? Number(text) : NaN;
  if (!(seconds >= 0.1 && seconds <= 3600)) {
    throw new CliError(`--timeout: '${text}' is not a number of seconds between 0.1 and 3600`, 2);
  }
  return Math.round(seconds * 1000);
}

/** Loaded only when asked for: a plain `run` pays nothing for the fallback. */
async function fallbackFor(
  options: RunOptions,
  connection: Connection,
  scope: ExportScope,
): Promise<Fallback | undefined> {
  if (options.fallback === undefined) {
    if (options.fallbackOnly === true) {
      throw new CliError('--fallback-only: name the file with --fallback FILE', 2);
    }
    if (options.fallbackMaxAge !== undefined) {
      throw new CliError('--fallback-max-age: name the file with --fallback FILE', 2);
    }
    return undefined;
  }
  const { prepareFallback } = await import('../fallback/run-fallback.js');
  return prepareFallback(
    {
      path: options.fallback,
      url: connection.url,
      scope: {
        app: scope.app ?? null,
        env: scope.env ?? null,
        only: scope.only === undefined ? null : [...new Set(scope.only)].sort(),
        name_transform: options.nameTransform ?? null,
      },
      credential: { kind: connection.kind, secret: connection.secret() },
    },
    options.fallbackMaxAge,
  );
}

/**
 * The variables from the server, saved to the fallback file; or from the file when the server
 * cannot answer. Either way, names that change how programs load code are refused unless
 * this run allows them (--allow-name is this run's decision, not the saved one's).
 */
async function variablesFor(
  options: RunOptions,
  connection: Connection,
  scope: ExportScope,
  fallback: Fallback | undefined,
): Promise<Variable[]> {
  const allowed = (variables: Variable[]): Variable[] => {
    refuseCodeLoading(
      variables.map((v) => v.name),
      options.allowName,
    );
    return variables;
  };
  if (fallback !== undefined && options.fallbackOnly === true) {
    return allowed(fallback.load('--fallback-only: the server is not asked'));
  }
  let answer;
  try {
    answer = await fetchExport(connection, scope);
  } catch (error) {
    const why = fallback?.unreachable(error);
    if (fallback === undefined || why === undefined) throw error;
    return allowed(fallback.load(why));
  }
  const named = nameVariables(answer.secrets, {
    transform: options.nameTransform,
    warn: (message) => info(`warning: ${message}`),
  });
  // Only what may be injected is saved: a refused name stops the run before anything is written.
  const variables = allowed(named.map(({ name, value }) => ({ name, value })));
  fallback?.save(variables);
  return variables;
}

async function run(command: string, args: string[], options: RunOptions): Promise<void> {
  const timeoutMs = options.timeout === undefined ? undefined : parseTimeout(options.timeout);
  const connection = connect(options.url, {
    fetch: httpFetch,
    ...(timeoutMs === undefined ? {} : { timeoutMs }),
  });
  const scope = exportScope(connection, options);
  const fallback = await fallbackFor(options, connection, scope);
  const variables = await variablesFor(options, connection, scope, fallback);
  const inherited: NodeJS.ProcessEnv = { ...process.env };
  // The command gets the app's secrets, not the credentials that fetched them.
  for (const name of CREDENTIAL_VARIABLES) delete inherited[name];
  // Spread (not assignment) defines own properties: a secret named __proto__ stays a variable.
  const env = { ...inherited, ...Object.fromEntries(variables.map((v) => [v.name, v.value])) };
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
    .option('--timeout <seconds>', 'how long to wait for each answer of the server (default 30)')
    .option(
      '--fallback <file>',
      'save what this run injects, encrypted, in FILE; use it when the server cannot answer (see below)',
    )
    .option(
      '--fallback-max-age <duration>',
      'the oldest FILE that may be used, e.g. 90m, 12h, 7d (default 24h)',
    )
    .option('--fallback-only', 'start from FILE without asking the server (air-gapped starts)')
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

Fallback: with --fallback FILE, every run that gets the secrets from the server saves what
it injects in FILE (mode 0600, AES-256-GCM under a key derived from the credentials in use,
bound to the server URL and to --app, --env, --only and --name-transform). When the server
cannot be reached (connection refused, unknown host, no answer within --timeout, or a 5xx),
run prints one warning naming the file's age and starts the command with FILE's values, if
FILE is younger than --fallback-max-age. A 401, 403, 404 or 410 is never a reason to fall
back: a revoked token or secret stops the program. A file that is missing, too old, written
for other credentials, or changed since written starts nothing (exit 1). More in
docs/operations-run-fallback.md.

Signals: SIGTERM, SIGUSR1 and SIGUSR2 are passed on to the command; so are SIGINT, SIGQUIT
and SIGHUP, except in a terminal, where Ctrl-C and the like already reach it directly.
Exit code: the command's own; 128+N when a signal N ended it; 127 when it is not found;
1 or 2 when ductape itself failed before starting it (nothing is started then).

Examples:
  ductape run --app web --env dev -- npm start
  DUCTAPE_TOKEN=dst_... ductape run -- node server.js
  ductape run --app web --env prd --only DATABASE_URL -- ./migrate.sh
  ductape run --fallback /var/lib/web/ductape.fallback -- node server.js
${CREDENTIALS_HELP}`,
    )
    .action(run);
}
