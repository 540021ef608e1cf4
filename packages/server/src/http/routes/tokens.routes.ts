import type { FastifyInstance } from 'fastify';
import type { TokensService } from '../../services/identity/tokens.service.js';
import { createTokenBody, parse, tokenIdParams } from '../schemas.js';

export function registerTokensRoutes(app: FastifyInstance, tokens: TokensService): void {
  /** Mints a service token bound to one app and one environment; the token is in this answer only. */
  app.post('/v1/tokens', { config: { body: true } }, async (request, reply) => {
    const command = parse(createTokenBody, request.body, 'request body');
    return reply.code(201).send(await tokens.create(request.principal, command));
  });

  /** Every service token of the workspace: metadata only. */
  app.get('/v1/tokens', async (request) => ({ tokens: await tokens.list(request.principal) }));

  /** Revokes a token; it stops working on every node at its next request. */
  app.delete('/v1/tokens/:id', async (request) => {
    const { id } = parse(tokenIdParams, request.params, 'path');
    await tokens.revoke(request.principal, id);
    return { revoked: true };
  });
}
