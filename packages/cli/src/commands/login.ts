/**
 * `ductape login`, `logout` and `whoami`: saving, forgetting and showing the credentials the
 * people commands use. login checks the credentials with the server before saving them, so a
 * typo is caught now rather than at the next command. The private key is never printed.
 */
import type { Command } from 'commander';
import Ductape, { DEFAULT_URL } from '@ductape/sdk';
import {
  checkUrl,
  connect,
  CREDENTIALS_HELP,
  envCredentialsSet,
  envTokenSet,
  envUrl,
  homeDir,
} from '../connect.js';
import { credentialsPath, removeCredentialsFile, writeCredentialsFile } from '../credentials-file.js';
import { CliError, info, printJson } from '../output.js';
import { ask, askHidden, readStdin, stdinIsTerminal } from '../prompt.js';
import { printable } from './secrets-view.js';

interface LoginOptions {
  url?: string;
  workspaceId?: string;
  userId?: string;
  privateKeyStdin?: boolean;
}

/** An option's value, else the answer to a prompt, else (no terminal) a usage error. */
async function field(given: string | undefined, option: string, question: string): Promise<string> {
  if (given !== undefined && given.trim() !== '') return given.trim();
  if (!stdinIsTerminal()) throw new CliError(`${option} is required when stdin is not a terminal`, 2);
  const answer = (await ask(question)).trim();
  if (answer === '') throw new CliError(`${option}: no value given`, 2);
  return answer;
}

async function privateKey(fromStdin: boolean): Promise<string> {
  let key: string;
  if (fromStdin && !stdinIsTerminal()) {
    key = (await readStdin(4096, 'private key')).toString('utf8').trim();
  } else if (stdinIsTerminal()) {
    key = (await askHidden('Private key (input hidden): ')).trim();
  } else {
    throw new CliError(
      'the private key is needed: pipe it in with --private-key-stdin, or run in a terminal to be asked',
      2,
    );
  }
  if (key === '') throw new CliError('the private key is empty', 2);
  return key;
}

function isLoopback(url: URL): boolean {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

async function login(options: LoginOptions): Promise<void> {
  let url: string;
  if (options.url !== undefined) url = checkUrl(options.url, '--url');
  else if (envUrl() !== undefined) url = checkUrl(envUrl() as string, 'DUCTAPE_URL');
  else if (stdinIsTerminal()) {
    url = checkUrl((await ask(`Server URL [${DEFAULT_URL}]: `)).trim() || DEFAULT_URL, 'server URL');
  } else url = DEFAULT_URL;
  const parsed = new URL(url);
  if (parsed.protocol === 'http:' && !isLoopback(parsed)) {
    info(`warning: ${url} is plain http: your private key and secrets would cross the network unencrypted`);
  }

  const workspace_id = await field(options.workspaceId, '--workspace-id', 'Workspace id: ');
  const user_id = await field(options.userId, '--user-id', 'User id: ');
  const private_key = await privateKey(options.privateKeyStdin === true);

  // Check before saving: a wrong key fails here with the server's message and saves nothing.
  const client = new Ductape({ workspace_id, user_id, private_key, url });
  await client.init();
  const me = await client.whoami();
  if (me.kind !== 'user') throw new Error('the server did not sign these credentials in as a user');

  const home = homeDir();
  const path = writeCredentialsFile(home, { url, workspace_id, user_id, private_key });
  process.stdout.write(
    `Logged in to ${url} as ${me.role} ${me.user_id} in workspace '${printable(me.workspace_name)}' ` +
      `(${me.workspace_id}).\nCredentials saved to ${path} (readable only by you).\n`,
  );
  if (envTokenSet()) {
    info('note: DUCTAPE_TOKEN is set here and takes precedence over the saved file');
  } else if (envCredentialsSet()) {
    info(
      'note: DUCTAPE_WORKSPACE_ID/USER_ID/PRIVATE_KEY are set here and take precedence over the saved file',
    );
  }
}

export function registerLoginCommands(program: Command): void {
  program
    .command('login')
    .description('Check your credentials with the server and save them to ~/.ductape/credentials.json')
    .option('--url <url>', `the server URL (default: DUCTAPE_URL, else asked, else ${DEFAULT_URL})`)
    .option('--workspace-id <id>', 'your workspace id (asked when left out)')
    .option('--user-id <id>', 'your user id (asked when left out)')
    .option('--private-key-stdin', 'read the private key from stdin instead of a hidden prompt')
    .addHelpText(
      'after',
      `
The private key is never taken as an argument (arguments end up in shell history).
The file is written with mode 0600 in a 0700 folder; 'ductape logout' removes it.

Examples:
  ductape login --url https://secrets.example.com
  ductape login --workspace-id W --user-id U --private-key-stdin < key.txt`,
    )
    .action(login);

  program
    .command('logout')
    .description('Remove the credentials saved by `ductape login`')
    .action(() => {
      const home = homeDir();
      const path = credentialsPath(home);
      if (removeCredentialsFile(home)) process.stdout.write(`Logged out: removed ${path}.\n`);
      else process.stdout.write(`Not logged in: there is no ${path}.\n`);
      if (envCredentialsSet())
        info('note: DUCTAPE_WORKSPACE_ID/USER_ID/PRIVATE_KEY are still set in this shell');
    });

  program
    .command('whoami')
    .description('Show the workspace, user and role your credentials belong to')
    .option('--url <url>', 'the server URL (see below)')
    .option('--json', 'print {kind, workspace_id, workspace_name, user_id, role} as JSON')
    .addHelpText('after', CREDENTIALS_HELP)
    .action(async (options: { url?: string; json?: boolean }) => {
      const { client, url, source } = connect(options.url);
      const me = await client.whoami();
      if (options.json === true) {
        printJson(me);
        return;
      }
      const lines: [string, string][] = [
        ['workspace', `${printable(me.workspace_name)} (${me.workspace_id})`],
        ...(me.kind === 'user'
          ? ([
              ['user', me.user_id],
              ['role', me.role],
            ] as [string, string][])
          : ([
              ['token', me.token_id],
              ['app', me.app],
              ['env', me.env],
            ] as [string, string][])),
        ['server', url],
        ['credentials', source],
      ];
      process.stdout.write(lines.map(([name, value]) => `${name.padEnd(12)} ${value}`).join('\n') + '\n');
    });
}
