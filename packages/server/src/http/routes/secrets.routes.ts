import type { FastifyInstance } from 'fastify';
import type { SecretsService } from '../../services/secrets.service.js';
import { presentSecret, presentSecretWithValue } from '../present.js';
import {
  createSecretBody,
  importBody,
  keyParams,
  parse,
  parseImportItem,
  updateSecretBody,
} from '../schemas.js';

export function registerSecretsRoutes(app: FastifyInstance, secrets: SecretsService): void {
  const keyOf = (params: unknown): string => parse(keyParams, params, 'path').key;

  app.get('/v1/secrets', async (request) => {
    const now = Date.now();
    const list = await secrets.list(request.principal);
    return { secrets: list.map((m) => presentSecret(m, now)) };
  });

  app.post('/v1/secrets', async (request, reply) => {
    const input = parse(createSecretBody, request.body, 'request body');
    const created = await secrets.create(request.principal, input);
    return reply.code(201).send(presentSecret(created));
  });

  /** Bulk create (or, with overwrite, update): one result per item, in order. */
  app.post('/v1/secrets/import', async (request) => {
    const { secrets: items, overwrite } = parse(importBody, request.body, 'request body');
    const results = await secrets.importMany(
      request.principal,
      items.map(parseImportItem),
      overwrite === true,
    );
    return { results };
  });

  app.get('/v1/secrets/:key', async (request) => {
    const { meta, value } = await secrets.fetch(request.principal, keyOf(request.params));
    return presentSecretWithValue(meta, value);
  });

  app.get('/v1/secrets/:key/metadata', async (request) =>
    presentSecret(await secrets.metadata(request.principal, keyOf(request.params))),
  );

  app.patch('/v1/secrets/:key', async (request) => {
    const key = keyOf(request.params);
    const patch = parse(updateSecretBody, request.body, 'request body');
    return presentSecret(await secrets.update(request.principal, key, patch));
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
