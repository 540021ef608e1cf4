/**
 * Reading and writing the fallback file on disk (its content is format.ts's business).
 *
 * Invariants: the file is only ever created with mode 0600 from its first byte (a temporary
 * file opened with O_EXCL in the same folder, fsynced, then renamed over the old one, so a
 * crash leaves the old file or the new one, never half of one). A file is only read when it
 * is a regular file of this user that no one else may read or write: a FIFO could hold `run`
 * forever, and a file others can replace could be swapped (format.ts would catch a forged
 * file, but not an older genuine one copied back).
 */
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  constants,
  fchmodSync,
  fstatSync,
  fsyncSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** Far above what an export may hold (8 MiB of values): a bigger file is not ours. */
export const MAX_FILE_BYTES = 32 * 1024 * 1024;

export class FallbackFileError extends Error {
  constructor(
    message: string,
    /** Whether the file simply is not there (yet). */
    readonly missing = false,
  ) {
    super(message);
    this.name = 'FallbackFileError';
  }
}

function describe(error: unknown): string {
  const e = error as NodeJS.ErrnoException;
  return e.code ?? e.message;
}

/** The file's text, after the checks above. */
export function readFallbackFile(path: string): string {
  let fd: number;
  try {
    // O_NONBLOCK: opening a FIFO must not wait for a writer; fstat then refuses it.
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new FallbackFileError('does not exist yet', true);
    throw new FallbackFileError(`cannot be read (${describe(error)})`);
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw new FallbackFileError('is not a regular file');
    if (process.platform !== 'win32') {
      const mode = stat.mode & 0o777;
      if ((mode & 0o077) !== 0) {
        throw new FallbackFileError(
          `may be read or changed by other users (mode ${mode.toString(8).padStart(4, '0')}); ` +
            `run: chmod 600 ${path}`,
        );
      }
      if (process.getuid !== undefined && stat.uid !== process.getuid()) {
        throw new FallbackFileError(`belongs to another user (uid ${stat.uid})`);
      }
    }
    if (stat.size > MAX_FILE_BYTES) throw new FallbackFileError(`is too large (${stat.size} bytes)`);
    return readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
}

/** Replaces the file with `text`, atomically, mode 0600. */
export function writeFallbackFile(path: string, text: string): void {
  const folder = dirname(path);
  const temporary = join(folder, `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  // 'wx' is O_CREAT | O_EXCL: never an existing file or a symbolic link planted in its place.
  const fd = openSync(temporary, 'wx', 0o600);
  try {
    // The umask may have taken bits off: exactly 0600, before the first byte.
    fchmodSync(fd, 0o600);
    const bytes = Buffer.from(text, 'utf8');
    let written = 0;
    while (written < bytes.length) written += writeSync(fd, bytes, written);
    fsyncSync(fd);
  } catch (error) {
    closeSync(fd);
    rmSync(temporary, { force: true });
    throw error;
  }
  closeSync(fd);
  try {
    renameSync(temporary, path);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw error;
  }
  syncFolder(folder);
}

/** Makes the rename itself durable; some systems cannot fsync a folder, which is no reason to fail. */
function syncFolder(folder: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(folder, constants.O_RDONLY);
    fsyncSync(fd);
  } catch {
    // best effort
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
