import { randomPooled } from './crypto/random-pool.js';

/**
 * A new id: 24 lower-case hex characters (12 bytes), like the original product's ids.
 * The first 4 bytes are the creation second, so ids sort roughly by age; the other 8 are
 * random, so ids cannot be guessed from one another.
 */
export function newId(): string {
  const bytes = randomPooled(12);
  bytes.writeUInt32BE(Math.floor(Date.now() / 1000), 0);
  return bytes.toString('hex');
}

export const ID_PATTERN = /^[0-9a-f]{24}$/;
