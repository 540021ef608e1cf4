/**
 * Random bytes for ids and nonces, drawn from a pool the CSPRNG refills 4 KiB at a time: one
 * `randomBytes` call costs microseconds whatever its size, and a write needs two small draws
 * (an id and a nonce). Each byte is handed out once and wiped from the pool when it is; the
 * caller gets its own copy. As Node's own `randomUUID` cache does, for the same reason.
 */
import { randomFillSync } from 'node:crypto';

const POOL_BYTES = 4096;
const pool = Buffer.alloc(POOL_BYTES);
let next = POOL_BYTES;

/** `size` fresh random bytes (at most 4096), never handed out before. */
export function randomPooled(size: number): Buffer {
  if (!Number.isInteger(size) || size < 1 || size > POOL_BYTES) {
    throw new RangeError(`randomPooled: size must be 1 to ${POOL_BYTES}, got ${size}`);
  }
  if (next + size > POOL_BYTES) {
    randomFillSync(pool);
    next = 0;
  }
  const out = Buffer.allocUnsafe(size);
  pool.copy(out, 0, next, next + size);
  pool.fill(0, next, next + size);
  next += size;
  return out;
}
