/**
 * The secrets routes and those that use secrets from an app (resolve, validate, export),
 * described once: see api-routes.ts for what a description is for.
 */
import type { ErrorCode } from '@ductape/sdk';
import { z } from 'zod';
import * as out from '../response-schemas.js';
import {
  createSecretBody,
  exportQuery,
  fetchQuery,
  IMPORT_LIMIT,
  importBody,
  keyParams,
  listQuery,
  rollbackBody,
  updateQuery,
  updateSecretBody,
  usageBody,
} from '../schemas.js';
import { created, ok, type RouteDoc, type RouteKey } from './route-doc.js';

/**
 * `POST /v1/secrets/import` validates each item on its own (a bad item is refused in the
 * results, not the whole request), so its schema holds items of any shape; described here
 * as what each item must be: the create body.
 */
const importRequest = z.strictObject({
  secrets: z.array(createSecretBody).min(1).max(IMPORT_LIMIT),
  overwrite: importBody.shape.overwrite,
});

/** Reading a value: every rule of use, the decryption, and the read put on record first. */
const VALUE_READ: readonly ErrorCode[] = [
  'SECRET_NOT_FOUND',
  'SECRET_REVOKED',
  'SECRET_EXPIRED',
  'SECRET_SCOPE_DENIED',
  'SECRET_ENV_DENIED',
  'SECRET_INTEGRITY_ERROR',
  'WORKSPACE_KEY_ERROR',
  'INSUFFICIENT_STORAGE',
];

export const SECRET_ROUTES: Readonly<Record<RouteKey, RouteDoc>> = {
  'GET /v1/secrets': {
    operationId: 'listSecrets',
    summary: "Every secret's metadata (never a value), by key",
    description:
      'With `expiring_within` (seconds, 1 to 3650 days), only the secrets not expired yet that expire within it, soonest first.',
    tag: 'secrets',
    auth: 'user-or-token',
    query: listQuery,
    responses: ok('The secrets', out.secretList),
    errors: [],
  },
  'POST /v1/secrets': {
    operationId: 'createSecret',
    summary: 'Create a secret',
    tag: 'secrets',
    auth: 'user',
    body: createSecretBody,
    responses: created('The new secret', out.secret),
    errors: [
      'SECRET_EXISTS',
      'WORKSPACE_FULL',
      'WORKSPACE_QUOTA_EXCEEDED',
      'WORKSPACE_KEY_ERROR',
      'INSUFFICIENT_STORAGE',
    ],
  },
  'POST /v1/secrets/import': {
    operationId: 'importSecrets',
    summary: 'Create (or, with overwrite, update) many secrets: one result per item, in order',
    description: `At most ${IMPORT_LIMIT} per request. An item that breaks a rule is refused in its result, not the request.`,
    tag: 'secrets',
    auth: 'user',
    body: importRequest,
    responses: ok('One result per item', out.importResponse),
    errors: ['WORKSPACE_KEY_ERROR', 'SECRET_INTEGRITY_ERROR', 'INSUFFICIENT_STORAGE'],
  },
  'GET /v1/secrets/:key': {
    operationId: 'fetchSecret',
    summary: "A secret's decrypted value; `?version=N` reads an older recorded version",
    tag: 'secrets',
    auth: 'user-or-token',
    params: keyParams,
    query: fetchQuery,
    responses: ok('The secret with its value', out.secretWithValue),
    errors: ['FORBIDDEN', 'VERSION_NOT_FOUND', ...VALUE_READ],
  },
  'GET /v1/secrets/:key/versions': {
    operationId: 'listSecretVersions',
    summary: 'Every recorded version, newest first: metadata only',
    tag: 'secrets',
    auth: 'user',
    params: keyParams,
    responses: ok('The versions', out.secretVersions),
    errors: ['SECRET_NOT_FOUND'],
  },
  'POST /v1/secrets/:key/rollback': {
    operationId: 'rollbackSecret',
    summary: 'A new version holding the value of an older one',
    tag: 'secrets',
    auth: 'user',
    params: keyParams,
    body: rollbackBody,
    responses: ok('The secret at its new version', out.secret),
    errors: [
      'SECRET_NOT_FOUND',
      'VERSION_NOT_FOUND',
      'WORKSPACE_QUOTA_EXCEEDED',
      'SECRET_INTEGRITY_ERROR',
      'WORKSPACE_KEY_ERROR',
      'INSUFFICIENT_STORAGE',
    ],
  },
  'GET /v1/secrets/:key/metadata': {
    operationId: 'secretMetadata',
    summary: "A secret's metadata (never its value)",
    tag: 'secrets',
    auth: 'user-or-token',
    params: keyParams,
    responses: ok('The secret', out.secret),
    errors: ['SECRET_NOT_FOUND'],
  },
  'PATCH /v1/secrets/:key': {
    operationId: 'updateSecret',
    summary: "Change a secret's value or metadata; `?if_version=N` makes it a check-and-set",
    tag: 'secrets',
    auth: 'user',
    params: keyParams,
    query: updateQuery,
    body: updateSecretBody,
    responses: ok('The secret as changed', out.secret),
    errors: [
      'SECRET_NOT_FOUND',
      'VERSION_CONFLICT',
      'WORKSPACE_QUOTA_EXCEEDED',
      'SECRET_INTEGRITY_ERROR',
      'WORKSPACE_KEY_ERROR',
      'INSUFFICIENT_STORAGE',
    ],
  },
  'DELETE /v1/secrets/:key': {
    operationId: 'deleteSecret',
    summary: 'Delete a secret and every version of it',
    tag: 'secrets',
    auth: 'user',
    params: keyParams,
    responses: ok('Deleted', out.deleted),
    errors: ['SECRET_NOT_FOUND', 'INSUFFICIENT_STORAGE'],
  },
  'POST /v1/secrets/:key/revoke': {
    operationId: 'revokeSecret',
    summary: 'Revoke a secret: it can no longer be read or resolved until restored',
    tag: 'secrets',
    auth: 'user',
    params: keyParams,
    responses: ok('The revoked secret', out.secret),
    errors: ['SECRET_NOT_FOUND', 'INSUFFICIENT_STORAGE'],
  },
  'POST /v1/secrets/:key/restore': {
    operationId: 'restoreSecret',
    summary: 'Restore a revoked secret',
    tag: 'secrets',
    auth: 'user',
    params: keyParams,
    responses: ok('The restored secret', out.secret),
    errors: ['SECRET_NOT_FOUND', 'INSUFFICIENT_STORAGE'],
  },
  'POST /v1/resolve': {
    operationId: 'resolve',
    summary: 'Replace every `$Secret{KEY}` in `input` by its value',
    tag: 'usage',
    auth: 'user-or-token',
    body: usageBody,
    responses: ok('The input, resolved', out.resolveResponse),
    errors: ['FORBIDDEN', 'MALFORMED_REFERENCE', ...VALUE_READ],
  },
  'POST /v1/validate': {
    operationId: 'validate',
    summary: 'Every reference in `input`, and whether (and why not) it would resolve; never a value',
    tag: 'usage',
    auth: 'user-or-token',
    body: usageBody,
    responses: ok('The references found', out.validateResponse),
    errors: [],
  },
  'GET /v1/export': {
    operationId: 'export',
    summary: 'The values an app may use in an environment',
    tag: 'usage',
    auth: 'user-or-token',
    query: exportQuery,
    responses: ok('The values', out.exportResponse),
    errors: ['FORBIDDEN', 'EXPORT_TOO_LARGE', ...VALUE_READ],
  },
};
