import type { FastifyInstance } from 'fastify';
import type { IdentityService } from '../../services/identity.service.js';
import { TooManyRequestsError } from '../../services/rate-limit.js';
import { originOf } from '../origin.js';
import { parse, tokenBody } from '../schemas.js';

export function registerAuthRoutes(app: FastifyInstance, identity: IdentityService): void {
  /**
   * Exchanges (workspace_id, user_id, private_key) for a short-lived access token. Limited per
   * client address and per user id (see rate-limit.ts); a 429 says when to retry.
   */
  app.post('/v1/auth/token', async (request, reply) => {
    try {
      return await identity.issueToken(parse(tokenBody, request.body, 'request body'), originOf(request));
    } catch (error) {
      if (error instanceof TooManyRequestsError) {
        void reply.header('retry-after', String(error.retryAfterSeconds));
      }
      throw error;
    }
  });
}
