/**
 * Sealing and opening values, and the row MAC that makes a row's metadata as trustworthy as
 * its value (crypto/row-mac.ts). Every read of a value goes through `openSecret` or
 * `openRecorded`, which check the row's MAC first: a row whose key, scope, environments,
 * expiry, status or version was changed in the database, or swapped with another row's, is
 * refused with SECRET_INTEGRITY_ERROR, never served. A row without a MAC is refused too,
 * whatever its workspace: rows from before row MACs get theirs once, when start-up converts
 * their workspace (secret-integrity.ts), so "no MAC" is never a pass an attacker can use.
 */
import { OpenError } from '../../crypto/aead.js';
import type { ValueBinding } from '../../crypto/envelope.js';
import { KeyMismatchError, type Keyring } from '../../crypto/keyring.js';
import { RowMacError, type RowFields } from '../../crypto/row-mac.js';
import { AppError } from '../../errors.js';
import type { SecretRow } from '../../store/types.js';

/**
 * A workspace whose data key this server cannot unwrap (another master key wrapped it, or it
 * was altered): only that workspace's values fail, with this error. The cause, with the key
 * ids, goes to the log.
 */
export function workspaceKeyError(cause: KeyMismatchError): AppError {
  const error = new AppError(
    'WORKSPACE_KEY_ERROR',
    "This workspace's data key cannot be opened with this server's master key (it was wrapped by another master key, or altered): its secrets cannot be read or written until that key is restored",
  );
  error.cause = cause;
  return error;
}

/** The integrity error of one secret: names the key, never what was found instead. */
export function integrityError(key: string): AppError {
  return new AppError(
    'SECRET_INTEGRITY_ERROR',
    `Secret '${key}' failed its integrity check: the stored ciphertext or its metadata was altered or does not belong to it`,
  );
}

/** Runs `work`, turning key and integrity failures into the errors callers see. */
async function guarded<T>(key: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof KeyMismatchError) throw workspaceKeyError(error);
    if (error instanceof OpenError || error instanceof RowMacError) throw integrityError(key);
    throw error;
  }
}

/** Seals a value under its workspace's data key (see `workspaceKeyError`). */
export function sealSecret(
  keyring: Pick<Keyring, 'seal'>,
  binding: ValueBinding,
  value: string,
): Promise<Buffer> {
  return guarded('', () => keyring.seal(binding, value));
}

/** The MAC of a row as it is about to be written. */
export function macOf(keyring: Pick<Keyring, 'rowMac'>, row: RowFields): Promise<Buffer> {
  return guarded(row.key, () => keyring.rowMac(row));
}

/** Refuses a row whose MAC is missing or does not match it (SECRET_INTEGRITY_ERROR naming its key). */
export function verifySecret(
  keyring: Pick<Keyring, 'verifyRow'>,
  row: RowFields & { mac: Buffer | null },
): Promise<void> {
  return guarded(row.key, () => keyring.verifyRow(row));
}

/**
 * Opens a stored value. A ciphertext that fails authentication (altered, or moved from
 * another row) is an integrity error naming the key: never garbage, never another value.
 * Checks nothing else: callers check the row first (`verifySecret`), or use `openSecret`.
 */
export function openSealed(
  keyring: Pick<Keyring, 'open'>,
  row: Pick<SecretRow, 'workspaceId' | 'id' | 'key'>,
  version: number,
  sealed: Buffer,
): Promise<string> {
  return guarded(row.key, () =>
    keyring.open({ workspaceId: row.workspaceId, secretId: row.id, version }, sealed),
  );
}

/** The row's current value, once its MAC says the row is as the server wrote it. */
export async function openSecret(
  keyring: Pick<Keyring, 'open' | 'verifyRow'>,
  row: SecretRow,
): Promise<string> {
  await verifySecret(keyring, row);
  return openSealed(keyring, row, row.version, row.sealed);
}

/**
 * A recorded version's value, once the current row's MAC says the row is as the server wrote
 * it (its key, scope and status decided the read). The old value's own AAD binds it to this
 * secret and version.
 */
export async function openRecorded(
  keyring: Pick<Keyring, 'open' | 'verifyRow'>,
  row: SecretRow,
  version: number,
  sealed: Buffer,
): Promise<string> {
  await verifySecret(keyring, row);
  return openSealed(keyring, row, version, sealed);
}
