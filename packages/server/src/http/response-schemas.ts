/**
 * Every response's schema, defined once, field by field. Each route's answer goes through the
 * serializer compiled from its schema (wire-schemas.ts), which writes the fields listed here
 * and nothing else, so a ciphertext or a key hash can never ride along; the OpenAPI document
 * (openapi/document.ts) is generated from the same schemas.
 *
 * Each schema is held to the SDK's wire type at build time (the checks at the bottom): a field
 * added, dropped or made nullable on one side only fails `tsc`.
 */
import {
  AUDIT_ACTIONS,
  ROLES,
  TOKEN_TYPES,
  type AuditEntry,
  type AuditPage,
  type CreatedToken,
  type ErrorBody,
  type ErrorCode,
  type ExportResponse,
  type ImportResponse,
  type ListSecretsResponse,
  type ResolveResponse,
  type Secret,
  type SecretVersion,
  type SecretWithValue,
  type ServiceToken,
  type TokenResponse,
  type User,
  type UserCredentials,
  type ValidateResponse,
  type WhoAmI,
} from '@ductape/sdk';
import { z } from 'zod';
import { HTTP_STATUS } from '../errors.js';

export const ERROR_CODES = Object.keys(HTTP_STATUS) as [ErrorCode, ...ErrorCode[]];

const errorCode = z.enum(ERROR_CODES);
const id24 = z
  .string()
  .regex(/^[0-9a-f]{24}$/)
  .describe('24 lower-case hex characters');
const isoTime = z.iso.datetime().describe('ISO 8601, UTC');
const unixSeconds = z.number().int().describe('Unix seconds');
const role = z.enum(ROLES);

export const errorBody = z
  .object({
    code: errorCode,
    message: z.string().describe('For people: names the field or key at fault, never a secret value'),
    field: z.string().optional().describe('The request field at fault, when there is one'),
  })
  .describe('The body of every error response');

export const secret = z
  .object({
    _id: id24,
    workspace_id: z.string(),
    key: z.string(),
    description: z.string().nullable(),
    token_type: z.enum(TOKEN_TYPES).nullable(),
    scope: z.array(z.string()).describe('App tags allowed to use the secret; empty means every app'),
    envs: z.array(z.string()).describe('Environments the secret is available in; empty means every one'),
    expires_at: unixSeconds.nullable(),
    status: z.enum(['active', 'revoked', 'expired']),
    revoked_at: isoTime.nullable(),
    version: z.number().int().min(1),
    createdAt: isoTime,
    updatedAt: isoTime,
  })
  .describe("A secret's metadata; never its value");

const { _id, workspace_id, key, ...metadata } = secret.shape;
/** In the order presentSecretWithValue writes it: the value after the key. */
export const secretWithValue = z
  .object({ _id, workspace_id, key, value: z.string(), ...metadata })
  .describe('A secret with its decrypted value');

export const secretList = z.object({ secrets: z.array(secret) });

export const secretVersions = z.object({
  versions: z.array(
    z.object({
      version: z.number().int().min(1),
      createdAt: isoTime,
      actor: z
        .string()
        .describe('The writer; `hidden:` and 8 hex characters for callers who may not see ids'),
    }),
  ),
});

export const deleted = z.object({ deleted: z.literal(true) });
export const revoked = z.object({ revoked: z.literal(true) });
export const removed = z.object({ removed: z.literal(true) });

export const importResponse = z.object({
  results: z.array(
    z.object({
      key: z.string(),
      status: z.enum(['created', 'updated', 'refused']),
      code: errorCode.optional(),
      message: z.string().optional(),
    }),
  ),
});

export const resolveResponse = z.object({
  output: z.unknown().describe('The input with every reference replaced by its value'),
});

export const validateResponse = z.object({
  valid: z.boolean(),
  references: z.array(
    z.object({
      key: z.string(),
      syntax: z.enum(['Secret', 'Token']),
      path: z.string(),
      position: z.number().int().min(0),
      resolvable: z.boolean(),
      code: errorCode.optional(),
      message: z.string().optional(),
    }),
  ),
  malformed: z.array(z.object({ path: z.string(), position: z.number().int().min(0), message: z.string() })),
  malformed_total: z.number().int().min(0),
});

export const exportResponse = z.object({
  app: z.string().nullable(),
  env: z.string().nullable(),
  secrets: z.array(z.object({ key: z.string(), value: z.string() })),
  skipped: z.array(z.object({ key: z.string(), code: errorCode, message: z.string() })),
});

export const accessToken = z.object({
  access_token: z.string(),
  token_type: z.literal('Bearer'),
  expires_in: z.number().int().describe('Seconds until the token expires'),
  expires_at: unixSeconds,
  workspace_id: z.string(),
  user_id: z.string(),
  role,
});

export const whoAmI = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('user'),
    workspace_id: z.string(),
    workspace_name: z.string(),
    user_id: z.string(),
    role,
  }),
  z.object({
    kind: z.literal('service_token'),
    workspace_id: z.string(),
    workspace_name: z.string(),
    token_id: z.string(),
    app: z.string(),
    env: z.string(),
    expires_at: unixSeconds,
  }),
]);

export const serviceToken = z
  .object({
    token_id: id24,
    workspace_id: z.string(),
    app: z.string(),
    env: z.string(),
    description: z.string().nullable(),
    created_by: z.string(),
    created_at: isoTime,
    expires_at: unixSeconds,
    revoked_at: isoTime.nullable(),
    status: z.enum(['active', 'revoked', 'expired']),
  })
  .describe("A service token's metadata; never the token");

export const createdToken = z
  .object({
    ...serviceToken.shape,
    token: z.string().describe('The token itself: shown in this answer only'),
  })
  .describe('A new service token');

export const tokenList = z.object({ tokens: z.array(serviceToken) });

export const user = z
  .object({
    user_id: id24,
    workspace_id: z.string(),
    role,
    created_at: isoTime,
    removed_at: isoTime.nullable(),
    status: z.enum(['active', 'removed']),
  })
  .describe('A member of the workspace; never their key');

export const userList = z.object({ users: z.array(user) });

export const userCredentials = z
  .object({
    workspace_id: z.string(),
    user_id: id24,
    private_key: z.string().describe('Shown in this answer only'),
  })
  .describe("A new user's, or a user's new, credentials");

export const auditEntry = z
  .object({
    seq: z.number().int().min(1),
    at: isoTime,
    workspace_id: z.string(),
    actor: z.object({
      type: z.enum(['user', 'token', 'operator', 'anonymous']),
      id: z.string().nullable(),
      role: role.nullable(),
    }),
    action: z.enum(AUDIT_ACTIONS as [AuditEntry['action'], ...AuditEntry['action'][]]),
    key: z.string().nullable(),
    version: z.number().int().nullable(),
    outcome: z.enum(['success', 'refused', 'failed']),
    code: z.string().nullable(),
    request_id: z.string().nullable(),
    client_ip: z.string().nullable(),
    user_agent: z.string().nullable(),
    detail: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])).nullable(),
  })
  .describe('One entry of the audit log; never a value, a private key or a token');

export const auditPage = z.object({
  entries: z.array(auditEntry),
  next_cursor: z.string().nullable().describe('Pass as `cursor` for the next (older) page; null at the end'),
});

export const health = z.object({ status: z.literal('ok') });
export const ready = z.object({ status: z.literal('ready') });

export const openApiDocument = z
  .record(z.string(), z.unknown())
  .describe('This document: OpenAPI 3.1, generated from the schemas the server validates and answers with');

// Held to the SDK's wire types: either side changing alone fails the build.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Expect<T extends true> = T;
export type WireTypeChecks = [
  Expect<Same<z.output<typeof errorBody>, ErrorBody>>,
  Expect<Same<z.output<typeof secret>, Secret>>,
  Expect<Same<z.output<typeof secretWithValue>, SecretWithValue>>,
  Expect<Same<z.output<typeof secretList>, ListSecretsResponse>>,
  Expect<Same<z.output<typeof secretVersions>['versions'][number], SecretVersion>>,
  Expect<Same<z.output<typeof importResponse>, ImportResponse>>,
  Expect<Same<z.output<typeof resolveResponse>, ResolveResponse>>,
  Expect<Same<z.output<typeof validateResponse>, ValidateResponse>>,
  Expect<Same<z.output<typeof exportResponse>, ExportResponse>>,
  Expect<Same<z.output<typeof accessToken>, TokenResponse>>,
  Expect<Same<z.output<typeof whoAmI>, WhoAmI>>,
  Expect<Same<z.output<typeof serviceToken>, ServiceToken>>,
  Expect<Same<z.output<typeof createdToken>, CreatedToken>>,
  Expect<Same<z.output<typeof user>, User>>,
  Expect<Same<z.output<typeof userCredentials>, UserCredentials>>,
  Expect<Same<z.output<typeof auditEntry>, AuditEntry>>,
  Expect<Same<z.output<typeof auditPage>, AuditPage>>,
];
