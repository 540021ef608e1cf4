/**
 * Names and values of the seeded secrets, shared by the seeder and the load generator so
 * both agree on which keys exist without passing lists around.
 */

/** The i-th key of a seeded set: `S0000042` for prefix `S`. Keys sort in insertion order. */
export function keyName(prefix, i) {
  return `${prefix}${String(i).padStart(7, '0')}`;
}

/** A small, distinct value (about 40 bytes), like a typical API key. */
export function seededValue(prefix, i) {
  return `value-${keyName(prefix, i)}-0123456789abcdefghijklmnop`;
}
