import type { FastifyInstance } from 'fastify';
import type { SecretsService } from '../../services/secrets/secrets.service.js';
import { actorAsSeenBy } from '../actor-label.js';
import { presentSecret, presentSecretWithValue } from '../present.js';
import { secretsListJson } from '../present-list.js';
import {
  createSecretBody,
  fetchQuery,
  importBody,
  keyParams,
  listQuery,
  parse,
  parseImportItem,
  rollbackBody,
  updateQuery,
  updateSecretBody,
} from '../schemas.js';

export function registerSecretsRoutes(app: FastifyInstance, secrets: SecretsService): void {
  const keyOf = (params: unknown): string => parse(keyParams, params, 'path').key;

  /** Every secret, by key; `?expiring_within=N` only those expiring within N seconds, soonest first. */
  app.get('/v1/secrets', { config: { query: true } }, async (request, reply) => {
    const { expiring_within } = parse(listQuery, request.query, 'query');
    const now = Date.now();
    const list = await secrets.list(request.principal, { expiringWithin: expiring_within, nowMs: now });
    // Already JSON: `{ secrets: list.map((m) => presentSecret(m, now)) }`, written as bytes.
    return reply.type('application/json; charset=utf-8').send(secretsListJson(list, now));
  });

  app.post('/v1/secrets', { config: { body: true } }, async (request, reply) => {
    const input = parse(createSecretBody, request.body, 'request body');
    const created = await secrets.create(request.principal, input);
    return reply.code(201).send(presentSecret(created));
  });

  /** Bulk create (or, with overwrite, update): one result per item, in order. */
  app.post('/v1/secrets/import', { config: { body: true } }, async (request) => {
    const { secrets: items, overwrite } = parse(importBody, request.body, 'request body');
    const results = await secrets.importMany(
      request.principal,
      items.map(parseImportItem),
      overwrite === true,
    );
    return { results };
  });

  /** The decrypted value; `?version=N` reads an older recorded version. */
  app.get('/v1/secrets/:key', { config: { query: true } }, async (request) => {
    const key = keyOf(request.params);
    const { version } = parse(fetchQuery, request.query, 'query');
    const { meta, value } = await secrets.fetch(request.principal, key, version);
    return presentSecretWithValue(meta, value);
  });

  /** Every recorded version, newest first: metadata only; writers as the caller may see them. */
  app.get('/v1/secrets/:key/versions', async (request) => {
    const versions = await secrets.versions(request.principal, keyOf(request.params));
    return {
      versions: versions.map((v) => ({
        version: v.version,
        createdAt: new Date(v.createdAt).toISOString(),
        actor: actorAsSeenBy(request.principal, v.createdBy),
      })),
    };
  });

  /** A new version holding the value of an older one. */
  app.post('/v1/secrets/:key/rollback', { config: { body: true } }, async (request) => {
    const key = keyOf(request.params);
    const { version } = parse(rollbackBody, request.body, 'request body');
    return presentSecret(await secrets.rollback(request.principal, key, version));
  });

  app.get('/v1/secrets/:key/metadata', async (request) =>
    presentSecret(await secrets.metadata(request.principal, keyOf(request.params))),
  );

  app.patch('/v1/secrets/:key', { config: { query: true, body: true } }, async (request) => {
    const key = keyOf(request.params);
    const patch = parse(updateSecretBody, request.body, 'request body');
    const { if_version } = parse(updateQuery, request.query, 'query');
    return presentSecret(await secrets.update(request.principal, key, patch, if_version));
  });

  app.delete('/v1/secrets/:key', async (request) => {
    await secrets.delete(request.principal, keyOf(request.params));
    return { deleted: true };
  });

  app.post('/v1/secrets/:key/revoke', async (request) =>
    presentSecret(await secrets.revoke(request.principal, keyOf(request.params))),
  );

  app.post('/v1/secrets/:key/restore', async (request) =>
    presentSecret(await secrets.restore(request.principal, keyOf(request.params))),
  );
}
