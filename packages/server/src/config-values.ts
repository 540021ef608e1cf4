/**
 * How one environment variable's text becomes a value: the zod pieces config.ts builds its
 * schema from. Each failure message says what is allowed; a key is never quoted.
 */
import { z } from 'zod';

/** A variable that may be unset: blank counts as unset, anything else is trimmed. */
export const optionalText = z
  .string()
  .optional()
  .transform((raw) => raw?.trim() || undefined);

/** Fails the parse with `message` for the variable being parsed. */
export function refuse(ctx: z.RefinementCtx, message: string): never {
  ctx.addIssue({ code: 'custom', message });
  return z.NEVER;
}

/** A whole number from min to max; unset or blank gives the fallback. */
export function wholeNumber(fallback: number, min: number, max: number) {
  return z
    .string()
    .optional()
    .transform((raw, ctx) => {
      if (raw === undefined || raw.trim() === '') return fallback;
      if (!/^\d+$/.test(raw.trim())) {
        return refuse(ctx, `must be a whole number from ${min} to ${max}, got '${raw}'`);
      }
      const value = Number(raw.trim());
      if (value < min || value > max) return refuse(ctx, `must be from ${min} to ${max}, got ${value}`);
      return value;
    });
}

/** One of a few words; unset or blank gives the fallback. `rule` says what is allowed. */
export function oneOf<const T extends string>(words: readonly T[], fallback: T, rule: string) {
  return optionalText.transform((word, ctx): T => {
    const chosen = word ?? fallback;
    return (words as readonly string[]).includes(chosen)
      ? (chosen as T)
      : refuse(ctx, `${rule}, got '${chosen}'`);
  });
}

/** The base64 encoding of exactly 32 bytes: the one check every master key goes through. */
export const isMasterKey = (key: string): boolean =>
  /^[A-Za-z0-9+/]+={0,2}$/.test(key) && Buffer.from(key, 'base64').length === 32;

/** Comma-separated base64 master keys; a bad one is named by its position, never quoted. */
export const masterKeyList = optionalText.transform((raw, ctx): readonly string[] => {
  if (raw === undefined) return Object.freeze([]);
  const keys = raw.split(',').map((k) => k.trim());
  const bad = keys.findIndex((key) => !isMasterKey(key));
  if (bad !== -1) {
    return refuse(
      ctx,
      `entry ${bad + 1} of ${keys.length} must be the base64 encoding of exactly 32 bytes (comma-separated keys)`,
    );
  }
  return Object.freeze(keys);
});
