/** The benchmarks' settings, read from the environment. */

/** A whole number from `name`, `fallback` when unset; anything else outside [min, max] is refused. */
export function setting(name, fallback, min, max) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${name} must be a whole number from ${min} to ${max}, got '${raw}'`);
  }
  return value;
}

/** `BENCH_ONLY=fetch,create`: the scenario ids asked for, or undefined for all of them. */
export const ONLY = process.env.BENCH_ONLY?.split(',')
  .map((id) => id.trim())
  .filter(Boolean);
