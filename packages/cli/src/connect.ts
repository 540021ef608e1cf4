/**
 * Where the people commands (login, whoami, secrets, run...) get their credentials and server
 * URL. The only CLI module that reads process.env, the way config.ts is for the server.
 *
 * Credentials: DUCTAPE_TOKEN (a service token; it takes precedence over everything else),
 * else DUCTAPE_WORKSPACE_ID + DUCTAPE_USER_ID + DUCTAPE_PRIVATE_KEY (all three or none), else
 * ~/.ductape/credentials.json, else an error that points at `ductape login`.
 * URL: --url, else DUCTAPE_URL, else the file's url (only with the file's credentials, so a
 * key or token from the environment is never sent to a server it was not meant for), else
 * the default.
 */
import { homedir } from 'node:os';
import type { Command } from 'commander';
import Ductape, { DEFAULT_URL, type DuctapeOptions } from '@ductape/sdk';
import { credentialsPath, readCredentialsFile } from './credentials-file.js';
import { CliError } from './output.js';
import { VERSION } from './version.js';

/** What a command may tune on its SDK client (run passes a leaner fetch). */
export type ClientOptions = Pick<DuctapeOptions, 'fetch' | 'timeoutMs'>;

const ENV_NAMES = ['DUCTAPE_WORKSPACE_ID', 'DUCTAPE_USER_ID', 'DUCTAPE_PRIVATE_KEY'] as const;

/** The rules above, for the --help of every command that follows them. */
export const CREDENTIALS_HELP = `
Credentials: DUCTAPE_TOKEN (a service token) when set, else DUCTAPE_WORKSPACE_ID,
DUCTAPE_USER_ID and DUCTAPE_PRIVATE_KEY (all three), else ~/.ductape/credentials.json as
written by 'ductape login'.
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

/** Whether DUCTAPE_TOKEN is set: it then takes precedence over every user credential. */
export function envTokenSet(): boolean {
  return env('DUCTAPE_TOKEN') !== undefined;
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
  /** Where the credentials came from, for people: "DUCTAPE_TOKEN", "environment" or the file's path. */
  source: string;
  /** A service token (bound to its own app and environment) or a user's credentials. */
  kind: 'token' | 'user';
  /**
   * The token or the private key in use: `run --fallback` derives its file's key from it. A
   * function, so that printing or serialising a connection never shows it.
   */
  secret(): string;
}

function urlFor(urlOption: string | undefined, fileUrl: string | undefined, source: string): string {
  const fromEnvUrl = envUrl();
  if (urlOption !== undefined) return checkUrl(urlOption, '--url');
  if (fromEnvUrl !== undefined) return checkUrl(fromEnvUrl, 'DUCTAPE_URL');
  if (fileUrl !== undefined) return checkUrl(fileUrl, source);
  return DEFAULT_URL;
}

/**
 * Names the command line and its command (`ductape-cli/<version> run`) in every request's
 * User-Agent, so the audit log tells `ductape run` from other readers.
 */
function identified(options: ClientOptions): ClientOptions {
  const agent = `ductape-cli/${VERSION}${process.argv[2] ? ` ${process.argv[2]}` : ''}`;
  const wrapped: typeof fetch = (input, init = {}) =>
    // The global fetch is looked up only when used: `run` passes its own and never loads undici.
    (options.fetch ?? globalThis.fetch)(input, {
      ...init,
      headers: { ...(init.headers as Record<string, string> | undefined), 'user-agent': agent },
    });
  return { ...options, fetch: wrapped };
}

/** Resolves credentials and URL as described at the top, and builds an SDK client. */
export function connect(urlOption: string | undefined, clientOptions: ClientOptions = {}): Connection {
  const options = identified(clientOptions);
  const token = env('DUCTAPE_TOKEN');
  if (token !== undefined) {
    const url = urlFor(urlOption, undefined, 'DUCTAPE_TOKEN');
    return {
      client: new Ductape({ ...options, token, url }),
      url,
      source: 'DUCTAPE_TOKEN',
      kind: 'token',
      secret: () => token,
    };
  }

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

  const url = urlFor(urlOption, fileUrl, source);
  return {
    client: new Ductape({ ...options, ...credentials, url }),
    url,
    source,
    kind: 'user',
    secret: () => credentials.private_key,
  };
}

/** The connection for a subcommand: `--url` may sit before or after the subcommand's name. */
export function connectFor(command: Command, options: ClientOptions = {}): Connection {
  return connect(command.optsWithGlobals<{ url?: string }>().url, options);
}
