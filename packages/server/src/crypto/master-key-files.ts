/**
 * The master keys a process starts with, and the data dir's key files during a rotation.
 *
 * With `DUCTAPE_MASTER_KEY` the keys come from the environment only: that key is the
 * primary, and `DUCTAPE_MASTER_KEY_PREVIOUS` adds unwrap-only keys. Otherwise the data dir
 * holds them:
 *   master.key           the primary (generated on first start, see key-provider.ts)
 *   master.key.next      the new key while `ductape-server keys rotate-master` is re-wrapping
 *   master.key.previous  the old key, kept after a rotation (unwrap-only)
 * A running server that meets a row wrapped by a key it lacks reads the three files again.
 *
 * Every file is written whole to a temporary name, flushed, then renamed into place, so a
 * reader sees the old content or the new one, never a torn key. The swap at the end of a
 * rotation writes master.key.previous first, then renames master.key.next over master.key:
 * at every instant both keys are on disk, and a reader that reads next, then master.key,
 * then previous (as `readDataDirKeys` does) gets both.
 */
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  fsyncSync,
  linkSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { KEY_BYTES } from './envelope.js';
import { loadMasterKey, MASTER_KEY_FILE, masterKeyFromBase64, type MasterKey } from './key-provider.js';
import { MasterKeys, type MasterKeyRead } from './master-keys.js';

export const NEXT_KEY_FILE = `${MASTER_KEY_FILE}.next`;
export const PREVIOUS_KEY_FILE = `${MASTER_KEY_FILE}.previous`;

export interface LoadedMasterKeys {
  keys: MasterKeys;
  source: 'environment' | 'file';
  /** Set when this start created master.key. */
  generatedFile?: string;
}

/** The key in a file, or undefined when there is no such file. */
export function readKeyFile(file: string): MasterKey | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`cannot read the master key file ${file}: ${(error as Error).message}`);
  }
  try {
    return masterKeyFromBase64(text);
  } catch {
    throw new Error(`the master key file ${file} does not hold a base64 key of ${KEY_BYTES} bytes`);
  }
}

/** The data dir's keys: master.key as the primary, the rotation files as unwrap-only. */
export function readDataDirKeys(dataDir: string): MasterKeyRead {
  // This order matters: see the note at the top.
  const next = readKeyFile(join(dataDir, NEXT_KEY_FILE));
  const primary = readKeyFile(join(dataDir, MASTER_KEY_FILE));
  const previous = readKeyFile(join(dataDir, PREVIOUS_KEY_FILE));
  if (!primary) throw new Error(`the master key file ${join(dataDir, MASTER_KEY_FILE)} is missing`);
  return { primary, unwrapOnly: [next, previous].filter((k): k is MasterKey => k !== undefined) };
}

/**
 * The keys a server or an operator command starts with. `onChange` hears when a re-read of
 * the data dir found new keys (ids only).
 */
export function loadMasterKeys(
  config: { masterKey: string | undefined; previousMasterKeys?: readonly string[]; dataDir: string },
  onChange?: (primaryId: string, addedIds: string[]) => void,
): LoadedMasterKeys {
  const previous = (config.previousMasterKeys ?? []).map(masterKeyFromBase64);
  if (config.masterKey !== undefined) {
    return { keys: new MasterKeys(masterKeyFromBase64(config.masterKey), previous), source: 'environment' };
  }
  const loaded = loadMasterKey(config);
  const onDisk = readDataDirKeys(config.dataDir);
  const reread = (): MasterKeyRead => {
    const read = readDataDirKeys(config.dataDir);
    return { primary: read.primary, unwrapOnly: [...read.unwrapOnly, ...previous] };
  };
  return {
    keys: new MasterKeys(onDisk.primary, [...onDisk.unwrapOnly, ...previous], reread, onChange),
    source: 'file',
    ...(loaded.generatedFile === undefined ? {} : { generatedFile: loaded.generatedFile }),
  };
}

/**
 * Writes `file` (mode 0600) atomically: a temporary file, flushed, then moved into place.
 * `exclusive` refuses (EEXIST) when the file exists, so two racing writers cannot replace
 * each other's key: the loser reads the winner's.
 */
export function writeKeyFileAtomic(file: string, raw: Buffer, options: { exclusive?: boolean } = {}): void {
  const temp = `${file}.${randomBytes(4).toString('hex')}.tmp`;
  const fd = openSync(temp, 'wx', 0o600);
  try {
    writeSync(fd, raw.toString('base64') + '\n');
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    if (options.exclusive) linkSync(temp, file);
    else renameSync(temp, file);
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
  }
  if (options.exclusive) unlinkSync(temp);
  syncDir(file);
}

function syncDir(file: string): void {
  const dir = join(file, '..');
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // Not every platform can flush a directory; the rename itself is still atomic.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * Ends a rotation in the data dir: the old key goes to master.key.previous (replacing an
 * older one), then master.key.next replaces master.key in one rename. Safe to run again
 * after a crash at any point; does nothing when there is no master.key.next.
 */
export function promoteNextKey(dataDir: string): void {
  const next = readKeyFile(join(dataDir, NEXT_KEY_FILE));
  if (!next) return;
  const current = readKeyFile(join(dataDir, MASTER_KEY_FILE));
  if (current && current.id !== next.id) {
    const raw = current.key.export();
    try {
      writeKeyFileAtomic(join(dataDir, PREVIOUS_KEY_FILE), raw);
    } finally {
      raw.fill(0);
    }
  }
  renameSync(join(dataDir, NEXT_KEY_FILE), join(dataDir, MASTER_KEY_FILE));
  syncDir(join(dataDir, MASTER_KEY_FILE));
}
