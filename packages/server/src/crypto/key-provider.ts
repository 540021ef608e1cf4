/**
 * Where the master key (the key-encryption key) comes from: `DUCTAPE_MASTER_KEY`, or else a
 * key file in the data dir, generated with mode 0600 on first start. The only crypto module
 * that touches the file system.
 */
import { randomBytes, type KeyObject } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KEY_BYTES, keyId, toKeyObject } from './envelope.js';

export interface MasterKey {
  /** Public fingerprint, stored next to everything this key wraps. */
  readonly id: string;
  readonly key: KeyObject;
}

export interface LoadedMasterKey {
  masterKey: MasterKey;
  source: 'environment' | 'file';
  /** Set when this start created the key file. */
  generatedFile?: string;
}

export const MASTER_KEY_FILE = 'master.key';

export function masterKeyFromBase64(base64: string): MasterKey {
  const raw = Buffer.from(base64.trim(), 'base64');
  if (raw.length !== KEY_BYTES) throw new Error(`a master key must be ${KEY_BYTES} bytes of base64`);
  return { id: keyId(raw), key: toKeyObject(raw) };
}

export function loadMasterKey(options: { masterKey: string | undefined; dataDir: string }): LoadedMasterKey {
  if (options.masterKey !== undefined) {
    return { masterKey: masterKeyFromBase64(options.masterKey), source: 'environment' };
  }
  const file = join(options.dataDir, MASTER_KEY_FILE);
  mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
  try {
    const text = readFileSync(file, 'utf8');
    if ((statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600);
    return { masterKey: masterKeyFromBase64(text), source: 'file' };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new Error(`cannot read the master key file ${file}: ${(error as Error).message}`);
    }
  }
  const raw = randomBytes(KEY_BYTES);
  // 'wx' fails if another process created the file meanwhile; then we read theirs.
  try {
    writeFileSync(file, raw.toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
      return { masterKey: masterKeyFromBase64(readFileSync(file, 'utf8')), source: 'file' };
    }
    throw error;
  }
  return { masterKey: { id: keyId(raw), key: toKeyObject(raw) }, source: 'file', generatedFile: file };
}
