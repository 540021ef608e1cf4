/**
 * AES-256-GCM with a fresh random 96-bit nonce per seal. Pure: no I/O, no state.
 *
 * Invariants: a nonce is never chosen by a caller; the tag is always 16 bytes and always
 * checked; any failure to open is reported as one opaque `OpenError` (no oracle on why).
 */
import { createCipheriv, createDecipheriv, type KeyObject } from 'node:crypto';
import { randomPooled } from './random-pool.js';

export const NONCE_BYTES = 12;
export const TAG_BYTES = 16;
const ALGORITHM = 'aes-256-gcm';

export class OpenError extends Error {
  constructor() {
    super('ciphertext failed authentication');
    this.name = 'OpenError';
  }
}

/** Returns `header || nonce || ciphertext || tag`; the header is authenticated with the AAD. */
export function seal(key: KeyObject, header: Buffer, aad: Buffer, plaintext: Buffer): Buffer {
  const nonce = randomPooled(NONCE_BYTES);
  const cipher = createCipheriv(ALGORITHM, key, nonce, { authTagLength: TAG_BYTES });
  cipher.setAAD(Buffer.concat([header, aad]));
  const body = cipher.update(plaintext);
  const last = cipher.final();
  return Buffer.concat([header, nonce, body, last, cipher.getAuthTag()]);
}

/** Opens what `seal` made with the same header length, key and AAD; throws `OpenError` otherwise. */
export function open(key: KeyObject, headerBytes: number, aad: Buffer, sealed: Buffer): Buffer {
  if (sealed.length < headerBytes + NONCE_BYTES + TAG_BYTES) throw new OpenError();
  const header = sealed.subarray(0, headerBytes);
  const nonce = sealed.subarray(headerBytes, headerBytes + NONCE_BYTES);
  const body = sealed.subarray(headerBytes + NONCE_BYTES, sealed.length - TAG_BYTES);
  const tag = sealed.subarray(sealed.length - TAG_BYTES);
  try {
    const decipher = createDecipheriv(ALGORITHM, key, nonce, { authTagLength: TAG_BYTES });
    decipher.setAAD(Buffer.concat([header, aad]));
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(body), decipher.final()]);
  } catch {
    throw new OpenError();
  }
}
