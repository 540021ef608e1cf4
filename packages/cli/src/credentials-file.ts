/**
 * ~/.ductape/credentials.json, written by `ductape login` and read by the people commands.
 *
 * Invariants: the file holds a private key, so it is only ever created with mode 0600 inside
 * a 0700 folder, replaced atomically (write a temporary file, then rename) so a crash never
 * leaves half a key behind, and its content never appears in a message.
 */
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { CliError, info } from './output.js';

export interface StoredCredentials {
  url: string;
  workspace_id: string;
  user_id: string;
  private_key: string;
}

export function credentialsDir(home: string): string {
  return join(home, '.ductape');
}

export function credentialsPath(home: string): string {
  return join(credentialsDir(home), 'credentials.json');
}

const isText = (v: unknown): v is string => typeof v === 'string' && v.length > 0;

/** The saved credentials, or undefined when there is no file. A damaged file is an error. */
export function readCredentialsFile(home: string): StoredCredentials | undefined {
  const path = credentialsPath(home);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new CliError(`cannot read ${path}: ${(error as Error).message}`, 2);
  }
  warnIfOpen(path);
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    // Never quote the content: it holds a private key.
    throw new CliError(`${path} is not valid JSON; run 'ductape login' again`, 2);
  }
  const d = data as Partial<Record<keyof StoredCredentials, unknown>> | null;
  if (
    typeof d !== 'object' ||
    d === null ||
    !isText(d.workspace_id) ||
    !isText(d.user_id) ||
    !isText(d.private_key) ||
    (d.url !== undefined && !isText(d.url))
  ) {
    throw new CliError(
      `${path} must hold workspace_id, user_id and private_key; run 'ductape login' again`,
      2,
    );
  }
  return {
    url: d.url ?? '',
    workspace_id: d.workspace_id,
    user_id: d.user_id,
    private_key: d.private_key,
  };
}

/** Like ssh, complain about a key file others can read, but still use it. */
function warnIfOpen(path: string): void {
  if (process.platform === 'win32') return;
  const mode = statSync(path).mode & 0o777;
  if ((mode & 0o077) !== 0) {
    info(
      `warning: ${path} can be read by other users (mode ${mode.toString(8).padStart(4, '0')}); ` +
        `run: chmod 600 ${path}`,
    );
  }
}

/** Writes the file with mode 0600 in a 0700 folder, replacing any previous one atomically. */
export function writeCredentialsFile(home: string, credentials: StoredCredentials): string {
  const dir = credentialsDir(home);
  const path = credentialsPath(home);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  // mkdir honours the umask and leaves an existing folder as it was: make it ours only.
  chmodSync(dir, 0o700);
  const body = JSON.stringify(
    {
      url: credentials.url,
      workspace_id: credentials.workspace_id,
      user_id: credentials.user_id,
      private_key: credentials.private_key,
    },
    null,
    2,
  );
  const temporary = join(dir, `.credentials.${randomBytes(6).toString('hex')}.tmp`);
  // 'wx': never follow or reuse an existing file; the mode applies from the first byte.
  const fd = openSync(temporary, 'wx', 0o600);
  try {
    writeSync(fd, body + '\n');
    fsyncSync(fd);
  } catch (error) {
    closeSync(fd);
    rmSync(temporary, { force: true });
    throw error;
  }
  closeSync(fd);
  chmodSync(temporary, 0o600);
  renameSync(temporary, path);
  return path;
}

/** Removes the file; returns whether there was one. */
export function removeCredentialsFile(home: string): boolean {
  const path = credentialsPath(home);
  try {
    statSync(path);
  } catch {
    return false;
  }
  rmSync(path, { force: true });
  return true;
}
