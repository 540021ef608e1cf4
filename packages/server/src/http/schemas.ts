/**
 * Every input's schema, defined once and bounded: lengths, counts and formats. A failure
 * becomes a 400 whose message names the field; unknown fields are refused, not dropped.
 */
import { AUDIT_ACTIONS, ROLES, TOKEN_TYPES } from '@ductape/sdk';
import { z } from 'zod';
import type { AppError } from '../errors.js';
import { parse } from './parse-input.js';

export { parse };

export const LIMITS = {
  keyLength: 128,
  valueBytes: 64 * 1024,
  descriptionLength: 1024,
  tagCount: 100,
  tagLength: 64,
  workspaceNameLength: 100,
} as const;

const KEY_RULE = `1-${LIMITS.keyLength} characters of A-Z a-z 0-9 _ - . (case-sensitive)`;
export const secretKey = z
  .string({ error: `must be a string of ${KEY_RULE}` })
  .regex(new RegExp(`^[A-Za-z0-9_.-]{1,${LIMITS.keyLength}}$`), { error: `must be ${KEY_RULE}` })
  // "." and ".." are path segments to every URL parser: they could never be addressed.
  .refine((k) => k !== '.' && k !== '..', { error: `must not be '.' or '..'` });

const value = z
  .string({ error: 'must be a string' })
  .min(1, { error: 'must not be empty' })
  .refine((v) => v.isWellFormed(), { error: 'must be valid Unicode text (it has an unpaired surrogate)' })
  .refine((v) => Buffer.byteLength(v, 'utf8') <= LIMITS.valueBytes, {
    error: `must be at most ${LIMITS.valueBytes} bytes (64 KiB) of UTF-8`,
  });

/** PostgreSQL text cannot hold U+0000: refused wherever text is stored or looked up, on every backend. */
const noNul = (v: string): boolean => !v.includes('\u0000');
const NO_NUL = { error: 'must not contain the NUL character (U+0000)' };

const description = z
  .string({ error: 'must be a string or null' })
  .max(LIMITS.descriptionLength, { error: `must be at most ${LIMITS.descriptionLength} characters` })
  .refine((v) => v.isWellFormed(), { error: 'must be valid Unicode text' })
  .refine(noNul, NO_NUL)
  .nullable();

const tokenType = z
  .enum(TOKEN_TYPES, { error: `must be one of ${TOKEN_TYPES.join(', ')}, or null` })
  .nullable();

const SLUG_RULE = `lower-case slugs: 1-${LIMITS.tagLength} characters of a-z 0-9 _ - ., starting with a letter or digit`;
const SLUG = new RegExp(`^[a-z0-9][a-z0-9_.-]{0,${LIMITS.tagLength - 1}}$`);
export const slug = z
  .string({ error: `must be a string (${SLUG_RULE})` })
  .regex(SLUG, { error: `must be one of the ${SLUG_RULE}` });
const slugList = z
  .array(slug, { error: 'must be an array of strings' })
  .max(LIMITS.tagCount, { error: `must have at most ${LIMITS.tagCount} entries` })
  .transform((list) => [...new Set(list)]);

/** Year 9999: far enough for any expiry, small enough for every date library. */
const MAX_UNIX_SECONDS = 253_402_300_799;
const expiresAt = z
  .number({ error: 'must be a unix timestamp in seconds (a positive integer) or null' })
  .int({ error: 'must be a whole number of seconds' })
  .positive({ error: 'must be a positive unix timestamp in seconds' })
  .max(MAX_UNIX_SECONDS, { error: 'must be before the year 10000 (unix seconds, not milliseconds)' })
  .nullable();

export const createSecretBody = z.strictObject({
  key: secretKey,
  value,
  description: description.optional(),
  token_type: tokenType.optional(),
  scope: slugList.optional(),
  envs: slugList.optional(),
  expires_at: expiresAt.optional(),
});

export const updateSecretBody = z
  .strictObject({
    value: value.optional(),
    description: description.optional(),
    token_type: tokenType.optional(),
    scope: slugList.optional(),
    envs: slugList.optional(),
    expires_at: expiresAt.optional(),
  })
  .refine((patch) => Object.keys(patch).length > 0, {
    error: 'give at least one field to change: value, description, token_type, scope, envs or expires_at',
  });

const id = (name: string) =>
  z
    .string({ error: `must be a string` })
    .min(1, { error: `is required` })
    .max(64, { error: `is not a valid ${name}` })
    .refine(noNul, { error: `is not a valid ${name}` });

export const tokenBody = z.strictObject({
  workspace_id: id('workspace id'),
  user_id: id('user id'),
  private_key: z
    .string({ error: 'must be a string' })
    .min(1, { error: 'is required' })
    .max(256, { error: 'is not a valid private key' }),
});

export const keyParams = z.strictObject({ key: secretKey });

export const workspaceName = z
  .string()
  .trim()
  .min(1, { error: 'must not be empty' })
  .max(LIMITS.workspaceNameLength, { error: `must be at most ${LIMITS.workspaceNameLength} characters` });

export const role = z.enum(ROLES, { error: `must be one of ${ROLES.join(', ')}` });

/** `POST /v1/resolve` and `POST /v1/validate`. */
export const usageBody = z.strictObject({
  input: z.unknown().refine((v) => v !== undefined, { error: 'is required: a string or any JSON value' }),
  app: slug.optional(),
  env: slug.optional(),
});

/** `GET /v1/export?app=&env=&only=A,B` */
export const exportQuery = z.strictObject({
  app: slug.optional().describe('The app the values are for (a service token: its own app)'),
  env: slug.optional().describe('The environment the values are for (a service token: its own env)'),
  only: z
    .string({ error: 'must be a comma-separated list of keys' })
    .transform((list) => [...new Set(list.split(',').filter((k) => k !== ''))])
    .pipe(
      z
        .array(secretKey)
        .min(1, { error: 'must name at least one key' })
        .max(1000, { error: 'must name at most 1000 keys' }),
    )
    .optional()
    .describe('Only these keys, comma-separated (at most 1000); each must then pass every rule'),
});

export const createTokenBody = z
  .strictObject({
    app: slug,
    env: slug,
    ttl_seconds: z
      .number({ error: 'must be a whole number of seconds' })
      .int({ error: 'must be a whole number of seconds' })
      .positive({ error: 'must be positive' })
      .optional(),
    expires_at: z
      .number({ error: 'must be a unix timestamp in seconds' })
      .int({ error: 'must be a whole number of seconds' })
      .positive({ error: 'must be positive' })
      .optional(),
    description: z
      .string({ error: 'must be a string or null' })
      .max(200, { error: 'must be at most 200 characters' })
      // As for secrets: an unpaired surrogate would be stored altered, differently per backend.
      .refine((v) => v.isWellFormed(), { error: 'must be valid Unicode text' })
      .refine(noNul, NO_NUL)
      .nullable()
      .optional(),
  })
  .refine((t) => t.ttl_seconds === undefined || t.expires_at === undefined, {
    error: 'give ttl_seconds or expires_at, not both',
  });

export const tokenIdParams = z.strictObject({
  id: z.string().regex(/^[0-9a-f]{24}$/, { error: 'must be a token id (24 lower-case hex characters)' }),
});

export const IMPORT_LIMIT = 500;
export const importBody = z.strictObject({
  secrets: z
    .array(z.unknown(), { error: 'must be an array of secrets' })
    .min(1, { error: 'must hold at least one secret' })
    .max(IMPORT_LIMIT, { error: `must hold at most ${IMPORT_LIMIT} secrets per request` }),
  overwrite: z.boolean({ error: 'must be true or false' }).optional(),
});

/** Validates one import item on its own: a valid item, or the refusal naming its field. */
export function parseImportItem(
  item: unknown,
  index: number,
): z.output<typeof createSecretBody> | { key: string; refused: AppError } {
  try {
    return parse(createSecretBody, item, `secrets[${index}]`);
  } catch (error) {
    const key = (item as { key?: unknown } | null)?.key;
    return { key: typeof key === 'string' ? key.slice(0, 200) : `#${index}`, refused: error as AppError };
  }
}

const versionNumber = z.coerce
  .number({ error: 'must be a version number (a whole number from 1)' })
  .int({ error: 'must be a version number (a whole number from 1)' })
  .min(1, { error: 'must be a version number (a whole number from 1)' })
  .max(2_147_483_647, { error: 'is too large' });

/** About ten years: the longest `expiring_within` (a larger one is surely a unit mistake). */
export const MAX_EXPIRING_WITHIN = 3650 * 86_400;
const EXPIRING_RULE = `must be a whole number of seconds from 1 to ${MAX_EXPIRING_WITHIN} (3650 days)`;

/** `GET /v1/secrets?expiring_within=N` */
export const listQuery = z.strictObject({
  expiring_within: z
    .string({ error: EXPIRING_RULE })
    .regex(/^[1-9][0-9]{0,9}$/, { error: EXPIRING_RULE })
    .transform(Number)
    .pipe(z.number().max(MAX_EXPIRING_WITHIN, { error: EXPIRING_RULE }))
    .optional()
    .describe(
      'Seconds: only the secrets not expired yet that expire within this many seconds from now, soonest first',
    ),
});

/** `GET /v1/secrets/:key?version=N` */
export const fetchQuery = z.strictObject({
  version: versionNumber.optional().describe('Read this older recorded version instead of the current one'),
});

/** `PATCH /v1/secrets/:key?if_version=N` */
export const updateQuery = z.strictObject({
  if_version: versionNumber
    .optional()
    .describe(
      'Check-and-set: change the secret only while it is at this version (409 VERSION_CONFLICT otherwise)',
    ),
});

/** `POST /v1/secrets/:key/rollback` */
export const rollbackBody = z.strictObject({
  version: z
    .number({ error: 'must be a version number (a whole number from 1)' })
    .int({ error: 'must be a whole number' })
    .min(1, { error: 'must be at least 1' })
    // Versions are 32-bit in the database: a larger number is an input error, never a 500.
    .max(2_147_483_647, { error: 'is too large' }),
});

export const userIdParams = z.strictObject({
  id: z.string().regex(/^[0-9a-f]{24}$/, { error: 'must be a user id (24 lower-case hex characters)' }),
});

const auditTime = z
  .string({ error: 'must be a time (ISO 8601)' })
  .max(40, { error: 'must be a time (ISO 8601)' })
  .refine((text) => !Number.isNaN(Date.parse(text)), { error: 'must be a time (ISO 8601)' })
  .transform((text) => Date.parse(text));

/** `GET /v1/audit` */
export const auditQuery = z.strictObject({
  since: auditTime.optional(),
  until: auditTime.optional(),
  key: secretKey.optional(),
  actor: z
    .string()
    .min(1, { error: 'is required' })
    .max(64, { error: 'is too long' })
    .refine(noNul, NO_NUL)
    .optional(),
  action: z.enum(AUDIT_ACTIONS, { error: `must be one of ${AUDIT_ACTIONS.join(', ')}` }).optional(),
  limit: z.coerce
    .number({ error: 'must be a whole number from 1 to 1000' })
    .int({ error: 'must be a whole number from 1 to 1000' })
    .min(1, { error: 'must be a whole number from 1 to 1000' })
    .max(1000, { error: 'must be a whole number from 1 to 1000' })
    .default(100),
  cursor: z
    .string()
    .regex(/^[1-9][0-9]{0,14}$/, { error: 'must be a next_cursor from an earlier page' })
    .transform(Number)
    .optional()
    .describe('`next_cursor` of the previous page'),
});

/** `POST /v1/users` and `PATCH /v1/users/:id` */
export const roleBody = z.strictObject({ role });

/** `POST /v1/users/:id/rotate-key`: your own current key, to rotate your own (see key-rotation.ts). */
export const rotateKeyBody = z.strictObject({
  private_key: z
    .string({ error: 'must be a string: your current private key' })
    .min(1, { error: 'must not be empty' })
    .max(256, { error: 'is not a valid private key' })
    .optional(),
});
