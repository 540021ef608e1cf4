/**
 * Private keys and their verification. Pure: no I/O.
 *
 * A private key is 256 bits from the CSPRNG, shown once. Only its SHA-256 is stored: with
 * 256 bits of entropy a slow hash adds nothing. Comparison is constant-time, and a missing
 * user is compared against a dummy hash so both failures take the same path.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

const PREFIX = 'dtk_';

/** A user's credentials as they are shown, once: on creation and after a key rotation. */
export interface NewCredentials {
  workspace_id: string;
  user_id: string;
  private_key: string;
}

export function generatePrivateKey(): string {
  return PREFIX + randomBytes(32).toString('base64url');
}

export function hashCredential(secret: string): Buffer {
  return createHash('sha256').update(secret, 'utf8').digest();
}

const DUMMY_HASH = hashCredential(PREFIX + randomBytes(32).toString('base64url'));

/** Constant-time check of a presented key against a stored hash (or none at all). */
export function verifyCredential(presented: string, storedHash: Buffer | undefined): boolean {
  const presentedHash = hashCredential(presented);
  const expected = storedHash && storedHash.length === presentedHash.length ? storedHash : DUMMY_HASH;
  const same = timingSafeEqual(presentedHash, expected);
  return same && expected !== DUMMY_HASH;
}
