/**
 * Where the people commands (login, whoami, secrets) get their credentials and server URL.
 * The only CLI module that reads process.env, the way config.ts is for the server.
 *
 * Credentials: DUCTAPE_WORKSPACE_ID + DUCTAPE_USER_ID + DUCTAPE_PRIVATE_KEY (all three or
 * none), else ~/.ductape/credentials.json, else an error that points at `ductape login`.
 * URL: --url, else DUCTAPE_URL, else the file's url (only with the file's credentials, so a
 * key from the environment is never sent to a server it was not meant for), else the default.
 */
import { homedir } from 'node:os';
import Ductape, { DEFAULT_URL } from '@ductape/sdk';
import { credentialsPath, readCredentialsFile } from './credentials-file.js';
import { CliError } from './output.js';

const ENV_NAMES = ['DUCTAPE_WORKSPACE_ID', 'DUCTAPE_USER_ID', 'DUCTAPE_PRIVATE_KEY'] as const;

/** The rules above, for the --help of every command that follows them. */
export const CREDENTIALS_HELP = `
Credentials: DUCTAPE_WORKSPACE_ID, DUCTAPE_USER_ID and DUCTAPE_PRIVATE_KEY (all three), else
~/.ductape/credentials.json as written by 'ductape login'.
Server: --url, else DUCTAPE_URL, else the URL saved with the credentials by 'ductape login',
else http://127.0.0.1:8080.`;

function env(name: string): string | undefined {
  const value = process.env[name];
  return value === undefined || value === '' ? undefined : value;
}

/** $HOME when set (so tests and containers can move it), else the account's home folder. */
export function homeDir(): string {
  return env('HOME') ?? homedir();
}

export function envUrl(): string | undefined {
  return env('DUCTAPE_URL');
}

/** Whether any of the credential variables is set: they take precedence over the file. */
export function envCredentialsSet(): boolean {
  return ENV_NAMES.some((name) => env(name) !== undefined);
}

/** Checks that a URL is an absolute http(s) URL; `what` names where it came from. */
export function checkUrl(url: string, what: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new CliError(`${what}: '${url}' is not a URL (expected e.g. ${DEFAULT_URL})`, 2);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new CliError(`${what}: '${url}' must start with http:// or https://`, 2);
  }
  return url;
}

export interface Connection {
  client: Ductape;
  url: string;
  /** Where the credentials came from, for people: "environment" or the file's path. */
  source: string;
}

/** Resolves credentials and URL as described at the top, and builds an SDK client. */
export function connect(urlOption: string | undefined): Connection {
  const fromEnv = ENV_NAMES.map((name) => env(name));
  const given = fromEnv.filter((v) => v !== undefined).length;
  if (given > 0 && given < ENV_NAMES.length) {
    const missing = ENV_NAMES.filter((_name, i) => fromEnv[i] === undefined);
    throw new CliError(
      `${missing.join(' and ')} ${missing.length === 1 ? 'is' : 'are'} not set: set ${ENV_NAMES.join(', ')} ` +
        `together, or unset them all to use ${credentialsPath('~')}`,
      2,
    );
  }

  let credentials: { workspace_id: string; user_id: string; private_key: string };
  let fileUrl: string | undefined;
  let source: string;
  if (given === ENV_NAMES.length) {
    const [workspace_id, user_id, private_key] = fromEnv as [string, string, string];
    credentials = { workspace_id, user_id, private_key };
    source = 'environment';
  } else {
    const home = homeDir();
    const stored = readCredentialsFile(home);
    if (!stored) {
      throw new CliError(
        `not logged in: run 'ductape login', or set ${ENV_NAMES.join(', ')} (and DUCTAPE_URL)`,
        2,
      );
    }
    credentials = {
      workspace_id: stored.workspace_id,
      user_id: stored.user_id,
      private_key: stored.private_key,
    };
    fileUrl = stored.url === '' ? undefined : stored.url;
    source = credentialsPath(home);
  }

  const fromEnvUrl = envUrl();
  let url = DEFAULT_URL;
  if (urlOption !== undefined) url = checkUrl(urlOption, '--url');
  else if (fromEnvUrl !== undefined) url = checkUrl(fromEnvUrl, 'DUCTAPE_URL');
  else if (fileUrl !== undefined) url = checkUrl(fileUrl, source);
  return { client: new Ductape({ ...credentials, url }), url, source };
}
